/**
 * The losses as Effect services, so a user can swap one without touching the trainer:
 * `Layer.succeed(Distillation, { ...Distillation.default, kl: myKl })`.
 * The service values are the plain tensor functions: they run inside a taped training step, where
 * no Effect belongs.
 *
 * @since 0.1.0
 */
import { Context, Layer } from "effect"
import { crossModalKl, klDivergence } from "./Distillation"
import { binaryCrossEntropyWithLogits, crossEntropy, l1Loss, mseLoss, sentimentClasses } from "./TaskLosses"

/** The cross-modal knowledge-distillation losses: `kl` for one student, `crossModal` for all modalities. */
export class Distillation extends Context.Service<Distillation, {
  readonly kl: typeof klDivergence
  readonly crossModal: typeof crossModalKl
}>()("@haemsa/kd-losses/Distillation") {
  /** The implementation of this package (temperature KL from logits, teacher gradient stopped by default). */
  static readonly default: Distillation["Service"] = { kl: klDivergence, crossModal: crossModalKl }
  /** Provides {@link Distillation.default}. */
  static readonly layer: Layer.Layer<Distillation> = Layer.succeed(this, this.default)
}

/** The task losses of the multi-task objective and the label-to-class mapping used with them. */
export class TaskLosses extends Context.Service<TaskLosses, {
  readonly l1: typeof l1Loss
  readonly mse: typeof mseLoss
  readonly crossEntropy: typeof crossEntropy
  readonly binaryCrossEntropyWithLogits: typeof binaryCrossEntropyWithLogits
  readonly sentimentClasses: typeof sentimentClasses
}>()("@haemsa/kd-losses/TaskLosses") {
  /** The implementation of this package. */
  static readonly default: TaskLosses["Service"] = {
    l1: l1Loss,
    mse: mseLoss,
    crossEntropy,
    binaryCrossEntropyWithLogits,
    sentimentClasses
  }
  /** Provides {@link TaskLosses.default}. */
  static readonly layer: Layer.Layer<TaskLosses> = Layer.succeed(this, this.default)
}
