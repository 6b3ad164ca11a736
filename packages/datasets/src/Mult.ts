/**
 * The MulT feature files (`mosi_data.pkl`, `mosei_senti_data.pkl`, `iemocap_data.pkl`) as a Dataset.
 *
 * Layout: a dict `{train, valid, test}`, each a dict with `text` (N, T, 300 GloVe), `audio` (N, T, da),
 * `vision` (N, T, dv) float arrays, `labels`, and optionally `id`.
 *
 * - Sentiment files: `labels` holds N sentiments in [-3, 3] (shape (N, 1, 1)); task "sentiment".
 * - IEMOCAP: `labels` is (N, 4, 2), one-hot per emotion in the order neutral, happy, sad, angry; the
 *   emotion is present when `labels[i, e, 1] == 1`. Task "emotions", `labels.emotions` (N, 4) 0/1.
 * - Ids: `id` is a numpy string array of shape (N, 3) (or (N,)). The segment id is the first column
 *   when it already reads `video$_$clip` (as in the files MMSA and the fixtures write), otherwise the
 *   first two columns joined as `video$_$clip`. Without `id` (iemocap_data.pkl) ids are `split_i`
 *   (e.g. "train_0").
 * - MulT sequences are word-aligned and zero-padded at the start, with no length field: every length
 *   is T and every modality is present (mask 1).
 * - Non-finite feature values are replaced by 0 and counted in `nonfiniteReplaced` (MulT's own loader
 *   zeroes NaN audio values the same way).
 * - The dataset name is the file name without its extension.
 *
 * Pure: a parsed pickle in, a Dataset out. Every layout problem is a FormatError naming the file and
 * the key.
 *
 * @since 0.1.0
 */
import type { Dataset, Modality, Split, SplitName } from "./Dataset"
import { IEMOCAP_EMOTIONS, MODALITIES, SPLITS } from "./Dataset"
import { checkSplits } from "./DatasetCheck"
import { datasetName, expectSamples, featureBlock, presenceMask, regressionLabels } from "./Mmsa"
import type { NdArray } from "./NdArray"
import * as Pickle from "./Pickle"

const FORMAT = "mult-pickle"

/** True when `value` looks like a MulT feature file: a dict whose `train` dict has `labels` and no MMSA keys. */
export const isMult = (value: Pickle.PyValue): boolean => {
  if (!Pickle.isDict(value)) return false
  const train = value.get("train")
  return Pickle.isDict(train) && train.has("labels") && !train.has("regression_labels")
}

/**
 * Read a parsed MulT pickle (`file` names it in errors and gives the dataset name). Throws FormatError,
 * also for splits a model cannot use (`DatasetCheck.checkSplits`: too few samples, feature sizes that
 * differ between splits...).
 */
export const fromMult = (value: Pickle.PyValue, file: string): Dataset => {
  const rootAt: Pickle.Location = { file, format: FORMAT, path: "" }
  const root = Pickle.asDict(value, rootAt)
  const dicts = SPLITS.map((name) => Pickle.asDict(Pickle.getField(root, name, rootAt), { ...rootAt, path: name }))
  const trainLabels = Pickle.asNumericArray(Pickle.getField(dicts[0], "labels", { ...rootAt, path: "train" }), {
    ...rootAt,
    path: "train.labels"
  })
  const task = isEmotionShape(trainLabels.shape) ? "emotions" : "sentiment"
  const splits = {} as Record<SplitName, Split>
  SPLITS.forEach((name, s) => {
    splits[name] = readSplit(dicts[s], name, task, { ...rootAt, path: name })
  })
  const dataset: Dataset = {
    name: datasetName(file),
    format: "mult-pickle",
    task,
    ...(task === "emotions" ? { emotions: IEMOCAP_EMOTIONS } : {}),
    splits
  }
  checkSplits(dataset, file)
  return dataset
}

const isEmotionShape = (shape: ReadonlyArray<number>): boolean =>
  shape.length === 3 && shape[1] === IEMOCAP_EMOTIONS.length && shape[2] === 2

const readSplit = (dict: Pickle.PyDict, name: SplitName, task: Dataset["task"], at: Pickle.Location): Split => {
  const sub = (key: string): Pickle.Location => ({ ...at, path: `${at.path}.${key}` })
  const arrays = {} as Record<Modality, ReturnType<typeof Pickle.asNumericArray>>
  for (const m of ["audio", "vision", "text"] as const) {
    arrays[m] = Pickle.asNumericArray(Pickle.getField(dict, m, at), sub(m), 3)
  }
  const n = arrays.audio.shape[0]
  expectSamples(arrays.vision.shape[0], n, sub("vision"))
  expectSamples(arrays.text.shape[0], n, sub("text"))

  const blocks = MODALITIES.map((m) => featureBlock(arrays[m], new Int32Array(n).fill(arrays[m].shape[1])))
  const labelsV = Pickle.getField(dict, "labels", at)
  const labels = task === "emotions"
    ? { emotions: emotionLabels(labelsV, n, sub("labels")) }
    : { regression: regressionLabels(labelsV, n, sub("labels")) }
  const idV = dict.get("id")
  const ids = idV === undefined ? Array.from({ length: n }, (_, i) => `${name}_${i}`) : segmentIds(idV, n, sub("id"))
  return {
    n,
    ids,
    features: { text: blocks[0].block, audio: blocks[1].block, vision: blocks[2].block },
    mask: presenceMask(n, blocks.map((b) => b.block)),
    labels,
    nonfiniteReplaced: { text: blocks[0].replaced, audio: blocks[1].replaced, vision: blocks[2].replaced }
  }
}

/** IEMOCAP labels (n, 4, 2) one-hot pairs -> (n, 4) 0/1 with 1 where `labels[i, e, 1] == 1`. */
const emotionLabels = (value: Pickle.PyValue, n: number, at: Pickle.Location): Uint8Array => {
  const labels = Pickle.asNumericArray(value, at, 3)
  const e = IEMOCAP_EMOTIONS.length
  if (labels.shape[0] !== n || !isEmotionShape(labels.shape)) {
    throw Pickle.formatError(at, `expected shape (${n}, ${e}, 2) (one-hot per emotion), got (${labels.shape.join(", ")})`)
  }
  const out = new Uint8Array(n * e)
  for (let i = 0; i < n * e; i++) {
    const absent = labels.data[2 * i]
    const present = labels.data[2 * i + 1]
    if (!((absent === 1 && present === 0) || (absent === 0 && present === 1))) {
      const sample = Math.floor(i / e)
      throw Pickle.formatError(
        at,
        `sample ${sample} ${IEMOCAP_EMOTIONS[i % e]}: [${absent}, ${present}] is not a one-hot pair`
      )
    }
    out[i] = present
  }
  return out
}

/** Segment ids from a numpy string array (n) or (n, k), or a list of str. */
const segmentIds = (value: Pickle.PyValue, n: number, at: Pickle.Location): ReadonlyArray<string> => {
  if (!Pickle.isArray(value)) {
    const ids = Pickle.asStrings(value, at)
    expectSamples(ids.length, n, at)
    return ids
  }
  const array: NdArray = value
  if ((array.dtype !== "unicode" && array.dtype !== "bytes") || array.shape.length < 1 || array.shape.length > 2) {
    throw Pickle.formatError(at, `expected a (${n}, k) string array, got ${array.dtype} (${array.shape.join(", ")})`)
  }
  expectSamples(array.shape[0], n, at)
  const k = array.shape.length === 2 ? array.shape[1] : 1
  if (k === 0) throw Pickle.formatError(at, "has no columns")
  const ids = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const first = array.data[i * k]
    ids[i] = k === 1 || first.includes("$_$") ? first : `${first}$_$${array.data[i * k + 1]}`
  }
  return ids
}
