/**
 * `weightedMean` on the wasm kernels of `WasmWeightedMean` (`@haemsa/nn`): values and gradients bit
 * for bit those of the composite of tfjs ops (the kernels switched off) for any size, any weights
 * (zeros, all zeros, fractions) and non-finite values where the weight is 0; other shapes and dtypes
 * keep the composite.
 */
import { WasmWeightedMean } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identical } from "@haemsa/test-helpers"
import { weightedMean } from "../src/Reduction"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  WasmWeightedMean.setEnabled(true)
  await tf.setBackend("cpu")
})

/** The weighted mean of `v` times `up` and its gradient for v, with the kernels on or off. */
const run = (on: boolean, v: tf.Tensor, w: tf.Tensor, up: number) => {
  WasmWeightedMean.setEnabled(on)
  const loss = (x: tf.Tensor) => tf.mul(weightedMean(x, w), up)
  const y = weightedMean(v, w)
  const dv = tf.grad(loss)(v)
  WasmWeightedMean.setEnabled(true)
  return { y, dv }
}

const weight = fc.oneof(
  fc.constant(0),
  fc.constant(1),
  fc.double({ min: 1e-3, max: 5, noNaN: true }).map(Math.fround)
)

describe("WasmWeightedMean", () => {
  it("equals the composite bit for bit in value and gradient, for any size and weights", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) =>
          fc.tuple(
            fc.array(fc.double({ min: -50, max: 50, noNaN: true }).map(Math.fround), { minLength: n, maxLength: n }),
            fc.array(weight, { minLength: n, maxLength: n })
          )
        ),
        fc.boolean(),
        fc.double({ min: -3, max: 3, noNaN: true }).map(Math.fround),
        ([values, weights], twoD, up) => {
          const n = values.length
          const shape = twoD && n % 2 === 0 ? [n / 2, 2] : [n]
          const v = tf.tensor(values, shape)
          const w = tf.tensor(weights, shape)
          const before = { ...WasmWeightedMean.stats }
          const kernels = run(true, v, w, up)
          expect(WasmWeightedMean.stats.forward).toBe(before.forward + 2)
          expect(WasmWeightedMean.stats.backward).toBe(before.backward + 1)
          const composite = run(false, v, w, up)
          expect(WasmWeightedMean.stats.forward).toBe(before.forward + 2)
          expect(identical(kernels.y, composite.y)).toBe(true)
          expect(identical(kernels.dv, composite.dv)).toBe(true)
          tf.dispose([v, w, kernels.y, kernels.dv, composite.y, composite.dv])
        }
      ),
      { numRuns: 120 }
    )
  })

  it("removes non-finite values of weight 0 as the composite does, and gives 0 when no weight counts", () => {
    const v = tf.tensor1d([1.5, NaN, Infinity, -2, -Infinity])
    for (const weights of [[1, 0, 0, 0.5, 0], [0, 0, 0, 0, 0]]) {
      const w = tf.tensor1d(weights)
      const kernels = run(true, v, w, 1)
      const composite = run(false, v, w, 1)
      expect(identical(kernels.y, composite.y)).toBe(true)
      expect(identical(kernels.dv, composite.dv)).toBe(true)
      expect(Number.isFinite(kernels.y.dataSync()[0])).toBe(true)
      tf.dispose([w, kernels.y, kernels.dv, composite.y, composite.dv])
    }
    expect(weightedMean(v, tf.zeros([5])).dataSync()[0]).toBe(0)
    v.dispose()
  })

  it("takes float32 values and weights of one shape on wasm only; other arguments run the composite", async () => {
    const v = tf.tensor2d([[1, 2], [3, 4]])
    expect(WasmWeightedMean.accepts(v, tf.tensor2d([[1, 0], [1, 1]]))).toBe(true)
    // broadcast weights, int weights, an empty tensor
    expect(WasmWeightedMean.accepts(v, tf.tensor2d([[1], [0]]))).toBe(false)
    expect(WasmWeightedMean.accepts(v, tf.tensor2d([[1, 0], [1, 1]], undefined, "int32"))).toBe(false)
    expect(WasmWeightedMean.accepts(tf.zeros([0]), tf.zeros([0]))).toBe(false)
    const before = { ...WasmWeightedMean.stats }
    const broadcast = weightedMean(v, tf.tensor2d([[1], [0]])).dataSync()[0]
    expect(broadcast).toBeCloseTo(1.5, 6)
    expect(WasmWeightedMean.stats.forward).toBe(before.forward)
    WasmWeightedMean.setEnabled(false)
    expect(WasmWeightedMean.accepts(v, tf.tensor2d([[1, 0], [1, 1]]))).toBe(false)
    WasmWeightedMean.setEnabled(true)
    await tf.setBackend("cpu")
    expect(WasmWeightedMean.accepts(v, v)).toBe(false)
    await tf.setBackend("wasm")
  })

  it("keeps the tensor count flat over repeated gradients", () => {
    const v = tf.randomNormal([64], 0, 1, "float32", 3)
    const w = tf.tensor1d(Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 0 : 1)))
    const step = () => tf.tidy(() => tf.grad((x: tf.Tensor) => weightedMean(x, w))(v).dataSync())
    step()
    const before = tf.memory().numTensors
    for (let k = 0; k < 5; k++) step()
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([v, w])
  })
})
