/**
 * The checks every dataset passes when it is read, whatever its format (MMSA, MulT, mosi-real,
 * synthetic): splits a model can be trained and scored on. A problem is a `FormatError` naming the
 * file, the split and the field, found when the data is loaded rather than after an epoch of
 * training (`loss NaN` on an empty train split) or in the middle of scoring (an empty valid split,
 * features of another size in the test split).
 *
 * @since 0.2.0
 */
import type { Dataset, Split, SplitName } from "./Dataset"
import { MODALITIES, SPLITS } from "./Dataset"
import { FormatError } from "./Errors"

/** The fewest samples each split must have: train 2 (a spread to normalise and to correlate), valid and test 1. */
export const MIN_SAMPLES: Readonly<Record<SplitName, number>> = { train: 2, valid: 1, test: 1 }

/**
 * The first problem of `dataset`'s splits, or undefined when there is none:
 * - each split has at least {@link MIN_SAMPLES} samples, and one id, mask row and label per sample;
 * - each modality is in every split or in none, with the same feature dimension and step count T in
 *   all of them (a model is built for one T x dim per modality), and blocks the size they claim;
 * - token ids, when present, are in every split with the same T and vocabulary;
 * - regression labels are finite (sentiment datasets), emotion labels 0/1 (emotion datasets).
 */
export const problem = (dataset: Dataset): string | undefined => {
  const { splits } = dataset
  for (const name of SPLITS) {
    const split = splits[name]
    const n = split.n
    const need = MIN_SAMPLES[name]
    if (!(n >= need)) return `split ${name} has ${n} sample${n === 1 ? "" : "s"} (need at least ${need})`
    const sized = splitSizes(dataset, name, split)
    if (sized !== undefined) return sized
  }
  const train = splits.train
  for (const m of MODALITIES) {
    const reference = train.features[m]
    for (const name of SPLITS) {
      const block = splits[name].features[m]
      if ((reference === undefined) !== (block === undefined)) {
        return reference === undefined ? `${m} is in ${name} but not in train` : `${m} is in train but not in ${name}`
      }
      if (reference === undefined || block === undefined) continue
      if (block.dim !== reference.dim) return `${m} has ${reference.dim} features in train but ${block.dim} in ${name}`
      if (block.steps !== reference.steps) return `${m} has ${reference.steps} steps in train but ${block.steps} in ${name}`
    }
  }
  for (const name of SPLITS) {
    const tokens = splits[name].tokens
    const reference = train.tokens
    if ((reference === undefined) !== (tokens === undefined)) {
      return reference === undefined ? `text tokens are in ${name} but not in train` : `text tokens are in train but not in ${name}`
    }
    if (reference === undefined || tokens === undefined) continue
    if (tokens.steps !== reference.steps) return `text tokens have ${reference.steps} steps in train but ${tokens.steps} in ${name}`
    if (tokens.vocabulary !== reference.vocabulary && !sameWords(tokens.vocabulary, reference.vocabulary)) {
      return `text tokens of ${name} use another vocabulary than train's`
    }
  }
  return undefined
}

/**
 * Check `dataset` (see {@link problem}); `file` names it in the error (the file or folder it was read
 * from, "synthetic" for the generated one). Throws a `FormatError` of the dataset's format.
 */
export const checkSplits = (dataset: Dataset, file: string): void => {
  const found = problem(dataset)
  if (found !== undefined) throw new FormatError({ file, format: dataset.format, reason: found })
}

/** Sizes within one split: ids, mask, labels and feature blocks agree with `n`; labels are valid. */
const splitSizes = (dataset: Dataset, name: SplitName, split: Split): string | undefined => {
  const n = split.n
  if (split.ids.length !== n) return `${name} has ${split.ids.length} ids for ${n} samples`
  if (split.mask.length !== n * MODALITIES.length) return `${name} has a modality mask of ${split.mask.length} values for ${n} samples`
  for (const m of MODALITIES) {
    const b = split.features[m]
    if (b === undefined) continue
    if (b.n !== n || b.data.length !== n * b.steps * b.dim || b.lengths.length !== n) {
      return `${name} ${m} holds ${b.n} samples of ${b.steps}x${b.dim} in ${b.data.length} values, the split has ${n} samples`
    }
  }
  if (split.tokens !== undefined && (split.tokens.n !== n || split.tokens.ids.length !== n * split.tokens.steps)) {
    return `${name} text tokens hold ${split.tokens.n} samples, the split has ${n}`
  }
  if (dataset.task === "sentiment") {
    const y = split.labels.regression
    if (y === undefined) return `${name} has no regression_labels`
    if (y.length !== n) return `${name} has ${y.length} regression_labels for ${n} samples`
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(y[i])) return `${name} regression_labels[${i}] is ${y[i]}`
    }
  } else {
    const y = split.labels.emotions
    const k = dataset.emotions?.length ?? 0
    if (y === undefined) return `${name} has no emotion labels`
    if (k === 0 || y.length !== n * k) return `${name} has ${y.length} emotion labels for ${n} samples of ${k} emotions`
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== 0 && y[i] !== 1) return `${name} emotion label ${Math.floor(i / k)}.${dataset.emotions![i % k]} is ${y[i]}, not 0 or 1`
    }
  }
  return undefined
}

const sameWords = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean =>
  a.length === b.length && a.every((w, i) => w === b[i])
