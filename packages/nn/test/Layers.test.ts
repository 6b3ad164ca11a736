import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import {
  dense,
  dropout,
  gatedSoftmax,
  gatedWeights,
  gelu,
  layerNorm,
  linear,
  maskedMean,
  maskedSoftmax,
  PACK_WIDTH,
  packRows,
  project,
  projectKept,
  splitSteps,
  validCount,
  weightedSum
} from "../src/Layers"
import { seedSource } from "../src/Module"
import { expectFiniteGradients, features, kernelNames, lengthMask, maxAbsDiff, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

describe("linear and project", () => {
  const a = tf.randomNormal([5, 3], 0, 1, "float32", 1) as tf.Tensor2D
  const w = tf.randomNormal([3, 4], 0, 1, "float32", 2) as tf.Tensor2D
  const bias = tf.randomNormal([4], 0, 1, "float32", 3) as tf.Tensor1D
  const weights = tf.randomNormal([5, 4], 0, 1, "float32", 4)
  const reference = (a: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.sum(tf.mul(tf.add(tf.matMul(a, w), b), weights))

  it("equals a · w + b with tfjs's own gradients", () => {
    const [ga, gw, gb] = tf.grads((a, w, b) => tf.sum(tf.mul(linear(a as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D), weights)))([a, w, bias])
    const [ra, rw, rb] = tf.grads((a, w, b) => reference(a as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D))([a, w, bias])
    expect(maxAbsDiff(linear(a, w, bias), tf.add(tf.matMul(a, w), bias))).toBeLessThan(1e-6)
    expect(maxAbsDiff(ga, ra)).toBeLessThan(1e-5)
    expect(maxAbsDiff(gw, rw)).toBeLessThan(1e-5)
    expect(maxAbsDiff(gb, rb)).toBeLessThan(1e-5)
    const [na, nw] = tf.grads((a, w) => tf.sum(tf.mul(linear(a as tf.Tensor2D, w as tf.Tensor2D), weights)))([a, w])
    const [qa, qw] = tf.grads((a, w) => tf.sum(tf.mul(tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D), weights)))([a, w])
    expect(maxAbsDiff(na, qa)).toBeLessThan(1e-5)
    expect(maxAbsDiff(nw, qw)).toBeLessThan(1e-5)
  })

  it("project gives the same values and weight gradients, and input gradients when the input needs them", () => {
    const [gw, gb] = tf.grads((w, b) => tf.sum(tf.mul(project(a, w as tf.Tensor2D, b as tf.Tensor1D), weights)))([w, bias])
    const [rw, rb] = tf.grads((w, b) => reference(a, w as tf.Tensor2D, b as tf.Tensor1D))([w, bias])
    expect(maxAbsDiff(project(a, w, bias), tf.add(tf.matMul(a, w), bias))).toBeLessThan(1e-6)
    expect(maxAbsDiff(project(a, w), tf.matMul(a, w))).toBeLessThan(1e-6)
    expect(maxAbsDiff(gw, rw)).toBeLessThan(1e-5)
    expect(maxAbsDiff(gb, rb)).toBeLessThan(1e-5)
    // The input depends on a differentiated tensor (an upstream embedding): its gradient flows.
    const [gUp] = tf.grads((up) => tf.sum(tf.mul(project(tf.mul(up, 2) as tf.Tensor2D, w), weights)))([a])
    const [rUp] = tf.grads((up) => tf.sum(tf.mul(tf.matMul(tf.mul(up, 2) as tf.Tensor2D, w), weights)))([a])
    expect(maxAbsDiff(gUp, rUp)).toBeLessThan(1e-5)
  })

  /** Values with -0 read as +0 (the zero input path turns an exact -0 of the product into +0). */
  const plain = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0)

  it("of data (`data`) is one op of the tape: the same values and weight and bias gradients, and no input path", () => {
    for (const b of [bias, undefined]) {
      const f = (data: boolean) => (w: tf.Tensor, bb?: tf.Tensor) => tf.sum(tf.mul(project(a, w as tf.Tensor2D, bb as tf.Tensor1D | undefined, undefined, data), weights))
      const args = b === undefined ? [w] : [w, b]
      const withData = tf.grads(f(true))(args)
      const asAny = tf.grads(f(false))(args)
      expect(plain(project(a, w, b, undefined, true))).toEqual(plain(project(a, w, b)))
      withData.forEach((g, i) => expect(plain(g)).toEqual(plain(asAny[i])))
      // the tape records the product alone: no fill, no sum with it
      const kernels = (data: boolean) => kernelNames(() => tf.tidy(() => void tf.grads(f(data))(args)))
      expect(kernels(true)).not.toContain("Fill")
      expect(kernels(false)).toContain("Fill")
      expect(kernels(true).length).toBeLessThan(kernels(false).length)
    }
  })

  it("of data gives its input no gradient: `data` is only for inputs that depend on no variable", () => {
    // tfjs finds no path from x to the result
    expect(() => tf.variableGrads(() => tf.sum(project(xVariable, w, undefined, undefined, true)) as tf.Scalar, [xVariable])).toThrow(/connection/)
    const { grads: asAny } = tf.variableGrads(() => tf.sum(project(xVariable, w)) as tf.Scalar, [xVariable])
    expect(Object.keys(asAny)).toEqual([xVariable.name])
  })
  const xVariable = tf.variable(a, true, "project-data-x")
})

describe("projectKept", () => {
  // wide enough to pack (d · m >= PACK_WIDTH)
  const d = 64
  const m = PACK_WIDTH / d
  const w = tf.randomNormal([d, m], 0, 0.2, "float32", 11) as tf.Tensor2D
  const bias = tf.randomNormal([m], 0, 1, "float32", 12) as tf.Tensor1D

  it("is project on the kept rows and the bias elsewhere, with project's gradients for w, bias and an upstream input", () =>
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 24 }), fc.integer(), fc.boolean(), (keep, seed, withBias) => {
        const n = keep.length
        const mask = tf.tensor1d(keep.map((k) => (k ? 1 : 0)))
        const x = tf.randomNormal([n, d], 0, 1, "float32", seed) as tf.Tensor2D
        // the caller's later steps ignore dropped rows: the upstream weights are 0 there
        const up = tf.mul(tf.randomNormal([n, m], 0, 1, "float32", seed + 1), tf.expandDims(mask, 1))
        const b = withBias ? bias : undefined
        const expected = tf.tidy(() => tf.where(tf.expandDims(tf.greater(mask, 0), 1), project(x, w, b), tf.zerosLike(project(x, w, b)).add(b ?? 0)))
        expect(maxAbsDiff(projectKept(x, mask, w, b), expected)).toBeLessThan(1e-5)
        const loss = (f: typeof project) => (x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor) =>
          tf.sum(tf.mul(f(tf.mul(x, 1) as tf.Tensor2D, w as tf.Tensor2D, withBias ? (b as tf.Tensor1D) : undefined), up))
        const args = withBias ? [x, w, bias] : [x, w]
        const kept = tf.grads(loss((x, w, b) => projectKept(x, mask, w, b)))(args)
        const full = tf.grads(loss(project))(args)
        kept.forEach((g, i) => expect(maxAbsDiff(g, full[i])).toBeLessThan(1e-4))
        tf.dispose([mask, x, up, expected, ...kept, ...full])
      }),
      { numRuns: 30, seed: 3 }
    ))
})

describe("packRows", () => {
  const d = 64
  const m = 8
  const w = tf.randomNormal([d, m], 0, 0.2, "float32", 21) as tf.Tensor2D
  const bias = tf.randomNormal([m], 0, 1, "float32", 22) as tf.Tensor1D

  it("serves several projections of the same rows: each equals project on the rows its own mask keeps, gradients included", () =>
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 2, maxLength: 24 }), fc.integer(), fc.boolean(), (flags, seed, training) => {
        const n = flags.length
        const steps = tf.tensor1d(flags.map(([valid]) => (valid ? 1 : 0)))
        // a second consumer keeps a subset of the valid rows (the unified expert: valid and present)
        const subset = tf.tensor1d(flags.map(([valid, present]) => (valid && present ? 1 : 0)))
        const x = tf.randomNormal([n, d], 0, 1, "float32", seed) as tf.Tensor2D
        const up = [steps, subset].map((mask, i) => tf.mul(tf.randomNormal([n, m], 0, 1, "float32", seed + 1 + i), tf.expandDims(mask, 1)))
        const loss = (packedOrNot: boolean) => (input: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => {
          const rows = tf.mul(input, 1) as tf.Tensor2D
          const packed = packedOrNot ? packRows(rows, steps, training) : undefined
          const first = projectKept(rows, steps, w as tf.Tensor2D, b as tf.Tensor1D, packed)
          const second = projectKept(rows, subset, w as tf.Tensor2D, undefined, packed)
          return tf.add(tf.sum(tf.mul(first, up[0])), tf.sum(tf.mul(second, up[1])))
        }
        const packed = tf.grads(loss(true))([x, w, bias])
        const plain = tf.grads(loss(false))([x, w, bias])
        packed.forEach((g, i) => expect(maxAbsDiff(g, plain[i])).toBeLessThan(1e-4))
        expect(Math.abs(loss(true)(x, w, bias).dataSync()[0] - loss(false)(x, w, bias).dataSync()[0])).toBeLessThan(1e-3)
        tf.dispose([steps, subset, x, ...up, ...packed, ...plain])
      }),
      { numRuns: 30, seed: 4 }
    ))

  it("packs only when it pays: not for narrow inputs, nor with fewer than a tenth of the rows dropped", () => {
    const all = tf.ones([20])
    expect(packRows(tf.ones([20, d]) as tf.Tensor2D, all, true)).toBeUndefined()
    expect(packRows(tf.ones([20, d - 1]) as tf.Tensor2D, tf.zeros([20]).add(tf.oneHot(0, 20).cast("float32")), true)).toBeUndefined()
    const half = tf.tensor1d(Array.from({ length: 20 }, (_, i) => i % 2))
    const p = packRows(tf.ones([20, d]) as tf.Tensor2D, half, true)!
    expect(p.rows.shape).toEqual([10, d])
    expect(p.rowsT?.shape).toEqual([d, 10])
    expect(packRows(tf.ones([20, d]) as tf.Tensor2D, half, false)!.rowsT).toBeUndefined()
  })
})

describe("dense", () => {
  it("is seeded, has kernel and bias, and applies its activation", () => {
    const x = tf.randomNormal([4, 3], 0, 1, "float32", 5) as tf.Tensor2D
    const a = dense(3, 2, seedSource(7), { activation: "relu" })
    const b = dense(3, 2, seedSource(7), { activation: "relu" })
    expect([...a.variables.keys()]).toEqual(["kernel", "bias"])
    expect(maxAbsDiff(a.kernel, b.kernel)).toBe(0)
    expect(maxAbsDiff(a.kernel, dense(3, 2, seedSource(8)).kernel)).toBeGreaterThan(0)
    expect(a.apply(x, false).min().dataSync()[0]).toBeGreaterThanOrEqual(0)
    expect([...dense(3, 2, seedSource(7), { useBias: false }).variables.keys()]).toEqual(["kernel"])
    const tanh = dense(3, 2, seedSource(7), { activation: "tanh" })
    expect(maxAbsDiff(tanh.apply(x, false), tf.tanh(tf.matMul(x, tanh.kernel as tf.Tensor2D)))).toBeLessThan(1e-6)
  })
})

describe("gelu", () => {
  it("is x·Φ(x)", () => {
    const values = [-3, -1, -0.5, 0, 0.5, 1, 3]
    // Φ from the Abramowitz-Stegun erf approximation (|error| < 1.5e-7).
    const erf = (z: number) => {
      const t = 1 / (1 + 0.3275911 * Math.abs(z))
      const y = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z)
      return z >= 0 ? y : -y
    }
    const out = gelu(tf.tensor1d(values)).dataSync()
    values.forEach((v, i) => expect(out[i]).toBeCloseTo(0.5 * v * (1 + erf(v / Math.SQRT2)), 5))
  })
})

describe("layerNorm", () => {
  it("normalises the last axis at initialisation", () => {
    const norm = layerNorm(6)
    const y = norm.apply(tf.add(tf.mul(features(2, 3, 6, 9), 5), 3), false)
    const { mean, variance } = tf.moments(y, -1)
    expect(tf.max(tf.abs(mean)).dataSync()[0]).toBeLessThan(1e-5)
    expect(tf.max(tf.abs(tf.sub(variance, 1))).dataSync()[0]).toBeLessThan(1e-3)
    expect([...norm.variables.keys()]).toEqual(["gamma", "beta"])
  })
})

describe("dropout", () => {
  it("is the identity unless training, and reproducible from the seed source", () => {
    const x = tf.ones([20, 20])
    expect(dropout(x, 0.5, false, seedSource(1))).toBe(x)
    expect(dropout(x, 0, true, seedSource(1))).toBe(x)
    const a = dropout(x, 0.5, true, seedSource(1))
    const b = dropout(x, 0.5, true, seedSource(1))
    expect(maxAbsDiff(a, b)).toBe(0)
    const values = Array.from(a.dataSync())
    expect(values.every((v) => v === 0 || v === 2)).toBe(true)
    expect(values.some((v) => v === 0) && values.some((v) => v === 2)).toBe(true)
  })
})

describe("maskedMean", () => {
  it("averages the valid steps and gives zeros for a sample without any", () => {
    const x = features(3, 4, 2, 3)
    const out = maskedMean(x, lengthMask([4, 2, 0], 4)).arraySync()
    const values = x.arraySync()
    for (let j = 0; j < 2; j++) {
      expect(out[0][j]).toBeCloseTo((values[0][0][j] + values[0][1][j] + values[0][2][j] + values[0][3][j]) / 4, 5)
      expect(out[1][j]).toBeCloseTo((values[1][0][j] + values[1][1][j]) / 2, 5)
      expect(out[2][j]).toBe(0)
    }
  })
})

describe("weightedSum and maskedMean gradients", () => {
  // tfjs's own batched matMul and its gradient are the reference for the hand-written backward pass
  const reference = (x: tf.Tensor, w: tf.Tensor) => tf.reshape(tf.matMul(tf.expandDims(w, 1), x as tf.Tensor3D), [x.shape[0], x.shape[2]!])

  it("match tfjs's matMul gradient for the values and for the weights", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer(), (b, j, d, seed) => {
        const x = tf.randomNormal([b, j, d], 0, 1, "float32", seed) as tf.Tensor3D
        const w = tf.randomUniform([b, j], 0, 1, "float32", seed + 1) as tf.Tensor2D
        const up = tf.randomNormal([b, d], 0, 1, "float32", seed + 2)
        const [gx, gw] = tf.grads((x, w) => tf.sum(tf.mul(weightedSum(x as tf.Tensor3D, w as tf.Tensor2D), up)))([x, w])
        const [rx, rw] = tf.grads((x, w) => tf.sum(tf.mul(reference(x, w), up)))([x, w])
        expect(maxAbsDiff(weightedSum(x, w), reference(x, w))).toBeLessThan(1e-5)
        expect(maxAbsDiff(gx, rx)).toBeLessThan(1e-5)
        expect(maxAbsDiff(gw, rw)).toBeLessThan(1e-5)
        // the masked mean differentiates the values only; a padded step gets gradient exactly 0
        const mask = lengthMask(Array.from({ length: b }, (_, i) => (i * 3) % (j + 1)), j)
        const [gm] = tf.grads((x) => tf.sum(tf.mul(maskedMean(x as tf.Tensor3D, mask), up)))([x])
        const [rm] = tf.grads((x) => tf.sum(tf.mul(tf.div(reference(x, mask), validCount(mask)), up)))([x])
        expect(maxAbsDiff(gm, rm)).toBeLessThan(1e-5)
        const padded = tf.mul(gm, tf.expandDims(tf.sub(1, mask), 2))
        expect(tf.max(tf.abs(padded)).dataSync()[0]).toBe(0)
        tf.dispose([x, w, up, gx, gw, rx, rw, mask, gm, rm, padded])
      }),
      { numRuns: 25, seed: 7 }
    )
  })
})

describe("maskedSoftmax", () => {
  it("sums to 1 over available entries, is exactly 0 on masked ones whatever their logits", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.float({ min: -20, max: 20, noNaN: true }), fc.boolean()), { minLength: 1, maxLength: 6 }),
        fc.float({ min: Math.fround(-1e30), max: Math.fround(1e30), noNaN: true }),
        (entries, garbage) => {
          const mask = entries.map(([, on]) => (on ? 1 : 0))
          const logits = entries.map(([l, on]) => (on ? l : garbage))
          const result = tf.tidy(() => maskedSoftmax(tf.tensor2d([logits]), tf.tensor2d([mask])))
          const weights = Array.from(result.dataSync())
          result.dispose()
          const total = weights.reduce((s, w) => s + w, 0)
          mask.forEach((m, i) => (m === 0 ? expect(weights[i]).toBe(0) : expect(weights[i]).toBeGreaterThanOrEqual(0)))
          if (mask.some((m) => m === 1)) expect(total).toBeCloseTo(1, 5)
          else expect(total).toBe(0)
        }
      )
    )
  })
})

describe("gatedSoftmax and gatedWeights", () => {
  const logits = tf.tensor2d([[0.5, -1, 2, 0.1], [1, 1, 1, 1]])
  const mask = tf.tensor2d([[1, 1, 0, 1], [1, 1, 1, 1]])

  it("equal the ungated weights with all-ones gates", () => {
    const ones = tf.ones([1, 4])
    expect(maxAbsDiff(gatedSoftmax(logits, mask, ones), maskedSoftmax(logits, mask))).toBeLessThan(1e-6)
    expect(maxAbsDiff(gatedWeights(mask, ones as tf.Tensor2D), tf.div(mask, tf.sum(mask, 1, true)))).toBeLessThan(1e-6)
  })

  it("without gates are exactly the masked softmax and the masked mean's weights", () => {
    expect(gatedSoftmax(logits, mask).arraySync()).toEqual(maskedSoftmax(logits, mask).arraySync())
    expect(gatedWeights(mask).arraySync()).toEqual(tf.div(mask, validCount(mask)).arraySync())
    expect(gatedWeights(tf.zeros([1, 4]) as tf.Tensor2D).arraySync()[0]).toEqual([0, 0, 0, 0])
  })

  it("weight each entry by its gate (w ∝ g exp(logit)), exactly 0 where masked, and switch off an entry with gate 0", () => {
    const gates = tf.tensor2d([[1, 0.25, 0.5, 0]])
    const w = gatedSoftmax(logits, mask, gates).arraySync()
    const expected = [0.5, -1, 2, 0.1].map((l, j) => [1, 1, 0, 1][j] * [1, 0.25, 0.5, 1e-6][j] * Math.exp(l))
    const total = expected.reduce((a, b) => a + b, 0)
    w[0].forEach((v, j) => expect(v).toBeCloseTo(expected[j] / total, 5))
    expect(w[0][2]).toBe(0)
    expect(w[0][3]).toBeLessThan(1e-5)
    expect(w[1].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5)
    const m = gatedWeights(mask, gates).arraySync()
    expect(m[0][0]).toBeCloseTo(1 / 1.25, 5)
    expect(m[0][1]).toBeCloseTo(0.25 / 1.25, 5)
    expect(m[0][2]).toBe(0)
    expect(m[0][3]).toBeLessThan(1e-5)
    expect(gatedWeights(tf.zeros([1, 4]) as tf.Tensor2D, gates).arraySync()[0]).toEqual([0, 0, 0, 0])
  })

  it("give the gates finite gradients", () => {
    const g = tf.variable(tf.tensor2d([[0.9, 0.2, 0.5, 1e-8]]))
    expectFiniteGradients(new Map([["gates", g]]), () =>
      tf.add(tf.sum(tf.mul(gatedSoftmax(logits, mask, g), tf.tensor2d([[1, -2, 3, 4]]))), tf.sum(tf.mul(gatedWeights(mask, g), tf.tensor2d([[2, 1, -1, 3]])))) as tf.Scalar)
    g.dispose()
  })
})

describe("splitSteps", () => {
  it("equals an even split of time-major rows, and its gradient is the identity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 3 }), (steps, b) => {
        tf.tidy(() => {
          const rows = tf.randomNormal([steps * b, 2]) as tf.Tensor2D
          const parts = splitSteps(rows, steps)
          const expected = tf.split(rows, steps, 0)
          expect(parts.length).toBe(steps)
          parts.forEach((p, i) => expect(maxAbsDiff(p, expected[i])).toBe(0))
          const weights = tf.randomNormal([steps * b, 2])
          const [g] = tf.grads((r) => tf.sum(tf.mul(tf.concat(splitSteps(r as tf.Tensor2D, steps), 0), weights)))([rows])
          expect(maxAbsDiff(g, weights)).toBe(0)
        })
      }),
      { numRuns: 30 }
    )
  })
})
