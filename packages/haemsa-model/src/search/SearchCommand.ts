/**
 * HAEMSA architecture search end to end, and the `haemsa search` command: evolve genomes with
 * `@haemsa/evo-search`, score each decoded architecture by its validation objective after a short
 * training (successive halving over fidelity levels, in parallel worker threads, cached by the
 * canonical architecture), checkpoint after every evaluation (rerunning the same command resumes),
 * then optionally choose the winner among the best finalists on validation over several seeds
 * (`--select-seeds`, {@link Selection}) and retrain the winner and the default architecture at full fidelity. With
 * `--text-features glove|PATH` on data with raw transcripts, the search also chooses the text
 * features (tokens or those vectors: the text gene, `Genome.TEXT_GENE`).
 *
 * @since 0.1.0
 */
import type { Dataset, DatasetLoader, Errors as DatasetErrors } from "@haemsa/datasets"
import { Checkpoint, Errors as SearchErrors, Fidelity, FitnessEvaluator, Search, Strategy } from "@haemsa/evo-search"
import { Effect, Exit, Layer, Option, Result } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Args from "../cli/Args"
import type { ArchitectureSpec } from "../model/ArchitectureSpec"
import { defaultSpec } from "../model/ArchitectureSpec"
import * as Command from "../cli/Command"
import { type DataPackageMissing, resolveDataSource } from "../cli/DataSource"
import type * as Evaluate from "../model/Evaluate"
import * as Genome from "./Genome"
import * as OutputFolder from "../model/OutputFolder"
import { metricsTable } from "../cli/MetricsTable"
import { type OutputError, writeJson, writeText } from "../cli/OutputFile"
import { formatDuration, Progress } from "../cli/Progress"
import * as SharedFlags from "../cli/SharedFlags"
import * as Experiment from "../model/Experiment"
import * as TextFeatures from "../model/TextFeatures"
import * as SearchEvaluator from "./SearchEvaluator"
import * as SearchReport from "./SearchReport"
import * as Selection from "./Selection"
import type { QueueError } from "./queue/Bull"
import * as QueueEvaluator from "./queue/QueueEvaluator"
import * as QueueJob from "./queue/QueueJob"
import * as QueueUrl from "./queue/QueueUrl"
import { queueFlags } from "./WorkerCommand"
import type * as Train from "../model/Train"

/**
 * Named fidelity settings, cheapest first. Every candidate is trained at the first level; the best
 * third (eta 3) goes on to the next.
 *
 * - `halving` (default): 2 epochs on a quarter of the train split, then 6 epochs on all of it, then
 *   a full training (20 epochs): only full-fidelity fitness can make a candidate the best.
 * - `low`: 2 epochs on a quarter, then 4 epochs on half of it; never full fidelity.
 * - `medium`: 2 epochs on a quarter, then 6 epochs on all of it (about twice `low`).
 * - `full`: every candidate trained like the final retraining (20 epochs): expensive.
 */
export const FIDELITY_PRESETS: Readonly<Record<string, ReadonlyArray<Fidelity.FidelityLevel>>> = {
  low: [{ epochs: 2, fraction: 0.25 }, { epochs: 4, fraction: 0.5 }],
  medium: [{ epochs: 2, fraction: 0.25 }, { epochs: 6 }],
  /** Successive halving up to full fidelity: the best third gets 6 epochs, the best of those a full training. */
  halving: [{ epochs: 2, fraction: 0.25 }, { epochs: 6 }, { epochs: SearchEvaluator.DEFAULT_EPOCHS }],
  full: [{ epochs: SearchEvaluator.DEFAULT_EPOCHS }]
}

/** The genetic operators: the paper's tournament, blend crossover and gaussian mutation. */
export const OPERATORS = {
  selection: { name: "tournament", params: { size: 3 } },
  crossover: { name: "blend" },
  mutation: { name: "gaussian", params: { sigma: 0.15, rate: 0.15 } }
} as const

/**
 * Parses `--fidelity`: a preset name (`low`, `medium`, `halving` (default), `full`) or levels `EPOCHS[:FRACTION],...` cheapest first,
 * e.g. `2:0.25,6:1`. A bad level is a {@link Args.UsageError} naming it.
 */
export const parseFidelity = (value: string): Result.Result<ReadonlyArray<Fidelity.FidelityLevel>, Args.UsageError> => {
  const preset = FIDELITY_PRESETS[value]
  if (preset !== undefined) return Result.succeed(preset)
  const levels: Array<Fidelity.FidelityLevel> = []
  for (const part of value.split(",")) {
    const [epochsText, fractionText, extra] = part.trim().split(":")
    const epochs = Number(epochsText)
    const fraction = fractionText === undefined ? 1 : Number(fractionText)
    if (extra !== undefined || epochsText === "" || !Number.isInteger(epochs) || epochs < 1 || !(fraction > 0 && fraction <= 1)) {
      return Result.fail(
        new Args.UsageError({
          reason: `--fidelity: bad level '${part}' (use low, medium, halving, full, or EPOCHS:FRACTION levels like 2:0.25,6:1; epochs >= 1, fraction in (0, 1])`
        })
      )
    }
    levels.push(fraction < 1 ? { epochs, fraction } : { epochs })
  }
  return Result.succeed(levels)
}

/** Options of {@link searchJob}. */
export interface SearchJobOptions {
  /** The data: `synthetic`, a mosi-real folder, a pickle file. */
  readonly source: string
  readonly loadOptions?: DatasetLoader.LoadOptions
  /** Word vectors the search may choose for the text (the text gene: tokens or these; see `SearchEvaluator.EvaluatorOptions`). */
  readonly textFeatures?: TextFeatures.Choice
  readonly population: number
  readonly generations: number
  readonly seed: number
  /** Folder of the search checkpoint (and its cost record); rerunning with the same options resumes. */
  readonly checkpointDir: string
  /** Fidelity levels, cheapest first (default: the `low` preset). */
  readonly fidelity?: ReadonlyArray<Fidelity.FidelityLevel>
  /** Successive-halving factor (default 3). */
  readonly eta?: number
  /**
   * Who a level promotes (default "top": the best 1/eta; "incumbent": those of them that also beat
   * the best architecture so far at that level).
   */
  readonly promotion?: Fidelity.Promotion
  readonly elitism?: number
  /** Worker threads; 0 trains in this thread (default: one per CPU). */
  readonly workers?: number
  /** Backend of the workers (default wasm; in this thread the `Backend` service's). */
  readonly backend?: string
  /** Let the workers' webgpu backend run on a software/fallback adapter (default false). */
  readonly allowSoftwareAdapter?: boolean
  /** Retrain the winner (the chosen finalist with `selection`) and the default architecture for this many epochs (default: no retraining). */
  readonly retrainEpochs?: number
  /**
   * After the search, train its best `finalists` distinct architectures (`Search.finalists`) and the
   * default architecture at full fidelity once per seed, and choose the one with the lowest mean
   * validation objective (default: no selection; the winner is the search's best).
   */
  readonly selection?: Selection.SelectionOptions
  /** Fields no gene controls, and the architecture the first population starts from (default: the default one). */
  readonly base?: ArchitectureSpec
  /** Put `base` in the first generation (default true). */
  readonly seedBase?: boolean
  /**
   * Evaluate on a job queue (`haemsa worker`s on any machine) instead of worker threads: the queue's
   * URL, the search's queue name ({@link searchQueueName}) and the attempts per job.
   */
  readonly queue?: { readonly url: QueueUrl.QueueUrl; readonly name: string; readonly attempts?: number }
}

/**
 * The queue name of a search: a hash of what identifies it (data, seed, strategy, fidelity) and of its
 * checkpoint folder, so rerunning the same command (to resume, `--status` or `--cancel`) finds its queue.
 */
export const searchQueueName = (options: SearchJobOptions): string =>
  QueueJob.queueName(
    {
      source: options.source,
      loadOptions: options.loadOptions ?? null,
      seed: options.seed,
      population: options.population,
      elitism: options.elitism ?? 1,
      fidelity: options.fidelity ?? FIDELITY_PRESETS["halving"],
      eta: options.eta ?? Fidelity.DEFAULT_ETA,
      ...(options.promotion === "incumbent" ? { promotion: options.promotion } : {}),
      backend: options.backend ?? "wasm"
    },
    path.resolve(options.checkpointDir)
  )

/** One generation in the output (the report's shape: the search's statistics and the modality subsets). */
export type GenerationOutput = SearchReport.ReportGeneration

/** Full training of one architecture, as reported. */
export interface RetrainOutput {
  readonly architecture: ArchitectureSpec
  /** The text features it trained with, when the search chose them. */
  readonly text_features?: string
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
  readonly valid_objective: number
  readonly epochs: number
  readonly best_epoch: number
  readonly seconds: number
}

/** What `haemsa search --json` writes. */
export interface SearchOutput {
  readonly data: string
  readonly seed: number
  readonly population: number
  readonly fidelity: { readonly levels: ReadonlyArray<Fidelity.FidelityLevel>; readonly eta: number; readonly promotion?: Fidelity.Promotion }
  readonly workers: number
  /** With `--queue`: the queue's URL (password as `***`) and name. */
  readonly queue?: { readonly url: string; readonly name: string }
  readonly generations: ReadonlyArray<GenerationOutput>
  readonly best: {
    readonly genome: ReadonlyArray<number>
    readonly architecture: ArchitectureSpec
    readonly fitness: number
    /** The fidelity level the fitness was measured at. */
    readonly level: number
    /** The text features the winner trains with (`tokens`, `glove + lexicon`, ...), when the search chose them. */
    readonly text_features?: string
  }
  readonly evaluations: number
  readonly cache_hits: number
  readonly failures: number
  /** Wall-clock seconds over all runs of this search. */
  readonly seconds: number
  /** CPU seconds (all threads) over all runs, as recorded after each generation. */
  readonly cpu_seconds: number
  /** Training spent against a full-fidelity search of the same architectures. */
  readonly fidelity_cost: SearchReport.FidelityCost
  /** With 2+ local workers: the guesses idle workers trained in this run, and those the search used (`Search.SearchResult.speculation`). */
  readonly speculation?: { readonly started: number; readonly used: number }
  readonly stopped: Search.StopReason
  /** With `--select-seeds`: the finalists trained once per seed, and the one chosen on validation (the winner). */
  readonly selection?: Selection.SelectionOutput
  /** With retraining: the winner and the default architecture at full fidelity, same seed and epochs. */
  readonly retrain?: { readonly epochs: number; readonly winner: RetrainOutput; readonly default: RetrainOutput; readonly same: boolean }
}

/**
 * The file in the checkpoint folder that accumulates the search's CPU time over runs, and the
 * training its evaluations took from continued states (`SearchEvaluator.Continuations`).
 */
export const COST_FILE = "cost.json"

/** What {@link COST_FILE} holds. */
interface Cost {
  readonly cpu_seconds: number
  readonly continued: SearchEvaluator.ReuseStats
}

const readCost = (dir: string): Cost => {
  const number = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0)
  try {
    const cost = JSON.parse(fs.readFileSync(path.join(dir, COST_FILE), "utf8"))
    return { cpu_seconds: number(cost.cpu_seconds), continued: { evaluations: number(cost.continued?.evaluations), epochs: number(cost.continued?.epochs) } }
  } catch {
    return { cpu_seconds: 0, continued: { evaluations: 0, epochs: 0 } }
  }
}

/**
 * Keeps the cost in {@link COST_FILE}, one write after another (the search's progress callback, which
 * asks for them, is synchronous); `done` waits for the last and fails with the first write's error.
 */
const costWriter = (dir: string) => {
  const file = path.join(dir, COST_FILE)
  let writes: Promise<void> = Promise.resolve()
  let failure: unknown
  return {
    keep: (cost: Cost): void => {
      writes = writes
        .then(async () => {
          if (failure !== undefined) return
          await OutputFolder.nodeFileSystem.mkdir(dir)
          await OutputFolder.replaceFile(file, JSON.stringify(cost) + "\n")
        })
        .catch((e) => {
          failure ??= e
        })
    },
    done: Effect.flatMap(Effect.promise(() => writes), () =>
      failure === undefined
        ? Effect.void
        : Effect.fail(new SearchErrors.CheckpointError({ file, reason: `cannot write the search's cost: ${failure instanceof Error ? failure.message : String(failure)}` })))
  }
}

const cpuSecondsSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start)
  return (used.user + used.system) / 1e6
}

/** The evaluator for `workers` (0: this thread), or the job queue's. */
const evaluatorLayer = (
  options: SearchJobOptions,
  workers: number,
  log: (line: string) => void
): Layer.Layer<
  SearchEvaluator.SearchServices | QueueEvaluator.QueueWatch,
  DatasetErrors.DatasetError | SearchEvaluator.WorkerPoolError | QueueError,
  DatasetLoader.DatasetLoader | SearchEvaluator.FitnessServices
> => {
  const common = {
    source: options.source,
    seed: options.seed,
    ...(options.loadOptions !== undefined ? { loadOptions: options.loadOptions } : {}),
    ...(SearchEvaluator.choosesText(options.textFeatures) ? { textFeatures: options.textFeatures } : {}),
    ...(options.base !== undefined ? { base: options.base } : {})
  }
  if (options.queue !== undefined) {
    return QueueEvaluator.layer({
      ...common,
      url: options.queue.url,
      queueName: options.queue.name,
      ...(options.backend !== undefined ? { backend: options.backend } : {}),
      ...(options.queue.attempts !== undefined ? { attempts: options.queue.attempts } : {}),
      log
    })
  }
  // a search on this machine is stopped by its own process only
  const local = Layer.succeed(QueueEvaluator.QueueWatch, { cancelled: Effect.never })
  return workers === 0
    ? Layer.merge(local, SearchEvaluator.layerInProcess(common))
    : Layer.merge(
      local,
      SearchEvaluator.layerWorkers({
        ...common,
        workers,
        ...(options.backend !== undefined ? { backend: options.backend } : {}),
        ...(options.allowSoftwareAdapter !== undefined ? { allowSoftwareAdapter: options.allowSoftwareAdapter } : {})
      })
    )
}

const retrainOutput = (architecture: ArchitectureSpec, outcome: SearchEvaluator.TrainOutcome, text?: string): RetrainOutput => ({
  architecture,
  ...(text !== undefined ? { text_features: text } : {}),
  valid: outcome.valid,
  test: outcome.test,
  valid_objective: outcome.objective,
  epochs: outcome.epochs,
  best_epoch: outcome.bestEpoch,
  seconds: Math.round(outcome.seconds * 100) / 100
})

/** What a search job can fail with. */
export type SearchJobError =
  | DatasetErrors.DatasetError
  | SearchErrors.EvaluationError
  | SearchErrors.SearchError
  | SearchEvaluator.WorkerPoolError
  | QueueError

/** What a search job asks for. */
export type SearchJobServices = DatasetLoader.DatasetLoader | Progress | Train.Parts

/**
 * Hold the checkpoint folder's lock ({@link OutputFolder.acquire}) while `job` runs: a second search
 * (or training) writing the same folder waits for it, with a progress line, then fails with a
 * `CheckpointError` naming the lock's holder.
 */
const withFolderLock = <A, E, R>(dir: string, job: Effect.Effect<A, E, R>): Effect.Effect<A, E | SearchErrors.CheckpointError, R | Progress> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        try: async () => {
          await fs.promises.mkdir(dir, { recursive: true })
          return OutputFolder.acquire(dir, { onWait: (line) => progress.log(line) })
        },
        catch: (e) =>
          new SearchErrors.CheckpointError(
            e instanceof OutputFolder.LockError ? { file: e.file, reason: e.reason } : { file: dir, reason: `cannot lock the folder: ${String(e)}` }
          )
      }),
      () => job,
      (lock) => Effect.promise(() => lock.release().catch(() => undefined))
    )
  })

/**
 * Runs (or resumes) a search and returns its report: per-generation best/mean fitness and modality
 * subsets, the best genome and its architecture, the cost; with `retrainEpochs`, the winner and the
 * default architecture retrained side by side. Progress lines go to the {@link Progress} service. The
 * checkpoint folder is locked while the search runs ({@link OutputFolder}).
 */
export const searchJob = (options: SearchJobOptions): Effect.Effect<SearchOutput, SearchJobError, SearchJobServices> => {
  const workers = options.workers ?? os.availableParallelism()
  return withFolderLock(options.checkpointDir, Effect.gen(function*() {
    const logger = yield* Progress
    if (SearchEvaluator.choosesText(options.textFeatures)) {
      // the text features' first load (their caches) here, once, with its progress: the workers then read the caches;
      // sentence vectors are those of the data's transcripts, so only they need the data read here
      const onProgress = (fraction: number, message: string) => (fraction >= 1 ? logger.log(`text features: ${message}`) : logger.update(`text features: ${message}`))
      if (options.textFeatures.sentence === true) yield* Experiment.loadData(options.source, options.loadOptions, { choice: options.textFeatures, onProgress })
      else yield* TextFeatures.resolve(options.textFeatures, { onProgress })
    }
    return yield* searchWith(options, workers).pipe(Effect.provide(evaluatorLayer(options, workers, (line) => logger.log(line))))
  }))
}

/** The search and its retraining, on the evaluator provided. */
const searchWith = (options: SearchJobOptions, workers: number) =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const space = yield* SearchEvaluator.SearchSpace
    const evaluator = yield* FitnessEvaluator.FitnessEvaluator
    const base = options.base ?? defaultSpec
    const searchOptions: Search.SearchOptions = {
      strategy: {
        // the text gene only when the search chooses the text features: other searches keep their genome
        dimension: space.genes,
        populationSize: options.population,
        elitism: options.elitism ?? 1,
        ...OPERATORS,
        // the default architecture first, so elitism keeps the best of it and the search can only improve on it
        initialPopulation: options.seedBase === false ? [] : [Genome.encode(base, space.textFeatures !== undefined ? "vectors" : undefined)]
      },
      seed: options.seed,
      generations: options.generations,
      key: space.key,
      // on a queue every candidate of a level is enqueued at once: the workers set the parallelism
      concurrency: options.queue !== undefined ? options.population : Math.max(1, workers),
      // a worker left idle by successive halving starts what the search will likely ask for next (the same result)
      speculate: options.queue === undefined && workers > 1,
      fidelity: { levels: options.fidelity ?? FIDELITY_PRESETS["halving"], eta: options.eta ?? Fidelity.DEFAULT_ETA, promotion: options.promotion ?? "top" },
      checkpointDir: options.checkpointDir
    }
    const strategy = yield* Effect.fromResult(Strategy.make(searchOptions.strategy))
    const fidelity = yield* Effect.fromResult(Fidelity.make(searchOptions.fidelity))
    const file = Checkpoint.file(options.checkpointDir)

    // An existing checkpoint of this search resumes (Search.run refuses one of another configuration).
    const config: Checkpoint.CheckpointConfig = { seed: options.seed, strategy: strategy.config, fidelity }
    const saved = yield* Checkpoint.read(file)
    if (Option.isSome(saved) && Checkpoint.configDifference(saved.value.config, config) === undefined) {
      const s = saved.value.state
      progress.log(`resuming ${file}: ${s.history.length} generations done, ${s.evaluations} evaluations cached`)
    }

    const before = readCost(options.checkpointDir)
    const costFile = costWriter(options.checkpointDir)
    const cpuStart = process.cpuUsage()
    const reuse = yield* SearchEvaluator.Reuse
    /** The cost over all runs so far. */
    const costNow = (): Cost => {
      const now = reuse.stats()
      return {
        cpu_seconds: before.cpu_seconds + cpuSecondsSince(cpuStart),
        continued: { evaluations: before.continued.evaluations + now.evaluations, epochs: before.continued.epochs + now.epochs }
      }
    }
    let generation = Option.isSome(saved) ? saved.value.state.history.length : 0
    let finished = 0
    const startedAt = performance.now()
    // (trainings, not the search's evaluations: idle workers also train what the search will likely ask for next)
    const counting: FitnessEvaluator.FitnessEvaluator["Service"] = {
      evaluate: (genome, at) =>
        evaluator.evaluate(genome, at).pipe(
          Effect.onExit((exit) =>
            Effect.sync(() => {
              if (Exit.hasInterrupts(exit)) return
              finished++
              const elapsed = (performance.now() - startedAt) / 1000
              progress.update(
                `generation ${generation + 1}/${options.generations}: ${finished} trainings finished in this run (the last at level ${at.level}), ${formatDuration(elapsed)} elapsed`
              )
            })
          )
        )
    }
    // on a queue, `haemsa search --cancel` elsewhere stops this search
    const watch = yield* QueueEvaluator.QueueWatch
    const run = Search.run({
      ...searchOptions,
      onProgress: (p) => {
        generation = p.generation
        costFile.keep(costNow())
        progress.log(
          `generation ${p.generation}/${p.generations}  best ${p.best.toFixed(4)}  mean ${p.mean.toFixed(4)}  ` +
            `evaluations ${p.evaluations}  cache hits ${p.cacheHits}${p.failures > 0 ? `  failures ${p.failures}` : ""}  ETA ${formatDuration(p.etaSeconds)}`
        )
      }
    }).pipe(Effect.provide(Layer.succeed(FitnessEvaluator.FitnessEvaluator, counting)))
    const result = yield* Effect.raceFirst(run, watch.cancelled)
    const cost = costNow()
    const cpuSeconds = cost.cpu_seconds
    costFile.keep(cost)
    yield* costFile.done

    // the fitness cache (every architecture and level trained, over all runs) gives the fidelity cost
    const final = yield* Checkpoint.read(file)
    const cache = Option.isSome(final) ? final.value.state.cache : {}
    const generations: GenerationOutput[] = result.generations.map((g) => {
      const counts: Record<string, number> = {}
      for (const individual of g.population) {
        const name = SearchReport.subsetName(space.decode(individual.genome).modalities)
        counts[name] = (counts[name] ?? 0) + 1
      }
      return { generation: g.generation, best: g.best, mean: g.mean, evaluations: g.evaluations, cache_hits: g.cache_hits, failures: g.failures, modalities: counts }
    })
    const architecture = space.decode(result.best.genome)
    // the text features in words (only in a search that chooses them)
    const textName = (text: Genome.TextGene): string | undefined =>
      space.textFeatures === undefined ? undefined : text === "tokens" ? "tokens" : TextFeatures.describe(space.textFeatures)
    const winnerText = space.text(result.best.genome)
    const output: SearchOutput = {
      data: options.source,
      seed: options.seed,
      population: options.population,
      fidelity,
      workers,
      ...(options.queue !== undefined ? { queue: { url: QueueUrl.redact(options.queue.url), name: options.queue.name } } : {}),
      generations,
      best: {
        genome: result.best.genome,
        architecture,
        fitness: result.best.fitness,
        level: result.best.level,
        ...(textName(winnerText) !== undefined ? { text_features: textName(winnerText)! } : {})
      },
      evaluations: result.evaluations,
      cache_hits: result.cache_hits,
      failures: result.failures.length,
      seconds: Math.round(result.seconds * 100) / 100,
      cpu_seconds: Math.round(cpuSeconds * 100) / 100,
      fidelity_cost: SearchReport.fidelityCost(Object.keys(cache), fidelity.levels, cost.continued.epochs),
      stopped: result.stopped,
      ...(result.speculation !== undefined ? { speculation: result.speculation } : {})
    }
    // the default architecture on this data's modalities (mosi-real has no vision)
    const usable = base.modalities.filter((m) => space.modalities.includes(m))
    const reference: ArchitectureSpec = usable.length > 0 ? { ...base, modalities: usable as [Dataset.Modality, ...Array<Dataset.Modality>] } : base
    // the default architecture trains with the search's word vectors when it has some (the features asked for)
    const referenceText: Genome.TextGene = space.textFeatures !== undefined ? "vectors" : "tokens"
    const sameAs = (a: ArchitectureSpec, aText: Genome.TextGene, b: ArchitectureSpec, bText: Genome.TextGene) =>
      aText === bText && Genome.canonicalKey(a) === Genome.canonicalKey(b)

    // the finalists: the search's best distinct architectures, and the default one whatever its rank
    const finalists = (count: number): ReadonlyArray<Selection.Candidate> => {
      const best = Search.finalists(result.generations, count, space.key).map((individual, rank): Selection.Candidate => {
        const spec = space.decode(individual.genome)
        const text = space.text(individual.genome)
        return { architecture: spec, text, search: { fitness: individual.fitness, level: individual.level, rank: rank + 1 }, default: sameAs(spec, text, reference, referenceText) }
      })
      return best.some((c) => c.default) ? best : [...best, { architecture: reference, text: referenceText, default: true }]
    }
    // with a selection among them, on validation over several seeds, its choice is the winner
    const candidates = options.selection === undefined ? [] : finalists(options.selection.finalists ?? Selection.DEFAULT_FINALISTS)
    const selection = options.selection === undefined
      ? undefined
      // (on a queue every training is a job at once: the queue's workers take them as they can)
      : yield* Selection.select(candidates, options.selection, {
        workers: options.queue !== undefined ? candidates.length * options.selection.seeds.length : workers,
        dir: options.checkpointDir,
        textName
      })
    const winner: Selection.Candidate = selection !== undefined
      ? candidates[selection.chosen]
      : { architecture, text: winnerText, default: sameAs(architecture, winnerText, reference, referenceText) }
    const selected: SearchOutput = selection !== undefined ? { ...output, selection } : output
    if (options.retrainEpochs === undefined) return selected

    const epochs = options.retrainEpochs
    const retrainer = yield* SearchEvaluator.Retrainer
    const same = winner.default
    progress.log(same
      ? `retraining the winner (the default architecture) for up to ${epochs} epochs`
      : `retraining the winner and the default architecture for up to ${epochs} epochs${workers > 1 || options.queue !== undefined ? ", in parallel" : ""}`)
    const [trained, other] = yield* Effect.all(
      [retrainer.retrain(winner.architecture, epochs, winner.text), same ? Effect.succeed(undefined) : retrainer.retrain(reference, epochs, referenceText)],
      { concurrency: 2 }
    )
    return {
      ...selected,
      retrain: {
        epochs,
        same,
        winner: retrainOutput(winner.architecture, trained, textName(winner.text)),
        default: retrainOutput(reference, other ?? trained, textName(referenceText))
      }
    } satisfies SearchOutput
  })

/** The flags of `haemsa search`. */
export const flags = {
  ...SharedFlags.dataFlags,
  checkpoint: Args.string({
    metavar: "DIR",
    required: "where it saves its state; rerun the same command to resume",
    help: "the search's checkpoint folder; rerun the same command to resume"
  }),
  population: Args.int({
    metavar: "P",
    // the tournament draws this many genomes from a population: a smaller one cannot be selected from
    min: OPERATORS.selection.params.size,
    default: 8,
    help: `genomes per generation (at least the tournament size, ${OPERATORS.selection.params.size})`
  }),
  generations: Args.int({ metavar: "G", min: 1, default: 5, help: "generations to run" }),
  seed: Args.int({ metavar: "S", default: 0, help: "the seed of the search and of every training" }),
  fidelity: Args.string({
    metavar: "low|medium|halving|full|E:F,...",
    default: "halving",
    help: "fidelity levels, cheapest first: a preset, or EPOCHS:FRACTION levels like 2:0.25,6:1"
  }),
  eta: Args.number({ metavar: "X", default: Fidelity.DEFAULT_ETA, help: "successive halving: the best 1/X of a level goes on to the next" }),
  promotion: Args.choice({
    values: ["top", "incumbent"],
    default: "top",
    help: "successive halving: the best 1/X of a level go on to the next (top), or only those of them better than the best architecture so far at that level (incumbent: less training, see docs/search.md)"
  }),
  elitism: Args.int({ metavar: "N", min: 0, default: 1, help: "the best N genomes survive each generation unchanged" }),
  workers: Args.int({ metavar: "N", min: 0, help: "worker threads, at most the population; 0 trains in this thread (default: one per CPU)" }),
  ...SharedFlags.backendFlags,
  json: SharedFlags.json,
  report: Args.string({ metavar: "FILE.svg|.html", help: "write the report (fitness per generation, modality subsets, the winner)" }),
  "select-seeds": Args.string({
    metavar: "S,S,...",
    help: "after the search, train its best architectures (--finalists) and the default one at full fidelity once per seed, and choose the winner on the mean validation objective"
  }),
  finalists: Args.int({ metavar: "K", min: 1, help: `with --select-seeds: how many of the search's best distinct architectures (default ${Selection.DEFAULT_FINALISTS}; the default architecture joins them)` }),
  retrain: Args.flag({ help: "retrain the winner and the default architecture at full fidelity, side by side" }),
  force: Args.flag({ help: "write the search's state into a --checkpoint DIR that holds files not haemsa's" }),
  "retrain-epochs": Args.int({ metavar: "N", min: 1, default: SearchEvaluator.DEFAULT_EPOCHS, help: "the most epochs of each retraining (and of each training of --select-seeds)" }),
  ...queueFlags,
  "queue-attempts": Args.int({
    metavar: "N",
    min: 1,
    default: QueueEvaluator.DEFAULT_ATTEMPTS,
    help: "with --queue: attempts per candidate before it fails for good (a worker's crash uses one)"
  }),
  status: Args.flag({ help: "with --queue: show the search's jobs (waiting, active and on which worker, done, failed) and exit" }),
  cancel: Args.flag({ help: "with --queue: stop the search, removing its queue and jobs" })
}

/** What `haemsa search` can fail with. */
export type SearchCommandError = SearchJobError | Args.UsageError | DataPackageMissing | OutputError | QueueUrl.QueueUrlError

/** `haemsa search`: run or resume a search; print progress, the winner, (with --select-seeds) the finalists over the seeds, and (with --retrain) its metrics next to the default's. */
export const command: Command.Command<typeof flags, SearchCommandError> = Command.make({
  spec: { name: "search", summary: "Evolve architectures (resumable), report, and optionally choose the winner over several seeds and retrain it.", flags },
  backend: SharedFlags.backendChoice,
  outputs: (f) => [
    { option: "--checkpoint", path: f.checkpoint, kind: "folder", ownFilesOnly: f.force ? false : "search" },
    { option: "--json", path: f.json, kind: "file" },
    { option: "--report", path: f.report, kind: "file" }
  ],
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      const report = f.report
      const format = report === undefined ? undefined : SearchReport.formatOf(report)
      if (report !== undefined && format === undefined) {
        return yield* new Args.UsageError({ reason: `--report must name a .svg or .html file (got '${report}')` })
      }
      const fidelity = yield* Effect.fromResult(parseFidelity(f.fidelity))
      const source = yield* resolveDataSource(f.data)
      const loadOptions = SharedFlags.loadOptions(f)
      const textFeatures = yield* SharedFlags.textChoice(f, source)
      const choosesText = SearchEvaluator.choosesText(textFeatures)
      if (f.finalists !== undefined && f["select-seeds"] === undefined) {
        return yield* new Args.UsageError({ reason: "--finalists K goes with --select-seeds S,S,... (the seeds each finalist is trained with)" })
      }
      const selectSeeds = f["select-seeds"] !== undefined ? yield* SharedFlags.parseSeeds("--select-seeds", f["select-seeds"]) : undefined
      const queueUrl = yield* Effect.fromResult(QueueUrl.resolve({ flag: f.queue, file: f["queue-file"], env: process.env }))
      if (choosesText && queueUrl !== undefined) {
        return yield* new Args.UsageError({ reason: "--text-features with word or sentence vectors is not supported with --queue yet: search with worker threads (--workers N)" })
      }
      if ((f.status || f.cancel) && queueUrl === undefined) {
        return yield* new Args.UsageError({ reason: `--status and --cancel need the search's queue (--queue, --queue-file or $${QueueUrl.ENV_VAR})` })
      }
      const job: SearchJobOptions = {
        source,
        ...(loadOptions !== undefined ? { loadOptions } : {}),
        ...(choosesText ? { textFeatures } : {}),
        population: f.population,
        generations: f.generations,
        seed: f.seed,
        checkpointDir: f.checkpoint,
        fidelity,
        eta: f.eta,
        promotion: f.promotion,
        elitism: f.elitism,
        workers: Math.min(f.workers ?? os.availableParallelism(), f.population),
        backend: f.backend,
        allowSoftwareAdapter: f["allow-software-adapter"],
        ...(f.retrain ? { retrainEpochs: f["retrain-epochs"] } : {}),
        ...(selectSeeds !== undefined
          ? { selection: { seeds: selectSeeds, epochs: f["retrain-epochs"], ...(f.finalists !== undefined ? { finalists: f.finalists } : {}) } }
          : {})
      }
      if (queueUrl !== undefined) {
        const name = searchQueueName(job)
        if (f.cancel) {
          yield* QueueEvaluator.cancel(queueUrl, name)
          io.out(`cancelled: queue ${name} on ${QueueUrl.redact(queueUrl)} and its jobs are removed (a running coordinator stops within seconds)`)
          return
        }
        if (f.status) {
          const s = yield* QueueEvaluator.status(queueUrl, name)
          io.out(`queue ${s.queue} on ${QueueUrl.redact(queueUrl)}: ${s.waiting} waiting, ${s.active} active, ${s.done} done, ${s.failed} failed`)
          for (const r of s.running) io.out(`  active ${r.job} on ${r.worker}: ${r.candidate}`)
          for (const r of s.failures) io.out(`  failed ${r.job}: ${r.reason}`)
          if (f.json !== undefined) yield* writeJson(f.json, s, { stdout: io.stdout })
          return
        }
      }
      const output = yield* searchJob(queueUrl === undefined ? job : {
        ...job,
        queue: { url: queueUrl, name: searchQueueName(job), attempts: f["queue-attempts"] }
      })
      const n = output.generations.length
      io.out(`search on ${output.data}: ${n} generation${n === 1 ? "" : "s"}, ${output.evaluations} evaluations, ${output.cache_hits} cache hits, ` +
        `${output.failures} failures, ${formatDuration(output.seconds)} (${(output.cpu_seconds / 60).toFixed(1)} CPU-minutes)`)
      const continued = output.fidelity_cost.continued_epoch_equivalents
      if (continued > 0) {
        io.out(`training: ${output.fidelity_cost.epoch_equivalents.toFixed(1)} epoch-equivalents, of which ${continued.toFixed(1)} continued from the level below (promoted candidates kept their training)`)
      }
      if (output.speculation !== undefined && output.speculation.started > 0) {
        io.out(`idle workers: ${output.speculation.started} evaluations started ahead of the search, ${output.speculation.used} of them used`)
      }
      io.out(`best fitness ${output.best.fitness.toFixed(4)} (validation objective at fidelity level ${output.best.level})`)
      io.out(`best architecture: ${SearchReport.describeArchitecture(output.best.architecture)}`)
      if (output.best.text_features !== undefined) io.out(`best text features: ${output.best.text_features}`)
      if (output.selection !== undefined) {
        const sel = output.selection
        io.out(`\nselection over seeds ${sel.seeds.join(",")} (up to ${sel.epochs} epochs each; chosen on the mean validation objective, test not looked at):`)
        for (const line of SearchReport.finalistLines(sel)) io.out(line)
        io.out(`winner: finalist ${sel.chosen + 1}${sel.chosen === 0 && sel.finalists[0].search?.rank === 1 ? " (the search's best)" : ""} (selection.finalists[${sel.chosen}] in the JSON)`)
      }
      if (output.retrain) {
        const r = output.retrain
        io.out(`\nretrained for up to ${r.epochs} epochs (seed ${output.seed})${r.same ? ": the winner is the default architecture" : ""}:`)
        io.out(metricsTable([
          ["winner valid", r.winner.valid],
          ["default valid", r.default.valid],
          ["winner test", r.winner.test],
          ["default test", r.default.test]
        ]))
      }
      if (f.json !== undefined) yield* writeJson(f.json, output, { stdout: io.stdout })
      if (report !== undefined && format !== undefined) {
        yield* writeText(report, SearchReport.render(output, format), { stdout: io.stdout })
        io.out(`report: ${report}`)
      }
    })
})
