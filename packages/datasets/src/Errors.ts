/**
 * Typed errors of @haemsa/datasets. Every error names the file (or value) and what was wrong; an
 * error caused by another one (an I/O failure, a bug in a reader) keeps it as `cause`.
 *
 * A new error class goes into `DatasetErrorSchema` too: `isDatasetError` and the `DatasetError`
 * type derive from it, and a test checks that every error class of this module is in it.
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
  reason: Schema.String,
  /** The unexpected error behind an "internal error" (a bug in the reader), if any. */
  cause: Schema.optional(Schema.Defect())
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
  reason: Schema.String,
  /** The error behind this one (the file system's, or an unexpected error of a reader), if any. */
  cause: Schema.optional(Schema.Defect())
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

/** An optional package that a feature needs is not installed (e.g. the word vectors of `WordVectors.load("glove")`). */
export class PackageMissing extends Schema.TaggedError<PackageMissing>()("PackageMissing", {
  /** The npm package. */
  packageName: Schema.String,
  /** How to install it, or what to do instead (printed as it is). */
  install: Schema.String,
  /** Why it could not be used (the resolver's error). */
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.packageName} is not installed: ${this.install}`
  }
}

/** Every error of this package, as a schema: the union of its error classes ({@link isDatasetError} is `Schema.is` of it). */
export const DatasetErrorSchema = Schema.Union([PickleError, CsdError, FormatError, FileError, InvalidOption, PackageMissing])

/** Any error of this package (the type of {@link DatasetErrorSchema}). */
export type DatasetError = typeof DatasetErrorSchema.Type

/** True when `u` is an error of this package: an instance of one of the classes of {@link DatasetErrorSchema}. */
export const isDatasetError: (u: unknown) => u is DatasetError = Schema.is(DatasetErrorSchema)

/**
 * Characters a message must not carry raw: C0 and C1 control characters and DEL (terminal escape
 * sequences start with ESC 0x1b or CSI 0x9b), soft hyphen, zero-width and bidirectional formatting
 * characters, line and paragraph separators, the byte-order mark, and unpaired surrogates.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const escapeChar = (c: string): string => {
  const code = c.charCodeAt(0)
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/**
 * `text` safe to print on a terminal: every character that is not printable (see `UNPRINTABLE`:
 * control characters, escape sequences, bidirectional overrides...) written as `\xNN` or `\uNNNN`;
 * everything else, backslashes included, as it is. Every message that may carry a file's content
 * goes through it (the `haemsa` command prints failures through it too).
 */
export const printable = (text: string): string => text.replace(UNPRINTABLE, escapeChar)

/**
 * Up to `max` characters (code points) of a file's content, for an error message: in double quotes,
 * `"` and `\` escaped, non-printable characters as `\xNN` / `\uNNNN` ({@link printable}), and `...`
 * after the quote when the text is longer: `"\x1b]0;title\x07 {"...`.
 */
export const quote = (text: string, max = 25): string => {
  const points = Array.from(text)
  const shown = points.slice(0, max).join("").replace(/["\\]/g, "\\$&")
  return `"${printable(shown)}"${points.length > max ? "..." : ""}`
}

/**
 * Why `JSON.parse` failed, safe to print: V8's message quotes the text around the error as it is
 * (terminal escape sequences included); this is that message through {@link printable}.
 */
export const jsonError = (error: unknown): string => printable(error instanceof Error ? error.message : String(error))
