/**
 * `haemsa predict`: read new samples, turn them into a split the checkpoint's model reads (padding,
 * the model's own normalisation, token ids from the model's vocabulary), and return predictions with
 * the task attention weights.
 *
 * Input: a JSON file `{ "samples": [ sample, ... ] }`, or JSON Lines (one sample per line, see
 * {@link readInput}), where a sample is `{ "id"?: string, "transcript"?: string, "text"?: number[][],
 * "audio"?: number[][], "vision"?: number[][] }`, each matrix (steps, dim), and a missing modality is
 * simply absent. `transcript` is needed when the model reads tokens (mosi-real). A sequence longer than
 * the model's steps is cut to its first steps and reported ({@link PredictOptions.onCut}), or refused
 * with {@link PredictOptions.strictSteps}.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D, Errors, Lexicon, Normalize, Tokenizer } from "@haemsa/datasets"
import * as fs from "node:fs"
import * as readline from "node:readline"
import type { DataInfo } from "./DataInfo"
import * as Evaluate from "./Evaluate"
import type { Network } from "./Network"

/** One input sample. */
export interface Sample {
  readonly id?: string
  readonly transcript?: string
  readonly text?: ReadonlyArray<ReadonlyArray<number>>
  readonly audio?: ReadonlyArray<ReadonlyArray<number>>
  readonly vision?: ReadonlyArray<ReadonlyArray<number>>
}

/** One prediction. */
export interface Prediction {
  readonly id: string
  /** Sentiment in [-3, 3] (sentiment models). */
  readonly sentiment?: number
  /** Probability of each emotion being present (emotion models). */
  readonly emotions?: Record<string, number>
  /** Attention weight of each expert, per task (HAEMSA). */
  readonly attention?: Record<string, Record<string, number>>
}

/** A sequence longer than the model reads, cut to its first `modelSteps` steps. */
export interface Cut {
  /** Where the sample is (`samples[3]`, `samples[3] (line 4)`). */
  readonly sample: string
  readonly id: string
  /** The modality (`text words` for a transcript's words). */
  readonly modality: string
  readonly steps: number
  readonly modelSteps: number
}

/** Options of {@link toSplit} and {@link predictSamples}. */
export interface PredictOptions {
  /** A sequence longer than the model's steps is an `InvalidOption` instead of cut (default false). */
  readonly strictSteps?: boolean
  /** Told of every sequence cut to the model's steps. */
  readonly onCut?: (cut: Cut) => void
  /** The index in the input of the first sample (its default id is `sample_INDEX`; default 0). */
  readonly offset?: number
  /** Where the sample at an input index is, for messages (default `samples[INDEX]`). */
  readonly where?: (index: number) => string
}

const bad = (file: string, value: string, reason: string) => new Errors.InvalidOption({ option: `--input ${file}`, value, reason })

const whereOf = (options: PredictOptions) => (i: number): string => (options.where ?? ((k) => `samples[${k}]`))((options.offset ?? 0) + i)

/**
 * `value` as a {@link Sample}, or an `InvalidOption` naming the file and where the sample is: a
 * sample is an object (not `null`, not a list) whose `id` and `transcript`, when present, are strings.
 * The modalities' matrices are checked when the split is built.
 */
export const checkSample = (file: string, where: string, value: unknown): Sample => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad(file, where, `must be an object { id?, transcript?, text?, audio?, vision? }, got ${value === null ? "null" : Array.isArray(value) ? "a list" : typeof value}`)
  }
  const sample = value as Record<string, unknown>
  if (sample.id !== undefined && typeof sample.id !== "string") throw bad(file, `${where}.id`, "must be a string")
  if (sample.transcript !== undefined && typeof sample.transcript !== "string") throw bad(file, `${where}.transcript`, "must be a string")
  return sample as Sample
}

const denseBlock = (
  file: string,
  samples: ReadonlyArray<Sample>,
  m: Dataset.Modality,
  steps: number,
  dim: number,
  options: PredictOptions
): { block: Dataset.SequenceBlock; present: boolean[] } => {
  const n = samples.length
  const where = whereOf(options)
  const data = new Float32Array(n * steps * dim)
  const lengths = new Int32Array(n)
  const present = samples.map((s, i) => {
    const rows = s[m]
    if (rows === undefined) return false
    if (!Array.isArray(rows) || rows.length === 0) throw bad(file, `${where(i)}.${m}`, "must be a non-empty (steps, dim) array of numbers")
    if (rows.length > steps) {
      if (options.strictSteps) throw bad(file, `${where(i)}.${m}`, `has ${rows.length} steps, the model reads at most ${steps} (without --strict-steps it is cut)`)
      options.onCut?.({ sample: where(i), id: s.id ?? `sample_${(options.offset ?? 0) + i}`, modality: m, steps: rows.length, modelSteps: steps })
    }
    const len = Math.min(rows.length, steps)
    for (let t = 0; t < len; t++) {
      const row = rows[t]
      if (!Array.isArray(row) || row.length !== dim) throw bad(file, `${where(i)}.${m}[${t}]`, `must have ${dim} numbers (the model's ${m} dim)`)
      for (let d = 0; d < dim; d++) {
        const v = row[d]
        if (typeof v !== "number" || !Number.isFinite(v)) throw bad(file, `${where(i)}.${m}[${t}][${d}]`, "must be a finite number")
        data[(i * steps + t) * dim + d] = v
      }
    }
    lengths[i] = len
    return true
  })
  return { block: { n, steps, dim, data, lengths }, present }
}

/**
 * Build a (normalised) split from samples for a model built on `info`. A bad sample (not an object, a
 * matrix of the wrong size, a longer sequence with `strictSteps`) is a thrown `InvalidOption` naming
 * the file and the sample.
 */
export const toSplit = (file: string, info: DataInfo, samples: ReadonlyArray<Sample>, options: PredictOptions = {}): Dataset.Split => {
  if (!Array.isArray(samples) || samples.length === 0) throw bad(file, "samples", "must be a non-empty array")
  const where = whereOf(options)
  samples.forEach((s, i) => checkSample(file, where(i), s))
  const n = samples.length
  const mask = new Uint8Array(n * 3)
  const features: Partial<Record<Dataset.Modality, Dataset.SequenceBlock>> = {}
  let tokens: Dataset.TokenBlock | undefined
  D.MODALITIES.forEach((m, mi) => {
    if (m === "text" && info.tokens) {
      const { vocabulary, steps } = info.tokens
      const tokenizer: Tokenizer.Tokenizer = { vocabulary, index: new Map(vocabulary.map((w, i) => [w, i] as const).slice(2)), lowercase: true }
      const words = samples.map((s) => Tokenizer.tokenize(s.transcript ?? ""))
      words.forEach((w, i) => {
        if (w.length <= steps) return
        if (options.strictSteps) throw bad(file, `${where(i)}.transcript`, `has ${w.length} words, the model reads at most ${steps} (without --strict-steps it is cut)`)
        options.onCut?.({ sample: where(i), id: samples[i].id ?? `sample_${(options.offset ?? 0) + i}`, modality: "text words", steps: w.length, modelSteps: steps })
      })
      tokens = Tokenizer.encodeWords(tokenizer, words, steps)
      if (info.features.text) features.text = Lexicon.lexiconFeatures(words, steps)
      samples.forEach((s, i) => { mask[i * 3 + mi] = typeof s.transcript === "string" && s.transcript.trim() !== "" ? 1 : 0 })
      return
    }
    const f = info.features[m]
    if (!f) return
    const { block, present } = denseBlock(file, samples, m, f.steps, f.dim, options)
    features[m] = block
    present.forEach((p, i) => { mask[i * 3 + mi] = p ? 1 : 0 })
  })
  const split: Dataset.Split = {
    n,
    ids: samples.map((s, i) => s.id ?? `sample_${(options.offset ?? 0) + i}`),
    features,
    ...(tokens ? { tokens } : {}),
    mask,
    labels: {},
    nonfiniteReplaced: { text: 0, audio: 0, vision: 0 }
  }
  return Normalize.applySplit(split, info.normalization)
}

/** Predict samples with a network (see {@link toSplit} for the checks and `options`). */
export const predictSamples = async (
  net: Network,
  file: string,
  samples: ReadonlyArray<Sample>,
  options: PredictOptions = {}
): Promise<Prediction[]> => {
  const split = toSplit(file, net.info, samples, options)
  const where = whereOf(options)
  for (let i = 0; i < split.n; i++) {
    if (!net.modalities.some((m) => split.mask[i * 3 + D.MODALITY_INDEX[m]] === 1)) {
      throw bad(file, where(i), `has none of the model's modalities (${net.modalities.join(", ")})`)
    }
  }
  const p = await Evaluate.predict(net, split)
  const k = net.tasks.length
  const j = net.experts.length
  const emotions = net.info.emotions ?? []
  return split.ids.map((id, i) => {
    const attention = p.attention
      ? Object.fromEntries(net.tasks.map((task, t) => [task, Object.fromEntries(net.experts.map((e, x) => [e, round(p.attention![(i * k + t) * j + x])]))]))
      : undefined
    const emo = p.emotionLogits
      ? Object.fromEntries(emotions.map((e, q) => {
        const o = (i * emotions.length + q) * 2
        return [e, round(1 / (1 + Math.exp(p.emotionLogits![o] - p.emotionLogits![o + 1])))]
      }))
      : undefined
    return {
      id,
      ...(p.regression ? { sentiment: round(p.regression[i]) } : {}),
      ...(emo ? { emotions: emo } : {}),
      ...(attention ? { attention } : {})
    }
  })
}

const round = (x: number) => Math.round(x * 1e4) / 1e4

/** The two input formats: one JSON document `{ "samples": [...] }`, or JSON Lines (one sample per line). */
export type InputFormat = "json" | "jsonl"

/** How much of a file {@link detectFormat} reads to decide. */
const PEEK_BYTES = 1024 * 1024

/**
 * The format of an input file: JSON Lines when its name ends in `.jsonl` or `.ndjson`, or when its
 * first line is a JSON object that is not a `{ "samples": ... }` document (a sample); otherwise one
 * JSON document. Reads at most the first MiB.
 */
export const detectFormat = (file: string): InputFormat => {
  if (/\.(jsonl|ndjson)$/i.test(file)) return "jsonl"
  const fd = fs.openSync(file, "r")
  let head: string
  try {
    const buffer = Buffer.alloc(PEEK_BYTES)
    head = buffer.subarray(0, fs.readSync(fd, buffer, 0, PEEK_BYTES, 0)).toString("utf8").replace(/^\ufeff/, "")
  } finally {
    fs.closeSync(fd)
  }
  const newline = head.indexOf("\n")
  if (newline < 0 && Buffer.byteLength(head) >= PEEK_BYTES) {
    // a first line longer than the peek: a document starts with its "samples" key
    return /^\s*\{\s*"samples"\s*:/.test(head) ? "json" : "jsonl"
  }
  const first = (newline < 0 ? head : head.slice(0, newline)).trim()
  try {
    const value: unknown = JSON.parse(first)
    return typeof value === "object" && value !== null && !Array.isArray(value) && !("samples" in value) ? "jsonl" : "json"
  } catch {
    return "json"
  }
}

/** One input sample and where it is in the file. */
export interface InputSample {
  /** The sample's index in the input (0-based). */
  readonly index: number
  /** Where it is, for messages: `samples[3]`, or `samples[3] (line 4)` in JSON Lines. */
  readonly where: string
  readonly sample: Sample
}

/** The samples of an input file, read lazily: `next` gives up to `max` more (none at the end). */
export interface InputReader {
  readonly format: InputFormat
  readonly next: (max: number) => Promise<ReadonlyArray<InputSample>>
  /** Stops reading (closes the file). */
  readonly close: () => void
}

/**
 * Open an input file ({@link detectFormat}). JSON Lines are streamed: a line at a time, so memory stays
 * bounded whatever the number of samples; blank lines are skipped. A JSON document is read whole
 * (V8 cannot hold a string over about 512 MB: use JSON Lines for larger inputs). A line or document
 * that is not JSON, or a sample that is not an object, rejects with an `InvalidOption` naming the file
 * and the sample (`samples[i]`, and the line in JSON Lines); a file that cannot be read with a `FileError`.
 */
export const readInput = (file: string): InputReader => {
  const format = detectFormat(file)
  if (format === "json") {
    let samples: ReadonlyArray<unknown>
    let text: string
    try {
      text = fs.readFileSync(file, "utf8")
    } catch (e) {
      const code = (e as { code?: string }).code
      const large = code === "ERR_STRING_TOO_LONG" || code === "ERR_FS_FILE_TOO_LARGE"
      throw new Errors.FileError({
        file,
        reason: large
          ? "too large to read as one JSON document: write one sample per line (JSON Lines, .jsonl), which is streamed"
          : `cannot read: ${e instanceof Error ? e.message : String(e)}`,
        cause: e
      })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text.replace(/^\ufeff/, ""))
    } catch (e) {
      throw bad(file, "the file", `not valid JSON: ${Errors.jsonError(e)}`)
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Array.isArray((parsed as { samples?: unknown }).samples)) {
      throw bad(file, "the file", "must be { \"samples\": [ ... ] } (or JSON Lines: one sample per line)")
    }
    samples = (parsed as { samples: ReadonlyArray<unknown> }).samples
    if (samples.length === 0) throw bad(file, "samples", "must be a non-empty array")
    let at = 0
    return {
      format,
      next: async (max) => {
        const out: InputSample[] = []
        for (; at < samples.length && out.length < max; at++) {
          const where = `samples[${at}]`
          out.push({ index: at, where, sample: checkSample(file, where, samples[at]) })
        }
        return out
      },
      close: () => {
        at = samples.length
      }
    }
  }
  const stream = fs.createReadStream(file)
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity })
  const iterator = lines[Symbol.asyncIterator]()
  let line = 0
  let index = 0
  let error: unknown
  stream.on("error", (e) => void (error = e))
  return {
    format,
    next: async (max) => {
      const out: InputSample[] = []
      while (out.length < max) {
        let step: IteratorResult<string>
        try {
          step = await iterator.next()
        } catch (e) {
          throw new Errors.FileError({ file, reason: `cannot read: ${e instanceof Error ? e.message : String(e)}`, cause: e })
        }
        if (error !== undefined) throw new Errors.FileError({ file, reason: `cannot read: ${String(error)}`, cause: error })
        if (step.done) break
        line++
        const text = line === 1 ? step.value.replace(/^\ufeff/, "") : step.value
        if (text.trim() === "") continue
        const where = `samples[${index}] (line ${line})`
        let value: unknown
        try {
          value = JSON.parse(text)
        } catch (e) {
          throw bad(file, where, `not valid JSON: ${Errors.jsonError(e)}`)
        }
        out.push({ index, where, sample: checkSample(file, where, value) })
        index++
      }
      if (out.length === 0 && index === 0) throw bad(file, "samples", "no sample (the file has no non-blank line)")
      return out
    },
    close: () => {
      lines.close()
      stream.destroy()
    }
  }
}
