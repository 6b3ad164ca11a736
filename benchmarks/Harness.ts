/**
 * The benchmark harness: warm-up, repeated timed runs, median and spread, the machine and versions,
 * and a row appended to docs/benchmarks.md. Every benchmark in this folder uses it, so all figures are
 * measured the same way. Runs under Node (tsx) and under Deno (the esbuild bundle of `run.ts`).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Report } from "./run"

/**
 * Repository root. `HAEMSA_BENCH_ROOT` overrides it: the Deno bundle lives elsewhere than this file,
 * so the runner passes the root on when it re-launches itself.
 */
export const ROOT = process.env.HAEMSA_BENCH_ROOT ?? fileURLToPath(new URL("..", import.meta.url))
/** The real CMU-MOSI subset in the repository (the `@haemsa/mosi-real` package's `data/` folder). */
export const MOSI_REAL = path.join(ROOT, "packages/mosi-real/data")
/** The datasets package's test fixtures (MMSA and MulT pickles, `.csd` files). */
export const FIXTURES = path.join(ROOT, "packages/datasets/test/fixtures")

/** What every benchmark module's `run` takes. */
export interface BenchOptions {
  /** The active tfjs backend (already set up by the runner); "-" for benchmarks without tensors. */
  readonly backend: string
  /** Fewer sizes and repeats (for slow backends and CI). */
  readonly quick?: boolean
}

/** One measured quantity. */
export interface Measurement {
  readonly name: string
  /** Seconds per run, one entry per timed repeat. */
  readonly seconds: ReadonlyArray<number>
  readonly median: number
  readonly min: number
  readonly max: number
  /** A derived figure (MB/s, samples/s, ms p99) with its unit, computed from the median. */
  readonly figure?: { readonly value: number; readonly unit: string }
  /** Achieved GFLOP/s of the counted (dominant matmul) FLOPs at the median time. */
  readonly gflops?: number
}

/** The median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** The p-th percentile (0..100) of a non-empty list, nearest rank. */
export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  readonly warmup?: number
  readonly repeats?: number
  readonly figure?: (medianSeconds: number) => { value: number; unit: string }
  /** FLOPs of one run (counted analytically); gives {@link Measurement.gflops}. */
  readonly flops?: number
}

/** A measurement from timed samples (seconds). */
export const fromSamples = (name: string, seconds: ReadonlyArray<number>, options: Omit<MeasureOptions, "warmup" | "repeats"> = {}): Measurement => {
  const med = median(seconds)
  return {
    name,
    seconds,
    median: med,
    min: Math.min(...seconds),
    max: Math.max(...seconds),
    ...(options.figure ? { figure: options.figure(med) } : {}),
    ...(options.flops !== undefined ? { gflops: options.flops / med / 1e9 } : {})
  }
}

/** Time `fn` (sync or async): `warmup` untimed runs, then `repeats` timed ones. */
export const measure = async (name: string, fn: () => unknown | Promise<unknown>, options: MeasureOptions = {}): Promise<Measurement> => {
  for (let i = 0; i < (options.warmup ?? 1); i++) await fn()
  const seconds: number[] = []
  for (let i = 0; i < (options.repeats ?? 5); i++) {
    const t0 = performance.now()
    await fn()
    seconds.push((performance.now() - t0) / 1000)
  }
  return fromSamples(name, seconds, options)
}

/** The machine, for the record. */
export const machine = () => ({
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.availableParallelism?.() ?? os.cpus().length,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`
})

interface DenoGlobal {
  readonly version: { readonly deno: string; readonly v8: string }
}

/** The Deno global when running under Deno. */
export const deno = (): DenoGlobal | undefined => (globalThis as { Deno?: DenoGlobal }).Deno

/** "node v20.20.0" or "deno 2.9.6". */
export const runtime = (): string => {
  const d = deno()
  return d ? `deno ${d.version.deno}` : `node ${process.version}`
}

/** A one-line human description of a measurement. */
export const describe = (m: Measurement): string =>
  `${m.name}: median ${(m.median * 1000).toFixed(2)} ms (min ${(m.min * 1000).toFixed(2)}, max ${(m.max * 1000).toFixed(2)}, n=${m.seconds.length})` +
  (m.figure ? ` -> ${formatNumber(m.figure.value)} ${m.figure.unit}` : "") +
  (m.gflops !== undefined ? `, ${m.gflops.toFixed(2)} GFLOP/s` : "")

/** A figure with three significant digits (no exponent for ordinary sizes). */
export const formatNumber = (x: number): string =>
  Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3)

/** The heading of the table that {@link record} appends to. */
export const RESULTS_HEADING = "## Results"

const TABLE_HEADER = [
  "| date | benchmark | measurement | backend | runtime | median [min, max] | figure | machine, notes |",
  "| --- | --- | --- | --- | --- | --- | --- | --- |"
]

/** One table row per measurement (the format of docs/benchmarks.md). */
export const rows = (
  benchmark: string,
  backend: string,
  runtimeText: string,
  ms: ReadonlyArray<Measurement>,
  options: { readonly note?: string; readonly date?: string; readonly machineText?: string } = {}
): string[] => {
  const mach = machine()
  const date = options.date ?? new Date().toISOString().slice(0, 10)
  const where = options.machineText ?? `${mach.cores}x ${mach.cpu}`
  return ms.map((m) => {
    const figures = [
      ...(m.figure ? [`${formatNumber(m.figure.value)} ${m.figure.unit}`] : []),
      ...(m.gflops !== undefined ? [`${m.gflops.toFixed(2)} GFLOP/s`] : [])
    ].join(", ")
    return `| ${date} | ${benchmark} | ${m.name} | ${backend} | ${runtimeText} | ${(m.median * 1000).toFixed(2)} ms [${(m.min * 1000).toFixed(2)}, ${(m.max * 1000).toFixed(2)}] | ${figures} | ${where}${options.note ? `; ${options.note}` : ""} |`
  })
}

/**
 * Insert `lines` as the last rows of the table under {@link RESULTS_HEADING} in `text` (creating the
 * heading and table at the end when missing), so sections after the table stay after it.
 */
export const insertRows = (text: string, lines: ReadonlyArray<string>): string => {
  const all = text.split("\n")
  const heading = all.findIndex((l) => l.trim() === RESULTS_HEADING)
  if (heading < 0) {
    const body = text.length === 0 || text.endsWith("\n") ? text : `${text}\n`
    return `${body}\n${RESULTS_HEADING}\n\n${[...TABLE_HEADER, ...lines].join("\n")}\n`
  }
  let i = heading + 1
  while (i < all.length && !all[i].startsWith("|") && !all[i].startsWith("#")) i++
  if (i >= all.length || !all[i].startsWith("|")) {
    all.splice(heading + 1, 0, "", ...TABLE_HEADER, ...lines)
    return all.join("\n")
  }
  while (i < all.length && all[i].startsWith("|")) i++
  all.splice(i, 0, ...lines)
  return all.join("\n")
}

/** The lines that open and close the generated block `name` of a markdown file (HTML comments: not rendered). */
const blockMarkers = (name: string): readonly [string, string] => [`<!-- generated:${name} -->`, `<!-- /generated:${name} -->`]

/**
 * `body` as the generated block `name`: a part of a document that a script writes, and rewrites in
 * place on a rerun ({@link replaceBlocks}) while the hand-written text around it stays.
 */
export const block = (name: string, body: string): string => {
  const [open, close] = blockMarkers(name)
  return `${open}\n${body}\n${close}`
}

/**
 * `text` with each of `blocks` (name to new body) replaced in place, everything outside the blocks
 * kept as it was; `undefined` when `text` lacks one of them or has it twice (the caller then writes
 * the whole document anew).
 */
export const replaceBlocks = (text: string, blocks: Readonly<Record<string, string>>): string | undefined => {
  let out = text
  for (const [name, body] of Object.entries(blocks)) {
    const [open, close] = blockMarkers(name)
    const start = out.indexOf(open)
    const end = out.indexOf(close, start)
    if (start < 0 || end < 0 || out.indexOf(open, start + open.length) >= 0) return undefined
    out = out.slice(0, start) + block(name, body) + out.slice(end + close.length)
  }
  return out
}

/** Append one row per measurement to the table under "## Results" in docs/benchmarks.md. */
export const record = (
  benchmark: string,
  backend: string,
  runtimeText: string,
  ms: ReadonlyArray<Measurement>,
  options: { readonly note?: string; readonly date?: string; readonly machineText?: string; readonly file?: string } = {}
): void => {
  const file = options.file ?? path.join(ROOT, "docs/benchmarks.md")
  const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "# Benchmarks\n"
  fs.writeFileSync(file, insertRows(text, rows(benchmark, backend, runtimeText, ms, options)))
}

/**
 * Append the rows of a runner report (`run.ts`, or its `--json` file) to docs/benchmarks.md, with
 * the report's own date, machine, runtime and backend; the notes are "quick", the adapter and
 * `--note` (empty ones left out). Returns the number of rows.
 */
export const recordReport = (report: Report): number => {
  const note = [report.quick ? "quick" : undefined, report.adapter ? `adapter ${report.adapter}` : undefined, report.note].filter((s) => s !== undefined && s !== "").join("; ")
  for (const r of report.results) {
    const runtimeText = r.backend === "-" ? report.runtime : `${report.runtime}, tfjs ${report.versions.tfjs}`
    record(r.benchmark, r.backend, runtimeText, r.measurements, {
      date: report.date.slice(0, 10),
      machineText: `${report.machine.cores}x ${report.machine.cpu}`,
      ...(note ? { note } : {})
    })
  }
  return report.results.reduce((n, r) => n + r.measurements.length, 0)
}

/**
 * Whether the module at `url` is the program being run (`tsx benchmarks/x/y.ts`). False inside the
 * Deno bundle, where every module shares the bundle's URL.
 */
export const isMain = (url: string): boolean =>
  !url.includes("#bundled") && process.argv[1] !== undefined && url === `file://${path.resolve(process.argv[1])}`

/** The value after `--name` on the command line, else `fallback`. */
export const argOption = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback
}

/** Whether `--name` is on the command line. */
export const argFlag = (name: string): boolean => process.argv.includes(`--${name}`)

/**
 * The entry check of a script that also runs bundled under Deno: whether the module at `url` (its
 * `import.meta.url`) is the program being run, here or as the Deno bundle `bundleName` (e.g.
 * "step.mjs"). Under Node with `--deno` on the command line it does not return: it bundles `file`
 * (e.g. "benchmarks/gpu/step.ts"), runs it under Deno with the other arguments and exits with
 * Deno's status.
 */
export const scriptEntry = async (url: string, file: string, bundleName: string): Promise<boolean> => {
  const entry = process.argv[1] ?? ""
  if (!(deno() !== undefined ? entry.endsWith(bundleName) : url === `file://${entry}`)) return false
  if (deno() === undefined && process.argv.includes("--deno")) {
    const Bundle = await import("./deno/Bundle")
    process.exit(await Bundle.runUnderDeno(file, bundleName, process.argv.slice(2).filter((a) => a !== "--deno")))
  }
  return true
}
