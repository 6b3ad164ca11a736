/**
 * `parse`: one pickle from bytes to a `PyValue`, with its options (the Python 2 `str` encoding, the
 * file name for errors, resource limits). Any problem is a `PickleError` naming the file and the
 * byte offset of the failing opcode.
 *
 * @since 0.2.0
 */
import { PickleError } from "../Errors"
import { Machine } from "./Machine"
import { Reject, reject } from "./Reject"
import type { PyValue } from "./Values"

/** How Python 2 `str` values are decoded (the `encoding` argument of Python 3's `pickle.load`). */
export type Encoding = "ASCII" | "latin1" | "bytes"

/** Resource limits. Real files stay far below the defaults; lower them to read untrusted input. */
export interface Limits {
  /** Deepest nesting of containers (default 1000). */
  readonly maxDepth: number
  /** Most values on the stack, MARKs included (default 10,000,000). */
  readonly maxStack: number
  /** Most memo entries (default 10,000,000). */
  readonly maxMemo: number
  /**
   * Most elements created in total: container items, array elements and bytes built by calls
   * (default: 4 per input byte + 1,000,000). Bounds the memory a small pickle can make the reader use.
   */
  readonly maxElements: number
  /**
   * Most Python objects created: every value an opcode or a call builds (containers, numbers,
   * strings, bytes, arrays...) counts one; fetching a memoized value (GET) or DUP does not
   * (default `defaultMaxObjects`: 250,000, or one per 16 input bytes when that is more). Bounds the
   * memory and time a small pickle can make the reader use: a 16 MB list of 8 million empty dicts
   * would need gigabytes.
   */
  readonly maxObjects: number
}

/** Options of `parse`. */
export interface ParseOptions {
  /** How Python 2 `str` values are decoded (default "ASCII"). */
  readonly encoding?: Encoding
  /** The file name used in errors (default "<bytes>"). */
  readonly file?: string
  /** Resource limits (defaults in `Limits`). */
  readonly limits?: Partial<Limits>
}

/**
 * The default `maxObjects` for an input of `inputBytes` bytes: 250,000, or one object per 16 bytes
 * when that is more. Dataset pickles are numpy arrays with a few lists and dicts around them: the
 * fixtures and the mosi-real audio pickle build 161 to 311 objects, one per 2,900 to 21,500 bytes,
 * so real files stay hundreds of times below it. An empty dict costs about 275 bytes of heap, so a
 * hostile file makes the reader build at most about 70 MB, or 17 bytes per input byte, of them.
 */
export const defaultMaxObjects = (inputBytes: number): number => Math.max(250_000, Math.floor(inputBytes / 16))

/** The default limits for an input of `inputBytes` bytes. */
export const defaultLimits = (inputBytes: number): Limits => ({
  maxDepth: 1000,
  maxStack: 10_000_000,
  maxMemo: 10_000_000,
  maxElements: 4 * inputBytes + 1_000_000,
  maxObjects: defaultMaxObjects(inputBytes)
})

/**
 * Read one pickle from `bytes` (trailing bytes after STOP are ignored, as Python does).
 * Throws `PickleError` (file, byte offset of the failing opcode, reason; an unexpected error, a bug
 * in the reader, is its `cause`) and nothing else.
 */
export const parse = (bytes: Uint8Array, options: ParseOptions = {}): PyValue => {
  const file = options.file ?? "<bytes>"
  let machine: Machine | undefined
  try {
    if (!(bytes instanceof Uint8Array)) reject("input is not a Uint8Array")
    const encoding = options.encoding ?? "ASCII"
    if (encoding !== "ASCII" && encoding !== "latin1" && encoding !== "bytes") {
      reject(`unknown encoding ${JSON.stringify(encoding)} (expected "ASCII", "latin1" or "bytes")`)
    }
    const limits = withDefaults(defaultLimits(bytes.length), options.limits)
    for (const [name, value] of Object.entries(limits)) {
      if (typeof value !== "number" || !(value >= 0)) reject(`invalid limit ${name} = ${String(value)} (expected a number >= 0)`)
    }
    machine = new Machine(bytes, encoding, limits)
    return machine.run()
  } catch (e) {
    if (e instanceof PickleError) throw e
    const offset = machine?.opStart ?? 0
    if (e instanceof Reject) throw new PickleError({ file, offset, reason: e.reason })
    throw new PickleError({ file, offset, reason: `internal error: ${e instanceof Error ? e.message : String(e)}`, cause: e })
  }
}

/** `given` limits, the defaults for the others. */
const withDefaults = (defaults: Limits, given: Partial<Limits> | undefined): Limits => ({
  maxDepth: given?.maxDepth ?? defaults.maxDepth,
  maxStack: given?.maxStack ?? defaults.maxStack,
  maxMemo: given?.maxMemo ?? defaults.maxMemo,
  maxElements: given?.maxElements ?? defaults.maxElements,
  maxObjects: given?.maxObjects ?? defaults.maxObjects
})
