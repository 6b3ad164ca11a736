/**
 * A `haemsa` sub-command: its declaration ({@link Args.CommandSpec}: flags, help, output locations)
 * and its handler. The flags are parsed once, by {@link run}, into typed values; every output location
 * they name is checked ({@link OutputFile.checkAll}) before anything else, so an unwritable `--out` or
 * `--json` costs no training; the handler then runs in the {@link Environment} set up on the backend
 * those flags name. A handler's failures stay in the typed channel: its type names them.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { BackendError } from "../backends/Backend"
import * as Environment from "../Environment"
import * as Args from "./Args"
import * as OutputFile from "./OutputFile"
import { type BackendChoice, NO_TENSORS } from "./SharedFlags"

/** Output sinks (injectable for tests). */
export interface Io {
  readonly out: (s: string) => void
  readonly err: (s: string) => void
}

/**
 * What a handler writes to: `out` for its text (tables, summaries), `err` for warnings, `stdout` for an
 * output named `-` ({@link OutputFile.isStdout}). When an output of the command line is standard
 * output, `out` is stderr, so the data on stdout stays clean.
 */
export interface HandlerIo extends Io {
  readonly stdout: (s: string) => void
}

/** A command with flags `F` whose handler fails with `E`. */
export interface Command<F extends Args.Flags, E> {
  readonly spec: Args.CommandSpec<F>
  /** The backend the parsed flags ask for; without it the command runs on cpu (it does no tensor work). */
  backend?(flags: Args.Values<F>): BackendChoice
  /** The output locations the parsed flags name (checked before the environment is set up and the handler runs). */
  outputs?(flags: Args.Values<F>): ReadonlyArray<OutputFile.Location>
  /** Does the work, with the flags parsed, the outputs checked and the environment provided. */
  handler(input: Args.Parsed<F>, io: HandlerIo): Effect.Effect<void, E, Environment.JobServices>
}

/** Any command failing with `E` at most, whatever its flags (the dispatcher's table). */
export type Any<E> = Command<Args.Flags, E>

/** The handler's failures of a command. */
export type ErrorOf<C> = C extends Command<infer _F, infer E> ? E : never

/** Declare a command: the flag types come from `spec`, the error type from `handler`. */
export const make = <const F extends Args.Flags, E>(command: {
  readonly spec: Args.CommandSpec<F>
  readonly backend?: (flags: Args.Values<NoInfer<F>>) => BackendChoice
  readonly outputs?: (flags: Args.Values<NoInfer<F>>) => ReadonlyArray<OutputFile.Location>
  readonly handler: (input: Args.Parsed<NoInfer<F>>, io: HandlerIo) => Effect.Effect<void, E, Environment.JobServices>
}): Command<F, E> => command

/**
 * Parse `argv` (the arguments after the command's name) against the command's flags, check its output
 * locations, set up its environment and run its handler. Bad usage (an unwritable output included) is
 * a `UsageError`, a backend that cannot be set up a `BackendError`; the handler's failures pass through, typed.
 */
export const run = <F extends Args.Flags, E>(
  command: Command<F, E>,
  argv: ReadonlyArray<string>,
  io: Io
): Effect.Effect<void, E | Args.UsageError | BackendError> =>
  Effect.gen(function*() {
    const input = yield* Effect.fromResult(Args.parse(command.spec, argv))
    const outputs = command.outputs?.(input.flags) ?? []
    yield* OutputFile.checkAll(outputs)
    const toStdout = outputs.some((o) => o.kind === "file" && OutputFile.isStdout(o.path))
    const handlerIo: HandlerIo = { out: toStdout ? io.err : io.out, err: io.err, stdout: io.out }
    const { backend, allowSoftwareAdapter } = command.backend?.(input.flags) ?? NO_TENSORS
    const environment = Environment.make(backend, { allowSoftwareAdapter, log: (line) => io.err(`haemsa: ${line}`) })
    return yield* command.handler(input, handlerIo).pipe(Effect.provide(environment))
  })
