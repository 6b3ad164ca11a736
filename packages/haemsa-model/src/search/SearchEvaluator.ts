/**
 * The fitness of a HAEMSA genome, as the {@link FitnessEvaluator} service of `@haemsa/evo-search`:
 * decode the genome ({@link Genome.decode}), train the architecture at the asked fidelity (epochs,
 * fraction of the train split) and return the validation objective (MAE for sentiment; lower is
 * better). Two layers provide it, each together with the {@link SearchSpace} of the loaded data:
 *
 * - {@link layerInProcess}: trains in this thread, one candidate at a time (tests, `--workers 0`);
 * - {@link layerWorkers}: a pool of worker threads (default one per CPU; an Effect `Pool`), each
 *   loading the dataset once and setting up its own backend; candidates are trained in parallel.
 *
 * Both give the same fitness for the same genome, seed and backend: training is seeded and the
 * workers run the same {@link fitness} function. Both also provide a {@link Retrainer} that trains an
 * architecture at full fidelity and scores the valid and test splits (the winner of a search and the
 * default architecture, side by side; the pool trains them in parallel).
 *
 * @since 0.1.0
 */
import type { Dataset, DatasetLoader, Errors as DatasetErrors } from "@haemsa/datasets"
import { Errors as SearchErrors, FitnessEvaluator } from "@haemsa/evo-search"
import type { Fidelity } from "@haemsa/evo-search"
import { Context, Effect, Layer } from "effect"
import * as os from "node:os"
import type { Worker } from "node:worker_threads"
import type { ArchitectureSpec } from "../model/ArchitectureSpec"
import { defaultSpec } from "../model/ArchitectureSpec"
import type { DataInfo } from "../model/DataInfo"
import { availableModalities } from "../model/DataInfo"
import type * as Evaluate from "../model/Evaluate"
import * as Experiment from "../model/Experiment"
import * as Genome from "./Genome"
import * as WorkerPool from "./internal/workerPool"
import * as Network from "../model/Network"
import { Progress } from "../cli/Progress"
import * as Train from "../model/Train"
import * as Spawn from "../parallel/Spawn"

/** Epochs of a fidelity level that names none. */
export const DEFAULT_EPOCHS = 20

/** How candidates are trained: the same for every candidate of a search. */
export interface EvaluatorOptions {
  /** The data: `synthetic`, a mosi-real folder, a pickle file. */
  readonly source: string
  /** Loader options (e.g. smaller synthetic data in tests). Must be plain data: workers get a copy. */
  readonly loadOptions?: DatasetLoader.LoadOptions
  /** Where the fields no gene controls come from (default: the default architecture). */
  readonly base?: ArchitectureSpec
  /** Training seed of every candidate: weights, shuffling and the train subset (default 0). */
  readonly seed?: number
  readonly batchSize?: number
  /** Early-stopping patience in epochs (default 6). */
  readonly patience?: number
}

/** Options of the worker pool. */
export interface PoolOptions extends EvaluatorOptions {
  /** Worker threads (default `os.availableParallelism()`). */
  readonly workers?: number
  /** The tfjs backend of every worker (default `wasm`). */
  readonly backend?: string
  /** Let the workers' webgpu backend run on a software/fallback adapter (default false). */
  readonly allowSoftwareAdapter?: boolean
  /** Threads of each worker's wasm backend (default: the CPUs divided among the workers, at least 1). */
  readonly wasmThreads?: number
}

/** The worker pool could not start (a worker failed to load the data or to set up its backend). */
export { WorkerPoolError } from "./internal/workerPool"

/** How genomes decode on the loaded data, and their fitness-cache key. */
export class SearchSpace extends Context.Service<SearchSpace, {
  /** The modalities the data has: the subset genes choose among these. */
  readonly modalities: ReadonlyArray<Dataset.Modality>
  /** The architecture of a genome; throws a `Genome.GenomeError` for an invalid one. */
  readonly decode: (genome: ReadonlyArray<number>) => ArchitectureSpec
  /** The canonical key of a genome's architecture (a deterministic function, as the search needs). */
  readonly key: (genome: ReadonlyArray<number>) => string
}>()("@haemsa/haemsa-model/SearchSpace") {}

/** A full training run: best validation objective, valid and test metrics, cost. */
export interface TrainOutcome {
  readonly objective: number
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
  readonly epochs: number
  readonly bestEpoch: number
  readonly seconds: number
}

/** Trains an architecture at full fidelity (all the train split, `epochs` with early stopping). */
export class Retrainer extends Context.Service<Retrainer, {
  readonly retrain: (spec: ArchitectureSpec, epochs: number) => Effect.Effect<TrainOutcome, SearchErrors.EvaluationError>
}>()("@haemsa/haemsa-model/Retrainer") {}

/** The search space over `modalities` with fields from `base`. */
export const makeSpace = (modalities: ReadonlyArray<Dataset.Modality>, base: ArchitectureSpec = defaultSpec): SearchSpace["Service"] => {
  const decode = (genome: ReadonlyArray<number>) => Genome.decode(genome, base, { modalities })
  return { modalities, decode, key: (genome) => Genome.canonicalKey(decode(genome)) }
}

/** The training options of a fidelity level. */
export const trainOptions = (fidelity: Fidelity.Fidelity, options: EvaluatorOptions): Train.TrainOptions => ({
  epochs: fidelity.epochs ?? DEFAULT_EPOCHS,
  seed: options.seed ?? 0,
  ...(fidelity.fraction !== undefined && fidelity.fraction < 1 ? { trainFraction: fidelity.fraction } : {}),
  ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  ...(options.patience !== undefined ? { patience: options.patience } : {})
})

/**
 * Trains `spec` at `fidelity` on normalised data and returns its best validation objective. Progress
 * lines of the training (one per epoch) go to `log`, or are dropped (the search reports per generation).
 */
export const fitness = (
  spec: ArchitectureSpec,
  data: { readonly dataset: Dataset.Dataset; readonly info: DataInfo },
  fidelity: Fidelity.Fidelity,
  options: EvaluatorOptions,
  log?: (line: string) => void
) =>
  Effect.gen(function*() {
    const result = yield* Train.train(spec, data.dataset, data.info, trainOptions(fidelity, options))
    Network.dispose(result.net)
    return result.bestObjective
  }).pipe(Effect.provide(log === undefined ? Progress.layerSilent : Layer.succeed(Progress, { update: () => undefined, log })))

/** Trains `spec` for `epochs` on all the train split (early stopping as configured) and scores valid and test. */
export const retrain = (
  spec: ArchitectureSpec,
  data: { readonly dataset: Dataset.Dataset; readonly info: DataInfo },
  epochs: number,
  options: EvaluatorOptions
) =>
  Effect.gen(function*() {
    const { result, valid, test } = yield* Experiment.trainOn(spec, data, trainOptions({ level: 0, epochs }, options))
    Network.dispose(result.net)
    return {
      objective: result.bestObjective,
      valid,
      test,
      epochs: result.history.length,
      bestEpoch: result.bestEpoch,
      seconds: result.seconds
    } satisfies TrainOutcome
  }).pipe(Effect.provide(Progress.layerSilent))

/** The services {@link fitness} needs: the model parts (experts, fusion, losses). */
export type FitnessServices = Effect.Services<ReturnType<typeof fitness>>

/** Any failure of an evaluation as the search's typed error. */
const evaluationError = (e: unknown): SearchErrors.EvaluationError =>
  e instanceof SearchErrors.EvaluationError
    ? e
    : new SearchErrors.EvaluationError({ reason: e instanceof Error ? e.message : String(e) })

/**
 * The in-process evaluator: loads and normalises the data once, then trains candidates in this
 * thread on the backend already set up (the `Backend` service). Also provides the {@link SearchSpace}.
 */
export const layerInProcess = (
  options: EvaluatorOptions
): Layer.Layer<SearchServices, DatasetErrors.DatasetError, DatasetLoader.DatasetLoader | FitnessServices> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const data = yield* Experiment.loadNormalized(options.source, options.loadOptions)
      const space = makeSpace(availableModalities(data.info), options.base)
      const context = yield* Effect.context<FitnessServices>()
      const evaluator: FitnessEvaluator.FitnessEvaluator["Service"] = {
        evaluate: (genome, fidelity) =>
          Effect.try({ try: () => space.decode(genome), catch: evaluationError }).pipe(
            Effect.flatMap((spec) => fitness(spec, data, fidelity, options)),
            Effect.provideContext(context),
            Effect.mapError(evaluationError)
          )
      }
      const retrainer: Retrainer["Service"] = {
        retrain: (spec, epochs) =>
          retrain(spec, data, epochs, options).pipe(Effect.provideContext(context), Effect.mapError(evaluationError))
      }
      return Context.make(SearchSpace, space).pipe(
        Context.add(FitnessEvaluator.FitnessEvaluator, evaluator),
        Context.add(Retrainer, retrainer)
      )
    })
  )

/** What both evaluator layers provide. */
export type SearchServices = SearchSpace | FitnessEvaluator.FitnessEvaluator | Retrainer

/** What the parent sends a worker (its `workerData`). */
export interface WorkerConfig {
  readonly backend: string
  /** Accept a software/fallback webgpu adapter. */
  readonly allowSoftwareAdapter?: boolean
  readonly wasmThreads: number
  /** The data and the training settings. */
  readonly options: EvaluatorOptions
}

/** A job for a worker: a fitness at a fidelity, or a full training run. */
export type WorkerJob =
  | {
    readonly type: "fitness"
    readonly spec: ArchitectureSpec
    readonly fidelity: Fidelity.Fidelity
    /** Send the training's progress lines (one per epoch) as `progress` replies. */
    readonly progress?: boolean
  }
  | { readonly type: "retrain"; readonly spec: ArchitectureSpec; readonly epochs: number }

/** What the parent sends a worker: a job and its id. */
export type WorkerRequest = WorkerJob & { readonly id: number }

/** What a worker answers: ready (after loading) or fatal (it could not start), then one reply per job. */
export type WorkerReply =
  | { readonly type: "ready"; readonly modalities: ReadonlyArray<Dataset.Modality>; readonly backend: string }
  | { readonly type: "fatal"; readonly reason: string }
  | { readonly type: "fitness"; readonly id: number; readonly fitness: number }
  | { readonly type: "retrain"; readonly id: number; readonly outcome: TrainOutcome }
  | { readonly type: "failed"; readonly id: number; readonly reason: string }
  | { readonly type: "progress"; readonly id: number; readonly line: string }

/** Starts one fitness worker (`FitnessWorker`, see `Spawn.spawn`). */
export const spawnWorker = (config: WorkerConfig): Worker => Spawn.spawn("FitnessWorker", config)

/**
 * The worker-pool evaluator: `workers` threads (default one per CPU), each loading the data once and
 * setting up `backend` (default wasm) with `wasmThreads` threads; at most `workers` candidates train at
 * a time. A worker that crashes fails its job (an `EvaluationError`) and a fresh one replaces it. The
 * workers stop when the layer's scope closes. Also provides the {@link SearchSpace}.
 */
export const layerWorkers = (options: PoolOptions): Layer.Layer<SearchServices, WorkerPool.WorkerPoolError> =>
  Layer.effectContext(
    Effect.gen(function*() {
      const size = options.workers ?? os.availableParallelism()
      if (!(Number.isInteger(size) && size >= 1)) {
        return yield* new WorkerPool.WorkerPoolError({ reason: `workers must be an integer >= 1 (got ${size})` })
      }
      const { workers: _w, backend: _b, allowSoftwareAdapter: _s, wasmThreads: _t, ...evaluatorOptions } = options
      const config: WorkerConfig = {
        backend: options.backend ?? "wasm",
        allowSoftwareAdapter: options.allowSoftwareAdapter ?? false,
        wasmThreads: options.wasmThreads ?? Math.max(1, Math.floor(os.availableParallelism() / size)),
        options: evaluatorOptions
      }
      const pool = yield* WorkerPool.make(size, () => spawnWorker(config))
      const space = makeSpace(pool.modalities, options.base)
      const run = <T extends WorkerPool.JobReply["type"]>(job: WorkerJob, type: T) =>
        pool.run(job).pipe(
          Effect.flatMap((reply) =>
            reply.type === type
              ? Effect.succeed(reply as Extract<WorkerPool.JobReply, { readonly type: T }>)
              : Effect.fail(evaluationError(`the worker answered ${reply.type} to a ${job.type} job`))
          )
        )
      const evaluator: FitnessEvaluator.FitnessEvaluator["Service"] = {
        evaluate: (genome, fidelity) =>
          Effect.try({ try: () => space.decode(genome), catch: evaluationError }).pipe(
            Effect.flatMap((spec) => run({ type: "fitness", spec, fidelity: { ...fidelity } }, "fitness")),
            Effect.map((reply) => reply.fitness)
          )
      }
      const retrainer: Retrainer["Service"] = {
        retrain: (spec, epochs) => Effect.map(run({ type: "retrain", spec, epochs }, "retrain"), (reply) => reply.outcome)
      }
      return Context.make(SearchSpace, space).pipe(
        Context.add(FitnessEvaluator.FitnessEvaluator, evaluator),
        Context.add(Retrainer, retrainer)
      )
    })
  )
