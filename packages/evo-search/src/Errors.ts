/**
 * Typed errors of @haemsa/evo-search. Each one names what was wrong and the value at fault.
 * The operators are plain functions (they run in tight loops where no Effect belongs), so they
 * `throw` {@link OperatorError} synchronously; inside Effect code every error is a yieldable failure.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A genetic operator, or an operator's parameters in a config, got an invalid argument. */
export class OperatorError extends Schema.TaggedError<OperatorError>()("OperatorError", {
  /** The operator, e.g. "tournament" or "gaussian". */
  operator: Schema.String,
  /** The argument at fault, e.g. "size", "b" or "genome[3]". */
  argument: Schema.String,
  /** The offending value as text. */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.operator}: invalid ${this.argument} = ${this.value}: ${this.reason}`
  }
}

/** An invalid search or strategy option (population size, elitism, generations, fidelity levels...). */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  /** The option at fault, e.g. "populationSize" or "fidelity.eta". */
  option: Schema.String,
  /** The offending value as text. */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.option} = ${this.value}: ${this.reason}`
  }
}

/** The ask/tell protocol was not followed (tell without ask, wrong number of fitnesses...). */
export class StrategyError extends Schema.TaggedError<StrategyError>()("StrategyError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `strategy: ${this.reason}`
  }
}

/** A fitness evaluation failed. The search records it and ranks the candidate worst (NaN fitness). */
export class EvaluationError extends Schema.TaggedError<EvaluationError>()("EvaluationError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `evaluation failed: ${this.reason}`
  }
}

/** A checkpoint could not be read (corrupt, another configuration) or written. Names the file. */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** Any error the search loop can fail with (evaluation errors never escape it). */
export type SearchError = OperatorError | ConfigError | StrategyError | CheckpointError
