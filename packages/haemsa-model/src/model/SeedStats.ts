/**
 * The mean and standard deviation of a multi-seed run's metrics (`haemsa train --seeds`): metric by
 * metric, over the seeds' runs. The standard deviation is the sample one (divided by n - 1), as MMSA
 * reports it; with a single run it is 0.
 *
 * @since 0.2.0
 */
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
