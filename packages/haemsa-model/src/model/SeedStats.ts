/**
 * The mean and standard deviation of a multi-seed run's metrics (`haemsa train --seeds`): metric by
 * metric, over the seeds' runs. The standard deviation is the sample one (divided by n - 1), as MMSA
 * reports it; with a single run it is 0. And how sure a difference of test MAE between two models
 * is, over both seeds and test samples ({@link pairedMaeDifference}).
 *
 * @since 0.2.0
 */
import { Random } from "@haemsa/datasets"
import type * as Evaluate from "./Evaluate"

/** The mean and sample standard deviation of some numbers (std divided by n - 1; 0 for fewer than 2). */
export const meanStd = (xs: ReadonlyArray<number>): { readonly mean: number; readonly std: number } => {
  const n = xs.length
  if (n === 0) return { mean: NaN, std: NaN }
  const mean = xs.reduce((a, x) => a + x, 0) / n
  if (n < 2) return { mean, std: 0 }
  const ss = xs.reduce((a, x) => a + (x - mean) * (x - mean), 0)
  return { mean, std: Math.sqrt(ss / (n - 1)) }
}

/**
 * The mean and sample standard deviation (n - 1) of each metric over runs with the same metric keys
 * (the MMSA metrics, or IEMOCAP's `{emotion: {acc, f1}}`, nested the same way). Pure.
 */
export const summarize = (
  runs: ReadonlyArray<Evaluate.SplitMetrics>
): { readonly mean: Evaluate.SplitMetrics; readonly std: Evaluate.SplitMetrics } => {
  const go = (values: ReadonlyArray<unknown>): { mean: unknown; std: unknown } => {
    const first = values[0]
    if (typeof first === "number") {
      return meanStd(values as ReadonlyArray<number>)
    }
    const mean: Record<string, unknown> = {}
    const std: Record<string, unknown> = {}
    for (const key of Object.keys(first as object)) {
      const r = go(values.map((v) => (v as Record<string, unknown>)[key]))
      mean[key] = r.mean
      std[key] = r.std
    }
    return { mean, std }
  }
  if (runs.length === 0) return { mean: {}, std: {} }
  const r = go(runs)
  return { mean: r.mean as Evaluate.SplitMetrics, std: r.std as Evaluate.SplitMetrics }
}

/** What {@link pairedMaeDifference} finds: model A against model B on one test split. */
export interface PairedDifference {
  /** A's MAE minus B's, each the mean over its seeds' runs (negative: A is better). */
  readonly difference: number
  /** The 2.5% and 97.5% quantiles of the difference over the resamples: a 95% interval. */
  readonly low: number
  readonly high: number
  /** The fraction of resamples in which A's MAE is at most B's. */
  readonly noWorse: number
  readonly resamples: number
}

/**
 * How sure a test-MAE difference between two models is, over the two sources of noise a multi-seed
 * comparison has: the training seeds and the test samples. A two-level bootstrap: each resample draws
 * the seeds' runs with replacement (run `s` of A goes with run `s` of B: the same training seed) and
 * the test samples with replacement, and scores both models' mean MAE over the drawn runs on the
 * drawn samples. `a` and `b` are one prediction array per run (each as long as `labels`). Pure;
 * `seed` (default 0) fixes the draws.
 *
 * @throws RangeError when the runs differ in number or length from the labels, a value is not finite,
 *   or `resamples` is not a positive integer.
 */
export const pairedMaeDifference = (
  labels: ArrayLike<number>,
  a: ReadonlyArray<ArrayLike<number>>,
  b: ReadonlyArray<ArrayLike<number>>,
  options: { readonly resamples?: number; readonly seed?: number } = {}
): PairedDifference => {
  const n = labels.length
  const S = a.length
  if (S === 0 || b.length !== S) throw new RangeError(`expected the same number of runs for both models (at least one), got ${S} and ${b.length}`)
  const errors = (runs: ReadonlyArray<ArrayLike<number>>, name: string): Float64Array[] =>
    runs.map((p, s) => {
      if (p.length !== n) throw new RangeError(`model ${name}, run ${s}: ${p.length} predictions for ${n} labels`)
      const e = new Float64Array(n)
      for (let i = 0; i < n; i++) {
        e[i] = Math.abs(p[i] - labels[i])
        if (!Number.isFinite(e[i])) throw new RangeError(`model ${name}, run ${s}, sample ${i}: prediction ${p[i]}, label ${labels[i]}`)
      }
      return e
    })
  const [eA, eB] = [errors(a, "A"), errors(b, "B")]
  // per run, A's absolute error minus B's: the difference of the mean MAEs is a weighted sum of these
  const d = eA.map((e, s) => e.map((x, i) => x - eB[s][i]))
  const R = options.resamples ?? 10000
  if (!Number.isInteger(R) || R < 1) throw new RangeError(`resamples must be a positive integer, got ${R}`)
  const rng = Random.makeRng(options.seed ?? 0)
  const diffs = new Float64Array(R)
  const counts = new Float64Array(n)
  let noWorse = 0
  for (let r = 0; r < R; r++) {
    counts.fill(0)
    for (let k = 0; k < n; k++) counts[Random.int(rng, n)] += 1
    let sum = 0
    for (let k = 0; k < S; k++) {
      const dr = d[Random.int(rng, S)]
      for (let i = 0; i < n; i++) sum += counts[i] * dr[i]
    }
    diffs[r] = sum / (S * n)
    if (diffs[r] <= 0) noWorse += 1
  }
  diffs.sort()
  const quantile = (q: number) => {
    const x = q * (R - 1)
    const lo = Math.floor(x)
    return diffs[lo] + (diffs[Math.min(R - 1, lo + 1)] - diffs[lo]) * (x - lo)
  }
  const difference = d.reduce((acc, ds) => acc + ds.reduce((t, x) => t + x, 0), 0) / (S * n)
  return { difference, low: quantile(0.025), high: quantile(0.975), noWorse: noWorse / R, resamples: R }
}
