/**
 * The queue-backed {@link FitnessEvaluator} of `haemsa search --queue`: the coordinator's side of a
 * search across machines. Each evaluation the search asks for becomes one BullMQ job on the search's
 * own queue ({@link QueueJob.queueName}), with a deterministic id ({@link QueueJob.jobId}: the
 * candidate's canonical key and fidelity), then the evaluation waits for the job to finish on any
 * `haemsa worker`. Because the id is deterministic, a coordinator restarted after a crash re-enqueues
 * the same ids and finds the jobs already there: finished ones answer at once, from Redis, and are not
 * trained again; two evaluations of one candidate at one fidelity share one job (counted once). The
 * full trainings after the search (`--select-seeds`, `--retrain`) are jobs of the same queue, with ids
 * of their own ({@link QueueJob.jobId}: the epochs and the training seed).
 *
 * `Search.run` is unchanged: its cache, checkpoint and resume work as with the local worker threads,
 * and since every job trains with the same function, seed, backend and thread count as a local worker
 * thread, the search's result is the same.
 *
 * @since 0.1.0
 */
import type { DatasetLoader, Errors as DatasetErrors } from "@haemsa/datasets"
import { Errors as SearchErrors, FitnessEvaluator } from "@haemsa/evo-search"
import type { Scope } from "effect"
import { Context, Effect, Layer } from "effect"
import * as ExactJson from "../../internal/ExactJson"
import type { ArchitectureSpec } from "../../model/ArchitectureSpec"
import { availableModalities } from "../../model/DataInfo"
import * as Experiment from "../../model/Experiment"
import * as Genome from "../Genome"
import type { EvaluatorOptions, SearchServices } from "../SearchEvaluator"
import { makeSpace, Retrainer, Reuse, SearchSpace, type TrainOutcome } from "../SearchEvaluator"
import * as Bull from "./Bull"
import * as QueueJob from "./QueueJob"
import * as QueueUrl from "./QueueUrl"

/** Attempts of a job before it fails for good (a worker's crash or stall uses one; a refusal none). */
export const DEFAULT_ATTEMPTS = 3

/** How often the coordinator checks that its search was not cancelled. */
export const CANCEL_CHECK = "2 seconds"

/** A queue search's cancellation: `cancelled` fails once `haemsa search --cancel` removed the search's queue. */
export class QueueWatch extends Context.Service<QueueWatch, {
  /** Never succeeds; fails with a {@link Bull.QueueError} when the search's queue is cancelled. */
  readonly cancelled: Effect.Effect<never, Bull.QueueError>
}>()("@haemsa/haemsa-model/QueueWatch") {}

/** Options of the queue-backed evaluator. */
export interface QueueOptions extends EvaluatorOptions {
  readonly url: QueueUrl.QueueUrl
  /** The search's queue ({@link QueueJob.queueName}). */
  readonly queueName: string
  /** The backend the workers train on (default wasm). */
  readonly backend?: string
  /** Threads of the workers' wasm backend (default 1). */
  readonly threads?: number
  /** Attempts per job (default {@link DEFAULT_ATTEMPTS}). */
  readonly attempts?: number
  /** Where progress lines go (no password in them). */
  readonly log?: (line: string) => void
}

const evaluationError = (url: QueueUrl.QueueUrl, e: unknown) =>
  new SearchErrors.EvaluationError({ reason: QueueUrl.redactText(e instanceof Error ? e.message : String(e), url) })

/** The return value of a finished job, whether BullMQ gives it parsed or as JSON text. */
const resultOf = (value: unknown): Record<string, unknown> | null =>
  (typeof value === "string" ? JSON.parse(value) : value) as Record<string, unknown> | null

/** An evaluation job's fitness. */
const fitnessOf = (value: unknown): number => {
  const result = resultOf(value)
  if (result === null || typeof result.fitness !== "number") throw new Error(`a worker returned no fitness (${JSON.stringify(value)})`)
  return result.fitness
}

/** A full training job's outcome (sent as `ExactJson`: NaN metrics stay NaN). */
const outcomeOf = (value: unknown): TrainOutcome => {
  const result = resultOf(value)
  if (result === null || typeof result.retrain !== "string") throw new Error(`a worker returned no training outcome (${JSON.stringify(value)})`)
  const outcome = ExactJson.parse(result.retrain) as TrainOutcome
  if (typeof outcome?.objective !== "number" || typeof outcome.valid !== "object" || typeof outcome.test !== "object") {
    throw new Error(`a worker returned a malformed training outcome (${result.retrain.slice(0, 200)})`)
  }
  return outcome
}

/**
 * The coordinator's evaluator: loads the data once (its modalities decode genomes; its content hash
 * goes into every job), registers the search's queue where workers find it ({@link Bull.REGISTRY}),
 * and turns each evaluation into a job. Also provides the {@link QueueWatch} of the search. The queue's
 * connections close with the layer's scope. The full trainings after the search (the selection's
 * finalists, `--retrain`'s winner and default) are jobs too ({@link QueueJob.RetrainSchema}), trained
 * by the workers like the evaluations: its {@link Retrainer}.
 */
export const layer = (
  options: QueueOptions
): Layer.Layer<SearchServices | QueueWatch, DatasetErrors.DatasetError | Bull.QueueError, DatasetLoader.DatasetLoader> =>
  Layer.effectContext(
    Effect.gen(function*(): Effect.fn.Return<
      Context.Context<SearchServices | QueueWatch>,
      DatasetErrors.DatasetError | Bull.QueueError,
      DatasetLoader.DatasetLoader | Scope.Scope
    > {
      const bull = yield* Bull.load
      const data = yield* Experiment.loadNormalized(options.source, options.loadOptions)
      const hash = QueueJob.dataHash(data.dataset)
      const space = makeSpace(availableModalities(data.info), options.base)
      const url = options.url
      const connection = QueueUrl.connectionOptions(url)
      const name = options.queueName
      const attempt = <A>(f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (e) => Bull.QueueError.redacted(url, e) })
      const queue = yield* Effect.acquireRelease(
        Effect.sync(() => new bull.Queue(name, { connection })),
        (q) => Effect.promise(() => q.close().catch(() => undefined))
      )
      // an unreachable Redis would otherwise retry forever: the first connection has a deadline
      queue.on("error", () => undefined)
      yield* attempt(() => queue.waitUntilReady()).pipe(
        Effect.timeoutOrElse({
          duration: "20 seconds",
          orElse: () => Effect.fail(new Bull.QueueError({ reason: `cannot reach Redis at ${QueueUrl.redact(url)}` }))
        })
      )
      const events = yield* Effect.acquireRelease(
        Effect.sync(() => new bull.QueueEvents(name, { connection })),
        (e) => Effect.promise(() => e.close().catch(() => undefined))
      )
      events.on("error", () => undefined)
      yield* attempt(async () => {
        await events.waitUntilReady()
        await (await queue.client).hset(Bull.REGISTRY, { [name]: Date.now() })
      })
      options.log?.(`queue ${name} on ${QueueUrl.redact(url)}: jobs wait for haemsa workers`)
      const versions = QueueJob.localVersions()
      const inflight = new Map<string, Promise<unknown>>()

      /** Enqueues a job (or finds the one with its id) and resolves with its return value. */
      const submit = (payload: QueueJob.JobPayload): Promise<unknown> => {
        const id = QueueJob.jobId(payload)
        const running = inflight.get(id)
        if (running !== undefined) return running
        const promise = (async () => {
          // an existing job with this id (a restarted coordinator's) is returned as it is, finished or not
          const job = await queue.add("evaluate", payload, {
            jobId: id,
            attempts: options.attempts ?? DEFAULT_ATTEMPTS,
            backoff: { type: "fixed", delay: 1000 },
            removeOnComplete: false,
            removeOnFail: false
          })
          return job.waitUntilFinished(events)
        })()
        inflight.set(id, promise)
        promise.then(() => inflight.delete(id), () => inflight.delete(id))
        return promise
      }

      /** A job's payload: what every job of this search shares, the architecture, and what to train. */
      const payload = (spec: ArchitectureSpec, task: Pick<QueueJob.JobPayload, "fidelity" | "retrain">): QueueJob.JobPayload => ({
        versions,
        key: Genome.canonicalKey(spec),
        spec,
        ...task,
        seed: options.seed ?? 0,
        data: { source: options.source, ...(options.loadOptions !== undefined ? { loadOptions: options.loadOptions } : {}), hash },
        backend: options.backend ?? "wasm",
        threads: options.threads ?? 1,
        ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
        ...(options.patience !== undefined ? { patience: options.patience } : {})
      })
      const evaluator: FitnessEvaluator.FitnessEvaluator["Service"] = {
        evaluate: (genome, fidelity) =>
          Effect.try({ try: () => space.decode(genome), catch: (e) => evaluationError(url, e) }).pipe(
            Effect.flatMap((spec) =>
              Effect.tryPromise({
                try: () => submit(payload(spec, { fidelity: { ...fidelity } })).then(fitnessOf),
                catch: (e) => evaluationError(url, e)
              })
            )
          )
      }
      // (text features other than tokens are refused with --queue before the search starts)
      const retrainer: Retrainer["Service"] = {
        retrain: (spec, epochs, _text, seed) =>
          Effect.tryPromise({
            try: () => submit(payload(spec, { retrain: { epochs, ...(seed !== undefined ? { seed } : {}) } })).then(outcomeOf),
            catch: (e) => evaluationError(url, e)
          })
      }
      // the queue is gone from the registry: `haemsa search --cancel` ran (a failed check is retried)
      const registered = Effect.tryPromise(async () => (await (await queue.client).hexists(Bull.REGISTRY, name)) === 1).pipe(
        Effect.orElseSucceed(() => true)
      )
      const cancelled: Effect.Effect<never, Bull.QueueError> = Effect.sleep(CANCEL_CHECK).pipe(
        Effect.andThen(registered),
        Effect.repeat({ while: (present) => present }),
        Effect.andThen(Effect.fail(new Bull.QueueError({ reason: `the search was cancelled: its queue ${name} was removed (haemsa search --cancel)` })))
      )
      return Context.make(SearchSpace, space).pipe(
        Context.add(FitnessEvaluator.FitnessEvaluator, evaluator),
        Context.add(Retrainer, retrainer),
        // every job trains from the start: a continued state would have to travel through Redis
        Context.add(Reuse, { stats: () => ({ evaluations: 0, epochs: 0 }) }),
        Context.add(QueueWatch, { cancelled })
      )
    })
  )

/** What `haemsa search --status` shows. */
export interface QueueStatus {
  readonly queue: string
  readonly waiting: number
  readonly active: number
  readonly done: number
  readonly failed: number
  /** Active jobs, the worker that holds each, and what it trains ({@link QueueJob.describeWork}). */
  readonly running: ReadonlyArray<{ readonly job: string; readonly candidate: string; readonly worker: string }>
  /** Jobs failed for good and why. */
  readonly failures: ReadonlyArray<{ readonly job: string; readonly reason: string }>
}

const withQueue = <A>(url: QueueUrl.QueueUrl, name: string, f: (queue: import("bullmq").Queue) => Promise<A>): Effect.Effect<A, Bull.QueueError> =>
  Effect.gen(function*(): Effect.fn.Return<A, Bull.QueueError> {
    const bull = yield* Bull.load
    return yield* Effect.acquireUseRelease(
      Effect.sync(() => {
        const queue = new bull.Queue(name, { connection: QueueUrl.connectionOptions(url) })
        queue.on("error", () => undefined)
        return queue
      }),
      (queue) =>
        Effect.tryPromise({ try: () => f(queue), catch: (e) => Bull.QueueError.redacted(url, e) }).pipe(
          Effect.timeoutOrElse({
            duration: "30 seconds",
            orElse: () => Effect.fail(new Bull.QueueError({ reason: `no answer from Redis at ${QueueUrl.redact(url)}` }))
          })
        ),
      (queue) => Effect.promise(() => queue.close().catch(() => undefined))
    )
  })

/** The counts of a search's queue, its active jobs with their workers, and its failures. */
export const status = (url: QueueUrl.QueueUrl, name: string): Effect.Effect<QueueStatus, Bull.QueueError> =>
  withQueue(url, name, async (queue) => {
    const counts = await queue.getJobCounts("waiting", "delayed", "prioritized", "active", "completed", "failed")
    const active = await queue.getJobs(["active"])
    const failed = await queue.getJobs(["failed"])
    return {
      queue: name,
      waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0),
      active: counts.active ?? 0,
      done: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      running: active.map((job) => ({
        job: job.id ?? "?",
        candidate: QueueJob.describeWork(job.data),
        worker: typeof job.progress === "object" && job.progress !== null && "worker" in job.progress ? String(job.progress.worker) : "?"
      })),
      failures: failed.map((job) => ({ job: job.id ?? "?", reason: QueueUrl.redactText(job.failedReason ?? "", url) }))
    }
  })

/** Stops a search's queue: removes it and all its jobs (also active ones) and unregisters it. */
export const cancel = (url: QueueUrl.QueueUrl, name: string): Effect.Effect<void, Bull.QueueError> =>
  withQueue(url, name, async (queue) => {
    await (await queue.client).hdel(Bull.REGISTRY, name)
    await queue.obliterate({ force: true })
  })
