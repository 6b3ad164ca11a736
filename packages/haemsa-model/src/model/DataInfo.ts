/**
 * What a model needs to know about its data to be built and to read new inputs: the task, the dense
 * feature dims and steps per modality, the token vocabulary, and the train-fitted normalisation.
 * Stored in checkpoints.
 *
 * @since 0.1.0
 */
import type { Dataset, Normalize } from "@haemsa/datasets"
import { Dataset as D, Errors } from "@haemsa/datasets"
import * as SentenceEncoder from "./SentenceEncoder"
import * as TextSettings from "./TextSettings"

/** Data facts a model is built for. */
export interface DataInfo {
  readonly name: string
  readonly task: "sentiment" | "emotions"
  readonly emotions?: ReadonlyArray<string>
  /** Dense features per modality. */
  readonly features: Partial<Record<Dataset.Modality, { readonly steps: number; readonly dim: number }>>
  /** Token input of the text modality, when the dataset has raw text. */
  readonly tokens?: { readonly steps: number; readonly vocabulary: ReadonlyArray<string> }
  /**
   * How a transcript becomes the text inputs (tokenizer, lexicon, word vectors of the training
   * vocabulary), when the model reads raw text; absent in checkpoints written before it existed
   * (`TextSettings.of` infers it).
   */
  readonly text?: TextSettings.TextSettings
  readonly normalization: Normalize.NormStats
}

/** The modalities a dataset provides (dense features or tokens). */
export const availableModalities = (info: DataInfo): Dataset.Modality[] =>
  D.MODALITIES.filter((m) => info.features[m] !== undefined || (m === "text" && info.tokens !== undefined))

/**
 * Read the data facts off a (normalised) dataset. `text`: the text features the dataset was built
 * with (`TextSettings.make`'s options; the vectors of the train transcripts' words are kept); without
 * it, a dataset with raw text (tokens) records kind `tokens`, with the lexicon when it is mosi-real
 * with its 4 lexicon columns per word.
 *
 * @throws InvalidOption naming `textFeatures` when `text` is inconsistent (see `TextSettings.make`) or
 * does not make the dataset's text columns (vector dim + 4 with the lexicon).
 */
export const fromDataset = (dataset: Dataset.Dataset, normalization: Normalize.NormStats, text?: TextSettings.MakeOptions): DataInfo => {
  const train = dataset.splits.train
  const features: DataInfo["features"] = {}
  for (const m of D.MODALITIES) {
    const b = train.features[m]
    if (b) (features as Record<string, unknown>)[m] = { steps: b.steps, dim: b.dim }
  }
  if (text !== undefined) {
    const want = (text.vectors?.dim ?? 0) + (text.lexicon ? TextSettings.LEXICON_DIM : 0) + (text.sentence === true ? SentenceEncoder.DIM : 0)
    const have = train.features.text?.dim ?? 0
    if (want !== have) {
      throw new Errors.InvalidOption({
        option: "textFeatures",
        value: text.kind,
        reason: `the text settings make ${want} columns per word, the dataset ${dataset.name}'s text features have ${have}: was it built with these word vectors, lexicon and sentence vectors?`
      })
    }
  }
  const settings = text !== undefined
    ? TextSettings.make(text, TextSettings.trainingWords(train, text.lowercase ?? true))
    : train.tokens
    ? TextSettings.make({ kind: "tokens", lexicon: dataset.format === "mosi-real" && train.features.text?.dim === TextSettings.LEXICON_DIM }, [])
    : undefined
  return {
    name: dataset.name,
    task: dataset.task,
    ...(dataset.emotions ? { emotions: dataset.emotions } : {}),
    features,
    ...(train.tokens ? { tokens: { steps: train.tokens.steps, vocabulary: train.tokens.vocabulary } } : {}),
    ...(settings ? { text: settings } : {}),
    normalization
  }
}

/**
 * Check that a dataset has the features a model was built for (same dims and steps, same vocabulary);
 * returns the list of problems (empty when compatible).
 */
export const incompatibilities = (info: DataInfo, dataset: Dataset.Dataset): string[] => {
  const train = dataset.splits.train
  const problems: string[] = []
  for (const m of D.MODALITIES) {
    const want = info.features[m]
    const have = train.features[m]
    if (want && !have) problems.push(`${m}: the model reads ${m} features (${want.steps}x${want.dim}), the data has none`)
    if (want && have && (want.dim !== have.dim || want.steps !== have.steps)) {
      problems.push(`${m}: the model was built for ${want.steps}x${want.dim}, the data has ${have.steps}x${have.dim}`)
    }
  }
  if (info.tokens) {
    const t = train.tokens
    if (!t) problems.push("text: the model reads token ids, the data has no raw text")
    else if (t.steps !== info.tokens.steps || t.vocabulary.length !== info.tokens.vocabulary.length || t.vocabulary.some((w, i) => w !== info.tokens!.vocabulary[i])) {
      problems.push("text: the data's token vocabulary differs from the model's")
    }
  }
  return problems
}
