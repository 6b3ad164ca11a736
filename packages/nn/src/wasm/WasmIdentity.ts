/**
 * tfjs's `Identity` kernel on the wasm backend without the copy, and its `Cast` to the dtype a tensor
 * already has. tfjs runs `Identity` for every `tf.clone` and for every tensor a gradient saves for the
 * backward pass (the engine keeps a clone), and the wasm backend's kernel copies the whole buffer each
 * time: a (1600, 768) text batch costs about 0.6 ms per saved copy, several per training step.
 * tfjs's gradients cast their inputs to float32 whatever they are (a multiplication's gradient casts
 * both operands, a division's, a `where`'s, an identity's too): about 110 `Cast` kernels in a training
 * step of the default network, each a copy of a float32 tensor into a new float32 buffer. Tensors are
 * immutable and the wasm backend counts references per buffer (its own `Reshape` shares the buffer
 * the same way), so both can hand back the input's buffer with one more reference, as the cpu and
 * webgl backends do for the identity.
 *
 * @since 0.3.0
 */
import type * as tf from "@tensorflow/tfjs"
import * as KernelOverride from "./KernelOverride"

/** The part of tfjs-backend-wasm's backend the kernel touches. */
interface WasmBackendLike {
  incRef(dataId: object): void
}

/**
 * A kernel that hands back its input's buffer with one more reference where `shares(args)` says so,
 * and runs the backend's own kernel otherwise (string tensors always: they have no wasm buffer).
 */
const sharing = (shares: (args: Parameters<tf.KernelFunc>[0]) => boolean) => (original: tf.KernelFunc): tf.KernelFunc => (args) => {
  const x = args.inputs.x as tf.TensorInfo
  if (x.dtype === "string" || !shares(args)) return original(args)
  ;(args.backend as unknown as WasmBackendLike).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

/** The identity shares its input's buffer. */
const sharedIdentity = sharing(() => true)

/** A cast to the input's own dtype shares its buffer; any other cast is the backend's (a conversion). */
const sharedCast = sharing((args) => (args.attrs as unknown as { dtype: tf.DataType }).dtype === (args.inputs.x as tf.TensorInfo).dtype)

const overrides = [KernelOverride.make("Identity", "wasm", sharedIdentity), KernelOverride.make("Cast", "wasm", sharedCast)]

/**
 * Replace the wasm backend's `Identity` kernel, and its `Cast` to the same dtype, with ones that
 * share the input's buffer. Idempotent; a no-op when the wasm backend's kernels are not registered
 * (its package not imported).
 */
export const install = (): void => overrides.forEach((o) => o.install())

/** Put tfjs's copying `Identity` and `Cast` kernels back (for comparisons); a no-op unless {@link install}ed. */
export const uninstall = (): void => overrides.forEach((o) => o.uninstall())

/** Whether the sharing kernels are the wasm backend's `Identity` and `Cast` now. */
export const installed = (): boolean => overrides.every((o) => o.installed())
