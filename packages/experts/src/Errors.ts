/**
 * Typed errors of @haemsa/experts. Every error names the offending spec field and its value.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * An expert could not be built or applied: an unknown encoder kind, a hidden size below 1, a head
 * count that does not divide the hidden size, a kernel below 1, modalities with mismatched time
 * steps, a missing modality input.
 */
export class ExpertError extends Schema.TaggedError<ExpertError>()("ExpertError", {
  /** The spec or input field at fault ("kind", "hidden", "heads", "T", ...). */
  field: Schema.String,
  /** The offending value, as text. */
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid expert ${this.field} = ${this.value}: ${this.reason}`
  }
}
