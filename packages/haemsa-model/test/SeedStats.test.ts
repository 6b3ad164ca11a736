/** The mean and sample standard deviation (n - 1) of a multi-seed run's metrics. */
import { describe, expect, it } from "vitest"
import type * as Evaluate from "../src/model/Evaluate"
import { Random } from "@haemsa/datasets"
import * as SeedStats from "../src/model/SeedStats"

const sentiment = (x: number): Evaluate.SplitMetrics =>
  ({ acc2_has0: x, acc2_non0: x + 1, f1_has0: x, f1_non0: x, acc5: x, acc7: x, mae: 2 * x, corr: -x }) as Evaluate.SplitMetrics

describe("SeedStats", () => {
  it("meanStd: the sample standard deviation (divided by n - 1), 0 for one value", () => {
    const r = SeedStats.meanStd([1, 2, 3, 4])
    expect(r.mean).toBe(2.5)
    // sum of squares 5, n - 1 = 3 (the population std would be sqrt(5/4))
    expect(r.std).toBeCloseTo(Math.sqrt(5 / 3), 12)
    expect(SeedStats.meanStd([0.7])).toEqual({ mean: 0.7, std: 0 })
    expect(SeedStats.meanStd([2, 2, 2]).std).toBe(0)
  })

  it("summarize: metric by metric, with the same keys (sentiment)", () => {
    const { mean, std } = SeedStats.summarize([sentiment(1), sentiment(2), sentiment(3), sentiment(4)])
    const m = mean as unknown as Record<string, number>
    const s = std as unknown as Record<string, number>
    expect(Object.keys(m).sort()).toEqual(Object.keys(sentiment(0)).sort())
    expect(m.acc2_has0).toBe(2.5)
    expect(m.acc2_non0).toBe(3.5)
    expect(m.mae).toBe(5)
    expect(m.corr).toBe(-2.5)
    expect(s.acc2_has0).toBeCloseTo(Math.sqrt(5 / 3), 12)
    expect(s.mae).toBeCloseTo(2 * Math.sqrt(5 / 3), 12)
    expect(s.corr).toBeCloseTo(Math.sqrt(5 / 3), 12)
  })

  it("summarize: nested per-emotion scores", () => {
    const runs = [
      { happy: { acc: 0.5, f1: 0.4 }, sad: { acc: 0.9, f1: 0.1 } },
      { happy: { acc: 0.7, f1: 0.6 }, sad: { acc: 0.9, f1: 0.3 } }
    ]
    const { mean, std } = SeedStats.summarize(runs)
    const m = mean as Record<string, { acc: number; f1: number }>
    const s = std as Record<string, { acc: number; f1: number }>
    expect(m.happy.acc).toBeCloseTo(0.6, 12)
    expect(m.sad.f1).toBeCloseTo(0.2, 12)
    expect(s.happy.acc).toBeCloseTo(Math.sqrt(0.02), 12)
    expect(s.sad.acc).toBe(0)
  })
})

describe("SeedStats.pairedMaeDifference", () => {
  const labels = Array.from({ length: 50 }, (_, i) => Math.sin(i) * 2)
  const shifted = (by: number) => labels.map((y) => y + by)
  const noisy = (seed: number, scale: number) => {
    const rng = Random.makeRng(seed)
    return labels.map((y) => y + scale * Random.normal(rng))
  }

  it("the difference of the mean MAEs; a sure difference has a narrow interval", () => {
    const r = SeedStats.pairedMaeDifference(labels, [shifted(0.1), shifted(-0.1)], [shifted(0.5), shifted(0.7)], { resamples: 500 })
    expect(r.difference).toBeCloseTo(0.1 - 0.6, 12)
    expect(r.low).toBeCloseTo(-0.6, 12)
    expect(r.high).toBeCloseTo(-0.4, 12)
    expect(r.noWorse).toBe(1)
    expect(r.resamples).toBe(500)
  })

  it("the same model against itself: 0, and never worse", () => {
    const runs = [noisy(1, 0.5), noisy(2, 0.5)]
    expect(SeedStats.pairedMaeDifference(labels, runs, runs, { resamples: 200 })).toEqual({ difference: 0, low: 0, high: 0, noWorse: 1, resamples: 200 })
  })

  it("the seeds' spread widens the interval: one good and one bad run against two middling ones", () => {
    const r = SeedStats.pairedMaeDifference(labels, [shifted(0), shifted(1)], [shifted(0.5), shifted(0.5)], { resamples: 2000 })
    expect(r.difference).toBeCloseTo(0, 12)
    // a resample draws both runs of A, or twice the good one (-0.5), or twice the bad one (+0.5)
    expect(r.low).toBeCloseTo(-0.5, 12)
    expect(r.high).toBeCloseTo(0.5, 12)
    expect(r.noWorse).toBeGreaterThan(0.6)
    expect(r.noWorse).toBeLessThan(0.9)
  })

  it("two models of the same error, different noise: an interval around 0, the same for the same seed", () => {
    const a = [noisy(1, 0.5), noisy(2, 0.5), noisy(3, 0.5)]
    const b = [noisy(4, 0.5), noisy(5, 0.5), noisy(6, 0.5)]
    const r = SeedStats.pairedMaeDifference(labels, a, b, { resamples: 1000, seed: 7 })
    expect(r.low).toBeLessThan(r.difference)
    expect(r.high).toBeGreaterThan(r.difference)
    expect(r.low).toBeLessThan(0)
    expect(r.high).toBeGreaterThan(0)
    expect(SeedStats.pairedMaeDifference(labels, a, b, { resamples: 1000, seed: 7 })).toEqual(r)
    expect(SeedStats.pairedMaeDifference(labels, a, b, { resamples: 1000, seed: 8 })).not.toEqual(r)
  })

  it("refuses runs that do not pair, or a value that is not finite, naming it", () => {
    expect(() => SeedStats.pairedMaeDifference(labels, [labels], [labels, labels])).toThrow(/same number of runs/)
    expect(() => SeedStats.pairedMaeDifference(labels, [], [])).toThrow(/at least one/)
    expect(() => SeedStats.pairedMaeDifference(labels, [labels.slice(1)], [labels])).toThrow(/model A, run 0: 49 predictions for 50 labels/)
    const bad = [...labels]
    bad[7] = NaN
    expect(() => SeedStats.pairedMaeDifference(labels, [labels], [bad])).toThrow(/model B, run 0, sample 7: prediction NaN/)
    expect(() => SeedStats.pairedMaeDifference(labels, [labels], [labels], { resamples: 0 })).toThrow(/resamples must be a positive integer, got 0/)
    expect(() => SeedStats.pairedMaeDifference(labels, [labels], [labels], { resamples: 2.5 })).toThrow(/got 2.5/)
  })
})
