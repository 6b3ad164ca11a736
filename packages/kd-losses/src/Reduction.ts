/**
 * Weighted reductions shared by the losses: a weight tensor says which samples count and how much.
 *
 * @since 0.1.0
 */
import { Fused, WasmWeightedMean } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"

/**
 * `sum(w * v) / sum(w)` over all elements, with `weights` broadcast to the shape of `values`
 * (weights are non-negative; 0 excludes an element). Elements whose weight is 0 are removed with a
 * select before the product, so a non-finite value there (e.g. the output of a missing modality)
 * cannot leak into the result. When no element counts (all weights 0, or no element at all) the
 * result is 0. Without weights it is the plain mean. The weights are data: no gradient flows to them.
 * On the wasm backend, for float32 values and weights of one shape, it is one kernel each way
 * (`WasmWeightedMean` of `@haemsa/nn`), with the same numbers bit for bit.
 */
export const weightedMean = (values: tf.Tensor, weights?: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    if (values.size === 0) return tf.scalar(0)
    if (weights === undefined) return tf.mean(values) as tf.Scalar
    if (WasmWeightedMean.accepts(values, weights)) return WasmWeightedMean.weightedMean(values, weights)
    // (the cast and the broadcast are skipped when they would only copy: fewer ops per training step)
    const float = weights.dtype === "float32" ? weights : tf.cast(weights, "float32")
    const w = tf.util.arraysEqual(float.shape, values.shape) ? float : tf.broadcastTo(float, values.shape)
    const kept = tf.where(tf.notEqual(w, 0), values, tf.zerosLike(values))
    const total = tf.sum(w)
    // total is 0 only when every weight is 0; then the numerator is 0 too and 0 / (0 + 1) = 0.
    const denominator = tf.add(total, tf.cast(tf.equal(total, 0), "float32"))
    return tf.div(tf.sum(tf.mul(kept, w)), denominator) as tf.Scalar
  })

/**
 * `sum_k coefficients[k] · terms[k]` of scalars (the joint objective's weighted sum of its losses):
 * `addN` of the products, or the fused op "linearCombination" of `@haemsa/nn` (on webgpu one
 * kernel each way, for 2 to 7 terms).
 *
 * @throws Error when the lists differ in length or are empty.
 */
export const linearCombination = (terms: ReadonlyArray<tf.Scalar>, coefficients: ReadonlyArray<number>): tf.Scalar => {
  if (terms.length !== coefficients.length || terms.length === 0) {
    throw new Error(`linearCombination: ${terms.length} terms and ${coefficients.length} coefficients (need the same number, at least 1)`)
  }
  return Fused.run("linearCombination", [terms, coefficients], () =>
    tf.tidy(() => {
      const products = terms.map((t, k) => tf.mul(t, coefficients[k]) as tf.Scalar)
      return (products.length === 1 ? products[0] : tf.addN(products)) as tf.Scalar
    }))
}
