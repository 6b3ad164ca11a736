/**
 * `haemsa worker --queue URL [--concurrency N]`: trains the candidates of every `haemsa search
 * --queue` on the same Redis (see {@link QueueWorker}). It prints each job it takes (its candidate and
 * fidelity) and its result, and on SIGTERM or SIGINT stops taking jobs, finishes the ones it holds and
 * exits 0. The URL may come from `--queue-file` or `HAEMSA_QUEUE` instead, keeping the password out of
 * the process list; the password is never printed.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as Args from "../cli/Args"
import * as Command from "../cli/Command"
import type { QueueError } from "./queue/Bull"
import * as QueueUrl from "./queue/QueueUrl"
import * as QueueWorker from "./queue/QueueWorker"

/** The queue flags shared by `haemsa search` and `haemsa worker`. */
export const queueFlags = {
  queue: Args.string({
    metavar: "redis://[USER:PASSWORD@]HOST:PORT[/DB]",
    help: "the job queue (Redis; rediss:// for TLS); also from --queue-file or $HAEMSA_QUEUE"
  }),
  "queue-file": Args.string({ metavar: "FILE", help: "read the queue URL from FILE (keeps the password out of the process list)" })
}

/** The flags of `haemsa worker`. */
export const flags = {
  ...queueFlags,
  concurrency: Args.int({ metavar: "N", min: 1, default: 1, help: "candidates trained at a time (one thread each)" }),
  "lock-seconds": Args.number({
    metavar: "S",
    default: QueueWorker.DEFAULT_LOCK_MS / 1000,
    help: "a job's lock: if this worker dies, its job goes to another worker after about this long"
  }),
  "max-stalled": Args.int({ metavar: "N", min: 0, default: 1, help: "times a job may lose its worker before it fails for good" })
}

/** What `haemsa worker` can fail with. */
export type WorkerCommandError = Args.UsageError | QueueUrl.QueueUrlError | QueueError

/** `haemsa worker`: take and train search candidates from the job queue until SIGTERM. */
export const command: Command.Command<typeof flags, WorkerCommandError> = Command.make({
  spec: { name: "worker", summary: "Train the candidates of searches run with --queue (until SIGTERM).", flags },
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      const url = yield* Effect.fromResult(QueueUrl.resolve({ flag: f.queue, file: f["queue-file"], env: process.env }))
      if (url === undefined) {
        return yield* new Args.UsageError({ reason: `haemsa worker needs --queue URL, --queue-file FILE or $${QueueUrl.ENV_VAR}` })
      }
      if (!(f["lock-seconds"] > 0)) return yield* new Args.UsageError({ reason: "--lock-seconds must be > 0" })
      let signal: () => void = () => undefined
      const stop = new Promise<void>((resolve) => (signal = resolve))
      const onSignal = () => signal()
      process.once("SIGTERM", onSignal)
      process.once("SIGINT", onSignal)
      yield* QueueWorker.run({
        url,
        concurrency: f.concurrency,
        lockMs: Math.round(f["lock-seconds"] * 1000),
        maxStalled: f["max-stalled"],
        log: (line) => io.out(line),
        stop
      }).pipe(Effect.ensuring(Effect.sync(() => {
        process.off("SIGTERM", onSignal)
        process.off("SIGINT", onSignal)
      })))
    })
})
