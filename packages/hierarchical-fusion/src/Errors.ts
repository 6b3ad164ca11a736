/**
 * Typed errors of @haemsa/hierarchical-fusion. Every error names the offending config field and
 * its value.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * A fusion module could not be built or applied: a hierarchy depth outside 1-4, a width below 1, an
 * empty or duplicated task list, a tower depth outside 0-3, a bad dropout rate or activation, an
 * input of the wrong size.
 */
export class FusionError extends Schema.TaggedError<FusionError>()("FusionError", {
  /** The config or input field at fault ("depth", "width", "tasks", ...). */
  field: Schema.String,
  /** The offending value, as text. */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid fusion ${this.field} = ${this.value}: ${this.reason}`
  }
}

/** Throw a {@link FusionError} unless `n` is an integer in [min, max]. */
export const checkInt = (field: string, n: number, min: number, max = Number.MAX_SAFE_INTEGER): void => {
  if (typeof n !== "number" || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}-${max}`
    throw new FusionError({ field, value: String(n), reason: `must be an integer ${range}` })
  }
}

/** Throw a {@link FusionError} unless `rate` is a dropout rate in [0, 1). */
export const checkRate = (field: string, rate: number): void => {
  if (typeof rate !== "number" || !(rate >= 0 && rate < 1)) {
    throw new FusionError({ field, value: String(rate), reason: "must be in [0, 1)" })
  }
}

const ACTIVATIONS: ReadonlyArray<string> = ["relu", "gelu", "tanh", "linear"]

/** Throw a {@link FusionError} unless `activation` is one of relu, gelu, tanh, linear. */
export const checkActivation = (field: string, activation: string): void => {
  if (!ACTIVATIONS.includes(activation)) {
    throw new FusionError({ field, value: String(activation), reason: `must be one of ${ACTIVATIONS.join(", ")}` })
  }
}
