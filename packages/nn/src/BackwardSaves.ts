/**
 * The tensors a gradient keeps for the backward pass, without a kernel call each. tfjs's engine
 * saves every such tensor with `engine.clone`: a run of the `Identity` kernel plus a node on the
 * gradient tape (so that a gradient of a gradient could flow through the saved copy). A training
 * step of the default HAEMSA network saves about 470 tensors, and each save costs the engine's
 * whole kernel-call path. On the wasm and cpu backends, whose buffers are reference counted, a
 * saved tensor can instead be a new tensor object on the same buffer with one more reference:
 * what the wasm `Identity` of `WasmIdentity` gives, without the kernel call and the tape node.
 * First-order gradients never read through those tape nodes (nothing in the forward pass takes a
 * saved copy as an input), so every gradient is the same; higher-order gradients through saved
 * tensors are not supported on these backends after `install`.
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"

/** The backends whose `incRef` / `disposeData` count references per buffer. */
const SHARING = new Set(["wasm", "cpu"])

/** The part of tfjs's engine the patch touches. */
interface EngineLike {
  backendName: string
  clone(x: tf.Tensor): tf.Tensor
  nextTensorId(): number
  incRef(t: tf.Tensor, backend: tf.KernelBackend): void
  state: { tensorInfo: { get(dataId: object): { backend: tf.KernelBackend } | undefined } }
  backend: tf.KernelBackend
}

/** The engine's own `clone`, kept for the other backends and for {@link uninstall}. */
type PatchedClone = ((x: tf.Tensor) => tf.Tensor) & { readonly original: (x: tf.Tensor) => tf.Tensor }

const isPatched = (f: EngineLike["clone"]): f is PatchedClone => "original" in f

/**
 * Make the engine save tensors for the backward pass by sharing their buffers on the wasm and cpu
 * backends (other backends keep tfjs's clone). Idempotent.
 */
export const install = (): void => {
  const engine = tf.engine() as unknown as EngineLike
  if (isPatched(engine.clone)) return
  const original = engine.clone
  const TensorClass = tf.Tensor as unknown as new (shape: Array<number>, dtype: tf.DataType, dataId: object, id: number) => tf.Tensor
  const clone = function(this: EngineLike, x: tf.Tensor): tf.Tensor {
    if (!SHARING.has(this.backendName) || x.dtype === "string") return original.call(this, x)
    const shared = new TensorClass(x.shape, x.dtype, x.dataId, this.nextTensorId())
    this.incRef(shared, this.state.tensorInfo.get(x.dataId)?.backend ?? this.backend)
    return shared
  }
  engine.clone = Object.assign(clone, { original }) as PatchedClone
}

/** Put tfjs's own saving back (for comparisons); a no-op unless {@link install}ed. */
export const uninstall = (): void => {
  const engine = tf.engine() as unknown as EngineLike
  const current = engine.clone
  if (isPatched(current)) engine.clone = current.original
}

/** Whether saved tensors share their buffers now. */
export const installed = (): boolean => isPatched((tf.engine() as unknown as EngineLike).clone)
