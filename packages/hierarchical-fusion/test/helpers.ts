/**
 * Test helpers of the fusion tests: seeded tensors, and (from the experts tests) the gradient and
 * finite-difference checks and the error a call throws.
 */
import * as tf from "@tensorflow/tfjs"

/** Seeded normal (B, d) tensor. */
export const normal = (shape: ReadonlyArray<number>, seed: number): tf.Tensor =>
  tf.randomNormal([...shape], 0, 1, "float32", seed)

// the gradient and finite-difference checks and `thrown` are the experts tests' own (one copy for both packages)
export { expectFiniteGradients, expectGradientsMatchFiniteDifferences, maxAbsDiff, projectionLoss, thrown } from "../../experts/test/helpers"

