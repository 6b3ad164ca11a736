/** The mean and sample standard deviation (n - 1) of a multi-seed run's metrics. */
import { describe, expect, it } from "vitest"
import type * as Evaluate from "../src/model/Evaluate"
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
