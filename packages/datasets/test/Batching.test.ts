import { describe, expect, it } from "vitest"
import * as fc from "fast-check"
import { Batching, Errors, Normalize, Random, Synthetic } from "@haemsa/datasets"

const small = (seed = 0) =>
  Synthetic.synthetic({ seed, steps: 6, dims: { text: 4, audio: 3, vision: 2 }, sizes: { train: 40, valid: 10, test: 10 } })

describe("Batching", () => {
  it("subset copies the selected samples in order, with every field", () => {
    const train = small().splits.train
    const s = Batching.subset(train, [3, 0, 3])
    expect(s.n).toBe(3)
    expect(s.ids).toEqual([train.ids[3], train.ids[0], train.ids[3]])
    const t = train.features.text!
    const row = t.steps * t.dim
    expect(Array.from(s.features.text!.data.subarray(0, row))).toEqual(Array.from(t.data.subarray(3 * row, 4 * row)))
    expect(Array.from(s.features.text!.data.subarray(row, 2 * row))).toEqual(Array.from(t.data.subarray(0, row)))
    expect(s.labels.regression![1]).toBe(train.labels.regression![0])
    expect(Array.from(s.mask)).toEqual([...train.mask.subarray(9, 12), ...train.mask.subarray(0, 3), ...train.mask.subarray(9, 12)])
    expect(s.features.audio!.lengths[0]).toBe(train.features.audio!.lengths[3])
  })

  it("subset rejects out-of-range indices with a typed error", () => {
    const train = small().splits.train
    expect(() => Batching.subset(train, [40])).toThrow(Errors.InvalidOption)
    expect(() => Batching.subset(train, [-1])).toThrow(Errors.InvalidOption)
    expect(() => Batching.subset(train, [0.5])).toThrow(Errors.InvalidOption)
  })

  it("batchIndices covers every sample exactly once, seeded", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 1, max: 64 }), fc.integer(), (n, size, seed) => {
        const a = Batching.batchIndices(n, size, Random.makeRng(seed))
        const b = Batching.batchIndices(n, size, Random.makeRng(seed))
        const flat = a.flatMap((x) => Array.from(x))
        expect(flat.slice().sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, i) => i))
        expect(a.map((x) => Array.from(x))).toEqual(b.map((x) => Array.from(x)))
        expect(a.every((x, i) => x.length === (i < a.length - 1 ? size : n - size * (a.length - 1)))).toBe(true)
      })
    )
  })

  it("batchIndices without rng keeps the order; a bad batch size is a typed error", () => {
    expect(Batching.batchIndices(5, 2).map((x) => Array.from(x))).toEqual([[0, 1], [2, 3], [4]])
    expect(() => Batching.batchIndices(5, 0)).toThrow(Errors.InvalidOption)
    expect(() => Batching.batchIndices(5, 1.5)).toThrow(Errors.InvalidOption)
  })

  it("keepModalities masks the others and keeps the features", () => {
    const train = small().splits.train
    const k = Batching.keepModalities(train, ["audio"])
    for (let i = 0; i < k.n; i++) expect([k.mask[i * 3], k.mask[i * 3 + 1], k.mask[i * 3 + 2]]).toEqual([0, train.mask[i * 3 + 1], 0])
    expect(k.features.text).toBe(train.features.text)
    expect(() => Batching.keepModalities(train, [])).toThrow(Errors.InvalidOption)
  })

  it("sample draws a seeded sorted subset of the requested fraction", () => {
    const train = small().splits.train
    const a = Batching.sample(train, 0.25, Random.makeRng(1))
    const b = Batching.sample(train, 0.25, Random.makeRng(1))
    expect(a.n).toBe(10)
    expect(a.ids).toEqual(b.ids)
    expect(() => Batching.sample(train, 0, Random.makeRng(1))).toThrow(Errors.InvalidOption)
    expect(() => Batching.sample(train, 1.5, Random.makeRng(1))).toThrow(Errors.InvalidOption)
  })
})

describe("Normalize", () => {
  it("fits on train only: train features get mean 0 and std 1 over valid steps, padding stays 0", () => {
    const ds = small(3)
    const { dataset, stats } = Normalize.normalize(ds)
    const b = dataset.splits.train.features.text!
    const sum = new Float64Array(b.dim)
    const sq = new Float64Array(b.dim)
    let count = 0
    for (let i = 0; i < b.n; i++) {
      for (let t = 0; t < b.steps; t++) {
        for (let d = 0; d < b.dim; d++) {
          const v = b.data[(i * b.steps + t) * b.dim + d]
          if (t >= b.lengths[i]) expect(v).toBe(0)
          else { sum[d] += v; sq[d] += v * v }
        }
        if (t < b.lengths[i]) count++
      }
    }
    for (let d = 0; d < b.dim; d++) {
      expect(sum[d] / count).toBeCloseTo(0, 4)
      expect(Math.sqrt(sq[d] / count)).toBeCloseTo(1, 3)
    }
    // valid/test use the train statistics, not their own
    const refit = Normalize.fit(ds.splits.valid)
    expect(refit.text!.mean).not.toEqual(stats.text!.mean)
    const v = Normalize.applySplit(ds.splits.valid, stats)
    expect(Array.from(v.features.text!.data)).toEqual(Array.from(dataset.splits.valid.features.text!.data))
  })

  it("does not modify its input and rejects stats of the wrong size", () => {
    const ds = small(4)
    const before = Float32Array.from(ds.splits.train.features.audio!.data)
    Normalize.normalize(ds)
    expect(Array.from(ds.splits.train.features.audio!.data)).toEqual(Array.from(before))
    expect(() => Normalize.applySplit(ds.splits.train, { audio: { mean: [0], std: [1] } })).toThrow(Errors.InvalidOption)
  })

  it("clips standardised values to the fitted bound, and keeps them with clip Infinity", () => {
    const ds = small(5)
    const train = ds.splits.train
    const audio = train.features.audio!
    // one extreme value in the valid split
    const valid = ds.splits.valid
    const data = Float32Array.from(valid.features.audio!.data)
    data[0] = 1e6
    const outlier = { ...valid, features: { ...valid.features, audio: { ...valid.features.audio!, data } } }
    const clipped = Normalize.applySplit(outlier, Normalize.fit(train))
    expect(clipped.features.audio!.data[0]).toBe(Normalize.DEFAULT_CLIP)
    const kept = Normalize.applySplit(outlier, Normalize.fit(train, { clip: Infinity }))
    expect(kept.features.audio!.data[0]).toBeGreaterThan(1000)
    expect(Normalize.fit(train, { clip: 2 }).audio!.clip).toBe(2)
    expect(() => Normalize.fit(train, { clip: 0 })).toThrow(Errors.InvalidOption)
    expect(audio.dim).toBe(3)
  })
})
