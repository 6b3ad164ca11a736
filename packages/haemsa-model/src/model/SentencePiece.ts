/**
 * The SentencePiece (unigram) tokenizer of the Universal Sentence Encoder lite: a text becomes the
 * ids of the pieces of its best segmentation under the vocabulary's scores (Viterbi over all the
 * pieces that start at each character). A port of the tokenizer of TensorFlow.js's
 * `universal-sentence-encoder` model (tfjs-models, Apache-2.0), which `@energetic-ai/embeddings`
 * ships too; the ids are the same (tested on the real vocabulary).
 *
 * @since 0.4.0
 */

/** A vocabulary: `[piece, score]` per id; ids 0 to {@link RESERVED} - 1 are reserved (0 is unknown). */
export type Vocabulary = ReadonlyArray<readonly [string, number]>

/** The reserved ids at the start of the vocabulary (`<unk>`, control symbols). */
export const RESERVED = 6

/** The word separator of SentencePiece (U+2581), put before every word. */
export const SEPARATOR = "\u2581"

/** A trie node: the piece ending here (id and score), if any, and the next characters. */
interface Node {
  readonly children: Map<string, Node>
  piece?: { readonly length: number; readonly score: number; readonly id: number }
}

/** A tokenizer built from a vocabulary. */
export interface SentencePiece {
  readonly vocabulary: Vocabulary
  readonly root: Node
}

const node = (): Node => ({ children: new Map() })

/** Build the tokenizer (a trie over the pieces of ids >= {@link RESERVED}). */
export const fromVocabulary = (vocabulary: Vocabulary): SentencePiece => {
  const root = node()
  for (let id = RESERVED; id < vocabulary.length; id++) {
    const [piece, score] = vocabulary[id]
    const chars = [...piece]
    let at = root
    for (const c of chars) {
      let next = at.children.get(c)
      if (next === undefined) at.children.set(c, next = node())
      at = next
    }
    at.piece = { length: chars.length, score, id }
  }
  return { vocabulary, root }
}

/** The text as SentencePiece sees it: NFKC-normalised, each space a separator, one in front. */
const normalise = (text: string): string => {
  const normalized = text.normalize("NFKC")
  return normalized.length > 0 ? SEPARATOR + normalized.replace(/ /g, SEPARATOR) : normalized
}

/**
 * The piece ids of `text` (empty for an empty text). A character that starts no piece becomes the
 * unknown id 0, and consecutive unknowns are merged into one, as the original does. (The original
 * steps back over a piece by its UTF-16 length; this one by its characters, which differs only for
 * characters outside the Basic Multilingual Plane, such as emoji.)
 */
export const encode = (tokenizer: SentencePiece, text: string): number[] => {
  const chars = [...normalise(text)]
  const n = chars.length
  // best[e]: the best score of a segmentation of chars[0, e); last[e]: the id of its last piece, length[e] its length
  const best = new Float64Array(n + 1)
  const last = new Int32Array(n + 1)
  const length = new Int32Array(n + 1)
  // the pieces ending at each position, as (start, id, score, length), visited in the original's order
  const ends: Array<Array<{ start: number; id: number; score: number; length: number }>> = Array.from({ length: n + 1 }, () => [])
  for (let i = 0; i < n; i++) {
    let at = tokenizer.root.children.get(chars[i])
    let found = false
    for (let j = i; j < n && at !== undefined; j++) {
      if (at.piece !== undefined) {
        ends[j + 1].push({ start: i, id: at.piece.id, score: at.piece.score, length: at.piece.length })
        found = true
      }
      at = at.children.get(chars[j + 1])
    }
    if (!found) ends[i + 1].push({ start: i, id: 0, score: 0, length: 1 })
  }
  for (let e = 1; e <= n; e++) {
    // the original visits the starts in increasing order (object keys) and keeps the last of equal scores
    ends[e].sort((a, b) => a.start - b.start)
    for (const p of ends[e]) {
      const score = p.score + best[e - p.length]
      if (best[e] === 0 || score >= best[e]) {
        best[e] = score
        last[e] = p.id
        length[e] = p.length
      }
    }
  }
  const ids: number[] = []
  for (let e = n; e > 0; e -= length[e]) ids.push(last[e])
  ids.reverse()
  return ids.filter((id, k) => !(id === 0 && k > 0 && ids[k - 1] === 0))
}
