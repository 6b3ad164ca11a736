/**
 * A word-level tokenizer for raw transcripts: a vocabulary fitted on the training texts only, and
 * encoding to padded token ids (a {@link TokenBlock}) for a trainable embedding.
 *
 * @since 0.1.0
 */
import type { TokenBlock } from "./Dataset"
import { InvalidOption } from "./Errors"

/** Id of padding steps. */
export const PAD_ID = 0

/** Id of out-of-vocabulary words (and of the single step of an empty text). */
export const UNK_ID = 1

/** The vocabulary entry of {@link PAD_ID}. */
export const PAD_TOKEN = "<pad>"

/** The vocabulary entry of {@link UNK_ID}. */
export const UNK_TOKEN = "<unk>"

/** A fitted vocabulary: `vocabulary[id]` is the word of `id`; ids 0 and 1 are padding and `<unk>`. */
export interface Tokenizer {
  readonly vocabulary: ReadonlyArray<string>
  /** word -> id, for the fitted words (ids >= 2). */
  readonly index: ReadonlyMap<string, number>
  /** Whether texts are lower-cased before splitting. */
  readonly lowercase: boolean
}

/** Options of {@link fitTokenizer}. */
export interface TokenizerOptions {
  /** Keep words seen at least this many times in the fitting texts (default 2). */
  readonly minCount?: number
  /** Keep at most this many words, not counting `<pad>` and `<unk>` (default 5000). */
  readonly maxVocab?: number
  /** Lower-case texts first (default true). */
  readonly lowercase?: boolean
}

const WORD = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu

/**
 * Split a text into words: runs of letters and digits, keeping apostrophes inside a word
 * ("don't" stays one word, a leading or trailing quote is dropped); every other character separates
 * words. Lower-cases first unless `lowercase` is false.
 */
export const tokenize = (text: string, lowercase = true): Array<string> =>
  (lowercase ? text.toLowerCase() : text).match(WORD) ?? []

/**
 * Fit a vocabulary on `texts` (pass the TRAIN texts only, so a word seen only in valid or test maps to
 * `<unk>`). Words seen at least `minCount` times are kept, the `maxVocab` most frequent, ordered by
 * count descending then alphabetically (by UTF-16 code unit, locale-independent); they get ids
 * 2, 3, ... in that order.
 *
 * @throws InvalidOption naming `minCount` or `maxVocab` when not an integer >= 1.
 */
export const fitTokenizer = (texts: ReadonlyArray<string>, options: TokenizerOptions = {}): Tokenizer => {
  const minCount = positiveInteger("minCount", options.minCount ?? 2)
  const maxVocab = positiveInteger("maxVocab", options.maxVocab ?? 5000)
  const lowercase = options.lowercase ?? true
  const counts = new Map<string, number>()
  for (const text of texts) for (const word of tokenize(text, lowercase)) counts.set(word, (counts.get(word) ?? 0) + 1)
  const words = [...counts]
    .filter(([, c]) => c >= minCount)
    .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, maxVocab)
    .map(([w]) => w)
  const vocabulary = [PAD_TOKEN, UNK_TOKEN, ...words]
  const index = new Map(words.map((w, i) => [w, i + 2] as const))
  return { vocabulary, index, lowercase }
}

/** The id of one word: its vocabulary id, or {@link UNK_ID}. */
export const wordId = (tokenizer: Tokenizer, word: string): number => tokenizer.index.get(word) ?? UNK_ID

/**
 * Encode texts to a (n, maxSteps) {@link TokenBlock}: the first `maxSteps` words of each text
 * (longer texts are truncated), then padding ids 0. `lengths[i] = min(words, maxSteps)`, except that a
 * text with no word is encoded as a single `<unk>` step (length 1), so every sample has a valid step.
 *
 * @throws InvalidOption naming `maxSteps` when not an integer >= 1.
 */
export const encode = (tokenizer: Tokenizer, texts: ReadonlyArray<string>, maxSteps: number): TokenBlock =>
  encodeWords(tokenizer, texts.map((t) => tokenize(t, tokenizer.lowercase)), maxSteps)

/** {@link encode} on texts already split into words by {@link tokenize}. */
export const encodeWords = (
  tokenizer: Tokenizer,
  words: ReadonlyArray<ReadonlyArray<string>>,
  maxSteps: number
): TokenBlock => {
  positiveInteger("maxSteps", maxSteps)
  const n = words.length
  const ids = new Int32Array(n * maxSteps)
  const lengths = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const w = words[i]
    if (w.length === 0) {
      ids[i * maxSteps] = UNK_ID
      lengths[i] = 1
      continue
    }
    const L = Math.min(w.length, maxSteps)
    for (let t = 0; t < L; t++) ids[i * maxSteps + t] = wordId(tokenizer, w[t])
    lengths[i] = L
  }
  return { n, steps: maxSteps, ids, lengths, vocabulary: tokenizer.vocabulary }
}

const positiveInteger = (option: string, value: number): number => {
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOption({ option, value: String(value), reason: "must be an integer >= 1" })
  }
  return value
}
