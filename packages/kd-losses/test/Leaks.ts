import * as tf from "@tensorflow/tfjs"
import { expect } from "vitest"

/**
 * Each call leaves no tensor behind: inside `tf.tidy`, and when its result is disposed (the number of
 * live tensors is the same before and after).
 */
export const expectNoLeaks = (calls: ReadonlyArray<() => tf.TensorContainer>): void => {
  calls.forEach((call, i) => {
    const before = tf.memory().numTensors
    tf.tidy(() => {
      call()
    })
    expect(tf.memory().numTensors, `call ${i} in tidy`).toBe(before)
    tf.dispose(call())
    expect(tf.memory().numTensors, `call ${i} disposed`).toBe(before)
  })
}
