/**
 * The end-to-end jobs behind `haemsa train` and `haemsa eval`: load and normalise data, train, score
 * the valid and test splits, save and reload checkpoints. Effects that ask for the services they use.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Batching, DatasetLoader, type Errors, Errors as DatasetErrors, Normalize } from "@haemsa/datasets"
import type { ExpertFactory } from "@haemsa/experts"
import type { FusionFactory } from "@haemsa/hierarchical-fusion"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as path from "node:path"
import * as ArchitectureSpec from "./ArchitectureSpec"
import { Backend } from "../backends/Backend"
import * as Checkpoint from "./Checkpoint"
import * as DataInfo from "./DataInfo"
import * as Evaluate from "./Evaluate"
import * as Network from "./Network"
import { bar, Progress } from "../cli/Progress"
import * as RunCard from "./RunCard"
import * as SeedStats from "./SeedStats"
import * as TextFeatures from "./TextFeatures"
import * as Train from "./Train"
import * as TrainState from "./TrainState"

/** What a checkpoint stores besides the spec and weights. */
export interface CheckpointExtra {
  readonly info: DataInfo.DataInfo
  readonly seed: number
  readonly source: string
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
  /** The run card ({@link RunCard}); checkpoints written before 0.2.0 have none. */
  readonly card?: RunCard.RunCard
}

/** The report of a training run (`--json`). */
export interface TrainReport {
  readonly model: ArchitectureSpec.ModelKind
  readonly backend: string
  readonly seed: number
  readonly epochs: number
  readonly best_epoch: number
  readonly seconds: number
  readonly data: string
  readonly modalities: ReadonlyArray<string>
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
  /** The run card ({@link RunCard}). */
  readonly card: RunCard.RunCard
}

/** One seed's run of a multi-seed training (`runs` of {@link SeedsReport}). */
export interface SeedRun {
  readonly seed: number
  readonly epochs: number
  readonly seconds: number
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
}

/**
 * The report of `haemsa train --seeds` (`--json`): one run per seed, and the mean and the sample
 * standard deviation (n - 1, {@link SeedStats.summarize}) of each metric over the seeds.
 */
export interface SeedsReport {
  readonly model: ArchitectureSpec.ModelKind
  readonly backend: string
  readonly seeds: ReadonlyArray<number>
  readonly runs: ReadonlyArray<SeedRun>
  readonly mean: { readonly valid: Evaluate.SplitMetrics; readonly test: Evaluate.SplitMetrics }
  readonly std: { readonly valid: Evaluate.SplitMetrics; readonly test: Evaluate.SplitMetrics }
  readonly card: RunCard.RunCard
}

/** A dataset normalised on its train split, with the facts a model needs. */
export interface LoadedData {
  readonly dataset: Dataset.Dataset
  readonly info: DataInfo.DataInfo
}

/** The report of `haemsa eval` (`--json`). */
export interface EvalReport {
  readonly model: ArchitectureSpec.ModelKind
  readonly checkpoint: string
  readonly data: string
  readonly modalities: ReadonlyArray<Dataset.Modality>
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
  readonly missing_modalities: ReadonlyArray<{ readonly modalities: ReadonlyArray<Dataset.Modality>; readonly metrics: Evaluate.SplitMetrics }>
  /** The seed of the robustness grid's masks (with `rows`, when asked for). */
  readonly seed?: number
  /** The robustness grid of the test split ({@link Evaluate.robustnessTable}), when asked for. */
  readonly rows?: ReadonlyArray<Evaluate.RobustnessRow>
}

/** How a job loads its text features: the choice, and where the vectors' first-load progress goes. */
export interface TextOptions {
  readonly choice: TextFeatures.Choice
  readonly onProgress?: (fraction: number, message: string) => void
}

/**
 * Load a dataset as read and normalised on its train split, with the text features of `text` (default
 * tokens): word vectors are checked against the source (they need raw transcripts, else an
 * `InvalidOption` naming `text-features`), loaded (`TextFeatures.resolve`) and passed to the loader;
 * the data info stores the text settings (the training vocabulary's vectors).
 */
export const loadData = (
  source: string,
  options?: DatasetLoader.LoadOptions,
  text?: TextOptions
): Effect.Effect<LoadedData & { readonly raw: Dataset.Dataset }, Errors.DatasetError, DatasetLoader.DatasetLoader> =>
  Effect.gen(function*() {
    const { raw, settings } = yield* loadRaw(source, options, text)
    const { dataset, stats } = Normalize.normalize(raw)
    const info = yield* Effect.try({
      try: () => DataInfo.fromDataset(dataset, stats, settings),
      catch: (e) =>
        e instanceof DatasetErrors.InvalidOption
          ? e
          : new DatasetErrors.InvalidOption({ option: "text-features", value: TextFeatures.flagValue(text?.choice ?? TextFeatures.TOKENS), reason: String(e) })
    })
    return { raw, dataset, info }
  })

/**
 * The dataset as read with the text features of `text`, and the text settings to store (none for
 * tokens alone), with the transcripts' sentence vectors appended when the choice asks for them.
 */
const loadRaw = (source: string, options?: DatasetLoader.LoadOptions, text?: TextOptions) =>
  Effect.gen(function*() {
    const choice = text?.choice ?? TextFeatures.TOKENS
    const { raw, settings } = yield* loadWords(source, options, text)
    if (choice.sentence !== true) return { raw, settings }
    const progress = text?.onProgress !== undefined ? { onProgress: text.onProgress } : {}
    const withSentences = yield* TextFeatures.appendSentences(raw, source, progress)
    // word vectors' settings carry `sentence` already (TextFeatures.resolve); the tokens' lexicon is mosi-real's
    return { raw: withSentences, settings: settings ?? { kind: "tokens" as const, lexicon: raw.format === "mosi-real", sentence: true } }
  })

/** The dataset as read with the word-level text features of `text`, and the text settings to store (none for tokens). */
const loadWords = (source: string, options?: DatasetLoader.LoadOptions, text?: TextOptions) =>
  Effect.gen(function*() {
    const loader = yield* DatasetLoader.DatasetLoader
    const choice = text?.choice ?? TextFeatures.TOKENS
    if (choice.kind === "tokens") {
      if (choice.sentence === true) yield* TextFeatures.check(choice, (yield* loader.detect(source)).kind, source)
      return { raw: yield* loader.load(source, options), settings: undefined }
    }
    const detected = yield* loader.detect(source)
    yield* TextFeatures.check(choice, detected.kind, source)
    const resolved = yield* TextFeatures.resolve(choice, text?.onProgress !== undefined ? { onProgress: text.onProgress } : {})
    const features = resolved.loadOptions!
    if (detected.kind === "pickle") {
      // the pickle's own text features are replaced by the vectors of its raw transcripts (MMSA raw_text)
      const read = yield* loader.load(source, options)
      const raw = yield* Effect.try({
        try: () => TextFeatures.embedRawText(read, features, source),
        catch: (e) => (e instanceof DatasetErrors.InvalidOption ? e : new DatasetErrors.InvalidOption({ option: "text-features", value: choice.source, reason: String(e) }))
      })
      return { raw, settings: resolved.settings }
    }
    const raw = yield* loader.load(source, { ...options, textFeatures: features })
    return { raw, settings: resolved.settings }
  })


/** Load a dataset and normalise it on its train split (with the text features of `text`, default tokens: see {@link loadData}). */
export const loadNormalized = (
  source: string,
  options?: DatasetLoader.LoadOptions,
  text?: TextOptions
): Effect.Effect<LoadedData, Errors.DatasetError, DatasetLoader.DatasetLoader> =>
  Effect.map(loadData(source, options, text), ({ dataset, info }) => ({ dataset, info }))

/**
 * Train `spec` on a loaded dataset and score valid and test. The caller disposes `result.net`. A
 * training that ends with a weight that is not finite (it diverged) fails with a `TrainingError`
 * naming the weight, and frees its network: such a model can only predict NaN.
 */
export const trainOn = (
  spec: ArchitectureSpec.ArchitectureSpec,
  data: { readonly dataset: Dataset.Dataset; readonly info: DataInfo.DataInfo },
  options: Train.TrainOptions
): Effect.Effect<
  { readonly result: Train.TrainResult; readonly valid: Evaluate.SplitMetrics; readonly test: Evaluate.SplitMetrics },
  Train.TrainingError | Network.ModelError | TrainState.TrainStateError,
  Train.Parts | Progress
> =>
  Effect.gen(function*() {
    const result = yield* Train.train(spec, data.dataset, data.info, options)
    const nonFinite = Checkpoint.firstNonFinite(yield* Effect.promise(() => readWeights(result.net)))
    if (nonFinite !== undefined) {
      Network.dispose(result.net)
      return yield* new Train.TrainingError({
        reason: `training diverged: the weights are not finite (${nonFinite}); lower the learning rate or check the data`
      })
    }
    const valid = yield* Effect.promise(() => Evaluate.evaluate(result.net, data.dataset.splits.valid))
    const test = yield* Effect.promise(() => Evaluate.evaluate(result.net, data.dataset.splits.test))
    return { result, valid, test }
  })

/** What {@link trainJob} and {@link trainSeedsJob} take. */
export interface TrainJobOptions {
  readonly source: string
  readonly spec: ArchitectureSpec.ArchitectureSpec
  readonly train: Train.TrainOptions
  readonly out?: string
  /** Continue the training whose state is in `out`. */
  readonly resume?: boolean
  readonly loadOptions?: DatasetLoader.LoadOptions
  /** The text features (default tokens; word vectors need raw transcripts: see {@link loadData}). */
  readonly textFeatures?: TextFeatures.Choice
  /** The command line, for the run card (its secrets are replaced by `***` there). */
  readonly command?: ReadonlyArray<string>
}

/** Load the data as read (for the card's hash) and normalised on its train split; the vectors' first load reports its progress. */
const loadForTraining = (source: string, options?: DatasetLoader.LoadOptions, choice?: TextFeatures.Choice) =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const text: TextOptions | undefined = choice === undefined ? undefined : {
      choice,
      onProgress: (fraction, message) =>
        fraction >= 1 ? progress.log(`text features: ${message}`) : progress.update(`text features ${bar(fraction)} ${message}`)
    }
    const { raw, dataset, info } = yield* loadData(source, options, text)
    // the normalised data's hash (the training state's) is taken here, as the data is loaded: the
    // training itself then reads nothing of the test split before the final scoring
    return { raw, data: { dataset, info, hash: TrainState.dataHash(dataset) } }
  })

/** Train one seed on loaded data, score, and save a checkpoint (with the card) into `out` if given. */
const trainOne = (
  data: LoadedData & { readonly hash: string },
  card: RunCard.RunCard,
  options: TrainJobOptions,
  seed: number,
  out: string | undefined
) =>
  Effect.gen(function*() {
    const train: Train.TrainOptions = out !== undefined
      ? { ...options.train, seed, state: { dir: out, resume: options.resume === true, data: data.hash } }
      : { ...options.train, seed }
    const { result, valid, test } = yield* trainOn(options.spec, data, train)
    // (an Effect that fails inside a generator skips its finally blocks: the network is freed with ensuring)
    return yield* Effect.gen(function*() {
      if (out) {
        const extra: CheckpointExtra = { info: data.info, seed, source: options.source, valid, test, card }
        // a checkpoint that cannot be written is a CheckpointError; anything else (reading the weights) is a bug
        yield* Effect.tryPromise({
          try: async () => Checkpoint.save(out, { spec: options.spec, extra, weights: await readWeights(result.net) }),
          catch: (e) => e
        }).pipe(Effect.catch((e) => (e instanceof Checkpoint.CheckpointError ? Effect.fail(e) : Effect.die(e))))
        // the checkpoint is the result: the state is not needed any more
        yield* TrainState.remove(out)
      }
      return { result, valid, test, modalities: result.net.modalities }
    }).pipe(Effect.ensuring(Effect.sync(() => Network.dispose(result.net))))
  })

/** What every training job starts with: the backend, the data (loaded once) and the run card of `seeds`. */
const prepareRun = (options: TrainJobOptions, seeds: ReadonlyArray<number>) =>
  Effect.gen(function*() {
    const backend = yield* Backend
    const { raw, data } = yield* loadForTraining(options.source, options.loadOptions, options.textFeatures)
    const card = RunCard.make({
      command: options.command ?? [],
      spec: options.spec,
      source: options.source,
      raw,
      seeds,
      backend: backend.name,
      threads: options.train.threads,
      ...(data.info.text !== undefined ? { text: data.info.text } : {})
    })
    return { backend, data, card }
  })

/**
 * Train, score, and optionally save a checkpoint: the `haemsa train` job. With `out`, the training
 * keeps its state there at the end of each epoch ({@link TrainState}) and `resume` continues the one
 * kept there; the state is removed once the checkpoint is written. The report and the checkpoint carry
 * the run card ({@link RunCard}).
 */
export const trainJob = (options: TrainJobOptions): Effect.Effect<
  TrainReport,
  Errors.DatasetError | Train.TrainingError | Network.ModelError | Checkpoint.CheckpointError | TrainState.TrainStateError,
  Train.Parts | Progress | Backend | DatasetLoader.DatasetLoader
> =>
  Effect.gen(function*() {
    const seed = options.train.seed ?? 0
    const { backend, data, card } = yield* prepareRun(options, [seed])
    const { result, valid, test, modalities } = yield* trainOne(data, card, options, seed, options.out)
    const report: TrainReport = {
      model: options.spec.model,
      backend: backend.name,
      seed,
      epochs: result.history.length,
      best_epoch: result.bestEpoch,
      seconds: Math.round(result.seconds * 100) / 100,
      data: options.source,
      modalities,
      valid,
      test,
      card
    }
    return report
  })

/** The checkpoint folder of one seed of a multi-seed training: `DIR/seed-S`. */
export const seedFolder = (out: string, seed: number): string => path.join(out, `seed-${seed}`)

/**
 * Train one model per seed on the same data (loaded once), score each, and report every run with the
 * mean and sample standard deviation (n - 1) of each metric: `haemsa train --seeds`. With `out`, each
 * seed's checkpoint (and training state) is kept in `out/seed-S` ({@link seedFolder}); each carries
 * the run card, whose `seeds` lists them all.
 */
export const trainSeedsJob = (options: TrainJobOptions & { readonly seeds: ReadonlyArray<number> }): Effect.Effect<
  SeedsReport,
  Errors.DatasetError | Train.TrainingError | Network.ModelError | Checkpoint.CheckpointError | TrainState.TrainStateError,
  Train.Parts | Progress | Backend | DatasetLoader.DatasetLoader
> =>
  Effect.gen(function*() {
    const { backend, data, card } = yield* prepareRun(options, options.seeds)
    const runs: Array<SeedRun> = []
    for (const seed of options.seeds) {
      const out = options.out !== undefined ? seedFolder(options.out, seed) : undefined
      const label = options.train.label ?? `seed ${seed}`
      const { result, valid, test } = yield* trainOne(data, card, { ...options, train: { ...options.train, label } }, seed, out)
      runs.push({ seed, epochs: result.history.length, seconds: Math.round(result.seconds * 100) / 100, valid, test })
    }
    const valid = SeedStats.summarize(runs.map((r) => r.valid))
    const test = SeedStats.summarize(runs.map((r) => r.test))
    return {
      model: options.spec.model,
      backend: backend.name,
      seeds: [...options.seeds],
      runs,
      mean: { valid: valid.mean, test: test.mean },
      std: { valid: valid.std, test: test.std },
      card
    }
  })

/** The network's weights as plain arrays (for checkpoints; read asynchronously, as webgpu needs). */
export const readWeights = async (net: Network.Network): Promise<Checkpoint.Weights> => {
  const weights = new Map<string, { readonly shape: ReadonlyArray<number>; readonly values: Float32Array }>()
  for (const [k, v] of net.variables) weights.set(k, { shape: v.shape, values: (await v.data()) as Float32Array })
  return weights
}

/** Rebuild a network from a checkpoint folder (spec, data info, weights checked name by name). */
export const loadNetwork = (
  dir: string
): Effect.Effect<
  { readonly net: Network.Network; readonly extra: CheckpointExtra },
  Checkpoint.CheckpointError | Network.ModelError,
  ExpertFactory.ExpertFactory | FusionFactory.FusionFactory
> =>
  Effect.gen(function*() {
    const ckpt = yield* Effect.tryPromise({
      try: () => Checkpoint.load<CheckpointExtra>(dir),
      catch: (e) => e instanceof Checkpoint.CheckpointError ? e : new Checkpoint.CheckpointError({ file: dir, reason: String(e) })
    })
    const info = ckpt.extra?.info
    if (!info || typeof info !== "object" || !info.features) {
      return yield* new Checkpoint.CheckpointError({ file: dir, reason: "checkpoint has no data info" })
    }
    const net = yield* Network.build(ckpt.spec, info, ckpt.extra.seed ?? 0)
    yield* Effect.try({
      try: () => {
        Checkpoint.checkFits(dir, ckpt.weights, net.variables)
        for (const [k, v] of net.variables) {
          const w = ckpt.weights.get(k)!
          const t = tensorOf(w.values, w.shape)
          v.assign(t) // (the variable holds the data now; the tensor itself must still be freed)
          t.dispose()
        }
      },
      catch: (e) => {
        Network.dispose(net)
        return e instanceof Checkpoint.CheckpointError ? e : new Checkpoint.CheckpointError({ file: dir, reason: String(e) })
      }
    })
    return { net, extra: ckpt.extra }
  })

const tensorOf = (values: Float32Array, shape: ReadonlyArray<number>) => tf.tensor(values, [...shape], "float32")

/** Score a checkpoint on a dataset (normalised with the checkpoint's own train statistics). */
export const evalJob = (options: {
  readonly checkpoint: string
  readonly source: string
  readonly modalities?: ReadonlyArray<Dataset.Modality>
  readonly loadOptions?: DatasetLoader.LoadOptions
  /** Score the robustness grid of the test split too, its masks drawn from this seed. */
  readonly robustness?: { readonly seed: number }
  /** Told a one-line warning when the data's hash differs from the one in the checkpoint's run card. */
  readonly warn?: (line: string) => void
  /**
   * Where the word vectors of a checkpoint trained on them come from (`glove` or a file): default the
   * source its text settings name. The text features themselves (kind, lexicon) are the checkpoint's.
   */
  readonly textFeatures?: string
  /** Told the progress of the word vectors' first load (fraction in [0, 1], what is done). */
  readonly onProgress?: (fraction: number, message: string) => void
}): Effect.Effect<
  EvalReport,
  Checkpoint.CheckpointError | Network.ModelError | Errors.DatasetError,
  ExpertFactory.ExpertFactory | FusionFactory.FusionFactory | DatasetLoader.DatasetLoader
> =>
  Effect.gen(function*() {
    const { net, extra } = yield* loadNetwork(options.checkpoint)
    return yield* Effect.gen(function*() {
      // the text features are rebuilt from the checkpoint's settings (no flag needed), the vectors read from their source
      const stored = extra.info.text
      const choice = yield* Effect.try({
        try: () => TextFeatures.fromSettings(stored ?? { kind: "tokens", lexicon: false, lowercase: true }, options.textFeatures),
        catch: (e) => e as DatasetErrors.InvalidOption
      })
      const { raw } = yield* loadRaw(options.source, options.loadOptions, {
        choice,
        ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {})
      })
      const problems = DataInfo.incompatibilities(extra.info, raw)
      if (problems.length > 0) {
        return yield* new Network.ModelError({ reason: `${options.source} does not fit checkpoint ${options.checkpoint}: ${problems.join("; ")}` })
      }
      const trained = extra.card?.data?.sha256
      if (typeof trained === "string" && options.warn !== undefined) {
        const here = RunCard.dataHash(raw)
        if (here !== trained) {
          options.warn(
            `the data differ from the checkpoint's training data: --data ${options.source} has sha256 ${here.slice(0, 16)}..., ` +
              `the run card of ${options.checkpoint} ${trained.slice(0, 16)}... (${extra.card!.data.source})`
          )
        }
      }
      const dataset = Normalize.apply(raw, extra.info.normalization)
      const keep = options.modalities
      const score = (split: Dataset.Split) => Effect.promise(() => Evaluate.evaluate(net, keep ? Batching.keepModalities(split, keep) : split))
      return {
        model: net.spec.model,
        checkpoint: options.checkpoint,
        data: options.source,
        modalities: keep ?? net.modalities,
        valid: yield* score(dataset.splits.valid),
        test: yield* score(dataset.splits.test),
        missing_modalities: yield* Effect.promise(() => Evaluate.missingModalityTable(net, dataset.splits.test)),
        ...(options.robustness !== undefined
          ? {
            seed: options.robustness.seed,
            rows: yield* Effect.promise(() =>
              Evaluate.robustnessTable(
                net,
                keep ? Batching.keepModalities(dataset.splits.test, keep) : dataset.splits.test,
                options.robustness!.seed,
                keep ?? net.modalities
              )
            )
          }
          : {})
      }
    }).pipe(Effect.ensuring(Effect.sync(() => Network.dispose(net))))
  })
