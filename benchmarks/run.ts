/**
 * The benchmark runner:
 *
 *   pnpm bench [--package P]... [--backend wasm|cpu|webgpu|tensorflow] [--allow-software-adapter]
 *              [--runtime node|deno] [--json FILE] [--quick] [--note TEXT] [--no-record]
 *
 * Sets up the backend (`Backend.setup` of @haemsa/haemsa-model), runs the benchmarks of the chosen
 * packages (default: all; `--package` repeats or takes a comma list), prints a table, appends one
 * row per measurement to docs/benchmarks.md (unless `--no-record`) with the backend, the runtime and
 * the tfjs version, and writes every sample to `--json FILE`. `--runtime deno` bundles this runner
 * (benchmarks/deno/Bundle.ts) and runs the bundle under Deno with `--unstable-webgpu`, where the
 * `webgpu` backend uses Deno's built-in `navigator.gpu` (a software/fallback adapter such as lavapipe
 * only with `--allow-software-adapter`).
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type BenchOptions, deno, formatNumber, machine, type Measurement, recordReport, runtime } from "./Harness"

/** A benchmark module: `run` measures, the backend is already set up. */
interface BenchModule {
  readonly run: (options: BenchOptions) => Promise<Measurement[]>
}

/** The benchmarks of each package, loaded on demand (literal imports, so the Deno bundle has them). */
export const PACKAGES: Record<string, ReadonlyArray<readonly [string, () => Promise<BenchModule>]>> = {
  datasets: [["datasets/read", () => import("./datasets/read")]],
  experts: [["experts/forward-backward", () => import("./experts/forward-backward")]],
  "hierarchical-fusion": [["hierarchical-fusion/levels", () => import("./hierarchical-fusion/levels")]],
  "kd-losses": [["kd-losses/loss-gradient", () => import("./kd-losses/loss-gradient")]],
  nn: [["nn/matmul", () => import("./nn/matmul")]],
  "evo-search": [
    ["evo-search/operators", () => import("./evo-search/operators")],
    ["evo-search/search-overhead", () => import("./evo-search/search-overhead")]
  ],
  "haemsa-model": [
    ["haemsa-model/training-throughput", () => import("./haemsa-model/training-throughput")],
    ["haemsa-model/inference", () => import("./haemsa-model/inference")]
  ]
}

/** Packages whose benchmarks use no tensors (the backend does not matter to them). */
const TENSOR_FREE = new Set(["datasets", "evo-search"])

/** The backends and runtimes the runner accepts. */
export const BACKENDS = ["wasm", "cpu", "webgpu", "tensorflow"] as const
export const RUNTIMES = ["node", "deno"] as const

/** Parsed command line. */
export interface RunArgs {
  readonly packages: ReadonlyArray<string>
  readonly backend: (typeof BACKENDS)[number]
  /** Accept a software/fallback webgpu adapter (lavapipe). */
  readonly allowSoftwareAdapter: boolean
  readonly runtime: (typeof RUNTIMES)[number]
  readonly json?: string
  readonly quick: boolean
  readonly record: boolean
  readonly note?: string
}

/** A bad command line. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

const oneOf = <A extends string>(option: string, value: string | undefined, choices: ReadonlyArray<A>): A => {
  if (value === undefined || !(choices as ReadonlyArray<string>).includes(value)) {
    throw new UsageError(`${option} ${value ?? "(missing value)"}: choose one of ${choices.join(", ")}`)
  }
  return value as A
}

/** Parse the runner's options; an unknown option or value is a {@link UsageError} naming it. */
export const parseArgs = (argv: ReadonlyArray<string>): RunArgs => {
  const packages: string[] = []
  let backend: RunArgs["backend"] = "wasm"
  let rt: RunArgs["runtime"] = "node"
  let json: string | undefined
  let note: string | undefined
  let quick = false
  let doRecord = true
  let allowSoftwareAdapter = false
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined || (inline === undefined && v.startsWith("--"))) throw new UsageError(`${flag} needs a value`)
      return v
    }
    switch (flag) {
      case "--package":
        for (const p of value().split(",")) packages.push(oneOf("--package", p, Object.keys(PACKAGES)))
        break
      case "--backend":
        backend = oneOf("--backend", value(), BACKENDS)
        break
      case "--runtime":
        rt = oneOf("--runtime", value(), RUNTIMES)
        break
      case "--json":
        json = value()
        break
      case "--note":
        note = value()
        break
      case "--quick":
        quick = true
        break
      case "--allow-software-adapter":
        allowSoftwareAdapter = true
        break
      case "--no-record":
        doRecord = false
        break
      default:
        throw new UsageError(`unknown option ${arg} (options: --package, --backend, --allow-software-adapter, --runtime, --json, --quick, --note, --no-record)`)
    }
  }
  return {
    packages: packages.length > 0 ? [...new Set(packages)] : Object.keys(PACKAGES),
    backend,
    allowSoftwareAdapter,
    runtime: rt,
    quick,
    record: doRecord,
    ...(json !== undefined ? { json } : {}),
    ...(note !== undefined ? { note } : {})
  }
}

/** What `--json` writes: the context and every measurement. */
export interface Report {
  readonly date: string
  readonly machine: ReturnType<typeof machine>
  readonly runtime: string
  readonly backend: string
  readonly versions: Record<string, string>
  readonly adapter?: string
  readonly quick: boolean
  readonly note?: string
  readonly results: ReadonlyArray<{ readonly benchmark: string; readonly backend: string; readonly measurements: ReadonlyArray<Measurement> }>
  /** Benchmarks that threw (their error message); the runner then exits with 1. */
  readonly failures: ReadonlyArray<{ readonly benchmark: string; readonly error: string }>
}

/** Under Node: bundle this runner and run it under Deno with the same arguments; resolves to its exit code. */
const relaunchUnderDeno = async (argv: ReadonlyArray<string>): Promise<number> => {
  const Bundle = await import("./deno/Bundle")
  return Bundle.runUnderDeno("benchmarks/run.ts", "run.mjs", argv)
}

/** Set up the tfjs backend (`Backend.setup` also finds the wasm binaries inside the Deno bundle). */
const setupBackend = async (name: string, allowSoftwareAdapter: boolean): Promise<{ readonly name: string; readonly adapter?: string; readonly tfjs: string }> => {
  const tf = await import("@tensorflow/tfjs")
  const { Backend } = await import("@haemsa/haemsa-model")
  const active = await Backend.setup(name, undefined, { allowSoftwareAdapter })
  let adapter: string | undefined
  if (name === "webgpu") {
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter: () => Promise<{ info?: { description?: string; vendor?: string; architecture?: string } } | null> } } }).navigator?.gpu
    const info = (await gpu?.requestAdapter())?.info
    adapter = [info?.description, info?.vendor, info?.architecture].filter((s) => s !== undefined && s !== "").join(" / ")
  }
  return { name: active, tfjs: tf.version.tfjs, ...(adapter !== undefined ? { adapter } : {}) }
}

const table = (results: Report["results"]): string => {
  const lines = ["benchmark | measurement | median ms [min, max] | figure | GFLOP/s"]
  for (const r of results) {
    for (const m of r.measurements) {
      lines.push(
        `${r.benchmark} | ${m.name} | ${(m.median * 1000).toFixed(2)} [${(m.min * 1000).toFixed(2)}, ${(m.max * 1000).toFixed(2)}] | ${m.figure ? `${formatNumber(m.figure.value)} ${m.figure.unit}` : ""} | ${m.gflops !== undefined ? m.gflops.toFixed(2) : ""}`
      )
    }
  }
  return lines.join("\n")
}

/** Run the benchmarks of `args`; resolves to the report. */
export const runBenchmarks = async (args: RunArgs): Promise<Report> => {
  const needsTensors = args.packages.some((p) => !TENSOR_FREE.has(p))
  const backend = needsTensors ? await setupBackend(args.backend, args.allowSoftwareAdapter) : undefined
  const rt = runtime()
  console.log(`runtime ${rt}${backend ? `, backend ${backend.name}, tfjs ${backend.tfjs}${backend.adapter ? `, adapter ${backend.adapter}` : ""}` : ""}${args.quick ? ", quick" : ""}`)
  const results: Array<Report["results"][number]> = []
  const failures: Array<{ benchmark: string; error: string }> = []
  for (const p of args.packages) {
    const tensorFree = TENSOR_FREE.has(p)
    for (const [benchmark, load] of PACKAGES[p]) {
      console.log(`== ${benchmark}`)
      try {
        const module = await load()
        const measurements = await module.run({ backend: tensorFree ? "-" : backend!.name, quick: args.quick })
        results.push({ benchmark, backend: tensorFree ? "-" : backend!.name, measurements })
      } catch (e) {
        // one failing benchmark does not lose the others' figures; the exit code says it failed
        const error = e instanceof Error ? e.message : String(e)
        console.error(`${benchmark} FAILED: ${error}`)
        failures.push({ benchmark, error })
      }
    }
  }
  const report: Report = {
    date: new Date().toISOString(),
    machine: machine(),
    runtime: rt,
    backend: backend?.name ?? "-",
    versions: { runtime: rt, ...(backend ? { tfjs: backend.tfjs } : {}) },
    ...(backend?.adapter ? { adapter: backend.adapter } : {}),
    quick: args.quick,
    ...(args.note !== undefined ? { note: args.note } : {}),
    results,
    failures
  }
  console.log(`\n${table(results)}`)
  if (args.record) console.log(`recorded ${recordReport(report)} rows in docs/benchmarks.md`)
  if (args.json !== undefined) {
    const file = path.resolve(args.json)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + "\n")
    console.log(`wrote ${file}`)
  }
  return report
}

/** The command: parse, relaunch under Deno when asked, run. Resolves to the exit code. */
export const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  if (argv.includes("--help")) {
    console.log(`pnpm bench [--package ${Object.keys(PACKAGES).join("|")}[,...]] [--backend ${BACKENDS.join("|")}] [--allow-software-adapter]
           [--runtime ${RUNTIMES.join("|")}] [--json FILE] [--quick] [--note TEXT] [--no-record]
Runs the benchmarks (warm-up, repeats, median and spread), prints a table and appends rows to docs/benchmarks.md.`)
    return 0
  }
  let args: RunArgs
  try {
    args = parseArgs(argv)
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`pnpm bench: ${e.message}`)
      return 2
    }
    throw e
  }
  if (args.runtime === "deno" && deno() === undefined) {
    return relaunchUnderDeno(argv)
  }
  const report = await runBenchmarks(args)
  for (const f of report.failures) console.error(`FAILED ${f.benchmark}: ${f.error}`)
  return report.failures.length > 0 ? 1 : 0
}

const entry = process.argv[1] ?? ""
if (deno() !== undefined ? entry.endsWith("run.mjs") : import.meta.url === `file://${path.resolve(entry)}`) {
  process.exitCode = await main(process.argv.slice(2))
  if (deno() !== undefined) process.exit(process.exitCode)
}
