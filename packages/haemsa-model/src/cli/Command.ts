/**
 * A `haemsa` sub-command: its declaration ({@link Args.CommandSpec}: flags, help) and its handler. The
 * flags are parsed once, by {@link run}, into typed values; the handler then runs in the
 * {@link Environment} set up on the backend those flags name. A handler's failures stay in the typed
 * channel: its type names them.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import type { BackendError } from "../backends/Backend"
import * as Environment from "../Environment"
import * as Args from "./Args"
import { type BackendChoice, NO_TENSORS } from "./SharedFlags"

/** Output sinks (injectable for tests). */
export interface Io {
  readonly out: (s: string) => void
  readonly err: (s: string) => void
}

/** A command with flags `F` whose handler fails with `E`. */
export interface Command<F extends Args.Flags, E> {
  readonly spec: Args.CommandSpec<F>
  /** The backend the parsed flags ask for; without it the command runs on cpu (it does no tensor work). */
  backend?(flags: Args.Values<F>): BackendChoice
  /** Does the work, with the flags parsed and the environment provided. */
  handler(input: Args.Parsed<F>, io: Io): Effect.Effect<void, E, Environment.JobServices>
}

/** Any command failing with `E` at most, whatever its flags (the dispatcher's table). */
export type Any<E> = Command<Args.Flags, E>

/** The handler's failures of a command. */
export type ErrorOf<C> = C extends Command<infer _F, infer E> ? E : never

/** Declare a command: the flag types come from `spec`, the error type from `handler`. */
export const make = <const F extends Args.Flags, E>(command: {
  readonly spec: Args.CommandSpec<F>
  readonly backend?: (flags: Args.Values<NoInfer<F>>) => BackendChoice
  readonly handler: (input: Args.Parsed<NoInfer<F>>, io: Io) => Effect.Effect<void, E, Environment.JobServices>
}): Command<F, E> => command

/**
 * Parse `argv` (the arguments after the command's name) against the command's flags, set up its
 * environment and run its handler. Bad usage is a `UsageError`, a backend that cannot be set up a
 * `BackendError`; the handler's failures pass through, typed.
 */
export const run = <F extends Args.Flags, E>(
  command: Command<F, E>,
  argv: ReadonlyArray<string>,
  io: Io
): Effect.Effect<void, E | Args.UsageError | BackendError> =>
  Effect.gen(function*() {
    const input = yield* Effect.fromResult(Args.parse(command.spec, argv))
    const { backend, allowSoftwareAdapter } = command.backend?.(input.flags) ?? NO_TENSORS
    const environment = Environment.make(backend, { allowSoftwareAdapter, log: (line) => io.err(`haemsa: ${line}`) })
    return yield* command.handler(input, io).pipe(Effect.provide(environment))
  })
