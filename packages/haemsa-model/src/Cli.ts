/**
 * The `haemsa` command: dispatches sub-commands, turns typed errors into one-line messages and exit codes
 * (0 ok, 1 bad input or failed run, 2 bad usage). `--verbose` prints the full error.
 *
 * @since 0.1.0
 */
import { DatasetLoader, Inspect } from "@haemsa/datasets"
import { Cause, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { parseArgs, UsageError } from "./Args"

/** Where `--data mosi-real` points by default (relative to the working directory), when it exists. */
export const MOSI_REAL_CANDIDATES = ["../shared/data/mosi-real", "../../shared/data/mosi-real", "../../../shared/data/mosi-real"]

/** Resolve a `--data` value: `synthetic`, `mosi-real` (the shared folder when it exists), or a path. */
export const resolveDataSource = (data: string): string => {
  if (data !== "mosi-real") return data
  const envDir = process.env["HAEMSA_MOSI_REAL"]
  if (envDir) return envDir
  for (const c of MOSI_REAL_CANDIDATES) if (fs.existsSync(path.join(c, "labels.csv"))) return c
  throw new UsageError({ reason: "--data mosi-real: no mosi-real folder found (looked in ../shared/data/mosi-real); pass its path instead or set HAEMSA_MOSI_REAL" })
}

const USAGE = `haemsa: multimodal sentiment analysis with hierarchical adaptive experts

usage:
  haemsa data inspect PATH|synthetic|mosi-real [--json] [--verbose]

Run 'haemsa COMMAND --help' for a command's options.`

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
    const source = resolveDataSource(positionals[0])
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

/** Run the command line; resolves to the exit code. */
export const run = async (argv: ReadonlyArray<string>, io: Io = defaultIo): Promise<number> => {
  const verbose = argv.includes("--verbose")
  const args = argv.filter((a) => a !== "--verbose")
  const [cmd, sub, ...rest] = args
  let program: Effect.Effect<void, unknown, DatasetLoader.DatasetLoader>
  if (cmd === undefined || cmd === "--help" || cmd === "help") {
    io.out(USAGE)
    return cmd === undefined ? 2 : 0
  } else if (cmd === "data" && sub === "inspect") {
    program = Effect.suspend(() => dataInspect(rest, io))
  } else {
    io.err(`haemsa: unknown command '${[cmd, sub].filter(Boolean).join(" ")}'\n\n${USAGE}`)
    return 2
  }
  const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(DatasetLoader.DatasetLoader.layer)))
  if (exit._tag === "Success") return 0
  const error = failureOf(exit.cause)
  if (verbose) io.err(String(error instanceof Error ? error.stack : error))
  const message = error instanceof Error ? error.message : String(error)
  io.err(`haemsa: ${message}`)
  return error instanceof UsageError ? 2 : 1
}

const failureOf = (cause: Cause.Cause<unknown>): unknown => {
  for (const r of cause.reasons) {
    if (r._tag === "Fail") return r.error
    if (r._tag === "Die") return r.defect
  }
  return new Error(Cause.pretty(cause))
}
