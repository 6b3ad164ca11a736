/**
 * Typed errors of @haemsa/kd-losses. Each one names the argument, its value and what was wrong.
 * The losses are plain functions of tensors (they run inside a taped training step), so they
 * `throw` these errors synchronously; inside Effect code they are yieldable failures.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A distillation loss was called with an invalid argument (shapes, rank, temperature, weights...). */
export class DistillationError extends Schema.TaggedError<DistillationError>()("DistillationError", {
  /** The argument at fault, e.g. "studentLogits" or "temperature". */
  argument: Schema.String,
  /** The offending value as text (a shape such as "[4,7]", or a number). */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.argument} = ${this.value}: ${this.reason}`
  }
}

/** A task loss (L1, MSE, cross-entropy, BCE, sentiment classes) was called with an invalid argument. */
export class TaskLossError extends Schema.TaggedError<TaskLossError>()("TaskLossError", {
  /** The argument at fault, e.g. "labels" or "weights". */
  argument: Schema.String,
  /** The offending value as text (a shape, a dtype, or a number). */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.argument} = ${this.value}: ${this.reason}`
  }
}

/** Any error of this package. */
export type KdLossError = DistillationError | TaskLossError
