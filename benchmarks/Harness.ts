/**
 * The benchmark harness: warm-up, repeated timed runs, median and spread, the machine and versions,
 * and a row appended to docs/benchmarks.md. Every benchmark in this folder uses it, so all figures are
 * measured the same way.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Repository root. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url))
/** The shared folder beside the repository (read-only data). */
export const SHARED = path.resolve(ROOT, "../shared")

/** One measured quantity. */
export interface Measurement {
  readonly name: string
  /** Seconds per run, one entry per timed repeat. */
  readonly seconds: ReadonlyArray<number>
  readonly median: number
  readonly min: number
  readonly max: number
  /** A derived figure (MB/s, samples/s, GFLOP/s) with its unit, computed from the median. */
  readonly figure?: { readonly value: number; readonly unit: string }
}

const median = (xs: ReadonlyArray<number>) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Time `fn` (sync or async): `warmup` untimed runs, then `repeats` timed ones. */
export const measure = async (
  name: string,
  fn: () => unknown | Promise<unknown>,
  options: { warmup?: number; repeats?: number; figure?: (medianSeconds: number) => { value: number; unit: string } } = {}
): Promise<Measurement> => {
  for (let i = 0; i < (options.warmup ?? 1); i++) await fn()
  const seconds: number[] = []
  for (let i = 0; i < (options.repeats ?? 5); i++) {
    const t0 = performance.now()
    await fn()
    seconds.push((performance.now() - t0) / 1000)
  }
  const med = median(seconds)
  return {
    name,
    seconds,
    median: med,
    min: Math.min(...seconds),
    max: Math.max(...seconds),
    ...(options.figure ? { figure: options.figure(med) } : {})
  }
}

/** The machine, for the record. */
export const machine = () => ({
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.availableParallelism(),
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`
})

/** A one-line human description of a measurement. */
export const describe = (m: Measurement): string =>
  `${m.name}: median ${(m.median * 1000).toFixed(2)} ms (min ${(m.min * 1000).toFixed(2)}, max ${(m.max * 1000).toFixed(2)}, n=${m.seconds.length})` +
  (m.figure ? ` -> ${m.figure.value.toFixed(1)} ${m.figure.unit}` : "")

/** Append one row per measurement to docs/benchmarks.md (the table under the "## Results" heading). */
export const record = (benchmark: string, backend: string, runtime: string, ms: ReadonlyArray<Measurement>): void => {
  const file = path.join(ROOT, "docs/benchmarks.md")
  const mach = machine()
  const date = new Date().toISOString().slice(0, 10)
  const rows = ms.map((m) =>
    `| ${date} | ${benchmark} | ${m.name} | ${backend} | ${runtime} | ${(m.median * 1000).toFixed(2)} ms [${(m.min * 1000).toFixed(2)}, ${(m.max * 1000).toFixed(2)}] | ${m.figure ? `${m.figure.value.toFixed(1)} ${m.figure.unit}` : ""} | ${mach.cores}x ${mach.cpu} |`
  )
  fs.appendFileSync(file, rows.join("\n") + "\n")
}
