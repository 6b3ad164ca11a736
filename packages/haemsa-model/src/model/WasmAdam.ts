/**
 * Adam's update on the `wasm` backend as one kernel call per weight.
 *
 * tfjs's `AdamOptimizer` updates each weight with about fourteen element-wise kernels and three
 * assignments; for the default HAEMSA network (52 weights) that is about 700 kernel calls and 4 ms of
 * a one-thread training step on the project's 2-core machine, most of it tfjs's per-call cost. Here
 * the `adam` function of `AdamKernel` (the host Adam's WebAssembly SIMD kernel, instantiated over the
 * wasm backend's heap) updates both moments where they are and writes the new weight into a fresh
 * buffer that the variable takes (as `assign` does: the backend's XNNPACK kernels keep a packed copy
 * of a weight per buffer, which an update in place would leave stale), every operation rounded to
 * float32 as tfjs's kernels round it: the same numbers, bit for bit. Moments whose buffers another
 * tensor shares are updated by tfjs's own operations instead, so no other tensor changes.
 * `FusedAdam` of `Optimizer` runs it on wasm unless {@link setEnabled}(false).
 *
 * @since 0.4.0
 */
import { Fused, SimdKernels } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as AdamKernel from "./AdamKernel"

/** The tfjs flag behind {@link setEnabled} (true by default). */
export const FLAG = "HAEMSA_WASM_ADAM_KERNEL"

const adamSwitch = Fused.flagSwitch(FLAG)

/** Switch the kernel off (tfjs's Adam then runs on wasm too, to compare the two) or back on. */
export const setEnabled = (enabled: boolean): void => adamSwitch.setEnabled(enabled)

/** The part of tfjs-backend-wasm's backend the update touches: the kernels' slice, and each buffer's reference count. */
type WasmBackendLike = SimdKernels.WasmBackend & {
  readonly dataIdMap: { get(dataId: object): { readonly refCount: number } | undefined }
}

/** The part of tfjs's engine that makes a tensor of a backend's buffer. */
interface EngineLike {
  makeTensorFromTensorInfo(info: tf.TensorInfo): tf.Tensor
}

/** The kernel over the active backend's heap, when it runs here: wasm, WebAssembly SIMD, enabled. */
export const kernel = (): AdamKernel.Exports | undefined => {
  if (tf.getBackend() !== "wasm" || !adamSwitch.enabled()) return undefined
  const memory = SimdKernels.heap(tf.backend())
  return memory === undefined ? undefined : AdamKernel.over(memory)
}

/** How many weight updates ran on the kernel, and how many by tfjs's operations (a moment's buffer shared), since the module loaded. */
export const stats = { onKernel: 0, byOps: 0 }

/** The float32 constants of one step: β1, β2, 1-β1, 1-β2, 1-β1ᵗ, 1-β2ᵗ, ε, -lr, as tfjs's Adam rounds them. */
export interface Constants {
  readonly b1: number
  readonly b2: number
  readonly oneMinusB1: number
  readonly oneMinusB2: number
  readonly oneMinusAcc1: number
  readonly oneMinusAcc2: number
  readonly eps: number
  readonly minusLr: number
}

/** The constants of a step with β1ᵗ = `acc1`, β2ᵗ = `acc2` (the optimizer's float32 values). */
export const constants = (lr: number, beta1: number, beta2: number, epsilon: number, acc1: number, acc2: number): Constants => {
  const fr = Math.fround
  return {
    b1: fr(beta1),
    b2: fr(beta2),
    oneMinusB1: fr(1 - beta1),
    oneMinusB2: fr(1 - beta2),
    oneMinusAcc1: fr(1 - acc1),
    oneMinusAcc2: fr(1 - acc2),
    eps: fr(epsilon),
    minusLr: fr(-lr)
  }
}

/**
 * One Adam update of `weight` and its moments `m`, `v` with `gradient`: by the kernel when both
 * moments' buffers are theirs alone and the gradient is a float32 tensor of the weight's size (the
 * moments in place, the weight into a fresh buffer); otherwise by tfjs's operations, as
 * `tf.AdamOptimizer.applyGradients` writes them. Call inside `tf.tidy`.
 */
export const update = (
  exports: AdamKernel.Exports,
  weight: tf.Variable,
  m: tf.Variable,
  v: tf.Variable,
  gradient: tf.Tensor,
  c: Constants
): void => {
  const backend = tf.backend() as unknown as WasmBackendLike
  const own = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId)?.refCount === 1
  if (gradient.dtype === "float32" && gradient.size === weight.size && own(m) && own(v)) {
    const fresh = (tf.engine() as unknown as EngineLike).makeTensorFromTensorInfo(backend.makeOutput([...weight.shape], "float32"))
    // (offsets after the allocation; the heap's views go stale when it grows)
    const offset = (t: tf.Tensor) => SimdKernels.address(backend, t)
    const to = offset(fresh)
    const from = offset(weight)
    new Uint8Array(backend.wasm.asm.memory.buffer).copyWithin(to, from, from + 4 * weight.size)
    exports.adam(to, offset(m), offset(v), offset(gradient), weight.size, c.b1, c.b2, c.oneMinusB1, c.oneMinusB2, c.oneMinusAcc1, c.oneMinusAcc2, c.eps, c.minusLr)
    weight.assign(fresh)
    stats.onKernel++
    return
  }
  stats.byOps++
  // tfjs's arithmetic, operation by operation (its scalars are these float32 constants)
  const newM = tf.add(tf.mul(m, c.b1), tf.mul(gradient, c.oneMinusB1))
  const newV = tf.add(tf.mul(v, c.b2), tf.mul(tf.square(gradient), c.oneMinusB2))
  const correctedM = tf.div(newM, c.oneMinusAcc1)
  const correctedV = tf.div(newV, c.oneMinusAcc2)
  m.assign(newM)
  v.assign(newV)
  weight.assign(tf.add(tf.mul(tf.div(correctedM, tf.add(tf.sqrt(correctedV), c.eps)), c.minusLr), weight))
}
