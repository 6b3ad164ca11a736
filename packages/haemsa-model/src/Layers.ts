/**
 * The default composition: every service the jobs need, with the parts of this toolkit. Override any
 * part by merging your own layer after it, e.g.
 * `Layer.merge(Layers.make("wasm"), Layer.succeed(ExpertFactory.ExpertFactory, mine))`.
 *
 * @since 0.1.0
 */
import { DatasetLoader } from "@haemsa/datasets"
import { ExpertFactory } from "@haemsa/experts"
import { FusionFactory } from "@haemsa/hierarchical-fusion"
import { Services } from "@haemsa/kd-losses"
import { Layer } from "effect"
import { Backend } from "./Backend"
import { Progress } from "./Progress"

/** The model parts: experts, fusion, task losses and distillation. */
export const parts = Layer.mergeAll(
  ExpertFactory.ExpertFactory.layer,
  FusionFactory.FusionFactory.layer,
  Services.TaskLosses.layer,
  Services.Distillation.layer
)

/** Everything the jobs need, on the named backend, with progress on stderr. */
export const make = (backend = "wasm") =>
  Layer.mergeAll(parts, DatasetLoader.DatasetLoader.layer, Progress.layer, Backend.layer(backend))

/** For tests: the deterministic cpu backend and silent progress. */
export const test = Layer.mergeAll(parts, DatasetLoader.DatasetLoader.layer, Progress.layerSilent, Backend.layerTest)
