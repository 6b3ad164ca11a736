/**
 * Weighted reductions shared by the losses: a weight tensor says which samples count and how much.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"

/**
 * `sum(w * v) / sum(w)` over all elements, with `weights` broadcast to the shape of `values`
 * (weights are non-negative; 0 excludes an element). Elements whose weight is 0 are removed with a
 * select before the product, so a non-finite value there (e.g. the output of a missing modality)
 * cannot leak into the result. When no element counts (all weights 0, or no element at all) the
 * result is 0. Without weights it is the plain mean.
 */
export const weightedMean = (values: tf.Tensor, weights?: tf.Tensor): tf.Scalar =>
  tf.tidy(() => {
    if (values.size === 0) return tf.scalar(0)
    if (weights === undefined) return tf.mean(values) as tf.Scalar
    const w = tf.broadcastTo(tf.cast(weights, "float32"), values.shape)
    const kept = tf.where(tf.notEqual(w, 0), values, tf.zerosLike(values))
    const total = tf.sum(w)
    // total is 0 only when every weight is 0; then the numerator is 0 too and 0 / 1 = 0.
    const denominator = tf.where(tf.notEqual(total, 0), total, tf.onesLike(total))
    return tf.div(tf.sum(tf.mul(kept, w)), denominator) as tf.Scalar
  })
