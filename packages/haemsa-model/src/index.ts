/**
 * @haemsa/haemsa-model: the HAEMSA model, training, evaluation, checkpoints, backend selection
 * and the `haemsa` command.
 *
 * @since 0.1.0
 * @module @haemsa/haemsa-model
 */

/** The serialisable, Schema-validated architecture spec and the default architecture. */
export * as ArchitectureSpec from "./ArchitectureSpec"
/** Command-line parsing. */
export * as Args from "./Args"
/** Backend selection (wasm, cpu, webgpu, tensorflow) as a service. */
export * as Backend from "./Backend"
/** Batches as tensors. */
export * as BatchTensors from "./BatchTensors"
/** Atomic, verified checkpoints. */
export * as Checkpoint from "./Checkpoint"
/** The `haemsa` command. */
export * as Cli from "./Cli"
/** What a model knows about its data. */
export * as DataInfo from "./DataInfo"
/** `--data` values: `synthetic`, a path, or `mosi-real` (the `@haemsa/mosi-real` package or `$HAEMSA_MOSI_REAL`). */
export * as DataSource from "./DataSource"
/** Prediction, metrics and the missing-modality table. */
export * as Evaluate from "./Evaluate"
/** End-to-end jobs (train, eval). */
export * as Experiment from "./Experiment"
/** The HAEMSA search space: genome <-> architecture spec, canonical cache keys. */
export * as Genome from "./Genome"
/** The default service composition. */
export * as Layers from "./Layers"
/** HAEMSA and the baselines as networks. */
export * as Network from "./Network"
/** The joint objective. */
export * as Objective from "./Objective"
/** Adam with a fused one-kernel-per-weight update on webgpu. */
export * as Optimizer from "./Optimizer"
/** The commands' output files, written atomically. */
export * as OutputFile from "./OutputFile"
/** Predictions for new samples (haemsa predict). */
export * as Predict from "./Predict"
/** Progress output. */
export * as Progress from "./Progress"
/** Architecture search end to end and the `haemsa search` command. */
export * as SearchCommand from "./SearchCommand"
/** Fitness evaluation (in process or in worker threads), the search space and the retrainer. */
export * as SearchEvaluator from "./SearchEvaluator"
/** The search report (SVG or HTML). */
export * as SearchReport from "./SearchReport"
/** The training loop. */
export * as Train from "./Train"
/** Cheaper webgpu dispatches: bind-group cache, one uniform upload per submit. */
export * as WebGpuDispatch from "./WebGpuDispatch"
