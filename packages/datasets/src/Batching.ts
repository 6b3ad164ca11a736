/**
 * Subsets, seeded shuffled batches, and modality masking of splits (plain typed arrays).
 *
 * @since 0.1.0
 */
import type { Modality, SequenceBlock, Split, TokenBlock } from "./Dataset"
import { MODALITIES } from "./Dataset"
import { InvalidOption } from "./Errors"
import type { Rng } from "./Random"
import { permutation } from "./Random"

const gatherRows = <A extends Float32Array | Int32Array | Uint8Array>(data: A, rowSize: number, indices: ArrayLike<number>, make: (n: number) => A): A => {
  const out = make(indices.length * rowSize)
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]
    out.set(data.subarray(i * rowSize, (i + 1) * rowSize), k * rowSize)
  }
  return out
}

const subsetBlock = (b: SequenceBlock, idx: ArrayLike<number>): SequenceBlock => ({
  n: idx.length,
  steps: b.steps,
  dim: b.dim,
  data: gatherRows(b.data, b.steps * b.dim, idx, (n) => new Float32Array(n)),
  lengths: gatherRows(b.lengths, 1, idx, (n) => new Int32Array(n))
})

const subsetTokens = (b: TokenBlock, idx: ArrayLike<number>): TokenBlock => ({
  n: idx.length,
  steps: b.steps,
  vocabulary: b.vocabulary,
  ids: gatherRows(b.ids, b.steps, idx, (n) => new Int32Array(n)),
  lengths: gatherRows(b.lengths, 1, idx, (n) => new Int32Array(n))
})

/** The (indices.length, 3) modality-mask rows of `split` at `indices`, in that order (a copy; not range-checked: see {@link subset}). */
export const maskRows = (split: Split, indices: ArrayLike<number>): Uint8Array => gatherRows(split.mask, 3, indices, (n) => new Uint8Array(n))

/** The samples at `indices`, in that order (copies). Used for batches and data subsets. */
export const subset = (split: Split, indices: ArrayLike<number>): Split => {
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]
    if (!Number.isInteger(i) || i < 0 || i >= split.n) {
      throw new InvalidOption({ option: "indices", value: String(i), reason: `out of range for a split of ${split.n} samples` })
    }
  }
  const features: Partial<Record<Modality, SequenceBlock>> = {}
  for (const m of MODALITIES) {
    const b = split.features[m]
    if (b) features[m] = subsetBlock(b, indices)
  }
  const labels = {
    ...(split.labels.regression ? { regression: gatherRows(new Float32Array(split.labels.regression), 1, indices, (n) => new Float32Array(n)) } : {}),
    ...(split.labels.emotions
      ? { emotions: gatherRows(split.labels.emotions, split.labels.emotions.length / Math.max(split.n, 1), indices, (n) => new Uint8Array(n)) }
      : {})
  }
  return {
    n: indices.length,
    ids: Array.from(indices, (i) => split.ids[i]),
    features,
    ...(split.tokens ? { tokens: subsetTokens(split.tokens, indices) } : {}),
    mask: maskRows(split, indices),
    labels,
    nonfiniteReplaced: split.nonfiniteReplaced,
    ...(split.rawText ? { rawText: Array.from(indices, (i) => split.rawText![i]) } : {})
  }
}

/**
 * Index batches of one epoch: a seeded permutation when `rng` is given (training), in order otherwise
 * (evaluation). The last batch may be smaller.
 */
export const batchIndices = (n: number, batchSize: number, rng?: Rng): Int32Array[] => {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidOption({ option: "batchSize", value: String(batchSize), reason: "must be a positive integer" })
  }
  const order = rng ? permutation(n, rng) : Int32Array.from({ length: n }, (_, i) => i)
  const out: Int32Array[] = []
  for (let start = 0; start < n; start += batchSize) out.push(order.subarray(start, Math.min(n, start + batchSize)))
  return out
}

/** The batches of one epoch as splits. */
export const batches = (split: Split, batchSize: number, rng?: Rng): Split[] =>
  batchIndices(split.n, batchSize, rng).map((idx) => subset(split, idx))

/**
 * Keep only the `keep` modalities: the others are marked missing in the mask (their features stay in
 * memory but the model never sees them). Used for missing-modality evaluation and modality subsets.
 */
export const keepModalities = (split: Split, keep: ReadonlyArray<Modality>): Split => {
  if (keep.length === 0) throw new InvalidOption({ option: "modalities", value: "[]", reason: "at least one modality is needed" })
  const mask = new Uint8Array(split.mask)
  MODALITIES.forEach((m, mi) => {
    if (keep.includes(m)) return
    for (let i = 0; i < split.n; i++) mask[i * 3 + mi] = 0
  })
  return { ...split, mask }
}

/** A seeded random subset of `fraction` of the samples (at least one), e.g. for low-fidelity search. */
export const sample = (split: Split, fraction: number, rng: Rng): Split => {
  if (!(fraction > 0 && fraction <= 1)) throw new InvalidOption({ option: "fraction", value: String(fraction), reason: "must be in (0, 1]" })
  const k = Math.max(1, Math.round(split.n * fraction))
  return subset(split, Array.from(permutation(split.n, rng).subarray(0, k)).sort((a, b) => a - b))
}
