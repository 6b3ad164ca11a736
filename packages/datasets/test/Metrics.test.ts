import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { accuracy, emotionMetrics, pearson, regressionMetrics, roundHalfEven, weightedF1 } from "../src/Metrics"
import { invalidOption } from "./support/Throws"

const KEYS = ["acc2_has0", "acc2_non0", "f1_has0", "f1_non0", "acc5", "acc7", "mae", "corr"] as const


describe("roundHalfEven", () => {
  it("rounds ties to even like np.round", () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, -3.5].map(roundHalfEven)).toEqual([0, 2, 2, 4, 0, -2, -2, -4])
  })
  it("rounds non-ties to nearest and never returns -0", () => {
    expect([0.49, 0.51, 2.51, -2.49, -2.51, -0.2].map(roundHalfEven)).toEqual([0, 1, 3, -2, -3, 0])
    expect(Object.is(roundHalfEven(-0.4), 0)).toBe(true)
  })
})

describe("weightedF1 / accuracy", () => {
  it("gives a class never predicted F1 0, weighted by true support", () => {
    // class 1: P = 3/4, R = 1, F1 = 6/7 (support 3); class 0: never predicted, F1 0 (support 1)
    expect(weightedF1([1, 1, 1, 0], [1, 1, 1, 1])).toBeCloseTo((3 * (6 / 7)) / 4, 14)
    expect(accuracy([1, 1, 1, 0], [1, 1, 1, 1])).toBe(0.75)
  })
  it("handles more than two classes", () => {
    // class 0: F1 1 (support 1); class 1: F1 0 (support 1); class 2: P = R = 1/2 (support 2)
    expect(weightedF1([0, 1, 2, 2], [0, 2, 2, 1])).toBeCloseTo(0.5, 14)
  })
  it("counts a class present only in the predictions with weight 0", () => {
    // class 0: P = 1, R = 1/2, F1 = 2/3 (support 2); class 1: support 0
    expect(weightedF1([0, 0], [0, 1])).toBeCloseTo(2 / 3, 14)
  })
  it("accepts booleans", () => {
    expect(weightedF1([true, false], [true, false])).toBe(1)
    expect(accuracy([true, false], [false, false])).toBe(0.5)
  })
  it("rejects an empty input or a length mismatch", () => {
    expect(invalidOption(() => weightedF1([], [])).option).toBe("truth")
    expect(invalidOption(() => accuracy([1, 0], [1])).option).toBe("pred")
  })
})

describe("pearson", () => {
  it("matches hand-computed correlations", () => {
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 14)
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 14)
    // dx = dy permuted: sxy = 4, sxx = syy = 5
    expect(pearson([1, 2, 3, 4], [1, 3, 2, 4])).toBeCloseTo(0.8, 14)
  })
  it("is NaN when one side is constant", () => {
    expect(pearson([1, 2, 3], [2, 2, 2])).toBeNaN()
    expect(pearson([0, 0], [1, 2])).toBeNaN()
  })
})

describe("regressionMetrics", () => {
  it("returns exactly the MMSA keys", () => {
    expect(Object.keys(regressionMetrics([0.1, -0.3], [1, -1])).sort()).toEqual([...KEYS].sort())
  })

  it("rounds half to even at .5 boundaries for Acc-7", () => {
    // half-even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -2.5 -> -2 (half-up would give 1, 2, 3, -2)
    expect(regressionMetrics([0.5, 1.5, 2.5, -2.5], [0, 2, 2, -2]).acc7).toBe(1)
    expect(regressionMetrics([0.5, 1.5, 2.5, -2.5], [1, 1, 3, -3]).acc7).toBe(0)
  })

  it("clips for Acc-7 / Acc-5 but not for MAE", () => {
    const m = regressionMetrics([5, -4, 2.6], [3, -2.6, 2])
    // acc7: 3 = 3, -3 = -3, 3 != 2; acc5: 2 = 2, -2 = -2, 2 = 2
    expect(m.acc7).toBeCloseTo(2 / 3, 14)
    expect(m.acc5).toBe(1)
    expect(m.mae).toBeCloseTo((2 + 1.4 + 0.6) / 3, 6)
  })

  it("excludes zero labels from the non0 metrics and uses >= 0 for has0", () => {
    const m = regressionMetrics([1, -1, 1, 1], [0, 0, 1, -1])
    // non0: truth [T, F], pred [T, T]: acc 1/2; F1 = (1 * 2/3 + 1 * 0) / 2
    expect(m.acc2_non0).toBe(0.5)
    expect(m.f1_non0).toBeCloseTo(1 / 3, 14)
    // has0: truth [T, T, T, F], pred [T, F, T, T]: acc 1/2; F1 = (3 * 2/3 + 1 * 0) / 4
    expect(m.acc2_has0).toBe(0.5)
    expect(m.f1_has0).toBeCloseTo(0.5, 14)
  })

  it("compares the float32 values", () => {
    // float32(2.50000001) = 2.5, which rounds to 2; float32(1e-50) = 0, which is excluded from non0
    expect(regressionMetrics([2], [2.50000001]).acc7).toBe(1)
    const m = regressionMetrics([-1, 1, -1], [1e-50, 1, -1])
    expect(m.acc2_non0).toBe(1)
    expect(m.acc2_has0).toBeCloseTo(2 / 3, 14)
  })

  it("gives NaN non0 metrics when every label is 0, and NaN corr for constant predictions", () => {
    const m = regressionMetrics([0.3, -0.2], [0, 0])
    expect(m.acc2_non0).toBeNaN()
    expect(m.f1_non0).toBeNaN()
    expect(regressionMetrics([1, 1, 1], [1, 2, 3]).corr).toBeNaN()
  })

  // Reference values computed at authoring time with numpy 2.4 (np.round, np.clip, np.corrcoef on
  // float32 arrays, as MMSA does) and a direct implementation of sklearn's weighted F1.
  it("matches numpy reference values on random vectors", () => {
    const cases = [
      {
        preds: [3.5, -2.5, 1.6553032398223877, -1.3442145586013794, -1.177615761756897, -0.5812227129936218, -3.0895378589630127, -0.6417350172996521, -0.23509113490581512, -1.3874465227127075, -0.44873565435409546, -0.6832489371299744],
        labels: [0.800000011920929, 2.4000000953674316, 1.600000023841858, 0, -1.2000000476837158, 2.200000047683716, -3, 2, 0, -0.20000000298023224, -1.2000000476837158, -1.399999976158142],
        expected: { acc2_has0: 0.5833333333333334, acc2_non0: 0.7, f1_has0: 0.5370370370370371, f1_non0: 0.6703296703296704, acc5: 0.4166666666666667, acc7: 0.4166666666666667, mae: 1.4520792961120605, corr: 0.3245278355072456 }
      },
      {
        preds: [3.5, -2.5, 1.6793540716171265, -0.16147039830684662, 2.0004165172576904, 0.7622597217559814, -2.1592888832092285, -1.725483775138855, -0.5033104419708252, 0.5312178730964661, -0.39708971977233887, -0.5465173125267029, -1.1327524185180664, 2.6385226249694824, -0.6756622791290283, -0.6368613839149475, 0.8566924333572388, 0.12726841866970062, 0.012805472128093243, -0.09930159896612167],
        labels: [0, -0.20000000298023224, 2.5999999046325684, 0.800000011920929, 0, -0, -1.600000023841858, -3, -1.7999999523162842, 1.2000000476837158, -1.7999999523162842, -0.800000011920929, -3, 2, 0, -1.399999976158142, 2.200000047683716, 0, 2, 0.800000011920929],
        expected: { acc2_has0: 0.85, acc2_non0: 0.8666666666666667, f1_has0: 0.8511278195488721, f1_non0: 0.8629629629629629, acc5: 0.4, acc7: 0.25, mae: 1.2101051807403564, corr: 0.5765206554018049 }
      }
    ]
    for (const { expected, labels, preds } of cases) {
      const m = regressionMetrics(Float32Array.from(preds), Float32Array.from(labels))
      for (const key of KEYS) expect(m[key], key).toBeCloseTo(expected[key], key === "mae" ? 6 : 12)
    }
  })

  it("rejects bad input naming the argument", () => {
    expect(invalidOption(() => regressionMetrics([], [])).option).toBe("preds")
    expect(invalidOption(() => regressionMetrics([1, 2], [1])).option).toBe("labels")
    expect(invalidOption(() => regressionMetrics([1, NaN], [1, 2])).option).toBe("preds")
    expect(invalidOption(() => regressionMetrics([1, 2], [Infinity, 2])).option).toBe("labels")
  })

  const sample = fc.array(
    fc.record({
      p: fc.double({ min: -4, max: 4, noNaN: true }),
      y: fc.integer({ min: -15, max: 15 }).map((k) => k / 5),
      key: fc.double({ min: 0, max: 1, noNaN: true })
    }),
    { minLength: 2, maxLength: 60 }
  )

  it("is invariant under a permutation of the samples", () => {
    fc.assert(
      fc.property(sample, (rows) => {
        const shuffled = [...rows].sort((a, b) => a.key - b.key)
        const a = regressionMetrics(rows.map((r) => r.p), rows.map((r) => r.y))
        const b = regressionMetrics(shuffled.map((r) => r.p), shuffled.map((r) => r.y))
        for (const key of KEYS) {
          if (Number.isNaN(a[key])) expect(b[key]).toBeNaN()
          else expect(b[key]).toBeCloseTo(a[key], 9)
        }
      })
    )
  })

  it("keeps accuracies and F1 in [0, 1]", () => {
    fc.assert(
      fc.property(sample, (rows) => {
        const m = regressionMetrics(rows.map((r) => r.p), rows.map((r) => r.y))
        for (const key of ["acc2_has0", "acc2_non0", "f1_has0", "f1_non0", "acc5", "acc7"] as const) {
          if (!Number.isNaN(m[key])) {
            expect(m[key]).toBeGreaterThanOrEqual(0)
            expect(m[key]).toBeLessThanOrEqual(1)
          }
        }
        expect(m.mae).toBeGreaterThanOrEqual(0)
      })
    )
  })

  it("gives acc = 1, mae = 0 and corr = 1 for perfect predictions", () => {
    fc.assert(
      fc.property(sample, (rows) => {
        const y = rows.map((r) => r.y)
        const m = regressionMetrics(y, y)
        expect(m.acc7).toBe(1)
        expect(m.acc5).toBe(1)
        expect(m.acc2_has0).toBe(1)
        expect(m.f1_has0).toBe(1)
        expect(m.mae).toBe(0)
        if (y.some((v) => v !== 0)) {
          expect(m.acc2_non0).toBe(1)
          expect(m.f1_non0).toBe(1)
        }
        if (y.some((v) => v !== y[0])) expect(m.corr).toBeCloseTo(1, 12)
      })
    )
  })
})

describe("emotionMetrics", () => {
  const emotions = ["neutral", "happy"]
  const labels = Uint8Array.from([1, 0, 1, 1, 0, 0])
  // neutral: truth [1, 1, 0], pred [1, 0 (tie -> class 0), 1]: acc 1/3, F1 = (2 * 1/2 + 1 * 0) / 3
  // happy: truth [0, 1, 0], pred [0, 1, 0]: acc 1, F1 1
  const expected = { neutral: { acc: 1 / 3, f1: 1 / 3 }, happy: { acc: 1, f1: 1 } }

  it("takes the argmax of the two outputs per emotion", () => {
    const scores = [0.1, 0.9, 2, -1, 0.5, 0.5, 0, 3, -1, 0, 1, 0]
    const m = emotionMetrics(scores, labels, emotions)
    for (const e of emotions) {
      expect(m[e].acc).toBeCloseTo(expected[e as keyof typeof expected].acc, 14)
      expect(m[e].f1).toBeCloseTo(expected[e as keyof typeof expected].f1, 14)
    }
  })

  it("accepts positive-class probabilities (n, E)", () => {
    const m = emotionMetrics([0.9, 0.1, 0.5, 0.7, 0.6, 0.2], labels, emotions)
    expect(m.neutral.acc).toBeCloseTo(1 / 3, 14)
    expect(m.neutral.f1).toBeCloseTo(1 / 3, 14)
    expect(m.happy).toEqual({ acc: 1, f1: 1 })
  })

  it("rejects bad input naming the argument", () => {
    expect(invalidOption(() => emotionMetrics([0.1, 0.2, 0.3], labels, emotions)).option).toBe("scores")
    expect(invalidOption(() => emotionMetrics([0.1, 0.2], [1, 2], emotions)).option).toBe("labels")
    expect(invalidOption(() => emotionMetrics([NaN, 0.1], [1, 0], emotions)).option).toBe("scores")
    expect(invalidOption(() => emotionMetrics([0.1], [1], [])).option).toBe("emotions")
  })
})
