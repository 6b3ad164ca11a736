/**
 * The chart of the main figures, docs/benchmarks-chart.svg, from the runner's JSON reports
 * (`pnpm bench --json FILE`; the recorded ones are in benchmarks/results/): one panel per figure,
 * one bar per report (runtime, backend, adapter), on a log scale since backends differ by orders
 * of magnitude. Plain SVG, no dependency.
 *
 *   npx tsx --conditions=source benchmarks/Chart.ts [REPORT.json...]   (default: benchmarks/results/*.json)
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { isMain, ROOT } from "./Harness"
import type { Report } from "./run"

/** A figure to chart: the measurement it reads and how. */
export interface Panel {
  readonly title: string
  readonly benchmark: string
  readonly measurement: RegExp
  readonly value: (m: Report["results"][number]["measurements"][number]) => number | undefined
  readonly unit: string
  readonly better: "higher" | "lower"
}

/** The main figures. */
export const PANELS: ReadonlyArray<Panel> = [
  { title: "HAEMSA training step, B 32", benchmark: "haemsa-model/training-throughput", measurement: /\(B 32,/, value: (m) => m.figure?.value, unit: "samples/s", better: "higher" },
  { title: "HAEMSA training step, B 32", benchmark: "haemsa-model/training-throughput", measurement: /\(B 32,/, value: (m) => m.gflops, unit: "GFLOP/s", better: "higher" },
  { title: "HAEMSA inference p50, B 1", benchmark: "haemsa-model/inference", measurement: /\(B 1\)/, value: (m) => m.median * 1000, unit: "ms", better: "lower" },
  { title: "HAEMSA inference p50, B 64", benchmark: "haemsa-model/inference", measurement: /\(B 64\)/, value: (m) => m.median * 1000, unit: "ms", better: "lower" },
  { title: "transformer expert fwd+bwd, hidden 64", benchmark: "experts/forward-backward", measurement: /^transformer hidden 64 /, value: (m) => m.gflops, unit: "GFLOP/s", better: "higher" },
  { title: "fusion hierarchy fwd+bwd, 2 levels, d 64", benchmark: "hierarchical-fusion/levels", measurement: /^2 levels, d 64 /, value: (m) => m.figure?.value, unit: "samples/s", better: "higher" }
]

/** The bar label of a report: runtime, backend, the adapter and the CPU cores, and what the note says differs. */
export const label = (r: Report): string => {
  const rt = r.runtime.split(" ")[0]
  const adapter = r.adapter ? (/llvmpipe/.test(r.adapter) ? "lavapipe, " : `${r.adapter.split(" / ")[0]}, `) : ""
  // a note "NAME; what differs" (e.g. "NVIDIA H200; fused kernels") tells two runs on one machine apart
  const differs = r.note?.includes("; ") ? `; ${r.note.slice(r.note.indexOf("; ") + 2)}` : ""
  return `${rt} ${r.backend} (${adapter}${r.machine.cores} cores${differs})`
}

const BACKEND_ORDER = ["cpu", "wasm", "webgpu", "tensorflow"]

/** Reports in chart order: by machine size, then backend, then runtime. */
export const order = (reports: ReadonlyArray<Report>): Report[] =>
  [...reports].sort((a, b) =>
    a.machine.cores - b.machine.cores ||
    BACKEND_ORDER.indexOf(a.backend) - BACKEND_ORDER.indexOf(b.backend) ||
    a.runtime.localeCompare(b.runtime)
  )

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const format = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(2))

const tick = (p: number) => (p >= 0 ? (10 ** p).toFixed(0) : (10 ** p).toFixed(-p))

/** The SVG of `panels` over `reports`. */
export const render = (unordered: ReadonlyArray<Report>, panels: ReadonlyArray<Panel> = PANELS): string => {
  const reports = order(unordered)
  const width = 920
  const left = 250
  const barArea = 520
  const barHeight = 16
  const gap = 4
  const parts: string[] = []
  let y = 40
  const colors = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5"]
  const labels = [...new Set(reports.map(label))]
  for (const panel of panels) {
    const bars = reports.flatMap((r) => {
      const m = r.results.find((x) => x.benchmark === panel.benchmark)?.measurements.find((x) => panel.measurement.test(x.name))
      const v = m ? panel.value(m) : undefined
      return v !== undefined && Number.isFinite(v) && v > 0 ? [{ label: label(r), value: v }] : []
    })
    parts.push(`<text x="10" y="${y}" font-weight="bold">${escape(`${panel.title}: ${panel.unit} (${panel.better} is better, log scale)`)}</text>`)
    y += 8
    if (bars.length === 0) {
      parts.push(`<text x="${left}" y="${y + barHeight}" fill="#888">no data</text>`)
      y += barHeight + gap + 26
      continue
    }
    const lo = Math.floor(Math.log10(Math.min(...bars.map((b) => b.value))))
    const hi = Math.ceil(Math.log10(Math.max(...bars.map((b) => b.value))) + 1e-9)
    const span = Math.max(1, hi - lo)
    const x = (v: number) => left + (barArea * (Math.log10(v) - lo + 0.15)) / (span + 0.15)
    for (let p = lo; p <= lo + span; p++) {
      const tx = x(10 ** p)
      parts.push(`<line x1="${tx.toFixed(1)}" y1="${y}" x2="${tx.toFixed(1)}" y2="${y + bars.length * (barHeight + gap)}" stroke="#ddd"/>`)
      parts.push(`<text x="${tx.toFixed(1)}" y="${y + bars.length * (barHeight + gap) + 11}" font-size="10" fill="#666" text-anchor="middle">${tick(p)}</text>`)
    }
    for (const bar of bars) {
      const color = colors[labels.indexOf(bar.label) % colors.length]
      parts.push(`<text x="${left - 6}" y="${y + barHeight - 4}" text-anchor="end">${escape(bar.label)}</text>`)
      parts.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(bar.value) - left).toFixed(1)}" height="${barHeight}" fill="${color}"/>`)
      parts.push(`<text x="${(x(bar.value) + 4).toFixed(1)}" y="${y + barHeight - 4}">${escape(format(bar.value))}</text>`)
      y += barHeight + gap
    }
    y += 34
  }
  const dates = reports.map((r) => r.date.slice(0, 10)).sort()
  const title = `haemsa benchmarks (${dates[0] ?? ""}${dates.length > 1 && dates[dates.length - 1] !== dates[0] ? ` to ${dates[dates.length - 1]}` : ""}; medians; 2-core runs on a shared, noisy machine; see docs/benchmarks.md)`
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${y}" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escape(title)}</text>`,
    ...parts,
    "</svg>",
    ""
  ].join("\n")
}

/** The default reports: benchmarks/results/*.json. */
export const RESULTS_DIR = path.join(ROOT, "benchmarks/results")

if (isMain(import.meta.url)) {
  const files = process.argv.length > 2
    ? process.argv.slice(2)
    : fs.readdirSync(RESULTS_DIR).filter((f) => f.endsWith(".json")).sort().map((f) => path.join(RESULTS_DIR, f))
  const reports = files.map((f) => JSON.parse(fs.readFileSync(f, "utf8")) as Report)
  const out = path.join(ROOT, "docs/benchmarks-chart.svg")
  fs.writeFileSync(out, render(reports))
  console.log(`wrote ${out} from ${files.length} reports`)
}
