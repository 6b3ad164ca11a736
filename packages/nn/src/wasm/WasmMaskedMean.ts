/**
 * The masked mean over steps, `maskedMean(x, stepMask)` and `maskedMean(relu(x), stepMask)`
 * (`Layers.maskedMean`, `Layers.reluMaskedMean`: the pooling of every mean-pool, transformer and TCN
 * expert), as one kernel forward and one backward on the wasm backend, on the `maskedmean` and
 * `maskedmeangrad` kernels of `SimdKernels`. The composite of tfjs ops runs six kernels forward and
 * four backward, its batched product (B, 1, T)·(B, T, d) on the backend's slow path for batches of
 * small matrices (0.24 ms for B 64, T 50, d 64). The kernels compute the composite's numbers bit for
 * bit (the backend's blocks of 48 steps for a batch of several samples included; `WasmMaskedMean.test.ts` checks values and
 * gradients), so switching them on changes no result. Padded values must be finite, as for the
 * composite (they are multiplied by 0).
 *
 * @since 0.4.0
 */
import * as tf from "@tensorflow/tfjs"
import { customOp } from "../CustomOp"
import { flagSwitch } from "../Fused"
import * as KernelOverride from "./KernelOverride"
import * as SimdKernels from "./SimdKernels"

/** The forward kernel's name in tfjs's registry: x (B, T, d), mask (B, T) -> (B, d). */
export const FORWARD = "HaemsaMaskedMean"
/** The backward kernel's name: dy (B, d), x, mask -> dx (B, T, d). */
export const BACKWARD = "HaemsaMaskedMeanGrad"

interface Attrs {
  readonly relu: boolean
}

/**
 * The steps summed in one block before it is added to the total: 48 for a batch of several samples
 * (the backend's batched product), all of them for one sample (its batch of one goes to the plain
 * product, which sums every step in order).
 */
const blockOf = (b: number, t: number): number => (b > 1 ? 48 : t)

/** How many times each kernel ran (tests use it to see that the kernels, not the composite, ran). */
export const stats = { forward: 0, backward: 0 }

const forward: tf.KernelFunc = ({ attrs, backend, inputs }) => {
  const wasm = backend as unknown as SimdKernels.WasmBackend
  const x = inputs.x as tf.TensorInfo
  const [b, t, d] = x.shape
  const out = wasm.makeOutput([b, d], "float32")
  // byte offsets taken after the output's allocation (which may grow the memory)
  const [px, pm, py] = [x, inputs.mask as tf.TensorInfo, out].map((info) => SimdKernels.address(wasm, info))
  SimdKernels.of(wasm)!.maskedmean(px, pm, py, b, t, d, blockOf(b, t), (attrs as unknown as Attrs).relu ? 1 : 0)
  stats.forward++
  return out
}

const backward: tf.KernelFunc = ({ attrs, backend, inputs }) => {
  const wasm = backend as unknown as SimdKernels.WasmBackend
  const x = inputs.x as tf.TensorInfo
  const [b, t, d] = x.shape
  const out = wasm.makeOutput([b, t, d], "float32")
  const [px, pm, pdy, pdx] = [x, inputs.mask as tf.TensorInfo, inputs.dy as tf.TensorInfo, out].map((info) => SimdKernels.address(wasm, info))
  SimdKernels.of(wasm)!.maskedmeangrad(px, pm, pdy, pdx, b, t, d, (attrs as unknown as Attrs).relu ? 1 : 0)
  stats.backward++
  return out
}

KernelOverride.registerNew("wasm", { [FORWARD]: forward, [BACKWARD]: backward })

const enabledSwitch = flagSwitch("HAEMSA_WASM_MASKED_MEAN")

/** Switch the kernels off (or back on): the layers then run the composite, to compare the two. On by default. */
export const setEnabled = (enabled: boolean): void => enabledSwitch.setEnabled(enabled)

/**
 * Whether the kernels take these arguments here: the wasm backend with its SIMD kernels, switched
 * on, float32 x (B, T, d) and mask (B, T) with the same B and T, nothing empty.
 */
export const accepts = (x: tf.Tensor, stepMask: tf.Tensor): boolean =>
  x.dtype === "float32" && stepMask.dtype === "float32" && x.rank === 3 && stepMask.rank === 2 &&
  x.shape[0] === stepMask.shape[0] && x.shape[1] === stepMask.shape[1] && x.size > 0 &&
  enabledSwitch.enabled() && SimdKernels.here()

/**
 * `maskedMean(relu ? relu(x) : x, stepMask)` (B, T, d) -> (B, d) on the kernels, differentiable in x
 * (the mask is data). Call only where {@link accepts}.
 */
export const maskedMean = (x: tf.Tensor3D, stepMask: tf.Tensor2D, relu: boolean): tf.Tensor2D => {
  const attrs = { relu } as unknown as tf.NamedAttrMap
  const op = customOp<tf.Tensor2D>(([input], save) => {
    // the mask too: it may be a temporary of the forward pass, which the tape keeps only when saved
    save([input, stepMask])
    return {
      value: tf.engine().runKernel(FORWARD, { x: input, mask: stepMask }, attrs) as tf.Tensor2D,
      gradFunc: (dy, [sx, sm]) => tf.engine().runKernel(BACKWARD, { dy, x: sx, mask: sm }, attrs) as tf.Tensor
    }
  })
  return op(x)
}
