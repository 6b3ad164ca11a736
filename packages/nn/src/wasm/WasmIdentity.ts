/**
 * tfjs's `Identity` kernel on the wasm backend without the copy. tfjs runs `Identity` for every
 * `tf.clone` and for every tensor a gradient saves for the backward pass (the engine keeps a clone),
 * and the wasm backend's kernel copies the whole buffer each time: a (1600, 768) text batch costs
 * about 0.6 ms per saved copy, several per training step. Tensors are immutable and the wasm backend
 * counts references per buffer (its own `Reshape` shares the buffer the same way), so the identity
 * can hand back the input's buffer with one more reference, as the cpu and webgl backends do.
 *
 * @since 0.3.0
 */
import type * as tf from "@tensorflow/tfjs"
import * as KernelOverride from "./KernelOverride"

/** The part of tfjs-backend-wasm's backend the kernel touches. */
interface WasmBackendLike {
  incRef(dataId: object): void
}

/** The identity that shares its input's buffer (string tensors keep tfjs's own kernel: they have no wasm buffer). */
const sharedIdentity = (original: tf.KernelFunc): tf.KernelFunc => (args) => {
  const x = args.inputs.x as tf.TensorInfo
  if (x.dtype === "string") return original(args)
  ;(args.backend as unknown as WasmBackendLike).incRef(x.dataId)
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype }
}

const override = KernelOverride.make("Identity", "wasm", sharedIdentity)

/**
 * Replace the wasm backend's `Identity` kernel with one that shares the input's buffer. Idempotent;
 * a no-op when the wasm backend's kernel is not registered (its package not imported).
 */
export const install = (): void => override.install()

/** Put tfjs's copying `Identity` kernel back (for comparisons); a no-op unless {@link install}ed. */
export const uninstall = (): void => override.uninstall()

/** Whether the sharing kernel is the wasm backend's `Identity` now. */
export const installed = (): boolean => override.installed()
