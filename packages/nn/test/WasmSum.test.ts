/**
 * The wasm backend's `Sum` over leading axes on the column-sum kernel (WasmSum): bit for bit the
 * backend's own kernel for any shape, leading axes and keepDims; other sums go to the backend's
 * kernel; install and uninstall swap the kernels.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identical } from "@haemsa/test-helpers"
import { SimdKernels, WasmSum } from "../src/index"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  WasmSum.uninstall()
  await tf.setBackend("cpu")
})

/** The sum's values with the backend's kernel and with the column sums. */
const bothWays = (x: tf.Tensor, axis: number | Array<number>, keepDims: boolean) => {
  WasmSum.uninstall()
  const own = tf.sum(x, axis, keepDims)
  WasmSum.install()
  const columns = tf.sum(x, axis, keepDims)
  return { own, columns }
}

describe("WasmSum", () => {
  it("installs and uninstalls, and runs the kernel of its own only when installed", async () => {
    // the column-sum kernel is there (else every sum would fall back to the backend's own)
    expect(SimdKernels.of(tf.backend())).toBeDefined()
    WasmSum.install()
    expect(WasmSum.installed()).toBe(true)
    WasmSum.install()
    expect(WasmSum.installed()).toBe(true)
    WasmSum.uninstall()
    expect(WasmSum.installed()).toBe(false)
    const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]])
    expect(Array.from(tf.sum(x, 0).dataSync())).toEqual([9, 12])
    WasmSum.install()
    expect(Array.from(tf.sum(x, 0).dataSync())).toEqual([9, 12])
    expect(tf.sum(x, 0, true).shape).toEqual([1, 2])
    x.dispose()
  })

  it("equals the backend's kernel bit for bit over the leading axes, for any shape, scale and keepDims", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 4 }), fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(1e-3, 1, 1e4), fc.boolean(), fc.integer(),
        (shape, leading, scale, keepDims, seed) => {
          const lead = Math.min(leading, shape.length - 1)
          const x = tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, "float32", seed), scale))
          const axes = Array.from({ length: lead }, (_, i) => i)
          const { columns, own } = bothWays(x, lead === 1 ? 0 : axes, keepDims)
          const same = identical(columns, own)
          tf.dispose([x, columns, own])
          return same
        }
      ),
      { numRuns: 80, seed: 3 }
    )
  })

  it("leaves other sums to the backend's kernel: inner axes, all axes, int32, empty tensors", () => {
    WasmSum.install()
    const x = tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]])
    expect(Array.from(tf.sum(x, 2).dataSync())).toEqual([3, 7, 11, 15])
    expect(Array.from(tf.sum(x, [0, 2]).dataSync())).toEqual([14, 22])
    expect(tf.sum(x).dataSync()[0]).toBe(36)
    expect(Array.from(tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], "int32"), 0).dataSync())).toEqual([4, 6])
    expect(tf.sum(tf.zeros([0, 3]), 0).shape).toEqual([3])
  })

  it("frees what it makes", () => {
    WasmSum.install()
    const x = tf.randomNormal([50, 7])
    const tensors = tf.memory().numTensors
    const buffers = tf.backend().numDataIds()
    tf.sum(x, 0).dispose()
    expect(tf.memory().numTensors).toBe(tensors)
    expect(tf.backend().numDataIds()).toBe(buffers)
    x.dispose()
  })
})
