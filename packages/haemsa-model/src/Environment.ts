/**
 * The environment a job runs in: every service the jobs need, with the parts of this toolkit. Override any
 * part by merging your own layer after it, e.g.
 * `Layer.merge(Environment.make("wasm"), Layer.succeed(ExpertFactory.ExpertFactory, mine))`.
 *
 * @since 0.1.0
 */
import { DatasetLoader } from "@haemsa/datasets"
import { ExpertFactory } from "@haemsa/experts"
import { FusionFactory } from "@haemsa/hierarchical-fusion"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import { Layer } from "effect"
import { Backend, type BackendError, type SetupOptions } from "./backends/Backend"
import { Progress } from "./cli/Progress"

/** The model parts: experts, fusion, task losses and distillation. */
export type Parts = ExpertFactory.ExpertFactory | FusionFactory.FusionFactory | TaskLosses.TaskLosses | Distillation.Distillation

/** Every service the jobs use. */
export type JobServices = Parts | DatasetLoader.DatasetLoader | Progress | Backend

/** The default parts. */
export const parts: Layer.Layer<Parts> = Layer.mergeAll(
  ExpertFactory.ExpertFactory.layer,
  FusionFactory.FusionFactory.layer,
  TaskLosses.TaskLosses.layer,
  Distillation.Distillation.layer
)

/** Everything the jobs need, on the named backend (set up with `options`, e.g. `allowSoftwareAdapter`), with progress on stderr. */
export const make = (backend = "wasm", options: SetupOptions = {}): Layer.Layer<JobServices, BackendError> =>
  Layer.mergeAll(parts, DatasetLoader.DatasetLoader.layer, Progress.layer, Backend.layer(backend, undefined, options))

/** For tests: the deterministic cpu backend and silent progress. */
export const test: Layer.Layer<JobServices, BackendError> = Layer.mergeAll(parts, DatasetLoader.DatasetLoader.layer, Progress.layerSilent, Backend.layerTest)
