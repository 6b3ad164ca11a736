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
 * With word vectors in the options (`textFeatures`), the search also chooses the text features: the
 * genomes carry the text gene (`Genome.TEXT_GENE`) and the data is loaded (in each worker) with both
 * text features once ({@link loadSearchData}).
 *
 * Both give the same fitness for the same genome, seed and backend: training is seeded and the
 * workers run the same {@link fitness} function. Both keep the final training state of a candidate
 * trained on all the train split ({@link Continuations}): when successive halving promotes it to a
 * level with more epochs on all the train split, its training continues from that state instead of
 * training the first epochs again, which gives the same fitness (`Train.TrainOptions.continueFrom`). Both also provide a {@link Retrainer} that trains an
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
import * as TextFeatures from "../model/TextFeatures"
import * as Genome from "./Genome"
import * as WorkerPool from "./internal/workerPool"
import * as Network from "../model/Network"
import { Progress } from "../cli/Progress"
import * as Train from "../model/Train"
import type * as TrainState from "../model/TrainState"
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
  /**
   * Word vectors the search may choose for the text (data with raw transcripts): the genome gets the
   * text gene (`Genome.TEXT_GENE`, tokens or these vectors) and the data is loaded with both text
   * features, once. Absent or `tokens`: no text gene, the search of old.
   */
  readonly textFeatures?: TextFeatures.Choice
}

/**
 * Whether a search given these text features chooses them (word or sentence vectors: its genomes carry
 * the text gene); absent or tokens, it does not.
 */
export const choosesText = (textFeatures: TextFeatures.Choice | undefined): textFeatures is TextFeatures.Choice =>
  textFeatures !== undefined && !TextFeatures.isTokens(textFeatures)

/** The data of a search: loaded with the tokens, and with the word vectors when it chooses the text features. */
export interface SearchData {
  readonly tokens: Experiment.LoadedData
  readonly vectors?: Experiment.LoadedData
}

/** The data a candidate trains on: with its text gene's features. */
export const dataFor = (data: SearchData, text: Genome.TextGene): Experiment.LoadedData => (text === "vectors" && data.vectors !== undefined ? data.vectors : data.tokens)

/** Load a search's data: normalised with the tokens, and with the word vectors when it chooses the text features. */
export const loadSearchData = (options: EvaluatorOptions): Effect.Effect<SearchData, DatasetErrors.DatasetError, DatasetLoader.DatasetLoader> =>
  Effect.gen(function*() {
    const tokens = yield* Experiment.loadNormalized(options.source, options.loadOptions)
    if (!choosesText(options.textFeatures)) return { tokens }
    const vectors = yield* Experiment.loadNormalized(options.source, options.loadOptions, { choice: options.textFeatures })
    return { tokens, vectors }
  })

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
  /** The canonical key of a genome's architecture and text features (a deterministic function, as the search needs). */
  readonly key: (genome: ReadonlyArray<number>) => string
  /** The number of genes of a genome: `Genome.TEXT_GENE_COUNT` when the search chooses the text features. */
  readonly genes: number
  /** The text features a genome chooses (always `tokens` without the text gene). */
  readonly text: (genome: ReadonlyArray<number>) => Genome.TextGene
  /** The word vectors of the `vectors` choice, when the search chooses the text features. */
  readonly textFeatures?: TextFeatures.Choice
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
  /**
   * Train `spec` with the text features `text` (default tokens: the search's vectors are `vectors`)
   * and the training seed `seed` (default the search's).
   */
  readonly retrain: (spec: ArchitectureSpec, epochs: number, text?: Genome.TextGene, seed?: number) => Effect.Effect<TrainOutcome, SearchErrors.EvaluationError>
}>()("@haemsa/haemsa-model/Retrainer") {}

/**
 * The search space over `modalities` with fields from `base`; with word vectors (`textFeatures`, not
 * tokens) the genomes carry the text gene, and a genome choosing the vectors has its own cache key
 * (the architecture's key and the text features).
 */
export const makeSpace = (
  modalities: ReadonlyArray<Dataset.Modality>,
  base: ArchitectureSpec = defaultSpec,
  textFeatures?: TextFeatures.Choice
): SearchSpace["Service"] => {
  const withText = choosesText(textFeatures)
  const decode = (genome: ReadonlyArray<number>) => Genome.decode(genome, base, { modalities, textFeatures: withText })
  if (!withText) return { modalities, decode, key: (genome) => Genome.canonicalKey(decode(genome)), genes: Genome.GENE_COUNT, text: () => "tokens" }
  const text = (genome: ReadonlyArray<number>) => Genome.decodeText(genome)
  return {
    modalities,
    decode,
    key: (genome) => {
      const key = Genome.canonicalKey(decode(genome))
      return text(genome) === "tokens" ? key : `${key} text:${TextFeatures.describe(textFeatures)}`
    },
    genes: Genome.TEXT_GENE_COUNT,
    text,
    textFeatures
  }
}

/** The training options of a fidelity level. */
export const trainOptions = (fidelity: Fidelity.Fidelity, options: EvaluatorOptions): Train.TrainOptions => ({
  epochs: fidelity.epochs ?? DEFAULT_EPOCHS,
  seed: options.seed ?? 0,
  ...(fidelity.fraction !== undefined && fidelity.fraction < 1 ? { trainFraction: fidelity.fraction } : {}),
  ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
  ...(options.patience !== undefined ? { patience: options.patience } : {})
})

/** How one fitness evaluation runs, besides the candidate, data, fidelity and options. */
export interface FitnessRun {
  /** Progress lines of the training (one per epoch); dropped when absent (the search reports per generation). */
  readonly log?: (line: string) => void
  /** Continue this state of the candidate's shorter training on all the train split ({@link Continuations}). */
  readonly from?: TrainState.Snapshot
  /** Return the training's final state (for a longer evaluation to continue). */
  readonly keep?: boolean
}

/** The outcome of a fitness evaluation. */
export interface FitnessOutcome {
  /** The best validation objective: the fitness. */
  readonly fitness: number
  /** The training's final state, when asked to keep it. */
  readonly state?: TrainState.Snapshot
  /** Epochs taken from the continued state (not trained again); 0 without one. */
  readonly continued: number
}

/** Trains `spec` at `fidelity` on normalised data; its best validation objective is the fitness. */
export const fitness = (
  spec: ArchitectureSpec,
  data: { readonly dataset: Dataset.Dataset; readonly info: DataInfo },
  fidelity: Fidelity.Fidelity,
  options: EvaluatorOptions,
  run: FitnessRun = {}
) =>
  Effect.gen(function*() {
    const result = yield* Train.train(spec, data.dataset, data.info, {
      ...trainOptions(fidelity, options),
      ...(run.from !== undefined ? { continueFrom: run.from } : {}),
      ...(run.keep === true ? { keepFinal: true } : {})
    })
    Network.dispose(result.net)
    return {
      fitness: result.bestObjective,
      ...(result.final !== undefined ? { state: result.final } : {}),
      continued: run.from?.epoch ?? 0
    } satisfies FitnessOutcome
  }).pipe(Effect.provide(run.log === undefined ? Progress.layerSilent : Layer.succeed(Progress, { update: () => undefined, log: run.log })))

/** Whether an evaluation at `fidelity` trains on all the train split (only those keep and continue states). */
const onAllData = (fidelity: Fidelity.Fidelity): boolean => fidelity.fraction === undefined || fidelity.fraction >= 1

/** How much training the evaluations took from continued states, over this evaluator's life. */
export interface ReuseStats {
  /** Evaluations that continued a shorter training of their candidate. */
  readonly evaluations: number
  /** Epochs (on all the train split) those evaluations did not train again. */
  readonly epochs: number
}

/**
 * The final training states of the latest evaluations on all the train split, by the candidate's
 * cache key: with successive halving a candidate promoted from a level of E epochs to one of more
 * epochs (both on all the train split) continues its training from the state after E epochs, which
 * is the training from the start with the same seed up to that epoch, so its fitness is the same and
 * E epochs are saved. Holds at most `capacity` states (a generation's promoted candidates need only a
 * few); a state is handed out once.
 */
export class Continuations {
  private readonly states = new Map<string, TrainState.Snapshot>()
  private used = { evaluations: 0, epochs: 0 }
  constructor(private readonly capacity = 8) {}

  /**
   * The fitness of candidate `key` at `fidelity` by `train`, which is told the state to continue (a
   * stored one with fewer epochs, taken out of the store) and whether to keep its final state (on all
   * the train split); its outcome is recorded.
   */
  evaluate<E, R>(
    key: string,
    fidelity: Fidelity.Fidelity,
    options: EvaluatorOptions,
    train: (run: { readonly from?: TrainState.Snapshot; readonly keep: boolean }) => Effect.Effect<FitnessOutcome, E, R>
  ): Effect.Effect<number, E, R> {
    return Effect.suspend(() => {
      const from = this.take(key, fidelity, options)
      return Effect.map(train({ ...(from !== undefined ? { from } : {}), keep: onAllData(fidelity) }), (outcome) => {
        this.record(key, outcome)
        return outcome.fitness
      })
    })
  }

  /** The state to continue for `key` at `fidelity` (taken out of the store), if there is one with fewer epochs. */
  private take(key: string, fidelity: Fidelity.Fidelity, options: EvaluatorOptions): TrainState.Snapshot | undefined {
    const state = this.states.get(key)
    if (state === undefined || !onAllData(fidelity) || state.epoch >= trainOptions(fidelity, options).epochs!) return undefined
    this.states.delete(key)
    return state
  }

  /** Records an evaluation's outcome: its final state (the oldest one goes beyond the capacity) and what it continued. */
  private record(key: string, outcome: FitnessOutcome): void {
    if (outcome.continued > 0) this.used = { evaluations: this.used.evaluations + 1, epochs: this.used.epochs + outcome.continued }
    if (outcome.state === undefined) return
    this.states.delete(key)
    this.states.set(key, outcome.state)
    if (this.states.size > this.capacity) this.states.delete(this.states.keys().next().value!)
  }

  /** What the evaluations took from continued states so far. */
  stats(): ReuseStats {
    return this.used
  }
}

/** What the evaluator of a search reuses between fidelity levels ({@link Continuations}). */
export class Reuse extends Context.Service<Reuse, {
  readonly stats: () => ReuseStats
}>()("@haemsa/haemsa-model/SearchReuse") {}

/**
 * Trains `spec` for `epochs` on all the train split (early stopping as configured) with the training
 * seed `seed` (default the options' one) and scores valid and test.
 */
export const retrain = (
  spec: ArchitectureSpec,
  data: { readonly dataset: Dataset.Dataset; readonly info: DataInfo },
  epochs: number,
  options: EvaluatorOptions,
  seed?: number
) =>
  Effect.gen(function*() {
    const { result, valid, test } = yield* Experiment.trainOn(spec, data, trainOptions({ level: 0, epochs }, seed === undefined ? options : { ...options, seed }))
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
      const data = yield* loadSearchData(options)
      const space = makeSpace(availableModalities(data.tokens.info), options.base, options.textFeatures)
      const context = yield* Effect.context<FitnessServices>()
      const continuations = new Continuations()
      const evaluator: FitnessEvaluator.FitnessEvaluator["Service"] = {
        evaluate: (genome, fidelity) =>
          Effect.try({ try: () => ({ spec: space.decode(genome), text: space.text(genome), key: space.key(genome) }), catch: evaluationError }).pipe(
            Effect.flatMap(({ key, spec, text }) =>
              continuations.evaluate(key, fidelity, options, (run) => fitness(spec, dataFor(data, text), fidelity, options, run))
            ),
            Effect.provideContext(context),
            Effect.mapError(evaluationError)
          )
      }
      const retrainer: Retrainer["Service"] = {
        retrain: (spec, epochs, text = "tokens", seed) =>
          retrain(spec, dataFor(data, text), epochs, options, seed).pipe(Effect.provideContext(context), Effect.mapError(evaluationError))
      }
      return Context.make(SearchSpace, space).pipe(
        Context.add(FitnessEvaluator.FitnessEvaluator, evaluator),
        Context.add(Retrainer, retrainer),
        Context.add(Reuse, { stats: () => continuations.stats() })
      )
    })
  )

/** What both evaluator layers provide. */
export type SearchServices = SearchSpace | FitnessEvaluator.FitnessEvaluator | Retrainer | Reuse

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
    /** The text features to train with (default tokens; `vectors`: the search's word vectors). */
    readonly text?: Genome.TextGene
    /** Continue this state of the candidate's shorter training ({@link FitnessRun.from}). */
    readonly from?: TrainState.Snapshot
    /** Answer with the training's final state too ({@link FitnessRun.keep}). */
    readonly keep?: boolean
  }
  | {
    readonly type: "retrain"
    readonly spec: ArchitectureSpec
    readonly epochs: number
    readonly text?: Genome.TextGene
    /** The training seed (default the search's). */
    readonly seed?: number
  }

/** What the parent sends a worker: a job and its id. */
export type WorkerRequest = WorkerJob & { readonly id: number }

/** What a worker answers: ready (after loading) or fatal (it could not start), then one reply per job. */
export type WorkerReply =
  | { readonly type: "ready"; readonly modalities: ReadonlyArray<Dataset.Modality>; readonly backend: string }
  | { readonly type: "fatal"; readonly reason: string }
  | { readonly type: "fitness"; readonly id: number; readonly outcome: FitnessOutcome }
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
      const space = makeSpace(pool.modalities, options.base, options.textFeatures)
      const run = <T extends WorkerPool.JobReply["type"]>(job: WorkerJob, type: T) =>
        pool.run(job).pipe(
          Effect.flatMap((reply) =>
            reply.type === type
              ? Effect.succeed(reply as Extract<WorkerPool.JobReply, { readonly type: T }>)
              : Effect.fail(evaluationError(`the worker answered ${reply.type} to a ${job.type} job`))
          )
        )
      const continuations = new Continuations()
      const evaluator: FitnessEvaluator.FitnessEvaluator["Service"] = {
        evaluate: (genome, fidelity) =>
          Effect.try({ try: () => ({ spec: space.decode(genome), text: space.text(genome), key: space.key(genome) }), catch: evaluationError }).pipe(
            Effect.flatMap(({ key, spec, text }) =>
              continuations.evaluate(key, fidelity, evaluatorOptions, (reuse) =>
                // (a tokens job names no text: the jobs of a search without the text gene are those of old)
                Effect.map(run({ type: "fitness", spec, fidelity: { ...fidelity }, ...(text !== "tokens" ? { text } : {}), ...reuse }, "fitness"), (reply) => reply.outcome)
              )
            )
          )
      }
      const retrainer: Retrainer["Service"] = {
        retrain: (spec, epochs, text = "tokens", seed) =>
          Effect.map(
            run({ type: "retrain", spec, epochs, ...(text !== "tokens" ? { text } : {}), ...(seed !== undefined ? { seed } : {}) }, "retrain"),
            (reply) => reply.outcome
          )
      }
      return Context.make(SearchSpace, space).pipe(
        Context.add(FitnessEvaluator.FitnessEvaluator, evaluator),
        Context.add(Retrainer, retrainer),
        Context.add(Reuse, { stats: () => continuations.stats() })
      )
    })
  )
