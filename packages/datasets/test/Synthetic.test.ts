import { describe, expect, it } from "vitest"
import type { Modality, Split } from "../src/Dataset"
import { MODALITIES, SPLITS } from "../src/Dataset"
import { pearson } from "../src/Metrics"
import { synthetic } from "../src/Synthetic"
import { invalidOption } from "./support/Throws"

const small = { sizes: { train: 40, valid: 10, test: 12 }, steps: 8, dims: { text: 6, audio: 3, vision: 4 } }


/** Time-mean over the valid steps of the chosen modalities, plus a bias column: (n, 1 + sum dims). */
const design = (split: Split, modalities: ReadonlyArray<Modality>): Array<Float64Array> => {
  const rows: Array<Float64Array> = []
  for (let i = 0; i < split.n; i++) {
    const row: Array<number> = [1]
    for (const m of modalities) {
      const b = split.features[m]!
      const mean = new Float64Array(b.dim)
      const L = b.lengths[i]
      for (let t = 0; t < L; t++) for (let d = 0; d < b.dim; d++) mean[d] += b.data[(i * b.steps + t) * b.dim + d] / L
      row.push(...mean)
    }
    rows.push(Float64Array.from(row))
  }
  return rows
}

/** Ridge least squares (tiny ridge for stability), solved by Gaussian elimination with partial pivoting. */
const fit = (x: Array<Float64Array>, y: Float32Array): Float64Array => {
  const k = x[0].length
  const a = Array.from({ length: k }, () => new Float64Array(k + 1))
  for (let i = 0; i < x.length; i++) {
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) a[r][c] += x[i][r] * x[i][c]
      a[r][k] += x[i][r] * y[i]
    }
  }
  for (let r = 0; r < k; r++) a[r][r] += 1e-6
  for (let col = 0; col < k; col++) {
    let pivot = col
    for (let r = col + 1; r < k; r++) if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) pivot = r
    ;[a[col], a[pivot]] = [a[pivot], a[col]]
    for (let r = 0; r < k; r++) {
      if (r === col) continue
      const f = a[r][col] / a[col][col]
      for (let c = col; c <= k; c++) a[r][c] -= f * a[col][c]
    }
  }
  return Float64Array.from(a, (row, r) => row[k] / row[r])
}

const validCorr = (modalities: ReadonlyArray<Modality>): number => {
  const d = synthetic({ seed: 3, sizes: { train: 400, valid: 100, test: 100 }, steps: 10, dims: { text: 16, audio: 4, vision: 6 } })
  const w = fit(design(d.splits.train, modalities), d.splits.train.labels.regression!)
  const x = design(d.splits.valid, modalities)
  const pred = x.map((row) => row.reduce((acc, v, j) => acc + v * w[j], 0))
  return pearson(pred, d.splits.valid.labels.regression!)
}

describe("synthetic", () => {
  it("has MOSI's default shape and metadata", () => {
    const d = synthetic({ steps: 4, dims: { text: 3 } })
    expect(d).toMatchObject({ name: "synthetic", format: "synthetic", task: "sentiment" })
    expect(SPLITS.map((s) => d.splits[s].n)).toEqual([1284, 229, 686])
    const train = d.splits.train
    expect(train.features.text!.dim).toBe(3)
    expect(train.features.audio!.dim).toBe(5)
    expect(train.features.vision!.dim).toBe(20)
    expect(train.features.audio!.data.length).toBe(1284 * 4 * 5)
    expect(train.ids[0]).toBe("syn_train_00001")
    expect(d.splits.test.ids[685]).toBe("syn_test_00686")
    expect(train.mask.length).toBe(1284 * 3)
    expect(train.mask.every((v) => v === 1)).toBe(true)
    expect(train.rawText).toBeUndefined()
    expect(train.tokens).toBeUndefined()
    expect(train.nonfiniteReplaced).toEqual({ text: 0, audio: 0, vision: 0 })
  })

  it("is bit-identical for the same seed and differs for another seed", () => {
    const a = synthetic({ ...small, seed: 7 })
    const b = synthetic({ ...small, seed: 7 })
    const c = synthetic({ ...small, seed: 8 })
    for (const s of SPLITS) {
      for (const m of MODALITIES) {
        expect(Buffer.from(a.splits[s].features[m]!.data.buffer).equals(Buffer.from(b.splits[s].features[m]!.data.buffer))).toBe(true)
        expect(a.splits[s].features[m]!.lengths).toEqual(b.splits[s].features[m]!.lengths)
      }
      expect(a.splits[s].labels.regression).toEqual(b.splits[s].labels.regression)
    }
    expect(a.splits.train.features.text!.data).not.toEqual(c.splits.train.features.text!.data)
    expect(a.splits.train.labels.regression).not.toEqual(c.splits.train.labels.regression)
  })

  it("keeps the train split independent of the other split sizes", () => {
    const a = synthetic({ ...small, seed: 1 })
    const b = synthetic({ ...small, seed: 1, sizes: { ...small.sizes, test: 30 } })
    expect(b.splits.train.features.audio!.data).toEqual(a.splits.train.features.audio!.data)
    expect(b.splits.test.n).toBe(30)
  })

  it("has lengths in [ceil(T/2), T] and zero padding after them", () => {
    const d = synthetic({ ...small, sizes: { train: 200, valid: 5, test: 5 }, seed: 2 })
    const T = 8
    for (const m of MODALITIES) {
      const b = d.splits.train.features[m]!
      expect(b.steps).toBe(T)
      for (let i = 0; i < b.n; i++) {
        const L = b.lengths[i]
        expect(L).toBeGreaterThanOrEqual(4)
        expect(L).toBeLessThanOrEqual(T)
        for (let t = 0; t < T; t++) {
          const step = b.data.subarray((i * T + t) * b.dim, (i * T + t + 1) * b.dim)
          if (t >= L) expect(step.every((v) => v === 0)).toBe(true)
          else expect(step.some((v) => v !== 0)).toBe(true)
        }
      }
      expect(b.lengths).toEqual(d.splits.train.features.text!.lengths)
    }
    const lengths = new Set(d.splits.train.features.text!.lengths)
    expect(lengths.size).toBeGreaterThan(1)
  })

  it("quantises labels to multiples of 0.2 in [-3, 3] with some exact zeros", () => {
    const y = synthetic({ ...small, sizes: { train: 1000, valid: 1, test: 1 } }).splits.train.labels.regression!
    expect(y.every((v) => v >= -3 && v <= 3 && Math.abs(v * 5 - Math.round(v * 5)) < 1e-5)).toBe(true)
    expect(y.some((v) => v === 0)).toBe(true)
    expect(y.some((v) => v > 1) && y.some((v) => v < -1)).toBe(true)
  })

  it("validates options, naming the option", () => {
    expect(invalidOption(() => synthetic({ steps: 0 })).option).toBe("steps")
    expect(invalidOption(() => synthetic({ steps: 2.5 })).option).toBe("steps")
    expect(invalidOption(() => synthetic({ dims: { audio: 0 } })).option).toBe("dims.audio")
    expect(invalidOption(() => synthetic({ sizes: { valid: -1 } })).option).toBe("sizes.valid")
    expect(invalidOption(() => synthetic({ seed: NaN })).option).toBe("seed")
    expect(invalidOption(() => synthetic({ noise: -1 })).option).toBe("noise")
    expect(invalidOption(() => synthetic({ weights: { text: Infinity } })).option).toBe("weights.text")
    expect(invalidOption(() => synthetic({ minLengthFraction: 0 })).option).toBe("minLengthFraction")
    expect(invalidOption(() => synthetic({ latents: { shared: 0 } })).option).toBe("latents.shared")
  })

  it("makes the label predictable, more from all modalities than from text, and from text than from audio", () => {
    const all = validCorr(MODALITIES)
    const text = validCorr(["text"])
    const audio = validCorr(["audio"])
    expect(all).toBeGreaterThan(text)
    expect(text).toBeGreaterThan(audio + 0.1)
    expect(audio).toBeGreaterThan(0.1)
  })
})
