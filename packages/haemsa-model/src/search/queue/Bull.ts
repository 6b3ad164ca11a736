/**
 * BullMQ, loaded only when a search or a worker uses `--queue` (it is an optional peer dependency):
 * {@link load} imports it dynamically, and a missing package is a {@link QueueError} saying how to
 * install it. Every queue error passes through {@link QueueError.redacted}, so the queue's password
 * never appears in a message.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as QueueUrl from "./QueueUrl"

/** A job queue failure: BullMQ missing, Redis unreachable, a refused command. The reason holds no password. */
export class QueueError extends Schema.TaggedError<QueueError>()("QueueError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `job queue: ${this.reason}`
  }

  /** A queue error from any failure, with the URL's password removed from its text. */
  static redacted(url: QueueUrl.QueueUrl | undefined, e: unknown): QueueError {
    return new QueueError({ reason: QueueUrl.redactText(e instanceof Error ? e.message : String(e), url) })
  }
}

/** The BullMQ module. */
export type BullMQ = typeof import("bullmq")

/** How to install BullMQ. */
export const INSTALL_HINT = "npm install bullmq@^5.81.5 (next to @haemsa/haemsa-model; only --queue needs it)"

/** The specifier {@link load} imports (a variable, so bundlers leave the optional import alone). */
const SPECIFIER: string = "bullmq"

/**
 * Imports BullMQ with `importer` (default: a dynamic `import`); a missing package fails with a
 * {@link QueueError} naming the install command.
 */
export const loadWith = (importer: (specifier: string) => Promise<unknown>): Effect.Effect<BullMQ, QueueError> =>
  Effect.tryPromise({
    try: () => importer(SPECIFIER) as Promise<BullMQ>,
    catch: (e) =>
      new QueueError({
        reason: (e as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" || /Cannot find (module|package)/.test(String(e))
          ? `--queue needs the bullmq package, which is not installed: ${INSTALL_HINT}`
          : `cannot load bullmq: ${e instanceof Error ? e.message : String(e)}`
      })
  })

/** Imports BullMQ; a missing package fails with a {@link QueueError} naming the install command. */
export const load: Effect.Effect<BullMQ, QueueError> = loadWith((specifier) => import(specifier))

/** The Redis hash (queue name to registration time) where coordinators register their queue names, so workers find every search's queue. */
export const REGISTRY = "haemsa:queues"
