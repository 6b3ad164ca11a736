/**
 * The MMSA toolkit's feature files (`aligned_50.pkl`, `unaligned_50.pkl`) as a Dataset.
 *
 * Layout: a dict `{train, valid, test}`, each a dict with `audio` (N, Ta, da), `vision` (N, Tv, dv),
 * `text` (N, Tt, 768) float arrays, `id` (list of `video$_$clip`), `regression_labels` (N,) in [-3, 3],
 * and optionally `raw_text`, `audio_lengths`, `vision_lengths`, `text_bert` (N, 3, Tt),
 * `annotations`, `classification_labels` (the last two are not used).
 *
 * - Audio and vision lengths come from `audio_lengths` / `vision_lengths` (integers in [0, T]); when
 *   absent (some aligned files) the length is T.
 * - Text lengths: as MMSA's own models compute them, the sum of the attention-mask row
 *   `text_bert[:, 1, :]` when `text_bert` is present and that row is 0/1; otherwise the number of
 *   leading steps up to the last step that is not all zero (BERT features are zero-padded at the
 *   end). Always at least 1 and at most T.
 * - Non-finite feature values (MMSA audio holds `-inf`) are replaced by 0 and counted per modality in
 *   `nonfiniteReplaced`, as MMSA's loader does.
 * - `mask[i, m]` is 1 when sample i has a positive length for modality m.
 * - The dataset name is the file name without its extension.
 *
 * Pure: a parsed pickle in, a Dataset out. Every layout problem is a FormatError naming the file and
 * the key.
 *
 * @since 0.1.0
 */
import type { Dataset, Modality, SequenceBlock, Split, SplitName } from "./Dataset"
import { checkSplits } from "./DatasetCheck"
import { SPLITS } from "./Dataset"
import type { NumericNdArray } from "./NdArray"
import { finiteFloat32, isNumeric } from "./NdArray"
import * as Pickle from "./Pickle"

const FORMAT = "mmsa-pickle"

/** Keys only MMSA files have (MulT files have `labels` instead). */
const MMSA_KEYS = ["regression_labels", "raw_text", "classification_labels"] as const

/** True when `value` looks like an MMSA feature file: a dict whose `train` dict has MMSA label/text keys. */
export const isMmsa = (value: Pickle.PyValue): boolean => {
  if (!Pickle.isDict(value)) return false
  const train = value.get("train")
  return Pickle.isDict(train) && MMSA_KEYS.some((k) => train.has(k))
}

/**
 * Read a parsed MMSA pickle (`file` names it in errors and gives the dataset name). Throws FormatError,
 * also for splits a model cannot use (`DatasetCheck.checkSplits`: too few samples, feature sizes that
 * differ between splits...).
 */
export const fromMmsa = (value: Pickle.PyValue, file: string): Dataset => {
  const rootAt: Pickle.Location = { file, format: FORMAT, path: "" }
  const root = Pickle.asDict(value, rootAt)
  const splits = {} as Record<SplitName, Split>
  for (const name of SPLITS) {
    const at = { ...rootAt, path: name }
    splits[name] = readSplit(Pickle.asDict(Pickle.getField(root, name, rootAt), at), at)
  }
  const dataset: Dataset = { name: datasetName(file), format: "mmsa-pickle", task: "sentiment", splits }
  checkSplits(dataset, file)
  return dataset
}

const readSplit = (dict: Pickle.PyDict, at: Pickle.Location): Split => {
  const sub = (key: string): Pickle.Location => ({ ...at, path: `${at.path}.${key}` })
  const features = (key: Modality) => Pickle.asNumericArray(Pickle.getField(dict, key, at), sub(key), 3)
  const audio = features("audio")
  const vision = features("vision")
  const text = features("text")
  const n = audio.shape[0]
  expectSamples(vision.shape[0], n, sub("vision"))
  expectSamples(text.shape[0], n, sub("text"))

  const ids = Pickle.asStrings(Pickle.getField(dict, "id", at), sub("id"))
  expectSamples(ids.length, n, sub("id"))
  const rawTextV = dict.get("raw_text")
  const rawText = rawTextV === undefined ? undefined : Pickle.asStrings(rawTextV, sub("raw_text"))
  if (rawText !== undefined) expectSamples(rawText.length, n, sub("raw_text"))
  const regression = regressionLabels(Pickle.getField(dict, "regression_labels", at), n, sub("regression_labels"))

  const audioBlock = featureBlock(audio, lengthsOf(dict, "audio_lengths", audio.shape[1], n, at))
  const visionBlock = featureBlock(vision, lengthsOf(dict, "vision_lengths", vision.shape[1], n, at))
  const textData = finiteFloat32(text)
  const textLengths = textLengthsOf(dict.get("text_bert"), textData.data, text.shape)
  const textBlock: SequenceBlock = {
    n,
    steps: text.shape[1],
    dim: text.shape[2],
    data: textData.data,
    lengths: textLengths
  }
  return {
    n,
    ids,
    features: { text: textBlock, audio: audioBlock.block, vision: visionBlock.block },
    mask: presenceMask(n, [textBlock, audioBlock.block, visionBlock.block]),
    labels: { regression },
    nonfiniteReplaced: { text: textData.replaced, audio: audioBlock.replaced, vision: visionBlock.replaced },
    ...(rawText === undefined ? {} : { rawText })
  }
}

/** A FormatError unless `got` samples equal the split's `n`. Shared with the MulT reader. */
export const expectSamples = (got: number, n: number, at: Pickle.Location): void => {
  if (got !== n) throw Pickle.formatError(at, `has ${got} samples, the split's audio has ${n}`)
}

/**
 * A (n, steps, dim) array as a SequenceBlock with the given lengths, non-finite values replaced by 0.
 * Shared with the MulT reader.
 */
export const featureBlock = (
  array: NumericNdArray,
  lengths: Int32Array
): { readonly block: SequenceBlock; readonly replaced: number } => {
  const { data, replaced } = finiteFloat32(array)
  const [n, steps, dim] = array.shape
  return { block: { n, steps, dim, data, lengths }, replaced }
}

/**
 * Sentiment labels: n finite values in [-3, 3], from an array of n elements ((n), (n, 1) or (n, 1, 1)).
 * Shared with the MulT reader.
 */
export const regressionLabels = (value: Pickle.PyValue, n: number, at: Pickle.Location): Float32Array => {
  const labels = Pickle.asNumericArray(value, at)
  if (labels.shape[0] !== n || labels.data.length !== n) {
    throw Pickle.formatError(at, `expected ${n} labels (one per sample), got shape (${labels.shape.join(", ")})`)
  }
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const y = labels.data[i]
    if (!(Math.abs(y) <= 3 + 1e-6)) throw Pickle.formatError(at, `label ${i} = ${y} is not a sentiment in [-3, 3]`)
    out[i] = y
  }
  return out
}

/** The (n, 3) modality mask: 1 where a sample has a positive length (blocks in MODALITIES order). */
export const presenceMask = (n: number, blocks: ReadonlyArray<SequenceBlock>): Uint8Array => {
  const mask = new Uint8Array(n * blocks.length)
  blocks.forEach((block, m) => {
    for (let i = 0; i < n; i++) mask[i * blocks.length + m] = block.lengths[i] > 0 ? 1 : 0
  })
  return mask
}

/** The file name without folders and extension ("data/MOSI/aligned_50.pkl" -> "aligned_50"). */
export const datasetName = (file: string): string => {
  const base = file.split(/[\\/]/).pop() ?? file
  return base.replace(/\.[^.]*$/, "") || base
}

/** Lengths from `key` (ints in [0, steps]), or all `steps` when the key is absent. */
const lengthsOf = (dict: Pickle.PyDict, key: string, steps: number, n: number, at: Pickle.Location): Int32Array => {
  const value = dict.get(key)
  if (value === undefined) return new Int32Array(n).fill(steps)
  const where = { ...at, path: `${at.path}.${key}` }
  const lengths = Pickle.asInts(value, where)
  expectSamples(lengths.length, n, where)
  lengths.forEach((l, i) => {
    if (l < 0 || l > steps) throw Pickle.formatError(where, `length ${i} = ${l} is outside [0, ${steps}]`)
  })
  return Int32Array.from(lengths)
}

/** Text lengths from the `text_bert` attention mask when usable, else from the zero padding of `data`. */
const textLengthsOf = (textBert: Pickle.PyValue | undefined, data: Float32Array, shape: ReadonlyArray<number>): Int32Array => {
  const [n, steps, dim] = shape
  const lengths = new Int32Array(n)
  const fromMask = attentionMask(textBert, n, steps)
  for (let i = 0; i < n; i++) {
    let length: number
    if (fromMask !== undefined) {
      length = 0
      for (let t = 0; t < steps; t++) length += fromMask.data[(i * 3 + 1) * steps + t]
    } else {
      length = lastNonZeroStep(data, i * steps * dim, steps, dim) + 1
    }
    lengths[i] = Math.min(steps, Math.max(1, length))
  }
  return lengths
}

/** `text_bert` when it is a numeric (n, 3, steps) array with a 0/1 mask row, else undefined (then ignored). */
const attentionMask = (value: Pickle.PyValue | undefined, n: number, steps: number): NumericNdArray | undefined => {
  if (!Pickle.isArray(value) || !isNumeric(value)) return undefined
  const array = value
  const [an, rows, as] = array.shape
  if (array.shape.length !== 3 || an !== n || rows !== 3 || as !== steps) return undefined
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < steps; t++) {
      const m = array.data[(i * 3 + 1) * steps + t]
      if (m !== 0 && m !== 1) return undefined
    }
  }
  return array
}

/** Index of the last step of one sample that has a non-zero value, or -1. */
const lastNonZeroStep = (data: Float32Array, offset: number, steps: number, dim: number): number => {
  for (let t = steps - 1; t >= 0; t--) {
    const start = offset + t * dim
    for (let d = 0; d < dim; d++) if (data[start + d] !== 0) return t
  }
  return -1
}
