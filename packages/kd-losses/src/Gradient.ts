/**
 * Gradient helpers TensorFlow.js lacks. tfjs has no `stopGradient`; `tf.customGrad` gives one.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"

const stop = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => {
  const input = x as tf.Tensor
  return {
    // A new tensor handle (same data): the tape node must not have its input as its output.
    value: tf.clone(input),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy)
  }
})

/**
 * The identity in the forward pass; in the backward pass the gradient reaching `x` through it is
 * exactly zero (TensorFlow's `stop_gradient`, PyTorch's `detach`). Other uses of `x` still get theirs.
 */
export const stopGradient = <T extends tf.Tensor>(x: T): T => stop(x) as T
