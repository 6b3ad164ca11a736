/**
 * How a model that reads raw text turns a transcript into its text inputs: the text-feature settings
 * a checkpoint stores in its data info (`info.text`), next to the tokenizer's vocabulary
 * (`info.tokens`). A transcript is split into words by `Tokenizer.tokenize` (lower-cased when
 * `lowercase`); the model then reads
 *
 * - `tokens`: the word ids in the checkpoint's vocabulary (a word outside it is `<unk>`), when the
 *   data info has `tokens`;
 * - the dense text features, one row per word: the word's vector (kinds `glove` and `vectors`: the
 *   vectors of the training vocabulary are stored in the checkpoint, see {@link make}), then the 4
 *   AFINN lexicon columns of `Lexicon.lexiconFeatures` when `lexicon`, then the transcript's sentence
 *   vector when `sentence` (the same on every word; computed by the caller with `SentenceEncoder`,
 *   whose package must then be installed).
 *
 * Checkpoints written before these settings existed have no `info.text`: {@link of} infers them
 * (kind `tokens`, `lexicon` when the model reads 4 dense text columns, lower-cased), which is what
 * `haemsa predict` did with them before.
 *
 * @since 0.2.0
 */
import { Dataset, Errors, Lexicon, Tokenizer, WordVectors } from "@haemsa/datasets"
import * as SentenceEncoder from "./SentenceEncoder"

/** Where the dense text features come from: none but the lexicon (`tokens`), GloVe vectors, or a vector file. */
export type Kind = "tokens" | "glove" | "vectors"

/** The kinds, in the order of {@link Kind}. */
export const KINDS: ReadonlyArray<Kind> = ["tokens", "glove", "vectors"]

/**
 * Word vectors as a checkpoint stores them: the vectors of the training vocabulary only, in the plain
 * form of `WordVectors.toJson` (`WordVectors.fromJson` reads it).
 */
export type StoredVectors = WordVectors.WordVectorsJson

/** The text-feature settings of a model that reads raw text (stored in `DataInfo.text`). */
export interface TextSettings {
  readonly kind: Kind
  /** The 4 lexicon columns follow the word vector (or are the only dense columns, kind `tokens`). */
  readonly lexicon: boolean
  /** The tokenizer lower-cases transcripts before splitting them into words. */
  readonly lowercase: boolean
  /** The training vocabulary's vectors (kinds `glove` and `vectors`). */
  readonly vectors?: StoredVectors
  /** Where the full vectors come from: `glove` or a file path (kinds `glove` and `vectors`). */
  readonly source?: string
  /** Each word's row ends with the transcript's sentence vector of this encoder (`SentenceEncoder.NAME`), `dim` numbers. */
  readonly sentence?: { readonly encoder: string; readonly dim: number }
}

/** A word -> vector lookup of `dim` numbers (undefined for a word without a vector). */
export interface Lookup {
  readonly dim: number
  readonly get: (word: string) => ArrayLike<number> | undefined
  /** The vector of a word without one. */
  readonly unknown: ArrayLike<number>
}

/** The number of lexicon columns. */
export const LEXICON_DIM: number = Lexicon.LEXICON_FEATURES.length

/** A lookup over word vectors, matching words as `WordVectors.lookup` does. */
export const lookupOf = (vectors: WordVectors.WordVectors): Lookup => ({
  dim: vectors.dim,
  get: (word) => WordVectors.lookup(vectors, word),
  unknown: vectors.unknown
})

/** What {@link make} builds the stored settings from. */
export interface MakeOptions {
  readonly kind: Kind
  readonly lexicon: boolean
  /** The full vectors (kinds `glove` and `vectors`); only the words of the training vocabulary are kept. */
  readonly vectors?: WordVectors.WordVectors
  /** Where the full vectors come from (`glove` or the file); default `vectors.source`. */
  readonly source?: string
  /** Lower-case transcripts (default true, like `Tokenizer.fitTokenizer`). */
  readonly lowercase?: boolean
  /** The sentence vectors of `SentenceEncoder` follow each word's columns. */
  readonly sentence?: boolean
}

/** The stored description of the sentence vectors (`SentenceEncoder`'s name and size), when asked for. */
const sentenceOf = (options: MakeOptions): Pick<TextSettings, "sentence"> =>
  options.sentence === true ? { sentence: { encoder: SentenceEncoder.NAME, dim: SentenceEncoder.DIM } } : {}

const invalid = (option: string, value: string, reason: string) => new Errors.InvalidOption({ option, value, reason })

/**
 * The settings a checkpoint stores for a model trained with these text features: for kinds `glove`
 * and `vectors`, the vectors of the words of `trainingWords` that have one (sorted, each once), so
 * that the checkpoint embeds its training vocabulary without the full vectors.
 *
 * @throws InvalidOption naming `textFeatures` when kind `tokens` comes with vectors or another kind
 * without them, or when the vectors' sizes do not match their `dim`.
 */
export const make = (options: MakeOptions, trainingWords: Iterable<string>): TextSettings => {
  const { kind, lexicon } = options
  const lowercase = options.lowercase ?? true
  if (kind === "tokens") {
    if (options.vectors !== undefined) throw invalid("textFeatures", kind, "kind tokens takes no word vectors")
    return { kind, lexicon, lowercase, ...sentenceOf(options) }
  }
  const v = options.vectors
  if (v === undefined) throw invalid("textFeatures", kind, `kind ${kind} needs its word vectors`)
  if (!Number.isInteger(v.dim) || v.dim < 1 || v.matrix.length !== v.words.length * v.dim || v.unknown.length !== v.dim) {
    throw invalid("textFeatures", kind, `the word vectors do not fit their dim ${v.dim} (${v.words.length} words, ${v.matrix.length} numbers, unknown ${v.unknown.length})`)
  }
  // each training word under its own spelling (an exact lookup hits it at prediction), its vector found as the training found it
  const words = [...new Set(trainingWords)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return { kind, lexicon, lowercase, vectors: WordVectors.toJson(WordVectors.subset(v, words)), source: options.source ?? v.source, ...sentenceOf(options) }
}

/** The words of a (training) split's transcripts, as the tokenizer splits them (none without transcripts). */
export const trainingWords = (split: Dataset.Split, lowercase = true): Set<string> =>
  new Set((split.rawText ?? []).flatMap((t) => Tokenizer.tokenize(t, lowercase)))

/** What {@link of} needs of a data info (structurally `DataInfo`). */
export interface TextInfo {
  readonly name: string
  readonly features: Partial<Record<Dataset.Modality, { readonly steps: number; readonly dim: number }>>
  readonly tokens?: { readonly steps: number; readonly vocabulary: ReadonlyArray<string> }
  readonly text?: TextSettings
}

/** The dense text columns the settings make per word. */
export const featureDim = (settings: Pick<TextSettings, "lexicon" | "sentence"> & { readonly vectors?: { readonly dim: number } }): number =>
  (settings.vectors?.dim ?? 0) + (settings.lexicon ? LEXICON_DIM : 0) + (settings.sentence?.dim ?? 0)

/**
 * The text settings of a model, or why it cannot read raw text: the stored `info.text`, or for a
 * checkpoint without them (written before they existed) the settings `haemsa predict` used then
 * (kind `tokens`, lexicon when the model reads 4 dense text columns). A model without tokens and
 * without stored settings reads no raw text (synthetic, MMSA and MulT features are numbers per step,
 * not words), and neither does one whose dense text columns are not the settings' columns.
 */
export const of = (info: TextInfo): { readonly settings: TextSettings } | { readonly problem: string } => {
  const dense = info.features.text
  const stored = info.text
  if (stored === undefined && info.tokens === undefined) {
    return {
      problem: dense
        ? `its text is ${dense.dim} numbers per step, not words`
        : "it reads no text"
    }
  }
  const settings: TextSettings = stored ?? { kind: "tokens", lexicon: dense?.dim === LEXICON_DIM, lowercase: true }
  const want = featureDim(settings)
  const have = dense?.dim ?? 0
  if (want !== have) {
    return { problem: `its dense text features have ${have} columns per word, its text settings (${describe(settings)}) make ${want}` }
  }
  if (settings.vectors && settings.vectors.matrix.length !== settings.vectors.words.length * settings.vectors.dim) {
    return { problem: `its stored word vectors do not fit their dim ${settings.vectors.dim}` }
  }
  return { settings }
}

/** The settings in words: `tokens + lexicon`, `glove (100-d, 1234 training words) + lexicon`. */
export const describe = (settings: TextSettings): string => {
  const parts = [
    settings.kind === "tokens"
      ? "tokens"
      : `${settings.kind}${settings.source !== undefined && settings.kind === "vectors" ? ` ${settings.source}` : ""} (${settings.vectors?.dim ?? "?"}-d, ${settings.vectors?.words.length ?? 0} training words)`
  ]
  if (settings.lexicon) parts.push("lexicon")
  if (settings.sentence) parts.push(`${settings.sentence.encoder} sentence vectors (${settings.sentence.dim}-d)`)
  return parts.join(" + ")
}

/** The dense text features of split transcripts and what each sample's words found. */
export interface Features {
  /** (n, steps, featureDim), or undefined when the settings make no dense column. */
  readonly block?: Dataset.SequenceBlock
  /** Per sample: the words read (at most `steps`). */
  readonly tokens: ReadonlyArray<number>
  /** Per sample: the words read that had no vector (the unknown vector was used). */
  readonly unknownTokens: ReadonlyArray<number>
}

/**
 * The dense text features of transcripts split into words: per word its vector (the stored training
 * vocabulary's, else `full`'s, else the unknown vector, counted in `unknownTokens`), the lexicon
 * columns, then the sample's row of `sentences` ((n, sentence dim), for settings with `sentence`).
 * Words past `steps` are dropped; lengths follow `Lexicon.lexiconFeatures` (at least 1).
 *
 * @throws InvalidOption naming `sentences` when the settings read sentence vectors and `sentences` is
 * missing or not (n, sentence dim).
 */
export const features = (
  settings: TextSettings,
  words: ReadonlyArray<ReadonlyArray<string>>,
  steps: number,
  full?: Lookup,
  sentences?: Float32Array
): Features => {
  const n = words.length
  const tokens = words.map((w) => Math.min(w.length, steps))
  const dim = featureDim(settings)
  const stored = settings.vectors
  if (dim === 0) return { tokens, unknownTokens: tokens.map(() => 0) }
  const lexicon = settings.lexicon ? Lexicon.lexiconFeatures(words, steps) : undefined
  const vdim = stored?.dim ?? 0
  const sdim = settings.sentence?.dim ?? 0
  if (sdim > 0 && (sentences === undefined || sentences.length !== n * sdim)) {
    throw invalid("sentences", String(sentences?.length ?? "none"), `the text settings read ${settings.sentence!.encoder} sentence vectors: ${n} x ${sdim} numbers expected`)
  }
  const wdim = dim - sdim
  const own = stored ? lookupOf(WordVectors.fromJson(stored, "the checkpoint's text settings (info.text.vectors)")) : undefined
  const fallback = full !== undefined && full.dim === vdim ? full : undefined
  // the words' columns (vector, lexicon), then the sentence vectors as training appends them
  const data = new Float32Array(n * steps * wdim)
  const lengths = new Int32Array(n)
  const unknownTokens = words.map((w, i) => {
    let unknown = 0
    for (let t = 0; t < tokens[i]; t++) {
      const o = (i * steps + t) * wdim
      if (own) {
        const found = own.get(w[t]) ?? fallback?.get(w[t])
        if (found === undefined) unknown++
        const v = found ?? own.unknown
        for (let d = 0; d < vdim; d++) data[o + d] = v[d]
      }
      if (lexicon) for (let d = 0; d < LEXICON_DIM; d++) data[o + vdim + d] = lexicon.data[(i * steps + t) * LEXICON_DIM + d]
    }
    lengths[i] = Math.max(1, tokens[i])
    return unknown
  })
  const wordBlock: Dataset.SequenceBlock = { n, steps, dim: wdim, data, lengths }
  const block = sdim > 0 ? Dataset.appendSteps(wordBlock, repeatOnSteps(sentences!, wordBlock)) : wordBlock
  return { block, tokens, unknownTokens }
}

/**
 * One vector per sample, (n, dim) row-major, repeated on the steps each sample's length covers (an
 * empty transcript's one step too): (n, like.steps, dim), padding zero. How sentence vectors sit next
 * to the words' columns, in training (`TextFeatures.appendSentences`) and in prediction ({@link features}).
 */
export const repeatOnSteps = (vectors: Float32Array, like: { readonly n: number; readonly steps: number; readonly lengths: Int32Array }): Dataset.SequenceBlock => {
  const dim = vectors.length / Math.max(1, like.n)
  const data = new Float32Array(like.n * like.steps * dim)
  for (let i = 0; i < like.n; i++) {
    const v = vectors.subarray(i * dim, (i + 1) * dim)
    for (let t = 0; t < Math.min(like.lengths[i], like.steps); t++) data.set(v, (i * like.steps + t) * dim)
  }
  return { n: like.n, steps: like.steps, dim, data, lengths: like.lengths }
}

/** Per sample, the words read (at most `steps`) that are not in the token vocabulary (`<unk>`). */
export const unknownIds = (tokens: Dataset.TokenBlock, words: ReadonlyArray<ReadonlyArray<string>>): number[] =>
  words.map((w, i) => {
    let unknown = 0
    for (let t = 0; t < Math.min(w.length, tokens.steps); t++) if (tokens.ids[i * tokens.steps + t] === Tokenizer.UNK_ID) unknown++
    return unknown
  })
