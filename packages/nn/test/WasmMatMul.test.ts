/**
 * The wasm backend's plain 2-D products on the `gemm` kernel (WasmMatMul): bit for bit the backend's
 * own kernels (XNNPACK) for any sizes (remainders of the 4-row and 8-column blocks included), with
 * and without a bias, rank 2 and rank 3 with a batch of one; 2-D operands transposed by flag give
 * the backend's product of the explicitly transposed operands, bit for bit; what it does not take
 * (batches, flags on batched operands, activations) goes to the backend's kernels; install and
 * uninstall swap them.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identical } from "@haemsa/test-helpers"
import { SimdKernels, WasmMatMul } from "../src/index"

/** Inner dimensions short and long (the kernel takes every one: `WasmMatMul.MIN_INNER` is 1). */
const inner = fc.oneof(fc.integer({ min: 1, max: 70 }), fc.integer({ min: 256, max: 296 }))

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  WasmMatMul.uninstall()
  await tf.setBackend("cpu")
})

/** `run` with the backend's kernels and with `gemm`. */
const bothWays = (run: () => tf.Tensor) => {
  WasmMatMul.uninstall()
  const own = run()
  WasmMatMul.install()
  const gemm = run()
  return { own, gemm }
}

describe("WasmMatMul", () => {
  it("installs and uninstalls both kernels, and computes products only when installed", () => {
    expect(SimdKernels.of(tf.backend())).toBeDefined()
    WasmMatMul.install()
    WasmMatMul.install()
    expect(WasmMatMul.installed()).toBe(true)
    WasmMatMul.uninstall()
    expect(WasmMatMul.installed()).toBe(false)
    // [[1, 2], [3, 4], [5, 6]] · [[1, 0, 2], [0, 1, 3]], the inner dimension padded with zeros to MIN_INNER (at least 2)
    const k = Math.max(2, WasmMatMul.MIN_INNER)
    const a = tf.pad(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), [[0, 0], [0, k - 2]]) as tf.Tensor2D
    const b = tf.pad(tf.tensor2d([[1, 0, 2], [0, 1, 3]]), [[0, k - 2], [0, 0]]) as tf.Tensor2D
    const before = WasmMatMul.stats.products
    expect(Array.from(tf.matMul(a, b).dataSync())).toEqual([1, 2, 8, 3, 4, 18, 5, 6, 28])
    expect(WasmMatMul.stats.products).toBe(before)
    WasmMatMul.install()
    expect(Array.from(tf.matMul(a, b).dataSync())).toEqual([1, 2, 8, 3, 4, 18, 5, 6, 28])
    expect(WasmMatMul.stats.products).toBe(before + 1)
    expect(Array.from(tf.fused.matMul({ a, b, bias: tf.tensor1d([1, 1, 1]) }).dataSync())).toEqual([2, 3, 9, 4, 5, 19, 6, 7, 29])
    expect(Array.from(tf.matMul(tf.transpose(a), tf.transpose(b), true, true).dataSync())).toEqual([1, 2, 8, 3, 4, 18, 5, 6, 28])
    expect(WasmMatMul.stats.products).toBe(before + 3)
    tf.dispose([a, b])
  })

  it("equals the backend's kernels bit for bit for any sizes, bias and rank", () => {
    const before = WasmMatMul.stats.products
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }), inner, fc.integer({ min: 1, max: 41 }),
        fc.boolean(), fc.boolean(), fc.constantFrom(1e-3, 1, 1e4), fc.integer(),
        (m, k, n, withBias, rank3, scale, seed) => {
          const [a, b, bias] = tf.tidy(() => [
            tf.mul(tf.randomNormal(rank3 ? [1, m, k] : [m, k], 0, 1, "float32", seed), scale),
            tf.randomNormal(rank3 ? [1, k, n] : [k, n], 0, 1, "float32", seed + 1),
            tf.randomNormal([n], 0, 1, "float32", seed + 2)
          ])
          const { own, gemm } = bothWays(() =>
            withBias
              ? tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias })
              : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)
          )
          const same = identical(own, gemm)
          tf.dispose([a, b, bias, own, gemm])
          return same
        }
      ),
      { numRuns: 120, seed: 5 }
    )
    expect(WasmMatMul.stats.products).toBeGreaterThan(before + 20)
  })

  it("reads 2-D operands transposed by flag in place: the backend's product of the transposed copies, bit for bit", () => {
    const before = WasmMatMul.stats.products
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 37 }), inner, fc.integer({ min: 1, max: 41 }),
        fc.boolean(), fc.boolean(), fc.integer(),
        (m, k, n, transposeA, transposeB, seed) => {
          const [a, b] = tf.tidy(() => [
            tf.randomNormal(transposeA ? [k, m] : [m, k], 0, 1, "float32", seed) as tf.Tensor2D,
            tf.randomNormal(transposeB ? [n, k] : [k, n], 0, 1, "float32", seed + 1) as tf.Tensor2D
          ])
          const [aT, bT] = [transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b]
          WasmMatMul.uninstall()
          const own = tf.matMul(aT, bT)
          WasmMatMul.install()
          const flagged = tf.matMul(a, b, transposeA, transposeB)
          const same = identical(own, flagged)
          tf.dispose([a, b, aT, bT, own, flagged])
          return same
        }
      ),
      { numRuns: 120, seed: 7 }
    )
    expect(WasmMatMul.stats.products).toBeGreaterThan(before + 60)
  })

  it("equals the backend's kernels on the default network's text projection and its gradients", () => {
    const x = tf.randomNormal([1203, 768], 0, 1, "float32", 1) as tf.Tensor2D
    const w = tf.randomNormal([768, 64], 0, 1, "float32", 2) as tf.Tensor2D
    const dy = tf.randomNormal([1203, 64], 0, 1, "float32", 3) as tf.Tensor2D
    const xT = tf.transpose(x)
    const wT = tf.transpose(w)
    const before = WasmMatMul.stats.products
    // the backend's product, and the same on gemm (the weight and input gradients by flag, as Layers runs them)
    const cases: Array<[() => tf.Tensor, () => tf.Tensor]> = [
      [() => tf.matMul(x, w), () => tf.matMul(x, w)],
      [() => tf.matMul(xT, dy), () => tf.matMul(xT, dy)],
      [() => tf.matMul(xT, dy), () => tf.matMul(x, dy, true, false)],
      [() => tf.matMul(dy, wT), () => tf.matMul(dy, w, false, true)]
    ]
    for (const [backendRun, gemmRun] of cases) {
      WasmMatMul.uninstall()
      const own = backendRun()
      WasmMatMul.install()
      const gemm = gemmRun()
      expect(identical(own, gemm)).toBe(true)
      tf.dispose([own, gemm])
    }
    // k 768, k 1203 and the two flagged products ran on gemm
    expect(WasmMatMul.stats.products).toBe(before + 4)
    tf.dispose([x, w, dy, xT, wT])
  })

  it("keeps non-finite values where the backend does", () => {
    const k = Math.max(2, WasmMatMul.MIN_INNER)
    const a = tf.pad(tf.tensor2d([[NaN, 1], [Infinity, 2], [1, 2], [-Infinity, 0], [3, 4]]), [[0, 0], [0, k - 2]])
    const b = tf.pad(tf.tensor2d([[1, 2, 3], [4, 5, Infinity]]), [[0, k - 2], [0, 0]])
    const { own, gemm } = bothWays(() => tf.matMul(a, b))
    expect(identical(own, gemm)).toBe(true)
    tf.dispose([a, b, own, gemm])
  })

  it("takes every plain 2-D product (MIN_INNER 1) and leaves the rest to the backend's kernels: batches, flags on batched operands, activations", () => {
    WasmMatMul.install()
    expect(WasmMatMul.MIN_INNER).toBe(1)
    const a = tf.tensor2d([[1, 2], [3, 4]])
    const b = tf.tensor2d([[5, 6], [7, 8]])
    const plain = WasmMatMul.stats.products
    expect(Array.from(tf.matMul(a, b).dataSync())).toEqual([19, 22, 43, 50])
    expect(WasmMatMul.stats.products).toBe(plain + 1)
    const before = WasmMatMul.stats.products
    const batch = tf.stack([a, b]) as tf.Tensor3D
    expect(Array.from(tf.matMul(batch, batch).dataSync())).toEqual([7, 10, 15, 22, 67, 78, 91, 106])
    expect(Array.from(tf.fused.matMul({ a: tf.neg(a) as tf.Tensor2D, b, activation: "relu" }).dataSync())).toEqual([0, 0, 0, 0])
    // a batch of one with a flag: the backend's kernel (its sums, not a transposed copy's)
    const x = tf.randomNormal([1, 64, 64], 0, 1, "float32", 4) as tf.Tensor3D
    const { own, gemm } = bothWays(() => tf.matMul(x, x, false, true))
    expect(identical(own, gemm)).toBe(true)
    expect(WasmMatMul.stats.products).toBe(before)
    // 2-D operands with flags are the kernel's, whatever the inner dimension
    expect(Array.from(tf.matMul(a, b, true, false).dataSync())).toEqual([26, 30, 38, 44])
    expect(Array.from(tf.matMul(a, b, false, true).dataSync())).toEqual([17, 23, 39, 53])
    expect(WasmMatMul.stats.products).toBe(before + 2)
    tf.dispose([a, b, batch, x, own, gemm])
  })

  it("frees what it makes", () => {
    WasmMatMul.install()
    const a = tf.randomNormal([50, WasmMatMul.MIN_INNER]) as tf.Tensor2D
    const b = tf.randomNormal([WasmMatMul.MIN_INNER, 9]) as tf.Tensor2D
    const bias = tf.zeros([9]) as tf.Tensor1D
    const tensors = tf.memory().numTensors
    const buffers = tf.backend().numDataIds()
    tf.matMul(a, b).dispose()
    tf.matMul(a, a, false, true).dispose()
    tf.fused.matMul({ a, b, bias }).dispose()
    expect(tf.memory().numTensors).toBe(tensors)
    expect(tf.backend().numDataIds()).toBe(buffers)
    tf.dispose([a, b, bias])
  })
})
