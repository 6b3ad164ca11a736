/**
 * The LSTM layer on the wasm backend's two kernels (WasmLstm) against the composite of tfjs ops on
 * cpu: the same values and gradients (up to float rounding) for any batch, length, width and mask
 * (leading, inner and trailing padding, steps where no sample is valid), and nothing leaked.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LstmLayer, SimdKernels, WasmLstm } from "../src/index"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  await tf.setBackend("cpu")
})

/** Random inputs of a layer (drawn once, on cpu: tfjs's seeded draws differ between backends). */
const inputs = async (mask: Array<Array<number>>, h: number, seed: number) => {
  expect(await tf.setBackend("cpu")).toBe(true)
  const rows = mask.length * mask[0].length
  const draw = (shape: [number, number], std: number, s: number) => tf.tidy(() => tf.randomNormal(shape, 0, std, "float32", s).arraySync() as Array<Array<number>>)
  return { gates: draw([rows, 4 * h], 1, seed), recurrent: draw([h, 4 * h], 0.5, seed + 1), weights: draw([rows, h], 1, seed + 2) }
}

/** States, and the gradients for the gates and the recurrent kernel of sum(states · weights), on `backend`. */
const run = async (backend: string, mask: Array<Array<number>>, data: Awaited<ReturnType<typeof inputs>>) => {
  expect(await tf.setBackend(backend)).toBe(true)
  return tf.tidy(() => {
    const gates = tf.tensor2d(data.gates)
    const recurrent = tf.tensor2d(data.recurrent)
    const weights = tf.tensor2d(data.weights)
    const masking = LstmLayer.stepMasking(tf.tensor2d(mask))
    const states = LstmLayer.lstmLayer(gates, recurrent, masking)
    const [dGates, dRecurrent] = tf.grads((g, r) => tf.sum(tf.mul(LstmLayer.lstmLayer(g as tf.Tensor2D, r as tf.Tensor2D, masking), weights)))([gates, recurrent])
    return [states, dGates, dRecurrent].map((x) => x.arraySync() as Array<Array<number>>)
  })
}

/** The layer on wasm (the kernels) and on cpu (the composite). */
const both = async (mask: Array<Array<number>>, h: number, seed: number) => {
  const data = await inputs(mask, h, seed)
  return { wasm: await run("wasm", mask, data), cpu: await run("cpu", mask, data) }
}

const maxDiff = (a: Array<Array<number>>, b: Array<Array<number>>) => Math.max(...a.flatMap((row, i) => row.map((v, j) => Math.abs(v - b[i][j]))))

describe("WasmLstm", () => {
  it("runs the layer as two kernels on wasm", async () => {
    expect(SimdKernels.here()).toBe(true)
    const gates = tf.randomNormal([6, 8]) as tf.Tensor2D
    const recurrent = tf.randomNormal([2, 8]) as tf.Tensor2D
    const masking = LstmLayer.stepMasking(tf.tensor2d([[1, 1, 0], [1, 0, 0]]))
    const profile = await tf.profile(() => {
      tf.dispose(tf.grads((g, r) => tf.sum(LstmLayer.lstmLayer(g as tf.Tensor2D, r as tf.Tensor2D, masking)))([gates, recurrent]))
    })
    expect(profile.kernelNames).toContain(WasmLstm.FORWARD)
    expect(profile.kernelNames).toContain(WasmLstm.BACKWARD)
    expect(profile.kernelNames).not.toContain("Sigmoid")
    tf.dispose([gates, recurrent])
  })

  it("equals the composite (on cpu) in values and gradients for any mask", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1000 }),
        fc.infiniteStream(fc.boolean()),
        async (b, t, h, seed, bits) => {
          const mask = Array.from({ length: b }, () => Array.from({ length: t }, () => (bits.next().value ? 1 : 0)))
          const { cpu, wasm } = await both(mask, h, seed)
          expect(maxDiff(wasm[0], cpu[0])).toBeLessThan(1e-5)
          expect(maxDiff(wasm[1], cpu[1])).toBeLessThan(1e-4)
          expect(maxDiff(wasm[2], cpu[2])).toBeLessThan(1e-4)
        }
      ),
      { numRuns: 60, seed: 7 }
    )
    expect(await tf.setBackend("wasm")).toBe(true)
  })

  it("handles leading, inner and trailing padding, all-valid and all-padded batches (widths with and without the SIMD activations)", async () => {
    for (const mask of [[[0, 0, 1, 1, 1], [0, 1, 1, 1, 0]], [[1, 0, 0, 1, 1], [1, 1, 0, 0, 1]], [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]], [[0, 0, 0], [0, 0, 0]]]) {
      // h = 3: the activations in JavaScript; h = 8: on the SIMD kernel (h a multiple of 4)
      for (const h of [3, 8]) {
        const { cpu, wasm } = await both(mask, h, 4)
        expect(maxDiff(wasm[0], cpu[0])).toBeLessThan(1e-5)
        wasm.forEach((x, i) => expect(maxDiff(x, cpu[i])).toBeLessThan(1e-4))
      }
    }
    expect(await tf.setBackend("wasm")).toBe(true)
  })

  it("leaks no tensor or buffer over a forward and backward pass", () => {
    const gates = tf.randomNormal([12, 12]) as tf.Tensor2D
    const recurrent = tf.randomNormal([3, 12]) as tf.Tensor2D
    const masking = LstmLayer.stepMasking(tf.tensor2d([[1, 1, 0, 1], [1, 1, 1, 0], [0, 1, 1, 1]]))
    const tensors = tf.memory().numTensors
    const buffers = tf.backend().numDataIds()
    tf.dispose(tf.grads((g, r) => tf.sum(LstmLayer.lstmLayer(g as tf.Tensor2D, r as tf.Tensor2D, masking)))([gates, recurrent]))
    expect(tf.memory().numTensors).toBe(tensors)
    expect(tf.backend().numDataIds()).toBe(buffers)
    tf.dispose([gates, recurrent])
  })
})
