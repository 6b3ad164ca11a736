/**
 * The Dataset value: three splits of per-modality padded sequences (plain typed arrays, no
 * TensorFlow.js), with lengths, modality masks, ids and labels.
 *
 * @since 0.1.0
 */

/** The three modalities, in the order used by masks everywhere. */
export const MODALITIES = ["text", "audio", "vision"] as const

/** One of text, audio, vision. */
export type Modality = (typeof MODALITIES)[number]

/** The column of each modality in a modality mask (its position in {@link MODALITIES}). */
export const MODALITY_INDEX: Readonly<Record<Modality, number>> = Object.fromEntries(
  MODALITIES.map((m, i) => [m, i])
) as Record<Modality, number>

/** Short names used on the command line: t, a, v. */
export const MODALITY_LETTERS: Record<Modality, string> = { text: "t", audio: "a", vision: "v" }

/** The split names, in order. */
export const SPLITS = ["train", "valid", "test"] as const

/** train, valid or test. */
export type SplitName = (typeof SPLITS)[number]

/** The on-disk format a dataset came from. */
export type Format = "mmsa-pickle" | "mult-pickle" | "csd" | "mosi-real" | "synthetic"

/** IEMOCAP's four emotions, in the MulT label order. */
export const IEMOCAP_EMOTIONS = ["neutral", "happy", "sad", "angry"] as const

/**
 * Padded sequences of one modality: `data` is (n, steps, dim) row-major float32,
 * `lengths[i]` the number of valid leading steps of sample i (0 when the modality is missing for it).
 */
export interface SequenceBlock {
  readonly n: number
  readonly steps: number
  readonly dim: number
  readonly data: Float32Array
  readonly lengths: Int32Array
}

/** The features of `b` after those of `a` at every step (same n and steps); the lengths of `a`. */
export const appendSteps = (a: SequenceBlock, b: SequenceBlock): SequenceBlock => {
  const dim = a.dim + b.dim
  const rows = a.n * a.steps
  const data = new Float32Array(rows * dim)
  for (let r = 0; r < rows; r++) {
    data.set(a.data.subarray(r * a.dim, (r + 1) * a.dim), r * dim)
    data.set(b.data.subarray(r * b.dim, (r + 1) * b.dim), r * dim + a.dim)
  }
  return { n: a.n, steps: a.steps, dim, data, lengths: a.lengths }
}

/**
 * Raw text as token ids for a trainable embedding: `ids` is (n, steps) int32, 0 = padding,
 * 1 = out-of-vocabulary, `vocabulary[id]` the token.
 */
export interface TokenBlock {
  readonly n: number
  readonly steps: number
  readonly ids: Int32Array
  readonly lengths: Int32Array
  readonly vocabulary: ReadonlyArray<string>
}

/** Labels of one split. Sentiment datasets have `regression`; IEMOCAP has `emotions`. */
export interface Labels {
  /** (n) sentiment in [-3, 3]. */
  readonly regression?: Float32Array
  /** (n, emotions.length) 0/1 per emotion (IEMOCAP). */
  readonly emotions?: Uint8Array
}

/** One split. */
export interface Split {
  readonly n: number
  readonly ids: ReadonlyArray<string>
  /** Dense per-modality features; a modality absent from the dataset is absent here. */
  readonly features: Partial<Record<Modality, SequenceBlock>>
  /** Token ids of the text, when the dataset has raw text (mosi-real, MMSA raw_text). */
  readonly tokens?: TokenBlock
  /** (n, 3) 1 when sample i has modality m (order of MODALITIES). */
  readonly mask: Uint8Array
  readonly labels: Labels
  /** How many non-finite feature values (NaN, +-inf) were replaced by 0, per modality. */
  readonly nonfiniteReplaced: Record<Modality, number>
  /** The raw transcripts when the dataset has them. */
  readonly rawText?: ReadonlyArray<string>
}

/** A dataset: where it came from, which task, and its three splits. */
export interface Dataset {
  readonly name: string
  readonly format: Format
  /** "sentiment" (regression in [-3, 3]) or "emotions" (IEMOCAP binary emotions). */
  readonly task: "sentiment" | "emotions"
  /** Emotion names when task = "emotions". */
  readonly emotions?: ReadonlyArray<string>
  readonly splits: Readonly<Record<SplitName, Split>>
}
