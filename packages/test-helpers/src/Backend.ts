/**
 * The tfjs backend the tests run on.
 */
import * as tf from "@tensorflow/tfjs"

/** Switch tfjs to the cpu backend (deterministic) and wait until it is ready: `beforeAll(useCpu)`. */
export const useCpu = async (): Promise<void> => {
  await tf.setBackend("cpu")
  await tf.ready()
}
