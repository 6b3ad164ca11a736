/**
 * tfjs's `BatchMatMul` and `_FusedMatMul` kernels on the wasm backend, for one product of float32
 * matrices (no batch, or a batch of one), on the `gemm` kernel of `SimdKernels`. The backend hands
 * such a product to XNNPACK, which repacks the second operand on every call and runs it at about
 * 25-35 GFLOP/s on this project's 2-core machine; `gemm` packs it into panels of eight columns
 * once per call and runs a packed block of four rows of the first operand, kept in the L1 cache,
 * over all of them, about 1.4x faster on the default network's text projections ((1200, 768) · (768, 64) and
 * its gradients) and several times faster on small products, where XNNPACK's setup dominates.
 *
 * The arithmetic is XNNPACK's: each output starts at its bias (0 without one) and adds the products
 * over the inner dimension in order, each rounded to float32, so the result is the backend's bit for
 * bit (a property test checks it over shapes and biases). Transposed 2-D operands (`transposeA`,
 * `transposeB`) are read in place, with the same sums as on a transposed copy: `Layers.linear`
 * passes the flags on wasm while this kernel is installed (its weight and input gradients), where
 * it would otherwise transpose explicitly (the backend runs flagged products another way, 10x
 * slower and with another order of sums). Flags on batched operands go to the backend's kernels
 * (tfjs hands every `_FusedMatMul` over as a batch of one, so its flags among them), as do batches
 * of more than one, activations other than `linear`, other dtypes and empty products.
 * `Backend.setup` of `@haemsa/haemsa-model` installs it with `WasmSum` and `WasmIdentity`.
 *
 * @since 0.4.0
 */
import * as tf from "@tensorflow/tfjs"
import * as KernelOverride from "./KernelOverride"
import * as SimdKernels from "./SimdKernels"

/** The inputs and attributes both matMul kernels share (`bias` and `activation` only in `_FusedMatMul`). */
interface MatMulArgs {
  readonly a: tf.TensorInfo
  readonly b: tf.TensorInfo
  readonly bias?: tf.TensorInfo | null
  readonly preluActivationWeights?: tf.TensorInfo | null
  readonly transposeA: boolean
  readonly transposeB: boolean
  readonly activation?: string
}

/** The product's sizes, or undefined when `gemm` does not take it (see the module comment). */
const plainProduct = ({ a, b, bias, preluActivationWeights, transposeA, transposeB, activation }: MatMulArgs) => {
  if (a.dtype !== "float32" || b.dtype !== "float32") return undefined
  if ((transposeA || transposeB) && (a.shape.length !== 2 || b.shape.length !== 2)) return undefined
  if (activation !== undefined && activation !== "linear") return undefined
  if (preluActivationWeights != null || a.shape.length < 2 || b.shape.length < 2) return undefined
  const outer = (shape: ReadonlyArray<number>) => shape.slice(0, -2)
  if (tf.util.sizeFromShape(outer(a.shape)) !== 1 || tf.util.sizeFromShape(outer(b.shape)) !== 1) return undefined
  const [m, k] = transposeA ? [a.shape[1], a.shape[0]] : a.shape.slice(-2)
  const [kb, n] = transposeB ? [b.shape[1], b.shape[0]] : b.shape.slice(-2)
  if (k !== kb || m === 0 || n === 0 || k === 0) return undefined
  if (bias != null && (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== n)) return undefined
  // the output keeps the operands' leading 1s, as the backend's kernels do
  const lead = Math.max(a.shape.length, b.shape.length) - 2
  return { m, k, n, shape: [...Array.from({ length: lead }, () => 1), m, n] }
}

/** Floats of `gemm`'s scratch: one panel (bias row + k rows of eight) per eight columns, and a block of four rows of A. */
const scratchFloats = (k: number, n: number): number => Math.ceil(n / 8) * (k + 1) * 8 + 4 * k

/** The product on `gemm` when it takes it; anything else by the backend's kernel. */
const onGemm = (original: tf.KernelFunc): tf.KernelFunc => (args) => {
  const kernels = SimdKernels.of(args.backend)
  const inputs = args.inputs as unknown as Pick<MatMulArgs, "a" | "b" | "bias" | "preluActivationWeights">
  const attrs = args.attrs as unknown as Pick<MatMulArgs, "transposeA" | "transposeB" | "activation">
  const product = kernels === undefined ? undefined : plainProduct({ ...inputs, ...attrs })
  if (kernels === undefined || product === undefined) return original(args)
  const { m, k, n, shape } = product
  const backend = args.backend as unknown as SimdKernels.WasmBackend & { disposeData(dataId: object): void }
  const out = backend.makeOutput(shape, "float32")
  const scratch = backend.makeOutput([scratchFloats(k, n)], "float32")
  // addresses after every allocation (a growing heap keeps byte offsets, not views)
  const at = (info: tf.TensorInfo) => SimdKernels.address(backend, info)
  const bias = inputs.bias ?? undefined
  // A(i, p) and B(p, j) as strides over the stored operands
  const [asi, asp] = attrs.transposeA ? [1, m] : [k, 1]
  const [bsp, bsj] = attrs.transposeB ? [1, k] : [n, 1]
  const [aAt, bAt, biasAt] = [at(inputs.a), at(inputs.b), bias === undefined ? 0 : at(bias)]
  kernels.gemm(aAt, asi, asp, bAt, bsp, bsj, biasAt, bias === undefined ? 0 : 1, at(out), m, k, n, at(scratch))
  backend.disposeData(scratch.dataId)
  return out
}

const overrides = [KernelOverride.make("BatchMatMul", "wasm", onGemm), KernelOverride.make("_FusedMatMul", "wasm", onGemm)]

/** Run the wasm backend's plain 2-D products on `gemm`. Idempotent; a no-op without the wasm backend's kernels. */
export const install = (): void => overrides.forEach((o) => o.install())

/** Put the backend's own matMul kernels back (for comparisons); a no-op unless {@link install}ed. */
export const uninstall = (): void => overrides.forEach((o) => o.uninstall())

/** Whether `gemm` runs the wasm backend's `BatchMatMul` and `_FusedMatMul` now. */
export const installed = (): boolean => overrides.every((o) => o.installed())
