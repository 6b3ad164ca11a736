/**
 * Summaries of datasets and `.csd` files: the JSON printed by `haemsa data inspect --json`,
 * and a human-readable table.
 *
 * @since 0.1.0
 */
import { type ComputationalSequence, type CsdSummary, summary } from "./CsdSequence"
import type { Dataset, Split } from "./Dataset"
import { MODALITIES, SPLITS } from "./Dataset"

/** One split in the inspect report. */
export interface SplitReport {
  readonly n: number
  readonly ids: ReadonlyArray<string>
  readonly regression_labels?: ReadonlyArray<number>
  readonly emotion_labels?: Record<string, ReadonlyArray<number>>
  readonly shapes: Record<string, ReadonlyArray<number>>
  readonly nonfinite_replaced: Record<string, number>
}

/** The inspect report of a dataset. */
export interface DatasetReport {
  readonly format: Dataset["format"]
  readonly splits: Record<string, SplitReport>
}

/** The inspect report of a `.csd` file. */
export type CsdReport = CsdSummary

const splitReport = (dataset: Dataset, split: Split): SplitReport => {
  const shapes: Record<string, number[]> = {}
  for (const m of MODALITIES) {
    const b = split.features[m]
    if (b) shapes[m] = [b.n, b.steps, b.dim]
  }
  if (split.tokens) shapes["tokens"] = [split.tokens.n, split.tokens.steps]
  // audio and vision are always reported (the MMSA convention); text only when something was replaced
  const nonfinite: Record<string, number> = { audio: split.nonfiniteReplaced.audio, vision: split.nonfiniteReplaced.vision }
  if (split.nonfiniteReplaced.text > 0) nonfinite["text"] = split.nonfiniteReplaced.text
  const emotions = split.labels.emotions
  return {
    n: split.n,
    ids: split.ids,
    ...(split.labels.regression ? { regression_labels: Array.from(split.labels.regression) } : {}),
    ...(emotions && dataset.emotions
      ? {
        emotion_labels: Object.fromEntries(
          dataset.emotions.map((e, k) => [e, Array.from({ length: split.n }, (_, i) => emotions[i * dataset.emotions!.length + k])])
        )
      }
      : {}),
    shapes,
    nonfinite_replaced: nonfinite
  }
}

/** The JSON report of a dataset. */
export const datasetReport = (dataset: Dataset): DatasetReport => ({
  format: dataset.format,
  splits: Object.fromEntries(SPLITS.map((s) => [s, splitReport(dataset, dataset.splits[s])]))
})

/** The JSON report of a `.csd` file (root, dim, sorted video ids, frames per video). */
export const csdReport: (seq: ComputationalSequence) => CsdReport = summary

const pad = (s: string, n: number) => s.padEnd(n)

/** A human-readable summary of a dataset. */
export const formatDataset = (dataset: Dataset, source: string): string => {
  const lines = [`${source}: ${dataset.format} (${dataset.task}${dataset.emotions ? `: ${dataset.emotions.join(", ")}` : ""})`]
  lines.push(`${pad("split", 7)}${pad("n", 7)}${pad("modalities", 44)}label range        non-finite replaced`)
  for (const s of SPLITS) {
    const split = dataset.splits[s]
    const mods = MODALITIES.filter((m) => split.features[m]).map((m) => {
      const b = split.features[m]!
      return `${m} ${b.steps}x${b.dim}`
    })
    if (split.tokens) mods.push(`tokens ${split.tokens.steps} (vocab ${split.tokens.vocabulary.length})`)
    const y = split.labels.regression
    let range = "-"
    if (y && y.length > 0) {
      let lo = Infinity, hi = -Infinity
      for (const v of y) { lo = Math.min(lo, v); hi = Math.max(hi, v) }
      range = `[${lo.toFixed(2)}, ${hi.toFixed(2)}]`
    } else if (split.labels.emotions) range = "binary emotions"
    const nf = MODALITIES.map((m) => `${m[0]}:${split.nonfiniteReplaced[m]}`).join(" ")
    lines.push(`${pad(s, 7)}${pad(String(split.n), 7)}${pad(mods.join(", "), 44)}${pad(range, 19)}${nf}`)
  }
  return lines.join("\n")
}

/** A human-readable summary of a `.csd` file. */
export const formatCsd = (report: CsdReport, source: string): string => {
  const frames = Object.values(report.frames)
  const total = frames.reduce((a, b) => a + b, 0)
  return [
    `${source}: CMU-MultimodalSDK computational sequence "${report.root}"`,
    `feature dim ${report.dim}, ${report.videos.length} videos, ${total} frames (min ${Math.min(...frames)}, max ${Math.max(...frames)} per video)`,
    `videos: ${report.videos.slice(0, 10).join(", ")}${report.videos.length > 10 ? ", ..." : ""}`
  ].join("\n")
}
