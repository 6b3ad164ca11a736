/**
 * The batched product of attention (BatchMatMul) and its WebAssembly SIMD kernel (SimdKernels):
 * on wasm the kernel's values and gradients equal tf.matMul's (up to float rounding) for every
 * shape, including the column and row tails of its blocked loops; the embedded bytes are the
 * `.wat` source assembled.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { BatchMatMul, SimdKernels } from "../src/index"
import { maxAbsDiff } from "@haemsa/test-helpers"
// @ts-expect-error: a plain .mjs script without types
import { assemble } from "../../../scripts/assemble-wat.mjs"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  await tf.setBackend("cpu")
})

/** Value and gradients of sum(C · cos(C)) for C = a · b (or a · bᵀ), by tf.matMul and by batchMatMul. */
const both = (a: tf.Tensor, b: tf.Tensor, transposeB: boolean) => {
  const loss = (product: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => {
    const c = product(x, y)
    return tf.sum(tf.mul(c, tf.cos(c)))
  }
  const reference = tf.tidy(() => [tf.matMul(a, b, false, transposeB), ...tf.grads(loss((x, y) => tf.matMul(x, y, false, transposeB)))([a, b])])
  const kernel = tf.tidy(() => [BatchMatMul.batchMatMul(a, b, transposeB), ...tf.grads(loss((x, y) => BatchMatMul.batchMatMul(x, y, transposeB)))([a, b])])
  return { reference, kernel }
}

/** The largest difference relative to the reference's largest magnitude. */
const relative = (want: tf.Tensor, got: tf.Tensor) => maxAbsDiff(want, got) / Math.max(1, tf.tidy(() => tf.max(tf.abs(want)).dataSync()[0]))

describe("BatchMatMul on the wasm backend", () => {
  it("runs its own kernel there and matches tf.matMul on attention's shapes, values and gradients", async () => {
    const a = tf.randomNormal([4, 2, 50, 16], 0, 1, "float32", 1)
    const k = tf.randomNormal([4, 2, 50, 16], 0, 1, "float32", 2)
    const scores = BatchMatMul.batchMatMul(a, k, true)
    expect(scores.shape).toEqual([4, 2, 50, 50])
    const profile = await tf.profile(() => BatchMatMul.batchMatMul(a, k, true).dispose())
    expect(profile.kernelNames).toContain(BatchMatMul.KERNEL)
    expect(profile.kernelNames).not.toContain("BatchMatMul")
    for (const transposeB of [true, false]) {
      const { kernel, reference } = both(a, transposeB ? k : tf.randomNormal([4, 2, 16, 24], 0, 1, "float32", 3), transposeB)
      reference.forEach((want, i) => expect(relative(want, kernel[i])).toBeLessThan(1e-5))
      tf.dispose([...kernel, ...reference])
    }
    tf.dispose([a, k, scores])
  })

  it("matches tf.matMul for any sizes (the 16-, 4- and 1-column tails, k not a multiple of 4)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 21 }), fc.integer({ min: 1, max: 37 }),
        fc.boolean(), fc.integer(),
        (batch, m, k, n, transposeB, seed) => {
          const a = tf.randomNormal([batch, m, k], 0, 1, "float32", seed)
          const b = tf.randomNormal(transposeB ? [batch, n, k] : [batch, k, n], 0, 1, "float32", seed + 1)
          const { kernel, reference } = both(a, b, transposeB)
          const worst = Math.max(...reference.map((want, i) => relative(want, kernel[i])))
          tf.dispose([a, b, ...kernel, ...reference])
          return worst < 1e-5
        }
      ),
      { numRuns: 60, seed: 11 }
    )
  })

  it("frees what it makes: no tensor or buffer left after a forward and backward pass", () => {
    const a = tf.randomNormal([2, 3, 5, 8])
    const b = tf.randomNormal([2, 3, 5, 8])
    const tensors = tf.memory().numTensors
    const buffers = tf.backend().numDataIds()
    tf.dispose(tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(BatchMatMul.batchMatMul(x, y, true)))([a, b]))
    expect(tf.memory().numTensors).toBe(tensors)
    expect(tf.backend().numDataIds()).toBe(buffers)
    tf.dispose([a, b])
  })

  it("refuses operands that do not multiply, naming their shapes", () => {
    const a = tf.zeros([2, 3, 4])
    expect(() => BatchMatMul.batchMatMul(a, tf.zeros([2, 5, 6]))).toThrow(/shapes \[2,3,4\] and \[2,5,6\]/)
    expect(() => BatchMatMul.batchMatMul(a, tf.zeros([3, 4, 6]))).toThrow(/do not multiply/)
  })

  it("falls back (no kernels) on a memory the kernels cannot import: the shared memory of tfjs's threaded build", () => {
    expect(SimdKernels.over(new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }))).toBeUndefined()
    expect(SimdKernels.over(new WebAssembly.Memory({ initial: 1 }))).toBeDefined()
  })

  it("embeds SimdKernels.wat assembled (the kernel's source and its bytes agree)", async () => {
    expect(SimdKernels.BYTES).toBe(await assemble(path.join(__dirname, "..", "src", "wasm", "SimdKernels.wat")))
  })
})
