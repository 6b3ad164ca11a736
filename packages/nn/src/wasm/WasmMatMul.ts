/**
 * tfjs's `BatchMatMul` and `_FusedMatMul` kernels on the wasm backend, for one product of float32
 * matrices (no batch, or a batch of one), on the `gemm` kernel of `SimdKernels`: the second operand
 * packed into panels of eight columns, then each block of four rows of the first operand (read in
 * place, or packed first when it is stored transposed), kept in the L1 cache, run over all of them. What it is for is transposed operands: the backend
 * runs a product with a transpose flag another way, about 10x slower, so the modules of this package
 * transposed explicitly on wasm (one more kernel and a copy of the operand per product); `gemm`
 * reads them in place. Plain products run on it too, whatever their inner dimension (see
 * {@link MIN_INNER}): the text projection's at about 0.9x the time of the backend's XNNPACK kernels,
 * and the short ones of the layers after it without XNNPACK's per-call costs. On the default network
 * a one-thread training step takes about 0.9x the time it took with explicit transposes and XNNPACK
 * (B 16 and 32, 2-core machine).
 *
 * The arithmetic is XNNPACK's: each output starts at its bias (0 without one) and adds the products
 * over the inner dimension in order, each rounded to float32, so the result is the backend's bit for
 * bit (a property test checks it over shapes and biases). Transposed 2-D operands (`transposeA`,
 * `transposeB`) are read in place, with the same sums as on a transposed copy: `Layers.linear`
 * passes the flags on wasm while this kernel is installed (its weight and input gradients), so its
 * results are the ones of the explicit transposes, bit for bit (the backend's flagged path sums in
 * another order). Flags on batched operands go to the backend's kernels
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

/**
 * The shortest inner dimension of a product without transpose flags that `gemm` takes: 1, every one.
 * It was 256 until 0.4: alone, a short product with the same weight call after call is as fast or
 * faster on XNNPACK, which keeps a packed copy of each weight per buffer (at k 5 to 128 `gemm` took
 * 1.0-1.7x its time). In the default network, where each update gives the weights new buffers and the
 * short products are many, `gemm` for all of them made a one-thread training step 0.96x (batch 16)
 * and 0.975-0.98x (batch 32) as long, and an eval-mode forward pass 0.98x (batch 64) and 0.94-0.97x
 * (batch 1), in two in-process comparisons each, on the 2-core machine.
 */
export const MIN_INNER = 1

/** The product's sizes, or undefined when `gemm` does not take it (see the module comment; cheap checks first, nothing allocated on the way out). */
const plainProduct = (inputs: Pick<MatMulArgs, "a" | "b" | "bias" | "preluActivationWeights">, attrs: Pick<MatMulArgs, "transposeA" | "transposeB" | "activation">) => {
  const { a, b, bias } = inputs
  const { transposeA, transposeB, activation } = attrs
  const ra = a.shape.length
  const rb = b.shape.length
  if (ra < 2 || rb < 2 || a.dtype !== "float32" || b.dtype !== "float32") return undefined
  const flagged = transposeA || transposeB
  // a product without flags is taken from an inner dimension of MIN_INNER (every one since 0.4)
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1]
  if (!flagged && k < MIN_INNER) return undefined
  if (flagged && (ra !== 2 || rb !== 2)) return undefined
  if ((activation !== undefined && activation !== "linear") || inputs.preluActivationWeights != null) return undefined
  for (let i = 0; i < ra - 2; i++) if (a.shape[i] !== 1) return undefined
  for (let i = 0; i < rb - 2; i++) if (b.shape[i] !== 1) return undefined
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2]
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2]
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1]
  if (k !== kb || m === 0 || n === 0 || k === 0) return undefined
  if (bias != null && (bias.dtype !== "float32" || bias.shape.length !== 1 || bias.shape[0] !== n)) return undefined
  // the output keeps the operands' leading 1s, as the backend's kernels do
  const lead = Math.max(ra, rb) - 2
  return { m, k, n, shape: [...Array.from({ length: lead }, () => 1), m, n] }
}

/** Floats of `gemm`'s scratch: one panel (bias row + k rows of eight) per eight columns, and a block of four rows of a transposed A. */
const scratchFloats = (k: number, n: number): number => Math.ceil(n / 8) * (k + 1) * 8 + 4 * k

/** How many products `gemm` has run since the module loaded (the others went to the backend's kernels). */
export const stats = { products: 0 }

/** The largest scratch kept between calls (floats): a larger product allocates its own and frees it. */
const KEPT_SCRATCH = 1 << 20

const keptScratch = new WeakMap<object, { readonly at: number; readonly floats: number }>()

/**
 * The heap offset of `floats` floats of scratch and how to give it back: the backend's kept block
 * (grown when too small, up to {@link KEPT_SCRATCH}), or a block of its own beyond that.
 */
const scratchOf = (backend: SimdKernels.WasmBackend, floats: number): { readonly at: number; readonly free: () => void } => {
  if (floats > KEPT_SCRATCH) {
    const at = backend.wasm._malloc(floats * 4) >>> 0
    return { at, free: () => backend.wasm._free(at) }
  }
  let kept = keptScratch.get(backend)
  if (kept === undefined || kept.floats < floats) {
    if (kept !== undefined) backend.wasm._free(kept.at)
    kept = { at: backend.wasm._malloc(floats * 4) >>> 0, floats }
    keptScratch.set(backend, kept)
  }
  return { at: kept.at, free: () => {} }
}

/** The product on `gemm` when it takes it; anything else by the backend's kernel. */
const onGemm = (original: tf.KernelFunc): tf.KernelFunc => (args) => {
  const inputs = args.inputs as unknown as Pick<MatMulArgs, "a" | "b" | "bias" | "preluActivationWeights">
  const attrs = args.attrs as unknown as Pick<MatMulArgs, "transposeA" | "transposeB" | "activation">
  const product = plainProduct(inputs, attrs)
  const kernels = product === undefined ? undefined : SimdKernels.of(args.backend)
  if (kernels === undefined || product === undefined) return original(args)
  const { m, k, n, shape } = product
  const backend = args.backend as unknown as SimdKernels.WasmBackend
  const out = backend.makeOutput(shape, "float32")
  const scratch = scratchOf(backend, scratchFloats(k, n))
  const at = (info: tf.TensorInfo) => SimdKernels.address(backend, info)
  const bias = inputs.bias ?? undefined
  // A(i, p) and B(p, j) as strides over the stored operands
  const [asi, asp] = attrs.transposeA ? [1, m] : [k, 1]
  const [bsp, bsj] = attrs.transposeB ? [1, k] : [n, 1]
  const [aAt, bAt, biasAt] = [at(inputs.a), at(inputs.b), bias === undefined ? 0 : at(bias)]
  kernels.gemm(aAt, asi, asp, bAt, bsp, bsj, biasAt, bias === undefined ? 0 : 1, at(out), m, k, n, scratch.at)
  scratch.free()
  stats.products++
  return out
}

const overrides = [KernelOverride.make("BatchMatMul", "wasm", onGemm), KernelOverride.make("_FusedMatMul", "wasm", onGemm)]

/** Run the wasm backend's plain 2-D products on `gemm`. Idempotent; a no-op without the wasm backend's kernels. */
export const install = (): void => overrides.forEach((o) => o.install())

/** Put the backend's own matMul kernels back (for comparisons); a no-op unless {@link install}ed. */
export const uninstall = (): void => overrides.forEach((o) => o.uninstall())

/** Whether `gemm` runs the wasm backend's `BatchMatMul` and `_FusedMatMul` now. */
export const installed = (): boolean => overrides.every((o) => o.installed())
