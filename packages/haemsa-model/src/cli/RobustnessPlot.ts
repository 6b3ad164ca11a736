/**
 * The robustness grid as a standalone SVG: one panel per metric (sentiment: MAE and Acc-2 non0;
 * emotions: mean accuracy and mean weighted F1 over the emotions) against the missing rate, one line
 * per modality and mode (colour: modality; solid: frames, dashed: whole), with axes, tick labels and
 * a legend. A pure function from the rows of `haemsa eval --robustness` to text.
 *
 * @since 0.2.0
 */
import type { Dataset, Metrics } from "@haemsa/datasets"
import type { RobustnessRow } from "../model/Evaluate"
import type { Mode } from "../model/Robustness"
import { escapeXml, niceTicks } from "../search/SearchReport"

/** A metric the plot shows: its label and how to read it from a row's metrics. */
export interface PlotMetric {
  readonly label: string
  /** The y axis' label. */
  readonly axis: string
  readonly value: (metrics: RobustnessRow["test"]) => number
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((a, x) => a + x, 0) / Math.max(xs.length, 1)

/** The metrics plotted for rows of this kind: MAE and Acc-2 non0 (sentiment), mean acc and F1 (emotions). */
export const metricsOf = (rows: ReadonlyArray<RobustnessRow>): ReadonlyArray<PlotMetric> =>
  rows.length > 0 && !("mae" in rows[0].test)
    ? [
      { label: "mean accuracy", axis: "accuracy", value: (m) => mean(Object.values(m as Record<string, Metrics.EmotionScore>).map((s) => s.acc)) },
      { label: "mean weighted F1", axis: "F1", value: (m) => mean(Object.values(m as Record<string, Metrics.EmotionScore>).map((s) => s.f1)) }
    ]
    : [
      { label: "MAE (lower is better)", axis: "MAE", value: (m) => (m as Metrics.RegressionMetrics).mae },
      { label: "Acc-2 non0 (higher is better)", axis: "Acc-2 non0", value: (m) => (m as Metrics.RegressionMetrics).acc2_non0 }
    ]

/** One line of the plot: a modality in a mode, its rows ordered by rate. */
export interface Line {
  readonly modality: Dataset.Modality
  readonly mode: Mode
  readonly rows: ReadonlyArray<RobustnessRow>
}

/** The lines of the plot, in the rows' order of first appearance. */
export const linesOf = (rows: ReadonlyArray<RobustnessRow>): Line[] => {
  const lines = new Map<string, { modality: Dataset.Modality; mode: Mode; rows: RobustnessRow[] }>()
  for (const row of rows) {
    const key = `${row.modality}/${row.mode}`
    const line = lines.get(key) ?? { modality: row.modality, mode: row.mode, rows: [] }
    line.rows.push(row)
    lines.set(key, line)
  }
  return [...lines.values()].map((l) => ({ ...l, rows: [...l.rows].sort((a, b) => a.rate - b.rate) }))
}

const COLORS: Record<Dataset.Modality, string> = { text: "#4e79a7", audio: "#f28e2b", vision: "#59a14f" }
const AXIS_COLOR = "#444"
const GRID_COLOR = "#e3e3e3"
const PANEL = { width: 400, height: 260 } as const
const MARGIN = { left: 70, top: 60, gap: 90, bottom: 60 } as const

const num = (x: number, digits = 1): string => (Number.isFinite(x) ? String(Number(x.toFixed(digits))) : "n/a")
const text = (x: number, y: number, content: string, attrs = ""): string =>
  `<text x="${num(x)}" y="${num(y)}" ${attrs}>${escapeXml(content)}</text>`

/** One panel: a metric against the missing rate, a polyline per line. */
const panel = (x0: number, y0: number, metric: PlotMetric, lines: ReadonlyArray<Line>): string => {
  const rates = [...new Set(lines.flatMap((l) => l.rows.map((r) => r.rate)))].sort((a, b) => a - b)
  const values = lines.flatMap((l) => l.rows.map((r) => metric.value(r.test))).filter(Number.isFinite)
  const ticks = values.length > 0 ? niceTicks(Math.min(...values), Math.max(...values)) : [0, 1]
  const lo = ticks[0]
  const hi = ticks[ticks.length - 1]
  const rLo = rates[0] ?? 0
  const rHi = rates[rates.length - 1] ?? 1
  const x = (rate: number) => x0 + ((rate - rLo) / (rHi - rLo || 1)) * PANEL.width
  const y = (v: number) => y0 + PANEL.height - ((v - lo) / (hi - lo || 1)) * PANEL.height
  const parts: string[] = [text(x0, y0 - 14, metric.label, `class="title"`)]
  for (const t of ticks) {
    parts.push(`<line x1="${x0}" y1="${num(y(t))}" x2="${x0 + PANEL.width}" y2="${num(y(t))}" stroke="${GRID_COLOR}"/>`)
    parts.push(text(x0 - 6, y(t) + 4, String(Number(t.toFixed(4))), `text-anchor="end" class="tick"`))
  }
  parts.push(`<line x1="${x0}" y1="${y0 + PANEL.height}" x2="${x0 + PANEL.width}" y2="${y0 + PANEL.height}" stroke="${AXIS_COLOR}"/>`)
  parts.push(`<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y0 + PANEL.height}" stroke="${AXIS_COLOR}"/>`)
  for (const r of rates) parts.push(text(x(r), y0 + PANEL.height + 16, String(r), `text-anchor="middle" class="tick"`))
  parts.push(text(x0 + PANEL.width / 2, y0 + PANEL.height + 36, "missing rate", `text-anchor="middle" class="label"`))
  const cx = x0 - 50
  const cy = y0 + PANEL.height / 2
  parts.push(text(cx, cy, metric.axis, `text-anchor="middle" class="label" transform="rotate(-90 ${num(cx)} ${num(cy)})"`))
  for (const line of lines) {
    const points = line.rows.flatMap((r) => {
      const v = metric.value(r.test)
      return Number.isFinite(v) ? [`${num(x(r.rate))},${num(y(v))}`] : []
    })
    const dash = line.mode === "whole" ? ` stroke-dasharray="6 4"` : ""
    parts.push(
      `<polyline data-line="${line.modality}-${line.mode}" points="${points.join(" ")}" fill="none" stroke="${COLORS[line.modality]}" stroke-width="2"${dash}/>`
    )
  }
  return parts.join("")
}

/**
 * The SVG of the robustness rows (`title` above the panels): a panel per {@link metricsOf} metric, a
 * polyline per modality and mode with a point per rate (rates whose metric is not finite are left
 * out), and a legend naming each line.
 */
export const svg = (rows: ReadonlyArray<RobustnessRow>, title: string): string => {
  const metrics = metricsOf(rows)
  const lines = linesOf(rows)
  const width = MARGIN.left + metrics.length * (PANEL.width + MARGIN.gap)
  const legendY = MARGIN.top + PANEL.height + MARGIN.bottom
  const height = legendY + 22 * Math.ceil(lines.length / 3) + 10
  const legend = lines.map((line, i) => {
    const lx = MARGIN.left + (i % 3) * 220
    const ly = legendY + 22 * Math.floor(i / 3)
    const dash = line.mode === "whole" ? ` stroke-dasharray="6 4"` : ""
    return `<line x1="${lx}" y1="${ly}" x2="${lx + 28}" y2="${ly}" stroke="${COLORS[line.modality]}" stroke-width="2"${dash}/>` +
      text(lx + 34, ly + 4, `${line.modality}, ${line.mode === "whole" ? "whole modality" : "frames"}`, `class="legend"`)
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<style>.title{font-size:14px;font-weight:bold}.tick{font-size:11px;fill:#444}.label{font-size:12px}.legend{font-size:12px}</style>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    text(MARGIN.left, 22, title, `class="title"`),
    ...metrics.map((m, i) => panel(MARGIN.left + i * (PANEL.width + MARGIN.gap), MARGIN.top, m, lines)),
    ...legend,
    `</svg>`,
    ""
  ].join("\n")
}
