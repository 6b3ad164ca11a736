/**
 * The masked mean over steps on the wasm kernels (WasmMaskedMean): values and gradients bit for bit
 * those of the composite of tfjs ops (Layers.maskedMean and reluMaskedMean with the kernels switched
 * off) for any batch, step count (across the backend's blocks of 48 steps), width (the 4-column
 * vectors and the rest) and mask, with and without relu; nothing leaks; other backends keep the
 * composite.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identical } from "@haemsa/test-helpers"
import { Layers, WasmMaskedMean } from "../src/index"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  WasmMaskedMean.setEnabled(true)
  await tf.setBackend("cpu")
})

/** A (B, T) 0/1 mask: each row valid up to its length, with holes where `holes` says. */
const maskOf = (b: number, t: number, lengths: ReadonlyArray<number>, holes: boolean): tf.Tensor2D =>
  tf.tensor2d(
    Array.from({ length: b * t }, (_, i) => {
      const [r, q] = [Math.floor(i / t), i % t]
      return q < lengths[r % lengths.length] % (t + 1) && !(holes && q % 5 === 3) ? 1 : 0
    }),
    [b, t]
  )

/** The pooled values and the gradient for x (upstream weights `up`), with the kernels on or off. */
const run = (on: boolean, relu: boolean, x: tf.Tensor3D, mask: tf.Tensor2D, up: tf.Tensor2D) => {
  WasmMaskedMean.setEnabled(on)
  const pool = (input: tf.Tensor3D) => (relu ? Layers.reluMaskedMean(input, mask) : Layers.maskedMean(input, mask))
  const y = pool(x)
  const dx = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(pool(input as tf.Tensor3D), up)))(x)
  WasmMaskedMean.setEnabled(true)
  return { y, dx }
}

describe("WasmMaskedMean", () => {
  it("equals the composite bit for bit in values and gradients, for any sizes and masks", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 110 }), fc.integer({ min: 1, max: 70 }),
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 9 }), fc.boolean(), fc.boolean(), fc.integer(),
        (b, t, d, lengths, holes, relu, seed) => {
          const x = tf.randomNormal([b, t, d], 0, 1, "float32", seed) as tf.Tensor3D
          const up = tf.randomNormal([b, d], 0, 1, "float32", seed + 1) as tf.Tensor2D
          const mask = maskOf(b, t, lengths, holes)
          const before = { ...WasmMaskedMean.stats }
          const kernels = run(true, relu, x, mask, up)
          expect(WasmMaskedMean.stats.forward).toBeGreaterThan(before.forward)
          expect(WasmMaskedMean.stats.backward).toBe(before.backward + 1)
          const composite = run(false, relu, x, mask, up)
          expect(identical(kernels.y, composite.y)).toBe(true)
          expect(identical(kernels.dx, composite.dx)).toBe(true)
          tf.dispose([x, up, mask, kernels.y, kernels.dx, composite.y, composite.dx])
        }
      ),
      { numRuns: 60 }
    )
  })

  it("equals the composite on the default network's text pooling (B 64, T 50, d 64)", () => {
    const x = tf.randomNormal([64, 50, 64], 0, 1, "float32", 7) as tf.Tensor3D
    const up = tf.randomNormal([64, 64], 0, 1, "float32", 8) as tf.Tensor2D
    const mask = maskOf(64, 50, Array.from({ length: 64 }, (_, i) => (i * 37) % 51), false)
    for (const relu of [true, false]) {
      const kernels = run(true, relu, x, mask, up)
      const composite = run(false, relu, x, mask, up)
      expect(identical(kernels.y, composite.y)).toBe(true)
      expect(identical(kernels.dx, composite.dx)).toBe(true)
      tf.dispose([kernels.y, kernels.dx, composite.y, composite.dx])
    }
    tf.dispose([x, up, mask])
  })

  it("frees what it makes, and takes only float32 (B, T, d) with a matching (B, T) mask", () => {
    const x = tf.randomNormal([4, 10, 8], 0, 1, "float32", 3) as tf.Tensor3D
    const mask = maskOf(4, 10, [3, 10, 0, 7], false)
    const before = tf.memory().numTensors
    for (let i = 0; i < 3; i++) {
      tf.dispose(tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(Layers.reluMaskedMean(input as tf.Tensor3D, mask)))(x)))
    }
    expect(tf.memory().numTensors).toBe(before)
    expect(WasmMaskedMean.accepts(x, mask)).toBe(true)
    expect(WasmMaskedMean.accepts(x, tf.ones([4, 9]))).toBe(false)
    expect(WasmMaskedMean.accepts(tf.zeros([4, 10, 8], "int32"), mask)).toBe(false)
    WasmMaskedMean.setEnabled(false)
    expect(WasmMaskedMean.accepts(x, mask)).toBe(false)
    WasmMaskedMean.setEnabled(true)
    tf.dispose([x, mask])
  })

  it("leaves other backends to the composite", async () => {
    await tf.setBackend("cpu")
    try {
      const x = tf.ones([2, 3, 4]) as tf.Tensor3D
      expect(WasmMaskedMean.accepts(x, tf.ones([2, 3]))).toBe(false)
      const before = WasmMaskedMean.stats.forward
      expect(Array.from(Layers.maskedMean(x, tf.ones([2, 3])).dataSync())).toEqual(new Array(8).fill(1))
      expect(WasmMaskedMean.stats.forward).toBe(before)
    } finally {
      await tf.setBackend("wasm")
    }
  })
})
