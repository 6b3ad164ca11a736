/**
 * The `haemsa` command: dispatches sub-commands, turns typed errors into one-line messages and exit codes
 * (0 ok, 1 bad input or failed run, 2 bad usage, which includes `--data mosi-real` without its data package).
 * `--verbose` prints the full error.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { DatasetLoader, Errors as DatasetErrors, Inspect } from "@haemsa/datasets"
import { Cause, Effect, type Layer } from "effect"
import * as fs from "node:fs"
import { parseArgs, UsageError } from "./Args"
import * as ArchitectureSpec from "../model/ArchitectureSpec"
import { DataPackageMissing, resolveDataSource } from "./DataSource"
import type * as Evaluate from "../model/Evaluate"
import * as Experiment from "../model/Experiment"
import * as Environment from "../Environment"
import * as Network from "../model/Network"
import { writeJson } from "./OutputFile"
import * as Predict from "../model/Predict"
import { SEARCH_OPTIONS, search } from "../search/SearchCommand"

const USAGE = `haemsa: multimodal sentiment analysis with hierarchical adaptive experts

usage:
  haemsa train   --data synthetic|mosi-real|PATH [--model haemsa|early-fusion|late-fusion] [--modalities t,a,v]
                 [--epochs N] [--batch-size N] [--patience N] [--seed S] [--backend wasm|cpu|webgpu|tensorflow]
                 [--allow-software-adapter] [--spec FILE] [--out DIR] [--json FILE]
  haemsa eval    --checkpoint DIR --data synthetic|mosi-real|PATH [--modalities t,a,v] [--backend B] [--allow-software-adapter] [--json FILE]
  haemsa predict --checkpoint DIR --input FILE [--backend B] [--allow-software-adapter]
  haemsa data inspect PATH|synthetic|mosi-real [--json]
  haemsa search  --data synthetic|mosi-real|PATH --checkpoint DIR [--population P] [--generations G] [--seed S]
                 [--fidelity low|medium|halving|full|E:F,...] [--workers N] [--backend B] [--allow-software-adapter]
                 [--json FILE] [--report FILE.svg|.html] [--retrain]

--backend webgpu refuses a software/fallback adapter (llvmpipe/lavapipe, SwiftShader: no GPU, slower than
wasm) unless --allow-software-adapter is given. Under Deno: wasm, cpu and webgpu; tensorflow needs Node.
Add --verbose to any command for full error traces; --help after a command for its options.`

/** Output sinks (injectable for tests). */
export interface Io {
  readonly out: (s: string) => void
  readonly err: (s: string) => void
}

const defaultIo: Io = { out: (s) => process.stdout.write(s + "\n"), err: (s) => process.stderr.write(s + "\n") }

const dataInspect = (argv: ReadonlyArray<string>, io: Io) =>
  Effect.gen(function*() {
    const { positionals, options } = parseArgs(argv, { json: "flag", verbose: "flag", help: "flag" }, "data inspect")
    if (options["help"]) {
      io.out("haemsa data inspect PATH|synthetic|mosi-real [--json]\n  Detects the format (MMSA or MulT pickle, .csd, mosi-real folder, synthetic) and summarises it.")
      return
    }
    if (positionals.length !== 1) throw new UsageError({ reason: "data inspect needs exactly one PATH" })
    const source = yield* resolveDataSource(positionals[0])
    const loader = yield* DatasetLoader.DatasetLoader
    const found = yield* loader.detect(source)
    if (found.kind === "csd") {
      const report = Inspect.csdReport(yield* loader.loadCsd(found.file))
      io.out(options["json"] ? JSON.stringify(report) : Inspect.formatCsd(report, source))
      return
    }
    const dataset = yield* loader.load(source)
    io.out(options["json"] ? JSON.stringify(Inspect.datasetReport(dataset)) : Inspect.formatDataset(dataset, source))
  })

const MODALITY_BY_LETTER: Record<string, Dataset.Modality> = { t: "text", a: "audio", v: "vision", text: "text", audio: "audio", vision: "vision" }

/** Parse `t,a,v` (or full names) into modalities. */
export const parseModalities = (value: string): Dataset.Modality[] => {
  const out: Dataset.Modality[] = []
  for (const part of value.split(",").map((p) => p.trim()).filter(Boolean)) {
    const m = MODALITY_BY_LETTER[part]
    if (!m) throw new UsageError({ reason: `--modalities: unknown modality '${part}' (use t, a, v)` })
    if (!out.includes(m)) out.push(m)
  }
  if (out.length === 0) throw new UsageError({ reason: "--modalities needs at least one of t, a, v" })
  return out
}

const readSpecFile = (file: string) =>
  Effect.try({
    try: () => ArchitectureSpec.decode(JSON.parse(fs.readFileSync(file, "utf8"))),
    catch: (e) => new UsageError({ reason: `--spec ${file}: ${e instanceof Error ? e.message : String(e)}` })
  })

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

const TRAIN_OPTIONS = {
  data: "string", model: "string", modalities: "string", epochs: "int", "batch-size": "int", patience: "int", seed: "int",
  backend: "string", "allow-software-adapter": "flag", spec: "string", out: "string", json: "string", help: "flag"
} as const

const train = (argv: ReadonlyArray<string>, io: Io) =>
  Effect.gen(function*() {
    const { positionals, options } = parseArgs(argv, TRAIN_OPTIONS, "train")
    if (positionals.length > 0) throw new UsageError({ reason: `train takes no positional arguments (got '${positionals[0]}')` })
    const model = String(options["model"] ?? "haemsa")
    if (!["haemsa", "early-fusion", "late-fusion"].includes(model)) {
      throw new UsageError({ reason: `--model must be haemsa, early-fusion or late-fusion (got '${model}')` })
    }
    let spec = options["spec"] ? yield* readSpecFile(String(options["spec"])) : ArchitectureSpec.defaultFor(model as ArchitectureSpec.ModelKind)
    if (options["spec"] && options["model"]) spec = { ...spec, model: model as ArchitectureSpec.ModelKind }
    if (options["modalities"]) spec = { ...spec, modalities: parseModalities(String(options["modalities"])) as [Dataset.Modality, ...Dataset.Modality[]] }
    const seed = Number(options["seed"] ?? 0)
    const source = yield* resolveDataSource(String(options["data"] ?? "synthetic"))
    const epochs = Number(options["epochs"] ?? 20)
    if (epochs < 1) throw new UsageError({ reason: "--epochs must be >= 1" })
    const report = yield* Experiment.trainJob({
      source,
      spec,
      out: options["out"] === undefined ? undefined : String(options["out"]),
      train: {
        epochs,
        seed,
        ...(options["batch-size"] !== undefined ? { batchSize: Number(options["batch-size"]) } : {}),
        ...(options["patience"] !== undefined ? { patience: Number(options["patience"]) } : {})
      }
    })
    io.out(`${report.model} on ${report.data} (${report.modalities.join("+")}), backend ${report.backend}, seed ${report.seed}: ${report.epochs} epochs in ${report.seconds}s (best epoch ${report.best_epoch})`)
    io.out(metricsTable([["valid", report.valid], ["test", report.test]]))
    if (options["out"]) io.out(`checkpoint: ${options["out"]}`)
    if (options["json"]) yield* writeJson(String(options["json"]), report)
  })

const EVAL_OPTIONS = {
  checkpoint: "string", data: "string", modalities: "string", backend: "string", "allow-software-adapter": "flag", json: "string", help: "flag"
} as const

const evaluate = (argv: ReadonlyArray<string>, io: Io) =>
  Effect.gen(function*() {
    const { options } = parseArgs(argv, EVAL_OPTIONS, "eval")
    if (!options["checkpoint"]) throw new UsageError({ reason: "eval needs --checkpoint DIR" })
    const source = yield* resolveDataSource(String(options["data"] ?? "synthetic"))
    const report = yield* Experiment.evalJob({
      checkpoint: String(options["checkpoint"]),
      source,
      ...(options["modalities"] ? { modalities: parseModalities(String(options["modalities"])) } : {})
    })
    io.out(`${report.model} from ${report.checkpoint} on ${report.data} (${report.modalities.join("+")})`)
    io.out(metricsTable([["valid", report.valid], ["test", report.test]]))
    io.out("\nmissing modalities (test split, others masked):")
    io.out(metricsTable(report.missing_modalities.map((r) => [r.modalities.join("+"), r.metrics] as const)))
    if (options["json"]) yield* writeJson(String(options["json"]), report)
  })

const PREDICT_OPTIONS = { checkpoint: "string", input: "string", backend: "string", "allow-software-adapter": "flag", help: "flag" } as const

const predict = (argv: ReadonlyArray<string>, io: Io) =>
  Effect.gen(function*() {
    const { options } = parseArgs(argv, PREDICT_OPTIONS, "predict")
    if (!options["checkpoint"] || !options["input"]) throw new UsageError({ reason: "predict needs --checkpoint DIR and --input FILE" })
    const file = String(options["input"])
    const input = yield* Effect.try({
      try: () => JSON.parse(fs.readFileSync(file, "utf8")) as { samples?: ReadonlyArray<Predict.Sample> },
      catch: (e) => new DatasetErrors.FileError({ file, reason: `cannot read JSON: ${e instanceof Error ? e.message : String(e)}` })
    })
    const { net } = yield* Experiment.loadNetwork(String(options["checkpoint"]))
    const predictions = yield* Effect.tryPromise({
      try: () => Predict.predictSamples(net, file, input.samples ?? []),
      catch: (e) => e
    }).pipe(Effect.ensuring(Effect.sync(() => Network.dispose(net))))
    io.out(JSON.stringify({ model: net.spec.model, predictions }, null, 1))
  })

type Program = Effect.Effect<void, unknown, Layer.Success<ReturnType<typeof Environment.make>>>

const COMMANDS: Record<string, { readonly options: Record<string, string>; readonly help: string; readonly run: (argv: ReadonlyArray<string>, io: Io) => Program }> = {
  train: { options: TRAIN_OPTIONS, help: "Train a model and report valid/test metrics.", run: train },
  eval: { options: EVAL_OPTIONS, help: "Score a checkpoint, with the missing-modality table.", run: evaluate },
  predict: { options: PREDICT_OPTIONS, help: "Predict samples from a JSON file (values and attention weights).", run: predict },
  "data inspect": { options: { json: "flag" }, help: "Detect a dataset's format and summarise it.", run: dataInspect },
  search: { options: SEARCH_OPTIONS, help: "Evolve architectures (resumable), report, and optionally retrain the winner.", run: search }
}

/** The backend a command line asks for: `--backend NAME` (default wasm) and whether `--allow-software-adapter` is given. */
export interface BackendChoice {
  readonly backend: string
  readonly allowSoftwareAdapter: boolean
}

/**
 * Read the backend options of a command's arguments (`--backend NAME` or `--backend=NAME`,
 * `--allow-software-adapter`): the backend is set up before the command runs.
 */
export const backendChoice = (argv: ReadonlyArray<string>): BackendChoice => {
  const at = argv.indexOf("--backend")
  const inline = argv.find((a) => a.startsWith("--backend="))
  return {
    backend: inline?.slice("--backend=".length) ?? (at >= 0 ? argv[at + 1] ?? "" : "wasm"),
    allowSoftwareAdapter: argv.includes("--allow-software-adapter")
  }
}

/** Run the command line; resolves to the exit code. */
export const run = async (argv: ReadonlyArray<string>, io: Io = defaultIo): Promise<number> => {
  const verbose = argv.includes("--verbose")
  const args = argv.filter((a) => a !== "--verbose")
  if (args.length === 0 || args[0] === "--help" || args[0] === "help") {
    io.out(USAGE)
    return args.length === 0 ? 2 : 0
  }
  const name = args[0] === "data" ? `data ${args[1] ?? ""}` : args[0]
  const command = COMMANDS[name]
  if (!command) {
    io.err(`haemsa: unknown command '${name.trim()}'\n\n${USAGE}`)
    return 2
  }
  const rest = args.slice(name.split(" ").length)
  if (rest.includes("--help")) {
    io.out(`haemsa ${name}: ${command.help}\noptions: ${Object.keys(command.options).filter((o) => o !== "help").map((o) => `--${o}`).join(" ")}`)
    return 0
  }
  // the backend is set up before the command runs; the command parses (and checks) its options again
  const { backend, allowSoftwareAdapter } = backendChoice(rest)
  // data inspect needs no tensor backend: use cpu so it starts instantly
  const layer = Environment.make(name === "data inspect" ? "cpu" : backend, { allowSoftwareAdapter, log: (line) => io.err(`haemsa: ${line}`) })
  const program = Effect.suspend(() => command.run(rest, io)).pipe(Effect.provide(layer))
  const exit = await Effect.runPromiseExit(program as Effect.Effect<void, unknown>)
  if (exit._tag === "Success") return 0
  const error = failureOf(exit.cause)
  if (verbose) io.err(String(error instanceof Error ? error.stack : error))
  const message = error instanceof Error ? error.message : String(error)
  io.err(`haemsa: ${message}`)
  return error instanceof UsageError || error instanceof DataPackageMissing ? 2 : 1
}

const failureOf = (cause: Cause.Cause<unknown>): unknown => {
  for (const r of cause.reasons) {
    if (r._tag === "Fail") return r.error
    if (r._tag === "Die") return r.defect
  }
  return new Error(Cause.pretty(cause))
}
