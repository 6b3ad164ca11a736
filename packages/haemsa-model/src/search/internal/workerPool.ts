/**
 * The fitness workers as an Effect `Pool` of a fixed size: each item is one started worker thread
 * (acquired once it answered `ready`, released by terminating it). A job borrows an idle worker
 * (waiting for one when all are busy, so the pool's size is the concurrency), posts the request and
 * awaits the reply. A worker that crashed or exited is invalidated (`Pool.invalidate`) and the pool
 * starts a fresh one in its place; so is one whose job was interrupted, since it is still busy with
 * that job. Closing the pool's scope terminates every worker.
 *
 * @internal
 */
import type { Dataset } from "@haemsa/datasets"
import { Errors as SearchErrors } from "@haemsa/evo-search"
import type { Scope } from "effect"
import { Deferred, Effect, Exit, Pool, Schema } from "effect"
import type { Worker } from "node:worker_threads"
import type { WorkerJob, WorkerReply, WorkerRequest } from "../SearchEvaluator"

/** The worker pool could not start (a worker failed to load the data or to set up its backend). */
export class WorkerPoolError extends Schema.TaggedError<WorkerPoolError>()("WorkerPoolError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `fitness workers: ${this.reason}`
  }
}

/** A reply to a job (its result or failure; progress lines go to the job's listener). */
export type JobReply = Exclude<Extract<WorkerReply, { readonly id: number }>, { readonly type: "progress" }>

/** A started pool of fitness workers. */
export interface WorkerPool {
  /** The modalities of the data, as the first worker loaded it. */
  readonly modalities: ReadonlyArray<Dataset.Modality>
  /**
   * Runs a job on an idle worker; fails with an `EvaluationError` when the job failed, its worker
   * crashed or exited, or no replacement worker could start. The job's progress lines (a fitness job
   * with `progress: true`) go to `onProgress`.
   */
  readonly run: (job: WorkerJob, onProgress?: (line: string) => void) => Effect.Effect<JobReply, SearchErrors.EvaluationError>
}

/** The ready message of a worker. */
type Ready = Extract<WorkerReply, { readonly type: "ready" }>

/**
 * One worker thread and what waits on it. Its listeners are attached as it is spawned, so no
 * message, crash or exit is missed whether or not a job is waiting.
 */
interface Thread {
  readonly worker: Worker
  /** Its ready message, or why it could not start. */
  readonly ready: Deferred.Deferred<Ready, WorkerPoolError>
  /** Why it is gone (it crashed or exited), once it is. */
  lost: string | undefined
  /** The job waiting for its reply: at most one, a pool item serves one job at a time. */
  job: {
    readonly id: number
    readonly reply: Deferred.Deferred<JobReply, SearchErrors.EvaluationError>
    readonly onProgress: ((line: string) => void) | undefined
  } | undefined
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Wraps a spawned worker: its replies, crash and exit go to whatever waits on it. */
const watch = (worker: Worker): Thread => {
  const thread: Thread = { worker, ready: Deferred.makeUnsafe(), lost: undefined, job: undefined }
  const lose = (startReason: string, reason: string) => {
    // a crash emits "error" and then "exit": the first names the loss
    if (thread.lost !== undefined) return
    thread.lost = reason
    Deferred.doneUnsafe(thread.ready, Effect.fail(new WorkerPoolError({ reason: startReason })))
    if (thread.job !== undefined) Deferred.doneUnsafe(thread.job.reply, Effect.fail(new SearchErrors.EvaluationError({ reason })))
  }
  worker.on("message", (reply: WorkerReply) => {
    if (reply.type === "ready") Deferred.doneUnsafe(thread.ready, Effect.succeed(reply))
    else if (reply.type === "fatal") Deferred.doneUnsafe(thread.ready, Effect.fail(new WorkerPoolError({ reason: reply.reason })))
    else if (reply.type === "progress") {
      if (thread.job !== undefined && thread.job.id === reply.id) thread.job.onProgress?.(reply.line)
    } else if (thread.job !== undefined && thread.job.id === reply.id) {
      Deferred.doneUnsafe(
        thread.job.reply,
        reply.type === "failed" ? Effect.fail(new SearchErrors.EvaluationError({ reason: reply.reason })) : Effect.succeed(reply)
      )
    }
  })
  worker.on("error", (error: Error) => lose(error.message, `the fitness worker crashed: ${error.message}`))
  worker.on("exit", (code: number) =>
    lose(`a worker exited with code ${code} before it was ready`, `the fitness worker exited with code ${code}`)
  )
  return thread
}

/** Spawns a worker and waits for its `ready` message; closing the scope terminates it (also when it never got ready). */
const start = (spawn: () => Worker): Effect.Effect<Thread, WorkerPoolError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.try({ try: () => watch(spawn()), catch: (e) => new WorkerPoolError({ reason: describe(e) }) }),
    (thread) => Effect.promise(() => thread.worker.terminate())
  ).pipe(Effect.tap((thread) => Deferred.await(thread.ready)))

/**
 * Starts `size` workers with `spawn` and waits until every one is ready (the first that cannot start
 * fails the pool with its reason). The workers stop when the scope closes.
 */
export const make = (size: number, spawn: () => Worker): Effect.Effect<WorkerPool, WorkerPoolError, Scope.Scope> =>
  Effect.gen(function*() {
    const pool = yield* Pool.make({ acquire: start(spawn), size })
    const started = yield* Effect.scoped(Effect.forEach(Array.from({ length: size }), () => Pool.get(pool), { concurrency: "unbounded" }))
    const { modalities } = yield* Deferred.await(started[0].ready)
    let nextId = 0

    /**
     * Posts the job to a borrowed worker and awaits its reply. A worker that is lost, or still busy
     * with an interrupted job, is replaced.
     */
    const post = (thread: Thread, job: WorkerJob, onProgress?: (line: string) => void): Effect.Effect<JobReply, SearchErrors.EvaluationError> => {
      const reply = Deferred.makeUnsafe<JobReply, SearchErrors.EvaluationError>()
      const id = nextId++
      thread.job = { id, reply, onProgress }
      try {
        thread.worker.postMessage({ ...job, id } satisfies WorkerRequest)
      } catch (e) {
        Deferred.doneUnsafe(reply, Effect.fail(new SearchErrors.EvaluationError({ reason: describe(e) })))
      }
      return Deferred.await(reply).pipe(
        Effect.onExit((exit) =>
          Effect.suspend(() => {
            thread.job = undefined
            return thread.lost !== undefined || Exit.hasInterrupts(exit) ? Pool.invalidate(pool, thread) : Effect.void
          })
        )
      )
    }

    const run = (job: WorkerJob, onProgress?: (line: string) => void): Effect.Effect<JobReply, SearchErrors.EvaluationError> =>
      Pool.use(pool, (thread) =>
        Effect.suspend(() =>
          // gone while idle: replace it and take another worker (the job has not started)
          thread.lost !== undefined ? Effect.andThen(Pool.invalidate(pool, thread), run(job, onProgress)) : post(thread, job, onProgress)
        )).pipe(
          Effect.catchTag("WorkerPoolError", (e) => Effect.fail(new SearchErrors.EvaluationError({ reason: e.message })))
        )

    return { modalities, run }
  })
