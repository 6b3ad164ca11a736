/**
 * Typed errors of @haemsa/datasets. Every error names the file (or value) and what was wrong.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A Python pickle could not be read: corrupt, truncated, unsupported opcode, or a forbidden global. */
export class PickleError extends Schema.TaggedError<PickleError>()("PickleError", {
  /** The file, or "<bytes>" when parsing an in-memory buffer. */
  file: Schema.String,
  /** Byte offset in the stream where the problem was found. */
  offset: Schema.Number,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: pickle error at byte ${this.offset}: ${this.reason}`
  }
}

/** An HDF5 / CMU-MultimodalSDK `.csd` file could not be read or does not have the computational-sequence layout. */
export class CsdError extends Schema.TaggedError<CsdError>()("CsdError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** A file was read but its content does not have the layout of the expected format (MMSA, MulT, mosi-real, ...). */
export class FormatError extends Schema.TaggedError<FormatError>()("FormatError", {
  file: Schema.String,
  format: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: not a valid ${this.format} file: ${this.reason}`
  }
}

/** A file or folder could not be read at all (missing, permission, unknown format). */
export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** An invalid option or value given by the caller (a bad seed, a non-positive batch size, an unknown split...). */
export class InvalidOption extends Schema.TaggedError<InvalidOption>()("InvalidOption", {
  option: Schema.String,
  value: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `invalid ${this.option} = ${this.value}: ${this.reason}`
  }
}

/** Any error of this package. */
export type DatasetError = PickleError | CsdError | FormatError | FileError | InvalidOption
