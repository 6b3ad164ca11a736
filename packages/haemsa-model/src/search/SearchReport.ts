/**
 * The report of an architecture search, as a standalone SVG or a self-contained HTML page (the same
 * SVG inline, plus tables): best and mean fitness per generation as lines, the modality subsets of
 * each generation's population as stacked bars, and the cost (evaluations, cache hits, failures,
 * wall time, CPU-minutes), with the retrained winner next to the default architecture when present.
 * Pure functions from the search's JSON output to text.
 *
 * @since 0.1.0
 */
import { Dataset } from "@haemsa/datasets"
import type { SearchState } from "@haemsa/evo-search"
import type { ArchitectureSpec } from "../model/ArchitectureSpec"
import { formatDuration } from "../cli/Progress"

/** One generation as the search reports it, with the individuals per modality subset (`t`, `a+v`, `t+a+v`...). */
export interface ReportGeneration extends SearchState.GenerationStats {
  readonly modalities: Readonly<Record<string, number>>
}

/** A retrained architecture as the report reads it. */
export interface ReportRetrain {
  readonly valid: object
  readonly test: object
  readonly epochs: number
}

/** What the report shows: a subset of `haemsa search --json`'s output. */
export interface ReportInput {
  readonly data: string
  readonly generations: ReadonlyArray<ReportGeneration>
  readonly best: { readonly fitness: number; readonly level: number; readonly architecture: ArchitectureSpec }
  readonly evaluations: number
  readonly cache_hits: number
  readonly failures: number
  readonly seconds: number
  readonly cpu_seconds: number
  readonly workers?: number
  /** Training spent against a full-fidelity search of the same architectures (epochs x data fraction). */
  readonly fidelity_cost?: FidelityCost
  readonly retrain?: { readonly epochs: number; readonly same: boolean; readonly winner: ReportRetrain; readonly default: ReportRetrain }
  /** The selection among the finalists (`--select-seeds`): each one's mean over the seeds, and the chosen one. */
  readonly selection?: ReportSelection
}

/** The selection among a search's finalists, as the report shows it. */
export interface ReportSelection {
  readonly seeds: ReadonlyArray<number>
  readonly epochs: number
  readonly finalists: ReadonlyArray<{
    readonly architecture: ArchitectureSpec
    readonly text_features?: string
    readonly search?: { readonly rank: number; readonly fitness?: number; readonly level?: number }
    readonly default: boolean
    /** Absent when one of its trainings failed (`failed` says which). */
    readonly mean?: ReportSummary
    /** The standard deviation over the seeds (the search's JSON has it; older reports may not). */
    readonly std?: ReportSummary
    readonly failed?: string
  }>
  readonly chosen: number
}

/** A finalist's validation objective and metrics over the seeds (their mean, or their standard deviation). */
export interface ReportSummary {
  readonly valid_objective: number
  readonly valid: object
  readonly test: object
}

/** The report formats. */
export type Format = "svg" | "html"

/** The format a file name asks for (by extension), or undefined. */
export const formatOf = (file: string): Format | undefined => {
  const lower = file.toLowerCase()
  return lower.endsWith(".svg") ? "svg" : lower.endsWith(".html") || lower.endsWith(".htm") ? "html" : undefined
}

/** The modality subset as letters in text-audio-vision order, e.g. `t+a` (the report's category names). */
export const subsetName = (modalities: ReadonlyArray<Dataset.Modality>): string =>
  Dataset.MODALITIES.filter((m) => modalities.includes(m)).map((m) => Dataset.MODALITY_LETTERS[m]).join("+")

/** The modality subsets in legend order, and their colours. */
export const SUBSETS = ["t", "a", "v", "t+a", "t+v", "a+v", "t+a+v"] as const
const SUBSET_COLORS: Record<string, string> = {
  t: "#4e79a7",
  a: "#f28e2b",
  v: "#59a14f",
  "t+a": "#76b7b2",
  "t+v": "#edc948",
  "a+v": "#b07aa1",
  "t+a+v": "#e15759"
}
const BEST_COLOR = "#1f5fbf"
const MEAN_COLOR = "#d9771e"
const AXIS_COLOR = "#444"
const GRID_COLOR = "#e3e3e3"

/** Escapes text for XML and HTML. */
export const escapeXml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

/** A number with at most `digits` decimals and no trailing zeros. */
const num = (x: number, digits = 4): string => (Number.isFinite(x) ? String(Number(x.toFixed(digits))) : "n/a")

/**
 * About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). A range
 * too narrow to show (relative to its values) is widened by 5% of the value on each side.
 */
export const niceTicks = (lo: number, hi: number, count = 5): number[] => {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return []
  const scale = Math.max(Math.abs(lo), Math.abs(hi))
  if (hi - lo <= scale * 1e-9 || hi - lo < 1e-12) {
    const pad = scale > 1e-12 ? scale * 0.05 : 1
    return niceTicks(lo - pad, hi + pad, count)
  }
  const raw = (hi - lo) / count
  const exponent = Math.floor(Math.log10(raw))
  const power = 10 ** exponent
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw) ?? 10 * power
  const decimals = Math.min(100, Math.max(0, 1 - exponent))
  const at = (k: number) => Number((k * step).toFixed(decimals))
  let start = Math.floor(lo / step)
  if (at(start) > lo) start-- // lo / step can underflow to -0
  const ticks: number[] = []
  for (let k = start; ticks.length < 2 || ticks[ticks.length - 1] < hi; k++) ticks.push(at(k))
  return ticks
}

/** A box on the canvas. */
interface Box {
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

const text = (x: number, y: number, content: string, attrs = ""): string =>
  `<text x="${num(x, 1)}" y="${num(y, 1)}" ${attrs}>${escapeXml(content)}</text>`

/** X positions of generations (bars and points share them). */
const xOf = (box: Box, n: number) => (i: number): number => box.x + ((i + 0.5) * box.width) / Math.max(n, 1)

/** Y axis with grid lines, tick labels and a rotated label; returns the value -> y map. */
const yAxis = (box: Box, ticks: ReadonlyArray<number>, label: string): { readonly svg: string; readonly y: (v: number) => number } => {
  const lo = ticks[0]
  const hi = ticks[ticks.length - 1]
  const y = (v: number) => box.y + box.height - ((v - lo) / (hi - lo || 1)) * box.height
  const parts = ticks.map((t) =>
    `<line x1="${box.x}" y1="${num(y(t), 1)}" x2="${box.x + box.width}" y2="${num(y(t), 1)}" stroke="${GRID_COLOR}"/>` +
    text(box.x - 6, y(t) + 4, num(t), `text-anchor="end" class="tick"`)
  )
  const cx = box.x - 52
  const cy = box.y + box.height / 2
  parts.push(text(cx, cy, label, `text-anchor="middle" class="label" transform="rotate(-90 ${cx} ${num(cy, 1)})"`))
  return { svg: parts.join(""), y }
}

/** X axis: the frame's bottom line, a label per generation (thinned to about 12), and the axis label. */
const xAxis = (box: Box, n: number): string => {
  const x = xOf(box, n)
  const every = Math.max(1, Math.ceil(n / 12))
  const labels = Array.from({ length: n }, (_, i) => i)
    .filter((i) => i % every === 0 || i === n - 1)
    .map((i) => text(x(i), box.y + box.height + 16, String(i + 1), `text-anchor="middle" class="tick"`))
  return `<line x1="${box.x}" y1="${box.y + box.height}" x2="${box.x + box.width}" y2="${box.y + box.height}" stroke="${AXIS_COLOR}"/>` +
    `<line x1="${box.x}" y1="${box.y}" x2="${box.x}" y2="${box.y + box.height}" stroke="${AXIS_COLOR}"/>` +
    labels.join("") + text(box.x + box.width / 2, box.y + box.height + 36, "generation", `text-anchor="middle" class="label"`)
}

/** A polyline with point markers through the finite values; `id` names the series in the SVG. */
const series = (id: string, points: ReadonlyArray<readonly [number, number]>, color: string, dashed: boolean): string => {
  if (points.length === 0) return ""
  const d = points.map(([x, y]) => `${num(x, 1)},${num(y, 1)}`).join(" ")
  const dash = dashed ? ` stroke-dasharray="6 4"` : ""
  const marks = points.map(([x, y]) => `<circle cx="${num(x, 1)}" cy="${num(y, 1)}" r="3.5" fill="${color}"/>`).join("")
  return `<g id="${id}"><polyline points="${d}" fill="none" stroke="${color}" stroke-width="2.5"${dash}/>${marks}</g>`
}

/** The fitness panel: best and mean per generation. */
const fitnessChart = (box: Box, generations: ReadonlyArray<ReportGeneration>): string => {
  const n = generations.length
  const values = generations.flatMap((g) => [g.best, g.mean]).filter(Number.isFinite)
  const ticks = values.length > 0 ? niceTicks(Math.min(...values), Math.max(...values)) : [0, 1]
  const axis = yAxis(box, ticks, "validation objective (lower is better)")
  const x = xOf(box, n)
  const pointsOf = (pick: (g: ReportGeneration) => number) =>
    generations.flatMap((g, i) => (Number.isFinite(pick(g)) ? [[x(i), axis.y(pick(g))] as const] : []))
  const legendY = box.y - 10
  return [
    text(box.x, box.y - 30, "Fitness per generation", `class="title"`),
    axis.svg,
    xAxis(box, n),
    series("series-mean", pointsOf((g) => g.mean), MEAN_COLOR, true),
    series("series-best", pointsOf((g) => g.best), BEST_COLOR, false),
    `<line x1="${box.x + box.width - 150}" y1="${legendY}" x2="${box.x + box.width - 126}" y2="${legendY}" stroke="${BEST_COLOR}" stroke-width="2.5"/>`,
    text(box.x + box.width - 120, legendY + 4, "best", `class="legend"`),
    `<line x1="${box.x + box.width - 76}" y1="${legendY}" x2="${box.x + box.width - 52}" y2="${legendY}" stroke="${MEAN_COLOR}" stroke-width="2.5" stroke-dasharray="6 4"/>`,
    text(box.x + box.width - 46, legendY + 4, "mean", `class="legend"`)
  ].join("")
}

/** The subsets present in the report, in legend order (unknown names last, sorted). */
const subsetsOf = (generations: ReadonlyArray<ReportGeneration>): string[] => {
  const present = new Set(generations.flatMap((g) => Object.keys(g.modalities).filter((k) => g.modalities[k] > 0)))
  const known = SUBSETS.filter((s) => present.has(s))
  return [...known, ...[...present].filter((s) => !(SUBSETS as ReadonlyArray<string>).includes(s)).sort()]
}

/** The modality panel: stacked bars of subset counts per generation, with a legend. */
const subsetChart = (box: Box, generations: ReadonlyArray<ReportGeneration>): string => {
  const n = generations.length
  const subsets = subsetsOf(generations)
  const total = Math.max(1, ...generations.map((g) => Object.values(g.modalities).reduce((a, b) => a + b, 0)))
  const ticks = niceTicks(0, total).filter((t) => Number.isInteger(t))
  const axis = yAxis(box, ticks.length >= 2 ? ticks : [0, total], "individuals in the population")
  const x = xOf(box, n)
  const barWidth = Math.min(48, (box.width / Math.max(n, 1)) * 0.7)
  const bars = generations.map((g, i) => {
    let base = 0
    const rects = subsets.map((s) => {
      const count = g.modalities[s] ?? 0
      if (count === 0) return ""
      const top = axis.y(base + count)
      const height = axis.y(base) - top
      base += count
      return `<rect class="bar" data-generation="${i + 1}" data-subset="${escapeXml(s)}" data-count="${count}" x="${num(x(i) - barWidth / 2, 1)}" ` +
        `y="${num(top, 1)}" width="${num(barWidth, 1)}" height="${num(height, 1)}" fill="${SUBSET_COLORS[s] ?? "#999"}" stroke="#fff" stroke-width="0.5">` +
        `<title>generation ${i + 1}: ${escapeXml(s)} x${count}</title></rect>`
    })
    return rects.join("")
  })
  const legend = subsets.map((s, k) => {
    const lx = box.x + (k % 4) * 95
    const ly = box.y + box.height + 56 + Math.floor(k / 4) * 18
    return `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${SUBSET_COLORS[s] ?? "#999"}"/>` + text(lx + 17, ly, s, `class="legend"`)
  })
  return [
    text(box.x, box.y - 30, "Modality subsets chosen (t = text, a = audio, v = vision)", `class="title"`),
    axis.svg,
    xAxis(box, n),
    `<g id="subsets">${bars.join("")}</g>`,
    legend.join("")
  ].join("")
}

/**
 * The main metrics of a split: MAE, Acc-7 and Corr for regression (each with `± std` when the
 * standard deviations over seeds are given), or the mean F1 for emotions.
 */
const headline = (metrics: object, spread?: object): string => {
  const m = metrics as Record<string, unknown>
  const sd = spread as Record<string, unknown> | undefined
  const value = (x: number, s: unknown) => `${num(x)}${typeof s === "number" ? ` ± ${num(s)}` : ""}`
  if (typeof m["mae"] === "number") {
    return `MAE ${value(m["mae"] as number, sd?.["mae"])}, Acc-7 ${value(m["acc7"] as number, sd?.["acc7"])}, Corr ${value(m["corr"] as number, sd?.["corr"])}`
  }
  const scores = Object.values(m).filter((v): v is { f1: number } => typeof v === "object" && v !== null && "f1" in v)
  return `mean F1 ${num(scores.reduce((a, s) => a + s.f1, 0) / Math.max(1, scores.length))}`
}

/**
 * A selection's finalists, two lines each: `* 2. (where the search ranked it) valid objective m ± s |
 * valid ... | test ...` (`*` marks the chosen one), then its architecture and text features. Used by
 * `haemsa search`'s output and by the report.
 */
export const finalistLines = (selection: ReportSelection): string[] =>
  selection.finalists.flatMap((f, i) => {
    const rank = f.search === undefined
      ? "not among the search's best"
      : `search rank ${f.search.rank}${f.search.fitness !== undefined ? `, fitness ${num(f.search.fitness)}${f.search.level !== undefined ? ` at level ${f.search.level}` : ""}` : ""}`
    const who = `${rank}${f.default ? ", the default architecture" : ""}`
    const scores = f.mean !== undefined
      ? `valid objective ${num(f.mean.valid_objective)}${f.std !== undefined ? ` ± ${num(f.std.valid_objective)}` : ""} | ` +
        `valid ${headline(f.mean.valid, f.std?.valid)} | test ${headline(f.mean.test, f.std?.test)}`
      : `out: ${f.failed ?? "a training failed"}`
    return [
      `  ${i === selection.chosen ? "* " : ""}${i + 1}. (${who}) ${scores}`,
      `     ${describeArchitecture(f.architecture)}${f.text_features !== undefined ? ` | text: ${f.text_features}` : ""}`
    ]
  })

/** The training a search spent, in epoch-equivalents (epochs x data fraction), against full fidelity. */
export interface FidelityCost {
  /** Epoch-equivalents of the evaluations run, as their fidelity levels ask (cache hits cost nothing). */
  readonly epoch_equivalents: number
  /**
   * Of those, the epochs on all the train split that promoted candidates did not train again: they
   * continued their training of the level below (`SearchEvaluator.Continuations`). The training run
   * is `epoch_equivalents - continued_epoch_equivalents`.
   */
  readonly continued_epoch_equivalents: number
  /** Distinct architectures evaluated. */
  readonly architectures: number
  /** Epoch-equivalents if every one of them had been trained at the highest level only. */
  readonly full_fidelity_epoch_equivalents: number
}

/**
 * The cost of the evaluations recorded under `cacheKeys` (`"<level>:<architecture key>"`, as evo-search
 * stores them) at `levels`, against training every distinct architecture at the last (highest) level.
 */
export const fidelityCost = (
  cacheKeys: ReadonlyArray<string>,
  levels: ReadonlyArray<{ readonly epochs?: number; readonly fraction?: number }>,
  continued = 0
): FidelityCost => {
  const cost = (level: number) => (levels[level]?.epochs ?? 1) * (levels[level]?.fraction ?? 1)
  const architectures = new Set<string>()
  let spent = 0
  for (const key of cacheKeys) {
    const at = key.indexOf(":")
    spent += cost(Number(key.slice(0, at)))
    architectures.add(key.slice(at + 1))
  }
  return {
    epoch_equivalents: spent,
    continued_epoch_equivalents: continued,
    architectures: architectures.size,
    full_fidelity_epoch_equivalents: architectures.size * cost(levels.length - 1)
  }
}

/** The text lines under the charts: cost, best architecture, retraining. */
export const summaryLines = (input: ReportInput): string[] => {
  const lines = [
    `Cost: ${input.evaluations} evaluations, ${input.cache_hits} cache hits, ${input.failures} failures, ` +
      `wall time ${formatDuration(input.seconds)}, ${num(input.cpu_seconds / 60, 1)} CPU-minutes` +
      (input.workers !== undefined ? ` (${input.workers === 0 ? "in process" : `${input.workers} workers`})` : ""),
    `Best: fitness ${num(input.best.fitness)} at fidelity level ${input.best.level}: ${describeArchitecture(input.best.architecture)}`
  ]
  const f = input.fidelity_cost
  if (f && f.epoch_equivalents > 0) {
    lines.splice(
      1,
      0,
      `Versus full fidelity: ${num(f.epoch_equivalents, 1)} epoch-equivalents of training for ${f.architectures} architectures; ` +
        `${num(f.full_fidelity_epoch_equivalents, 1)} at full fidelity (${num(f.full_fidelity_epoch_equivalents / f.epoch_equivalents, 1)}x more)` +
        // (a report of a search before continued trainings has no such field)
        ((f.continued_epoch_equivalents ?? 0) > 0 ? `; ${num(f.continued_epoch_equivalents, 1)} of them continued from the level below instead of trained again` : "")
    )
  }
  if (input.selection) {
    const sel = input.selection
    lines.push(`Selection over seeds ${sel.seeds.join(",")} (up to ${sel.epochs} epochs each), chosen on the mean validation objective:`)
    lines.push(...finalistLines(sel))
  }
  if (input.retrain) {
    const r = input.retrain
    lines.push(`Retrained (up to ${r.epochs} epochs)${r.same ? ", the winner is the default architecture" : ""}:`)
    lines.push(`  winner:  valid ${headline(r.winner.valid)} | test ${headline(r.winner.test)}`)
    lines.push(`  default: valid ${headline(r.default.valid)} | test ${headline(r.default.test)}`)
  }
  return lines
}

/** A one-line summary of an architecture (modality subset, experts, fusion, tower, rates). */
export const describeArchitecture = (spec: ArchitectureSpec): string => {
  const letter = { ...Dataset.MODALITY_LETTERS, unified: "u" }
  const expert = (e: ArchitectureSpec["experts"]["text"]) => `${e.kind} ${e.hidden}${e.layers !== undefined && e.layers > 1 ? `x${e.layers}` : ""}`
  const names = [...spec.modalities, "unified" as const]
  return `${subsetName(spec.modalities)} | ${names.map((m) => `${letter[m]}: ${expert(spec.experts[m])}`).join(", ")} | d_h ${spec.hidden}, depth ${spec.fusion.depth}, ` +
    `${spec.fusion.pool} pool, attention ${spec.attention ? "on" : "off"} | tower ${spec.tower.depth}x${spec.tower.width} | ` +
    `dropout ${spec.dropout}, lr ${spec.learningRate}, gamma ${spec.gamma}, lambda cls ${spec.lambdas.classification} uni ${spec.lambdas.unimodal}`
}

/** Characters per summary line of the SVG (longer lines wrap). */
const LINE_CHARS = 140

/** Splits a line at " | " or ", " so that each part has at most `width` characters; later parts are indented. */
export const wrap = (line: string, width: number): string[] => {
  const out: string[] = []
  let rest = line
  while (rest.length > width) {
    const cut = Math.max(rest.lastIndexOf(" | ", width), rest.lastIndexOf(", ", width))
    if (cut <= 0) break
    const sep = rest.startsWith(" | ", cut) ? 3 : 2
    out.push(rest.slice(0, cut + (sep === 2 ? 1 : 0)))
    rest = "    " + rest.slice(cut + sep)
  }
  out.push(rest)
  return out
}

/** Width and height of the SVG. */
export const WIDTH = 1000
const CHART_HEIGHT = 300

/** The report as a standalone SVG document. */
export const svg = (input: ReportInput): string => {
  const lines = summaryLines(input).flatMap((line) => wrap(line, LINE_CHARS))
  const top = 90
  const left: Box = { x: 80, y: top, width: 380, height: CHART_HEIGHT }
  const right: Box = { x: 580, y: top, width: 380, height: CHART_HEIGHT }
  const linesTop = top + CHART_HEIGHT + 56 + 2 * 18 + 24
  const height = linesTop + lines.length * 20 + 16
  const n = input.generations.length
  const title = `HAEMSA architecture search on ${input.data}: ${n} generation${n === 1 ? "" : "s"}, best fitness ${num(input.best.fitness)}`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<style>.title{font-size:15px;font-weight:bold;fill:#222}.label{font-size:12px;fill:#333}.tick{font-size:11px;fill:#555}` +
      `.legend{font-size:12px;fill:#333}.line{font-size:12.5px;fill:#222}.heading{font-size:18px;font-weight:bold;fill:#111}</style>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    text(24, 32, title, `class="heading"`),
    fitnessChart(left, input.generations),
    subsetChart(right, input.generations),
    `<g id="summary">${lines.map((l, i) => text(24, linesTop + i * 20, l, `class="line" xml:space="preserve"`)).join("")}</g>`,
    `</svg>`
  ].join("\n")
}

/** The report as a self-contained HTML page: the SVG inline and a per-generation table. */
export const html = (input: ReportInput): string => {
  const rows = input.generations.map((g, i) =>
    `<tr><td>${i + 1}</td><td>${num(g.best)}</td><td>${num(g.mean)}</td><td>${g.evaluations}</td><td>${g.cache_hits}</td><td>${g.failures}</td>` +
    `<td>${escapeXml(subsetsOf([g]).map((s) => `${s} x${g.modalities[s]}`).join(", "))}</td></tr>`
  )
  return [
    `<!doctype html>`,
    `<html lang="en"><head><meta charset="utf-8"><title>HAEMSA search on ${escapeXml(input.data)}</title>`,
    `<style>body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin-top:16px}` +
      `td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}th{background:#f3f3f3}td:last-child{text-align:left}pre{background:#f7f7f7;padding:12px}</style>`,
    `</head><body>`,
    svg(input),
    `<table><thead><tr><th>generation</th><th>best</th><th>mean</th><th>evaluations</th><th>cache hits</th><th>failures</th><th>modality subsets</th></tr></thead>`,
    `<tbody>${rows.join("")}</tbody></table>`,
    `<h2>Best architecture</h2><pre>${escapeXml(JSON.stringify(input.best.architecture, null, 2))}</pre>`,
    `</body></html>`
  ].join("\n")
}

/** The report in `format`. */
export const render = (input: ReportInput, format: Format): string => (format === "svg" ? svg(input) : html(input))
