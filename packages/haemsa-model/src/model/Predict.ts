/**
 * `haemsa predict`: read new samples, turn them into a split the checkpoint's model reads (padding,
 * the model's own normalisation, a transcript's words as the model's text inputs), and return
 * predictions with the class, the task attention weights and the modality gates.
 *
 * Input: a JSON file `{ "samples": [ sample, ... ] }`, or JSON Lines (one sample per line, see
 * {@link readInput}), where a sample is `{ "id"?: string, "transcript"?: string, "text"?: number[][],
 * "audio"?: number[][], "vision"?: number[][] }`, each matrix (steps, dim), and a missing modality is
 * simply absent (masked, as in the missing-modality table). A model that reads raw text (trained on
 * mosi-real: see {@link TextSettings.of}) takes its text from `transcript` only: the words become its
 * token ids and its dense text features (lexicon columns, word vectors) as its checkpoint's text
 * settings say, so a `text` array beside a transcript is ignored (the transcript wins) and a `text`
 * array alone is refused. Any other model reads the `text` array; a transcript is then only echoed.
 * A sequence longer than the model's steps is cut to its first steps and reported
 * ({@link PredictOptions.onCut}), or refused with {@link PredictOptions.strictSteps}.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D, Errors, Normalize, Tokenizer } from "@haemsa/datasets"
import * as fs from "node:fs"
import * as readline from "node:readline"
import * as Evaluate from "./Evaluate"
import type { DataInfo } from "./DataInfo"
import type { Network } from "./Network"
import { SENTIMENT_CLASSES } from "./Network"
import * as SentenceEncoder from "./SentenceEncoder"
import * as TextSettings from "./TextSettings"

/** One input sample. */
export interface Sample {
  readonly id?: string
  readonly transcript?: string
  readonly text?: ReadonlyArray<ReadonlyArray<number>>
  readonly audio?: ReadonlyArray<ReadonlyArray<number>>
  readonly vision?: ReadonlyArray<ReadonlyArray<number>>
}

/** One prediction (keys in this order in JSON). */
export interface Prediction {
  readonly id: string
  /** The sample's transcript, as given. */
  readonly transcript?: string
  /** The regression head's sentiment (sentiment models; labels are in [-3, 3], the output is not clipped). */
  readonly sentiment?: number
  /** The class of the 7-class head, an integer in [-3, 3] (its largest logit; sentiment models). */
  readonly class7?: number
  /** Probability of each emotion being present (emotion models). */
  readonly emotions?: Record<string, number>
  /** Attention weight of each expert, per task (HAEMSA): 0 for the expert of a modality the sample lacks. */
  readonly attention?: Record<string, Record<string, number>>
  /** The learned gate of each modality the model reads (HAEMSA with gates): 0 for a modality the sample lacks. */
  readonly gates?: Record<string, number>
  /** The transcript's words the model read (at most its steps; models that read raw text). */
  readonly tokens?: number
  /** Of those, the words the model does not know: outside its vocabulary, or without a word vector. */
  readonly unknownTokens?: number
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
  /**
   * The full word vectors, for the words of a transcript outside the checkpoint's stored training
   * vocabulary (models with text kind `glove` or `vectors`); without them such a word gets the unknown
   * vector (and is counted in `unknownTokens`).
   */
  readonly fullVectors?: TextSettings.Lookup
  /**
   * The sentence encoder, for models whose text settings read sentence vectors (`--text-features use`,
   * `glove+use`): {@link predictSamples} encodes the transcripts with it (`SentenceEncoder.load`).
   */
  readonly encoder?: SentenceEncoder.Encoder
  /** The transcripts' sentence vectors, (samples, dim), for {@link prepare} (what {@link predictSamples} computes with `encoder`). */
  readonly sentenceVectors?: Float32Array
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

/** A split built from samples, and per sample what the model read of its transcript. */
export interface Prepared {
  readonly split: Dataset.Split
  /** Per sample, the words read and the unknown ones (models that read raw text; -1 without a transcript). */
  readonly text?: { readonly tokens: ReadonlyArray<number>; readonly unknownTokens: ReadonlyArray<number> }
}

/**
 * The text inputs of a model that reads raw text (see the module's description), or undefined for a
 * model that reads a `text` feature array. A model that reads token ids but whose text settings cannot
 * be met (dense text columns that are not the lexicon's nor word vectors) is a thrown `InvalidOption`.
 */
const rawText = (file: string, info: DataInfo): TextSettings.TextSettings | undefined => {
  if (info.tokens === undefined && info.text === undefined) return undefined
  const reads = TextSettings.of(info)
  if ("problem" in reads) throw bad(file, "transcript", `the model reads token ids but cannot read raw text: ${reads.problem}`)
  return reads.settings
}

/**
 * Build a (normalised) split from samples for a model built on `info`, with what the model read of
 * each transcript. A bad sample (not an object, a matrix of the wrong size, a longer sequence with
 * `strictSteps`, a `text` array alone for a model that reads raw text) is a thrown `InvalidOption`
 * naming the file and the sample.
 */
export const prepare = (file: string, info: DataInfo, samples: ReadonlyArray<Sample>, options: PredictOptions = {}): Prepared => {
  if (!Array.isArray(samples) || samples.length === 0) throw bad(file, "samples", "must be a non-empty array")
  const where = whereOf(options)
  samples.forEach((s, i) => checkSample(file, where(i), s))
  const n = samples.length
  const mask = new Uint8Array(n * 3)
  const features: Partial<Record<Dataset.Modality, Dataset.SequenceBlock>> = {}
  const settings = rawText(file, info)
  let tokens: Dataset.TokenBlock | undefined
  let text: Prepared["text"]
  D.MODALITIES.forEach((m, mi) => {
    if (m === "text" && settings) {
      const steps = info.tokens?.steps ?? info.features.text?.steps
      if (steps === undefined) return
      samples.forEach((s, i) => {
        if (s.text !== undefined && s.transcript === undefined) {
          throw bad(file, `${where(i)}.text`, `the model reads its text from a "transcript" (words: it was trained on ${info.name}), not from a "text" feature array`)
        }
      })
      const words = samples.map((s) => Tokenizer.tokenize(s.transcript ?? "", settings.lowercase))
      words.forEach((w, i) => {
        if (w.length <= steps) return
        if (options.strictSteps) throw bad(file, `${where(i)}.transcript`, `has ${w.length} words, the model reads at most ${steps} (without --strict-steps it is cut)`)
        options.onCut?.({ sample: where(i), id: samples[i].id ?? `sample_${(options.offset ?? 0) + i}`, modality: "text words", steps: w.length, modelSteps: steps })
      })
      if (settings.sentence !== undefined && options.sentenceVectors === undefined) {
        throw bad(file, "transcript", `the model reads ${settings.sentence.encoder} sentence vectors of its transcripts: load the encoder (SentenceEncoder.load, the optional package ${SentenceEncoder.PACKAGE})`)
      }
      const dense = TextSettings.features(settings, words, steps, options.fullVectors, options.sentenceVectors)
      if (info.features.text && dense.block) features.text = dense.block
      let unknown = dense.unknownTokens
      if (info.tokens) {
        const { vocabulary } = info.tokens
        const tokenizer: Tokenizer.Tokenizer = { vocabulary, index: new Map(vocabulary.map((w, i) => [w, i] as const).slice(2)), lowercase: settings.lowercase }
        tokens = Tokenizer.encodeWords(tokenizer, words, steps)
        // a word the model does not know: outside its vocabulary (tokens), or without a vector (word vectors)
        if (settings.kind === "tokens") unknown = TextSettings.unknownIds(tokens, words)
      }
      const has = samples.map((s) => typeof s.transcript === "string")
      text = { tokens: dense.tokens.map((t, i) => (has[i] ? t : -1)), unknownTokens: unknown.map((u, i) => (has[i] ? u : -1)) }
      words.forEach((w, i) => { mask[i * 3 + mi] = w.length > 0 ? 1 : 0 })
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
  return { split: Normalize.applySplit(split, info.normalization), ...(text ? { text } : {}) }
}

/** {@link prepare}'s split alone. */
export const toSplit = (file: string, info: DataInfo, samples: ReadonlyArray<Sample>, options: PredictOptions = {}): Dataset.Split =>
  prepare(file, info, samples, options).split

/** Whether a model reads raw text (a `transcript`), and if not why (see {@link TextSettings.of}). */
export const readsRawText = (info: DataInfo): { readonly settings: TextSettings.TextSettings } | { readonly problem: string } =>
  TextSettings.of(info)

/**
 * The learned modality gates of a network, by modality (HAEMSA with `modalityGates`: the anchor's is
 * 1, each other's `sigmoid(scale * logit)`, as `Network.gates` computes them), or undefined when it
 * has none.
 */
export const gatesOf = async (net: Network): Promise<Record<string, number> | undefined> => {
  if (net.gates === undefined) return undefined
  const g = net.gates()
  try {
    const values = (await g.data()) as Float32Array
    return Object.fromEntries(net.modalities.map((m, j) => [m, values[j]]))
  } finally {
    g.dispose()
  }
}

/** Predict samples with a network (see {@link prepare} for the checks and `options`). */
export const predictSamples = async (
  net: Network,
  file: string,
  samples: ReadonlyArray<Sample>,
  options: PredictOptions = {}
): Promise<Prediction[]> => {
  const reads = net.info.text?.sentence !== undefined && options.encoder !== undefined
  const sentenceVectors = reads ? await SentenceEncoder.embed(options.encoder!, samples.map((s) => s.transcript ?? "")) : undefined
  const { split, text } = prepare(file, net.info, samples, sentenceVectors ? { ...options, sentenceVectors } : options)
  const where = whereOf(options)
  for (let i = 0; i < split.n; i++) {
    if (!net.modalities.some((m) => split.mask[i * 3 + D.MODALITY_INDEX[m]] === 1)) {
      const unread = typeof samples[i].transcript === "string" && text === undefined
        ? `; its transcript is not read: ${readsRawTextProblem(net.info)}`
        : ""
      throw bad(file, where(i), `has none of the model's modalities (${net.modalities.join(", ")})${unread}`)
    }
  }
  const p = await Evaluate.predict(net, split)
  const gates = await gatesOf(net)
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
    const transcript = samples[i].transcript
    const read = text !== undefined && text.tokens[i] >= 0 ? { tokens: text.tokens[i], unknownTokens: text.unknownTokens[i] } : {}
    return {
      id,
      ...(transcript !== undefined ? { transcript } : {}),
      ...(p.regression ? { sentiment: round(p.regression[i]) } : {}),
      ...(p.classLogits ? { class7: argmax(p.classLogits, i * SENTIMENT_CLASSES, SENTIMENT_CLASSES) - 3 } : {}),
      ...(emo ? { emotions: emo } : {}),
      ...(attention ? { attention } : {}),
      ...(gates
        ? { gates: Object.fromEntries(Object.entries(gates).map(([m, g]) => [m, split.mask[i * 3 + D.MODALITY_INDEX[m as Dataset.Modality]] === 1 ? round(g) : 0])) }
        : {}),
      ...read
    }
  })
}

const readsRawTextProblem = (info: DataInfo): string => {
  const reads = TextSettings.of(info)
  return "problem" in reads ? `the model was trained on ${info.name} and ${reads.problem}` : "the model reads no text"
}

/** The index of the largest of `values[offset .. offset + n)`, relative to `offset` (the first on a tie). */
const argmax = (values: Float32Array, offset: number, n: number): number => {
  let best = 0
  for (let c = 1; c < n; c++) if (values[offset + c] > values[offset + best]) best = c
  return best
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
