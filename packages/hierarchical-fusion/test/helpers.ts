/**
 * Test helpers of the fusion tests: seeded tensors, the error a call throws, and (from the experts
 * tests) the gradient and finite-difference checks.
 */
import * as tf from "@tensorflow/tfjs"

/** Seeded normal (B, d) tensor. */
export const normal = (shape: ReadonlyArray<number>, seed: number): tf.Tensor =>
  tf.randomNormal([...shape], 0, 1, "float32", seed)

// the gradient and finite-difference checks are the experts tests' own (one copy for both packages)
export { expectFiniteGradients, expectGradientsMatchFiniteDifferences, maxAbsDiff, projectionLoss } from "../../experts/test/helpers"

/** The error thrown by `f`, which must be an instance of `E`. */
export const thrown = <E>(f: () => unknown, type: new(...args: Array<any>) => E): E => {
  try {
    f()
  } catch (e) {
    if (e instanceof type) return e
    throw e
  }
  throw new Error("expected an error")
}
