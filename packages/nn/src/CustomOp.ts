/**
 * `tf.customGrad` with a typed signature: the op's inputs arrive as one array and the save function
 * as its own argument, instead of tfjs's single rest list of both. The fused and hand-differentiated
 * ops of every package (linear layers, the LSTM, the WGSL kernels) are made with it.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"

/** A custom op's gradient function: the upstream gradient and the tensors saved in the forward pass. */
export type GradFunc = (dy: tf.Tensor, saved: Array<tf.Tensor>) => tf.Tensor | Array<tf.Tensor>

/**
 * A differentiable op of tensors from `f`, which gets the inputs in call order and tfjs's `save`
 * (the tensors its `gradFunc` receives as `saved`), and returns the value and the gradient function
 * (one gradient per input, in order).
 */
export const customOp = <T extends tf.Tensor = tf.Tensor>(
  f: (inputs: Array<tf.Tensor>, save: tf.GradSaveFunc) => { value: T; gradFunc: GradFunc }
): ((...inputs: Array<tf.Tensor>) => T) =>
  tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc
    return f(args.slice(0, -1) as Array<tf.Tensor>, save)
  })
