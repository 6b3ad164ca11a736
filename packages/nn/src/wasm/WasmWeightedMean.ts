/**
 * The weighted mean of the losses, `sum(w · v) / sum(w)` with the elements of weight 0 removed
 * (`weightedMean` of `@haemsa/kd-losses`: every task loss and distillation term of a training step
 * weighs its per-sample values by the samples' presence), as one kernel forward and one backward on
 * the wasm backend, for float32 values and weights of the same shape. The composite of tfjs ops runs
 * ten kernels forward and nine backward for it, each a tape entry with its own cost; the values are
 * a few dozen numbers, so these kernels are plain loops over tfjs's heap, in the float32 arithmetic
 * of the composite (`Math.fround` after every operation, the sums in element order as the backend's
 * `Sum` adds them), and equal it bit for bit (`WasmWeightedMean.test.ts` checks values and
 * gradients), so switching them on changes no result.
 *
 * The weights are data: no gradient flows to them (none did through the composite either: tfjs has
 * no gradient for its `NotEqual`).
 *
 * @since 0.4.0
 */
import * as tf from "@tensorflow/tfjs"
import { customOp } from "../CustomOp"
import { flagSwitch } from "../Fused"
import * as KernelOverride from "./KernelOverride"
import * as SimdKernels from "./SimdKernels"

/** The forward kernel's name in tfjs's registry: values, weights (same shape) -> () the weighted mean. */
export const FORWARD = "HaemsaWeightedMean"
/** The backward kernel's name: dy (), weights -> dvalues (the shape of the weights). */
export const BACKWARD = "HaemsaWeightedMeanGrad"

const f32 = Math.fround

/** How many times each kernel ran (tests use it to see that the kernels, not the composite, ran). */
export const stats = { forward: 0, backward: 0 }

/** The float32 values of a tensor in the wasm heap (a view: take it after the last allocation). */
const view = (backend: SimdKernels.WasmBackend, info: tf.TensorInfo): Float32Array =>
  new Float32Array(backend.wasm.asm.memory.buffer, SimdKernels.address(backend, info), tf.util.sizeFromShape(info.shape))

/**
 * The composite's denominator: `sum(w) + (sum(w) == 0 ? 1 : 0)` (the sum in element order), so that
 * no weight at all gives 0 / 1.
 */
const denominatorOf = (w: Float32Array): number => {
  let total = 0
  for (let i = 0; i < w.length; i++) total = f32(total + w[i])
  return f32(total + (total === 0 ? 1 : 0))
}

const forward: tf.KernelFunc = ({ backend, inputs }) => {
  const wasm = backend as unknown as SimdKernels.WasmBackend
  const out = wasm.makeOutput([], "float32")
  const [v, w, y] = [inputs.values as tf.TensorInfo, inputs.weights as tf.TensorInfo, out].map((info) => view(wasm, info))
  // kept = where(w != 0, v, 0); sum(kept · w) in element order
  let sum = 0
  for (let i = 0; i < v.length; i++) sum = f32(sum + f32((w[i] !== 0 ? v[i] : 0) * w[i]))
  y[0] = f32(sum / denominatorOf(w))
  stats.forward++
  return out
}

const backward: tf.KernelFunc = ({ backend, inputs }) => {
  const wasm = backend as unknown as SimdKernels.WasmBackend
  const w0 = inputs.weights as tf.TensorInfo
  const out = wasm.makeOutput(w0.shape, "float32")
  const [dy, w, dv] = [inputs.dy as tf.TensorInfo, w0, out].map((info) => view(wasm, info))
  // the composite's chain: dy / denominator, through the sum (times 1), the product (times w) and
  // the select (times 1 where w != 0, times 0 elsewhere), plus the zero gradient of its zerosLike
  // (which turns a -0 into +0)
  const g = f32(dy[0] / denominatorOf(w))
  for (let i = 0; i < w.length; i++) dv[i] = f32(f32(g * w[i]) * (w[i] !== 0 ? 1 : 0)) + 0
  stats.backward++
  return out
}

KernelOverride.registerNew("wasm", { [FORWARD]: forward, [BACKWARD]: backward })

const enabledSwitch = flagSwitch("HAEMSA_WASM_WEIGHTED_MEAN")

/** Switch the kernels off (or back on): `weightedMean` then runs the composite, to compare the two. On by default. */
export const setEnabled = (enabled: boolean): void => enabledSwitch.setEnabled(enabled)

/** Whether the kernels run here: the wasm backend (its heap), and switched on. */
export const active = (): boolean => enabledSwitch.enabled() && tf.getBackend() === "wasm" && SimdKernels.heap(tf.backend()) !== undefined

/** Whether the kernels take these arguments here: {@link active}, float32 values and weights of the same shape, not empty. */
export const accepts = (values: tf.Tensor, weights: tf.Tensor): boolean =>
  values.dtype === "float32" && weights.dtype === "float32" && values.size > 0 &&
  tf.util.arraysEqual(values.shape, weights.shape) && active()

/**
 * The gradient of {@link weightedMean} for its values, from the upstream gradient `dy` (a scalar) and
 * the weights: for a caller that differentiates a larger expression itself. Call only where
 * {@link accepts}.
 */
export const gradient = (dy: tf.Tensor, weights: tf.Tensor): tf.Tensor => tf.engine().runKernel(BACKWARD, { dy, weights }) as tf.Tensor

/**
 * `sum(w · v) / sum(w)` over all elements, elements of weight 0 removed first (0 when no weight is
 * nonzero), differentiable in `values` (the weights are data). Call only where {@link accepts}.
 */
export const weightedMean = (values: tf.Tensor, weights: tf.Tensor): tf.Scalar => {
  const op = customOp<tf.Scalar>(([input], save) => {
    // the weights may be a temporary of the forward pass, which the tape keeps only when saved
    save([weights])
    return {
      value: tf.engine().runKernel(FORWARD, { values: input, weights }) as tf.Scalar,
      gradFunc: (dy, [sw]) => gradient(dy, sw)
    }
  })
  return op(values)
}
