/**
 * The worker's side of a search across machines (`haemsa worker --queue URL`): it finds every
 * search's queue in Redis ({@link Bull.REGISTRY}), takes jobs from them, and trains each candidate on
 * a fitness worker thread (the same `FitnessWorker` threads and `fitness` and `retrain` jobs as a local
 * search: the evaluations, and the full trainings of `--select-seeds` and `--retrain`),
 * so this process's event loop stays free for BullMQ's lock renewal while training runs.
 *
 * Before building anything a job is checked, and refused (failed at once, not retried, with the reason
 * recorded on the job) when its payload does not decode ({@link QueueJob.validate}, the architecture
 * with its Schema), its coordinator runs another haemsa or tfjs version, its backend cannot be set up
 * here, or this machine's copy of its data has another content hash. A job whose worker dies
 * (SIGKILL) keeps its lock only for `lockMs`: BullMQ's stalled-job check then gives it to another
 * worker (at most `maxStalled` times).
 *
 * @since 0.1.0
 */
import { DatasetLoader } from "@haemsa/datasets"
import type { Job, Worker as BullWorker } from "bullmq"
import { Deferred, Effect, Exit, Scope } from "effect"
import * as os from "node:os"
import * as ExactJson from "../../internal/ExactJson"
import * as Experiment from "../../model/Experiment"
import * as SearchReport from "../SearchReport"
import { spawnWorker, type WorkerConfig, type WorkerJob } from "../SearchEvaluator"
import * as WorkerPool from "../internal/workerPool"
import * as Bull from "./Bull"
import * as QueueJob from "./QueueJob"
import * as QueueUrl from "./QueueUrl"

/** Default lock duration of a job (BullMQ's default): a dead worker's job is retried after about this long. */
export const DEFAULT_LOCK_MS = 30_000

/** Options of {@link run}. */
export interface WorkerOptions {
  readonly url: QueueUrl.QueueUrl
  /** Jobs trained at a time (threads; default 1). */
  readonly concurrency?: number
  /** Lock duration of a job in ms; the stalled check runs at this interval too (default {@link DEFAULT_LOCK_MS}). */
  readonly lockMs?: number
  /** How often a job may stall (its worker died) before it fails for good (default 1). */
  readonly maxStalled?: number
  /** How often to look for new searches' queues, in ms (default 2000). */
  readonly discoverMs?: number
  /** This worker's name in `--status` (default host:pid). */
  readonly name?: string
  /** Where progress lines go (never with the password). */
  readonly log: (line: string) => void
  /** Resolves when the worker should stop (SIGTERM): it finishes its jobs and returns. */
  readonly stop: Promise<void>
  /** What this worker accepts (default: this process's versions, any backend it can set up). */
  readonly capabilities?: QueueJob.Capabilities
}

/** A job's training settings: jobs with the same ones share a pool of threads. */
const poolKey = (p: QueueJob.JobPayload) =>
  JSON.stringify([p.data.source, p.data.loadOptions ?? null, p.backend, p.threads, p.seed, p.batchSize ?? null, p.patience ?? null])

/**
 * Runs a worker until `stop` resolves: then it stops taking jobs, finishes the ones it holds, stops its
 * threads and returns. Fails with a {@link Bull.QueueError} when BullMQ is missing or Redis unreachable.
 */
export const run = (options: WorkerOptions): Effect.Effect<void, Bull.QueueError> =>
  Effect.gen(function*() {
    const bull = yield* Bull.load
    const url = options.url
    const connection = QueueUrl.connectionOptions(url)
    const name = options.name ?? `${os.hostname()}:${process.pid}`
    const concurrency = options.concurrency ?? 1
    const lockMs = options.lockMs ?? DEFAULT_LOCK_MS
    const capabilities = options.capabilities ?? { versions: QueueJob.localVersions() }
    const log = (line: string) => options.log(QueueUrl.redactText(line, url))
    const scope = yield* Scope.make()
    const registry = new bull.Queue("haemsa-registry", { connection })
    registry.on("error", () => undefined)
    yield* Effect.tryPromise({ try: () => registry.waitUntilReady(), catch: (e) => Bull.QueueError.redacted(url, e) }).pipe(
      Effect.timeoutOrElse({
        duration: "20 seconds",
        orElse: () => Effect.fail(new Bull.QueueError({ reason: `cannot reach Redis at ${QueueUrl.redact(url)}` }))
      })
    )
    log(`worker ${name}: waiting for jobs on ${QueueUrl.redact(url)} (concurrency ${concurrency})`)

    // the content hash of each data reference, as this machine loads it (once)
    const hashes = new Map<string, Promise<string>>()
    const localHash = (ref: QueueJob.DataReference) => {
      const key = JSON.stringify([ref.source, ref.loadOptions ?? null])
      let hash = hashes.get(key)
      if (hash === undefined) {
        hash = Effect.runPromise(
          Experiment.loadNormalized(ref.source, ref.loadOptions as DatasetLoader.LoadOptions | undefined).pipe(
            Effect.map((data) => QueueJob.dataHash(data.dataset)),
            Effect.provide(DatasetLoader.DatasetLoader.layer)
          )
        )
        hashes.set(key, hash)
        hash.catch(() => hashes.delete(key))
      }
      return hash
    }

    // one pool of fitness threads per training setting, started at its first job
    const pools = new Map<string, Promise<WorkerPool.WorkerPool>>()
    const poolFor = (payload: QueueJob.JobPayload) => {
      const key = poolKey(payload)
      let pool = pools.get(key)
      if (pool === undefined) {
        const config: WorkerConfig = {
          backend: payload.backend,
          wasmThreads: payload.threads,
          options: {
            source: payload.data.source,
            ...(payload.data.loadOptions !== undefined ? { loadOptions: payload.data.loadOptions as DatasetLoader.LoadOptions } : {}),
            seed: payload.seed,
            ...(payload.batchSize !== undefined ? { batchSize: payload.batchSize } : {}),
            ...(payload.patience !== undefined ? { patience: payload.patience } : {})
          }
        }
        pool = Effect.runPromise(Scope.provide(WorkerPool.make(concurrency, () => spawnWorker(config)), scope))
        pools.set(key, pool)
        pool.catch(() => pools.delete(key))
      }
      return pool
    }

    const processor = async (job: Job) => {
      const refuse = (reason: string) => {
        log(`job ${job.id}: refused: ${reason}`)
        throw new bull.UnrecoverableError(reason)
      }
      const checked = QueueJob.validate(job.data)
      if (checked._tag === "Failure") return refuse(checked.failure.reason)
      const payload = checked.success
      const incompatible = QueueJob.incompatibility(payload, capabilities)
      if (incompatible !== undefined) return refuse(incompatible)
      let hash: string
      try {
        hash = await localHash(payload.data)
      } catch (e) {
        return refuse(`cannot load the data ${payload.data.source}: ${e instanceof Error ? e.message : String(e)}`)
      }
      const mismatch = QueueJob.dataMismatch(payload.data, hash)
      if (mismatch !== undefined) return refuse(mismatch)
      let pool: WorkerPool.WorkerPool
      try {
        pool = await poolFor(payload)
      } catch (e) {
        return refuse(`cannot train on backend ${payload.backend} here: ${e instanceof Error ? e.message : String(e)}`)
      }
      await job.updateProgress({ worker: name })
      const candidate = SearchReport.describeArchitecture(payload.spec)
      // an evaluation or a full training (validate let through only jobs with one of the two)
      const { fidelity, retrain } = payload
      const work: WorkerJob = fidelity !== undefined
        ? { type: "fitness", spec: payload.spec, fidelity, progress: true }
        : { type: "retrain", spec: payload.spec, epochs: retrain!.epochs, ...(retrain!.seed !== undefined ? { seed: retrain!.seed } : {}) }
      log(`job ${job.id} (attempt ${job.attemptsMade + 1}): candidate ${candidate} ` + (work.type === "fitness"
        ? `at level ${work.fidelity.level} (${work.fidelity.epochs ?? "default"} epochs, fraction ${work.fidelity.fraction ?? 1})`
        : `trained for up to ${work.epochs} epochs on all the train split (seed ${work.seed ?? payload.seed})`))
      const started = performance.now()
      const exit = await Effect.runPromiseExit(pool.run(work, (line) => log(`job ${job.id}: ${line}`)))
      const seconds = (performance.now() - started) / 1000
      if (Exit.isFailure(exit)) {
        const reason = exit.cause.toString()
        log(`job ${job.id}: failed after ${seconds.toFixed(1)}s: ${reason}`)
        throw new Error(reason)
      }
      const reply = exit.value
      if (reply.type === "fitness" && work.type === "fitness") {
        log(`job ${job.id}: fitness ${reply.outcome.fitness.toFixed(4)} in ${seconds.toFixed(1)}s`)
        return { fitness: reply.outcome.fitness, seconds, worker: name } satisfies QueueJob.JobResult
      }
      if (reply.type === "retrain" && work.type === "retrain") {
        log(`job ${job.id}: valid objective ${reply.outcome.objective.toFixed(4)} after ${reply.outcome.epochs} epochs in ${seconds.toFixed(1)}s`)
        return { retrain: ExactJson.stringify(reply.outcome), seconds, worker: name } satisfies QueueJob.JobResult
      }
      throw new Error(`the training thread answered ${reply.type} to a ${work.type} job`)
    }

    const workers = new Map<string, BullWorker>()
    const stopped = yield* Deferred.make<void>()
    options.stop.then(() => Deferred.doneUnsafe(stopped, Effect.void))
    const discover = async () => {
      const names = Object.keys(await (await registry.client).hgetall(Bull.REGISTRY))
      for (const queueName of names) {
        if (workers.has(queueName)) continue
        const worker = new bull.Worker(queueName, processor, {
          connection,
          concurrency,
          lockDuration: lockMs,
          stalledInterval: lockMs,
          maxStalledCount: options.maxStalled ?? 1,
          name
        })
        worker.on("error", (e) => log(`queue ${queueName}: ${e.message}`))
        workers.set(queueName, worker)
        log(`worker ${name}: taking jobs of ${queueName}`)
      }
      for (const [queueName, worker] of workers) {
        if (names.includes(queueName)) continue
        // the search was cancelled: its queue is gone
        workers.delete(queueName)
        log(`worker ${name}: ${queueName} was cancelled`)
        void worker.close(true).catch(() => undefined)
      }
    }
    const loop = Effect.gen(function*() {
      while (true) {
        yield* Effect.tryPromise(discover).pipe(Effect.catch((e) => Effect.sync(() => log(`cannot list the searches' queues: ${String(e)}`))))
        yield* Effect.sleep(options.discoverMs ?? 2000)
      }
    })
    yield* Effect.raceFirst(loop, Deferred.await(stopped))
    log(`worker ${name}: stopping (finishing the jobs it holds)`)
    yield* Effect.promise(() => Promise.all([...workers.values()].map((w) => w.close().catch(() => undefined))))
    yield* Effect.promise(() => registry.close().catch(() => undefined))
    yield* Scope.close(scope, Exit.void)
    log(`worker ${name}: stopped`)
  })
