/**
 * The `haemsa` command: finds the sub-command, runs it ({@link Command.run}: its flags parsed once,
 * its environment set up on the backend they name) and turns the outcome into an exit code. A typed
 * failure is one line and exit 1 (bad input, a failed run) or 2 (bad usage, which includes
 * `--data mosi-real` without its data package); a defect is a bug, not bad input: it is reported as
 * an internal error (exit 1) with a hint to rerun with `--verbose`, which prints the full cause.
 *
 * @since 0.1.0
 */
import { Errors as DatasetErrors } from "@haemsa/datasets"
import { Cause, Effect, Exit, Option, Result } from "effect"
import { BACKENDS, type BackendError } from "../backends/Backend"
import type { CheckpointError } from "../model/Checkpoint"
import type { ModelError } from "../model/Network"
import type { TrainingError } from "../model/Train"
import type { TrainStateError } from "../model/TrainState"
import type { QueueUrlError } from "../search/queue/QueueUrl"
import * as SearchCommand from "../search/SearchCommand"
import * as WorkerCommand from "../search/WorkerCommand"
import * as Args from "./Args"
import * as Command from "./Command"
import type { DataPackageMissing } from "./DataSource"
import * as EvalCommand from "./EvalCommand"
import * as InspectCommand from "./InspectCommand"
import type { OutputError } from "./OutputFile"
import * as PredictCommand from "./PredictCommand"
import * as TrainCommand from "./TrainCommand"

/** Output sinks (injectable for tests). */
export type Io = Command.Io

/** Every typed failure of the `haemsa` command: its commands' errors, bad usage, and a backend that cannot be set up. */
export type CliError =
  | Args.UsageError
  | DataPackageMissing
  | DatasetErrors.DatasetError
  | BackendError
  | CheckpointError
  | ModelError
  | TrainingError
  | TrainStateError
  | SearchCommand.SearchJobError
  | QueueUrlError
  | OutputError

/** The sub-commands, in the order the usage lists them. */
const COMMANDS: ReadonlyArray<Command.Any<CliError>> = [
  TrainCommand.command,
  EvalCommand.command,
  PredictCommand.command,
  InspectCommand.command,
  SearchCommand.command,
  WorkerCommand.command
]

const NOTES = `--backend B: ${BACKENDS.join(", ")} (default wasm). --backend webgpu refuses a software/fallback adapter
(llvmpipe/lavapipe, SwiftShader: no GPU, slower than wasm) unless --allow-software-adapter is given.
Under Deno: wasm, cpu and webgpu; tensorflow needs Node.
Add --verbose to any command for full error traces; --help after a command for its options.`

/** Wraps a usage line at `width` columns, continuation lines indented by `indent`. */
const wrap = (line: string, width: number, indent: number): string => {
  const words = line.split(" [")
  const lines: string[] = [words[0]]
  for (const word of words.slice(1).map((w) => `[${w}`)) {
    const last = lines[lines.length - 1]
    if (last.length + 1 + word.length > width) lines.push(" ".repeat(indent) + word)
    else lines[lines.length - 1] = `${last} ${word}`
  }
  return lines.join("\n")
}

/** The top-level usage text, generated from the commands' declarations. */
export const usage = (): string => {
  const nameWidth = Math.max(...COMMANDS.map((c) => c.spec.name.length))
  const lines = COMMANDS.map((c) => {
    const synopsis = Args.synopsis(c.spec).slice(`haemsa ${c.spec.name}`.length)
    return wrap(`  haemsa ${c.spec.name.padEnd(nameWidth)}${synopsis}`, 118, 10 + nameWidth)
  })
  return `haemsa: multimodal sentiment analysis with hierarchical adaptive experts\n\nusage:\n${lines.join("\n")}\n\n${NOTES}`
}

/** The exit code of a typed failure: 2 for bad usage (including a missing data package or a bad queue URL), 1 for bad input or a failed run. */
export const exitCode = (error: CliError): 1 | 2 =>
  error._tag === "UsageError" || error._tag === "DataPackageMissing" || error._tag === "QueueUrlError" ? 2 : 1

const messageOf = (u: unknown): string => (u instanceof Error ? u.message : String(u))

/**
 * Report a command's outcome on `io.err` and return the exit code: 0 on success; a typed failure is
 * one line (`haemsa: MESSAGE`) and {@link exitCode}; a defect or an interruption is an internal error
 * (exit 1). With `verbose`, the full cause (stack traces, the errors behind an error) comes first.
 * Every message is printed through `Errors.printable`: text from a file (a JSON parser's quote of it,
 * a value named in an error) never reaches the terminal as raw control characters or escape sequences.
 */
export const report = (exit: Exit.Exit<void, CliError>, io: Io, verbose = false): number => {
  if (Exit.isSuccess(exit)) return 0
  if (verbose) io.err(Cause.pretty(exit.cause).split("\n").map(DatasetErrors.printable).join("\n"))
  const failure = Cause.findErrorOption(exit.cause)
  if (Option.isSome(failure)) {
    io.err(`haemsa: ${DatasetErrors.printable(failure.value.message)}`)
    return exitCode(failure.value)
  }
  const defect = Cause.findDefect(exit.cause)
  const what = Result.isSuccess(defect) ? messageOf(defect.success) : "interrupted"
  const hint = verbose ? "the trace is above" : "rerun with --verbose for the full trace"
  io.err(`haemsa: internal error: ${DatasetErrors.printable(what)} (a bug in haemsa, not bad input; ${hint})`)
  return 1
}

const defaultIo: Io = { out: (s) => process.stdout.write(s + "\n"), err: (s) => process.stderr.write(s + "\n") }

/**
 * Run one command with its arguments (those after its name) and report the outcome: `--help`
 * prints the command's help, `--verbose` the full cause of a failure. Resolves to the exit code.
 */
export const runCommand = async (command: Command.Any<CliError>, argv: ReadonlyArray<string>, io: Io = defaultIo): Promise<number> => {
  if (argv.includes("--help")) {
    io.out(Args.help(command.spec))
    return 0
  }
  const verbose = argv.includes("--verbose")
  const exit = await Effect.runPromiseExit(Command.run(command, argv, io))
  return report(exit, io, verbose)
}

/** Run the command line; resolves to the exit code. */
export const run = async (argv: ReadonlyArray<string>, io: Io = defaultIo): Promise<number> => {
  const args = argv.filter((a) => a !== "--verbose")
  if (args.length === 0 || args[0] === "--help" || args[0] === "help") {
    io.out(usage())
    return args.length === 0 ? 2 : 0
  }
  const name = args[0] === "data" ? `data ${args[1] ?? ""}` : args[0]
  const command = COMMANDS.find((c) => c.spec.name === name)
  if (command === undefined) {
    io.err(`haemsa: unknown command '${name.trim()}'\n\n${usage()}`)
    return 2
  }
  const rest = args.slice(name.split(" ").length)
  return runCommand(command, argv.includes("--verbose") ? [...rest, "--verbose"] : rest, io)
}
