/**
 * `haemsa predict`: read new samples from a JSON file, turn them into a split the checkpoint's model
 * reads (padding, the model's own normalisation, token ids from the model's vocabulary), and return
 * predictions with the task attention weights.
 *
 * Input file: `{ "samples": [ { "id"?: string, "transcript"?: string, "text"?: number[][],
 * "audio"?: number[][], "vision"?: number[][] } ] }` where each matrix is (steps, dim) and a missing
 * modality is simply absent. `transcript` is needed when the model reads tokens (mosi-real).
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D, Errors, Lexicon, Normalize, Tokenizer } from "@haemsa/datasets"
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

const bad = (file: string, value: string, reason: string) => new Errors.InvalidOption({ option: `--input ${file}`, value, reason })

const denseBlock = (file: string, samples: ReadonlyArray<Sample>, m: Dataset.Modality, steps: number, dim: number): { block: Dataset.SequenceBlock; present: boolean[] } => {
  const n = samples.length
  const data = new Float32Array(n * steps * dim)
  const lengths = new Int32Array(n)
  const present = samples.map((s, i) => {
    const rows = s[m]
    if (rows === undefined) return false
    if (!Array.isArray(rows) || rows.length === 0) throw bad(file, `samples[${i}].${m}`, "must be a non-empty (steps, dim) array of numbers")
    const len = Math.min(rows.length, steps)
    for (let t = 0; t < len; t++) {
      const row = rows[t]
      if (!Array.isArray(row) || row.length !== dim) throw bad(file, `samples[${i}].${m}[${t}]`, `must have ${dim} numbers (the model's ${m} dim)`)
      for (let d = 0; d < dim; d++) {
        const v = row[d]
        if (typeof v !== "number" || !Number.isFinite(v)) throw bad(file, `samples[${i}].${m}[${t}][${d}]`, "must be a finite number")
        data[(i * steps + t) * dim + d] = v
      }
    }
    lengths[i] = len
    return true
  })
  return { block: { n, steps, dim, data, lengths }, present }
}

/** Build a (normalised) split from samples for a model built on `info`. */
export const toSplit = (file: string, info: DataInfo, samples: ReadonlyArray<Sample>): Dataset.Split => {
  if (!Array.isArray(samples) || samples.length === 0) throw bad(file, "samples", "must be a non-empty array")
  const n = samples.length
  const mask = new Uint8Array(n * 3)
  const features: Partial<Record<Dataset.Modality, Dataset.SequenceBlock>> = {}
  let tokens: Dataset.TokenBlock | undefined
  D.MODALITIES.forEach((m, mi) => {
    if (m === "text" && info.tokens) {
      const vocabulary = info.tokens.vocabulary
      const tokenizer: Tokenizer.Tokenizer = { vocabulary, index: new Map(vocabulary.map((w, i) => [w, i] as const).slice(2)), lowercase: true }
      const words = samples.map((s) => Tokenizer.tokenize(s.transcript ?? ""))
      tokens = Tokenizer.encodeWords(tokenizer, words, info.tokens.steps)
      if (info.features.text) features.text = Lexicon.lexiconFeatures(words, info.tokens.steps)
      samples.forEach((s, i) => { mask[i * 3 + mi] = typeof s.transcript === "string" && s.transcript.trim() !== "" ? 1 : 0 })
      return
    }
    const f = info.features[m]
    if (!f) return
    const { block, present } = denseBlock(file, samples, m, f.steps, f.dim)
    features[m] = block
    present.forEach((p, i) => { mask[i * 3 + mi] = p ? 1 : 0 })
  })
  const split: Dataset.Split = {
    n,
    ids: samples.map((s, i) => s.id ?? `sample_${i}`),
    features,
    ...(tokens ? { tokens } : {}),
    mask,
    labels: {},
    nonfiniteReplaced: { text: 0, audio: 0, vision: 0 }
  }
  return Normalize.applySplit(split, info.normalization)
}

/** Predict samples with a network. */
export const predictSamples = async (net: Network, file: string, samples: ReadonlyArray<Sample>): Promise<Prediction[]> => {
  const split = toSplit(file, net.info, samples)
  for (let i = 0; i < split.n; i++) {
    if (!net.modalities.some((m) => split.mask[i * 3 + D.MODALITIES.indexOf(m)] === 1)) {
      throw bad(file, `samples[${i}]`, `has none of the model's modalities (${net.modalities.join(", ")})`)
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
