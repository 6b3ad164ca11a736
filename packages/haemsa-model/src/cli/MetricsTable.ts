/**
 * The metrics tables the commands print (`train`, `eval`, `search --retrain`): one row per label, the
 * sentiment metrics or, for an emotions dataset, accuracy and F1 per emotion.
 *
 * @since 0.1.0
 */
import type * as Evaluate from "../model/Evaluate"

const METRIC_COLUMNS = ["acc2_has0", "acc2_non0", "f1_has0", "f1_non0", "acc5", "acc7", "mae", "corr"] as const

/** A metrics table (rows: label -> metrics) as text. */
export const metricsTable = (rows: ReadonlyArray<readonly [string, Evaluate.SplitMetrics]>): string => {
  if (rows.length === 0) return ""
  const first = rows[0][1] as Record<string, unknown>
  if ("mae" in first) {
    const head = ["", ...METRIC_COLUMNS].map((c, i) => (i === 0 ? c.padEnd(18) : c.padStart(10))).join("")
    const lines = rows.map(([label, m]) =>
      label.padEnd(18) + METRIC_COLUMNS.map((c) => (m as unknown as Record<string, number>)[c].toFixed(4).padStart(10)).join("")
    )
    return [head, ...lines].join("\n")
  }
  const emotions = Object.keys(first)
  const head = "".padEnd(18) + emotions.map((e) => `${e} acc`.padStart(14) + `${e} f1`.padStart(14)).join("")
  const lines = rows.map(([label, m]) =>
    label.padEnd(18) + emotions.map((e) => {
      const s = (m as Record<string, { acc: number; f1: number }>)[e]
      return s.acc.toFixed(4).padStart(14) + s.f1.toFixed(4).padStart(14)
    }).join("")
  )
  return [head, ...lines].join("\n")
}

/** A table of means and standard deviations (`mean±std` per metric; rows: label, mean, std), as text. */
export const meanStdTable = (rows: ReadonlyArray<readonly [string, Evaluate.SplitMetrics, Evaluate.SplitMetrics]>): string => {
  if (rows.length === 0) return ""
  const cell = (m: number, s: number) => `${m.toFixed(4)}±${s.toFixed(4)}`
  const first = rows[0][1] as Record<string, unknown>
  if ("mae" in first) {
    const head = ["", ...METRIC_COLUMNS].map((c, i) => (i === 0 ? c.padEnd(18) : c.padStart(16))).join("")
    const lines = rows.map(([label, mean, std]) =>
      label.padEnd(18) +
      METRIC_COLUMNS.map((c) => cell((mean as unknown as Record<string, number>)[c], (std as unknown as Record<string, number>)[c]).padStart(16)).join("")
    )
    return [head, ...lines].join("\n")
  }
  const emotions = Object.keys(first)
  const head = "".padEnd(18) + emotions.map((e) => `${e} acc`.padStart(18) + `${e} f1`.padStart(18)).join("")
  const lines = rows.map(([label, mean, std]) =>
    label.padEnd(18) + emotions.map((e) => {
      const m = (mean as Record<string, { acc: number; f1: number }>)[e]
      const s = (std as Record<string, { acc: number; f1: number }>)[e]
      return cell(m.acc, s.acc).padStart(18) + cell(m.f1, s.f1).padStart(18)
    }).join("")
  )
  return [head, ...lines].join("\n")
}
