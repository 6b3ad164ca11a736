/**
 * tfjs's `Sum` kernel on the wasm backend, for sums over the leading axes of a float32 tensor (the
 * bias gradients, `sum(dy, 0)`, and the gradients of every broadcast add or multiply), on the
 * column-sum kernel of `SimdKernels`. The backend's own kernel transposes the tensor to put the
 * summed axes last and then sums each row: 1.7 ms for a (1600, 384) gradient, where the column sums
 * take 0.1 ms. Each column is summed in row order from 0, as the backend's kernel sums each
 * transposed row, so the result is the same bit for bit (a test checks it). Other sums keep the
 * backend's kernel. `Backend.setup` of `@haemsa/haemsa-model` installs it with `WasmIdentity`.
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"
import * as KernelOverride from "./KernelOverride"
import * as SimdKernels from "./SimdKernels"

/** The sums over the leading axes as column sums; anything else by the backend's kernel. */
const leadingSum = (original: tf.KernelFunc): tf.KernelFunc => (args) => {
  const x = args.inputs.x as tf.TensorInfo
  const { axis, keepDims } = args.attrs as unknown as { axis: number | Array<number>; keepDims: boolean }
  const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b)
  const lead = axes.length
  const kernels = SimdKernels.of(args.backend)
  // leading axes 0 .. lead - 1, not all of them, float32, nothing empty
  if (
    kernels === undefined || x.dtype !== "float32" || lead === 0 || lead >= x.shape.length ||
    axes.some((a, i) => a !== i) || x.shape.some((d) => d === 0)
  ) return original(args)
  const backend = args.backend as unknown as SimdKernels.WasmBackend
  const rest = x.shape.slice(lead)
  const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, "float32")
  const rows = x.shape.slice(0, lead).reduce((a, d) => a * d, 1)
  kernels.colsum(SimdKernels.address(backend, x), SimdKernels.address(backend, out), rows, tf.util.sizeFromShape(rest))
  return out
}

const override = KernelOverride.make("Sum", "wasm", leadingSum)

/** Run the wasm backend's sums over leading axes on the column-sum kernel. Idempotent; a no-op without the wasm backend's kernels. */
export const install = (): void => override.install()

/** Put the backend's own `Sum` kernel back (for comparisons); a no-op unless {@link install}ed. */
export const uninstall = (): void => override.uninstall()

/** Whether the column-sum `Sum` is the wasm backend's kernel now. */
export const installed = (): boolean => override.installed()
