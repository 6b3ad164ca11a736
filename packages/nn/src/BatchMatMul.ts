/**
 * `batchMatMul(a, b, transposeB)`: the batched product of attention, `(..., m, k) · (..., k, n)` or
 * with `b` as `(..., n, k)` transposed, differentiable. On the wasm backend it runs a kernel of its
 * own (`SimdKernels`, WebAssembly SIMD in tfjs's heap): the backend's `BatchMatMul` takes a slow
 * path for a batch of small matrices (about 2 GFLOP/s: 4.8 ms for the scores of 32 x 2 heads x 50
 * steps), and the gradients (products with one operand transposed) are slower still. Elsewhere it
 * is `tf.matMul` with the same transposes. The values equal tf.matMul's up to float rounding (the
 * sums run in another order).
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"
import { customOp } from "./CustomOp"
import * as KernelOverride from "./wasm/KernelOverride"
import * as SimdKernels from "./wasm/SimdKernels"

/** The kernel's name in tfjs's registry (wasm backend). */
export const KERNEL = "HaemsaBatchMatMul"

interface Attrs {
  readonly transposeA: boolean
  readonly transposeB: boolean
}

/** The product's sizes: m x k times k x n over `batch` matrices, after the transposes. */
const sizes = (a: ReadonlyArray<number>, b: ReadonlyArray<number>, { transposeA, transposeB }: Attrs) => {
  const [ar, ac] = a.slice(-2)
  const [br, bc] = b.slice(-2)
  const m = transposeA ? ac : ar
  const k = transposeA ? ar : ac
  const n = transposeB ? br : bc
  const lead = a.slice(0, -2)
  if (a.length < 3 || a.length !== b.length || lead.some((d, i) => d !== b[i]) || (transposeB ? bc : br) !== k) {
    throw new RangeError(`batchMatMul: shapes [${a}] and [${b}] (transposeA ${transposeA}, transposeB ${transposeB}) do not multiply`)
  }
  if (transposeA && transposeB) throw new RangeError("batchMatMul: the kernel takes at most one operand transposed")
  return { m, k, n, lead, batch: lead.reduce((x, d) => x * d, 1) }
}

const wasmKernel: tf.KernelFunc = ({ attrs, backend, inputs }) => {
  const wasm = backend as unknown as SimdKernels.WasmBackend
  const a = inputs.a as tf.TensorInfo
  const b = inputs.b as tf.TensorInfo
  const flags = attrs as unknown as Attrs
  const { batch, k, lead, m, n } = sizes(a.shape, b.shape, flags)
  const out = wasm.makeOutput([...lead, m, n], "float32")
  const kernel = SimdKernels.of(wasm)!
  // byte offsets in the heap (taken after the output's allocation, which may grow the memory)
  const [pa, pb, pc] = [a, b, out].map((t) => SimdKernels.address(wasm, t))
  for (let i = 0; i < batch; i++) {
    const [ao, bo, co] = [pa + 4 * i * m * k, pb + 4 * i * k * n, pc + 4 * i * m * n]
    if (flags.transposeB) kernel.nt(ao, bo, co, m, k, n)
    else kernel.nn(ao, flags.transposeA ? 1 : k, flags.transposeA ? m : 1, bo, co, m, k, n)
  }
  return out
}

KernelOverride.registerNew("wasm", { [KERNEL]: wasmKernel })

/** The product without a gradient: the kernel on wasm, `tf.matMul` elsewhere. */
const product = (a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor =>
  a.dtype === "float32" && b.dtype === "float32" && SimdKernels.here()
    ? tf.engine().runKernel(KERNEL, { a, b }, { transposeA, transposeB } as unknown as tf.NamedAttrMap) as tf.Tensor
    : tf.matMul(a, b, transposeA, transposeB)

const plain = customOp(([a, b], save) => {
  save([a, b])
  return {
    value: product(a, b, false, false),
    // dA = dC · Bᵀ, dB = Aᵀ · dC
    gradFunc: (dy, [sa, sb]) => [product(dy, sb, false, true), product(sa, dy, true, false)]
  }
})

const withBTransposed = customOp(([a, b], save) => {
  save([a, b])
  return {
    value: product(a, b, false, true),
    // C = A · Bᵀ: dA = dC · B, dB = dCᵀ · A
    gradFunc: (dy, [sa, sb]) => [product(dy, sb, false, false), product(dy, sa, true, false)]
  }
})

/**
 * `a (..., m, k) · b (..., k, n)`, or `a · bᵀ` with `b (..., n, k)` when `transposeB`: equal leading
 * (batch) dimensions, rank 3 or more. Differentiable in both operands.
 */
export const batchMatMul = <T extends tf.Tensor>(a: T, b: T, transposeB = false): T =>
  (transposeB ? withBTransposed(a, b) : plain(a, b)) as T
