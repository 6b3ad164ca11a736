/**
 * The `DatasetLoader` service: reads a dataset from a source name or a path, detecting its format.
 * File I/O lives here (Effect at the edge); parsing is done by the pure readers.
 *
 * Sources: `synthetic` (the embedded default), `mosi-real` (a folder laid out like the `data/` folder
 * of the `@haemsa/mosi-real` package), a `.pkl` file (MMSA or MulT layout, detected from content), a
 * `.csd` file.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as Csd from "./Csd"
import type { Dataset } from "./Dataset"
import { type DatasetError, FileError, InvalidOption, isDatasetError } from "./Errors"
import * as MosiReal from "./MosiReal"
import * as Pickle from "./Pickle"
import * as PickleDataset from "./PickleDataset"
import * as Synthetic from "./Synthetic"

/** The files a mosi-real folder must hold. */
export const MOSI_REAL_FILES = ["labels.csv", "transcripts.tsv", "folds.json", "audio_openSMILE.pickle", "audio_video_ids.json"] as const

/** Options for loading. */
export interface LoadOptions {
  /** Options of the synthetic generator (source "synthetic"). */
  readonly synthetic?: Synthetic.SyntheticOptions
  /**
   * Limits of the pickle reader (a `.pkl` file, the audio pickle of a mosi-real folder), e.g.
   * `{ maxObjects: 5_000_000 }` for a pickle of many small Python objects (defaults: `Pickle.Limits`).
   */
  readonly pickleLimits?: Partial<Pickle.Limits>
  /**
   * Word vectors as the text features of a mosi-real folder (see `MosiReal.MosiRealOptions.textFeatures`;
   * load them with `WordVectors.load`). Other formats ignore it: their text features are in the file.
   */
  readonly textFeatures?: MosiReal.TextFeatures
}

/** What a path holds, once detected. */
export type Detected =
  | { readonly kind: "synthetic" }
  | { readonly kind: "mosi-real"; readonly dir: string }
  | { readonly kind: "pickle"; readonly file: string }
  | { readonly kind: "csd"; readonly file: string }

/**
 * Keep an error of this package as it is; wrap anything else (a reader bug) into a FileError naming
 * the file, with the original error as its cause.
 */
const asDatasetError = (file: string) => (e: unknown): DatasetError =>
  isDatasetError(e)
    ? e
    : new FileError({ file, reason: `unexpected error while reading: ${e instanceof Error ? e.message : String(e)}`, cause: e })

/** The pickle reader's options for `file` under `options`. */
const parseOptions = (file: string, options: LoadOptions): Pickle.ParseOptions =>
  options.pickleLimits === undefined ? { file } : { file, limits: options.pickleLimits }

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]

const readBytes = (file: string) =>
  Effect.tryPromise({
    try: async () => new Uint8Array(await fs.readFile(file)),
    catch: (e) => new FileError({ file, reason: `cannot read: ${(e as Error).message}`, cause: e })
  })

const readText = (file: string) =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (e) => new FileError({ file, reason: `cannot read: ${(e as Error).message}`, cause: e })
  })

/** Detect what `source` is: the word `synthetic`, a mosi-real folder, a pickle or a `.csd` file. */
export const detect = (source: string): Effect.Effect<Detected, FileError> =>
  Effect.gen(function*() {
    if (source === "synthetic") return { kind: "synthetic" } as const
    const stat = yield* Effect.tryPromise({
      try: () => fs.stat(source),
      catch: (e) => new FileError({ file: source, reason: "no such file or folder", cause: e })
    })
    if (stat.isDirectory()) {
      const missing: string[] = []
      for (const f of MOSI_REAL_FILES) {
        const ok = yield* Effect.promise(() => fs.access(path.join(source, f)).then(() => true, () => false))
        if (!ok) missing.push(f)
      }
      if (missing.length > 0) {
        return yield* new FileError({ file: source, reason: `not a mosi-real folder: missing ${missing.join(", ")}` })
      }
      return { kind: "mosi-real", dir: source } as const
    }
    const head = yield* Effect.tryPromise({
      try: async () => {
        const h = await fs.open(source, "r")
        try {
          const buf = new Uint8Array(8)
          const { bytesRead } = await h.read(buf, 0, 8, 0)
          return buf.subarray(0, bytesRead)
        } finally {
          await h.close()
        }
      },
      catch: (e) => new FileError({ file: source, reason: `cannot read: ${(e as Error).message}`, cause: e })
    })
    if (source.endsWith(".csd") || HDF5_SIGNATURE.every((b, i) => head[i] === b)) return { kind: "csd", file: source } as const
    if (head[0] === 0x80 || /\.(pkl|pickle)$/i.test(source)) return { kind: "pickle", file: source } as const
    return yield* new FileError({ file: source, reason: "unknown format (expected a .pkl/.pickle, a .csd, or a mosi-real folder)" })
  })

/** Read an MMSA or MulT pickle file into a Dataset (the reader's limits from `options.pickleLimits`). */
export const loadPickle = (file: string, options: LoadOptions = {}): Effect.Effect<Dataset, DatasetError> =>
  Effect.gen(function*() {
    const bytes = yield* readBytes(file)
    const value = yield* Effect.try({ try: () => Pickle.parse(bytes, parseOptions(file, options)), catch: asDatasetError(file) })
    return yield* Effect.try({ try: () => PickleDataset.fromPickle(value, file), catch: asDatasetError(file) })
  })

/** Read a `.csd` computational sequence. */
export const loadCsd = (file: string): Effect.Effect<Csd.ComputationalSequence, DatasetError> =>
  Effect.gen(function*() {
    const bytes = yield* readBytes(file)
    return yield* Effect.tryPromise({ try: () => Csd.readCsd(bytes, file), catch: asDatasetError(file) })
  })

/** Read the real MOSI subset folder (the audio pickle's limits from `options.pickleLimits`). */
export const loadMosiReal = (dir: string, options: LoadOptions = {}): Effect.Effect<Dataset, DatasetError> =>
  Effect.map(readMosiReal(dir, options), (read) => read.dataset)

/**
 * {@link loadMosiReal} with what the reader found (`MosiReal.MosiRealReport`: the text length, missing
 * audio, and with `options.textFeatures` the words without a vector per split).
 */
export const readMosiReal = (
  dir: string,
  options: LoadOptions = {}
): Effect.Effect<{ readonly dataset: Dataset; readonly report: MosiReal.MosiRealReport }, DatasetError> =>
  Effect.gen(function*() {
    const p = (f: string) => path.join(dir, f)
    const [labelsCsv, transcriptsTsv, foldsJson, audioVideoIdsJson] = yield* Effect.all(
      [readText(p("labels.csv")), readText(p("transcripts.tsv")), readText(p("folds.json")), readText(p("audio_video_ids.json"))]
    )
    const audioFile = p("audio_openSMILE.pickle")
    const audioBytes = yield* readBytes(audioFile)
    const audio = yield* Effect.try({
      try: () => Pickle.parse(audioBytes, { ...parseOptions(audioFile, options), encoding: "latin1" }),
      catch: asDatasetError(audioFile)
    })
    return yield* Effect.try({
      try: () =>
        MosiReal.readMosiReal(
          { labelsCsv, transcriptsTsv, foldsJson, audioVideoIdsJson, audio },
          dir,
          options.textFeatures === undefined ? {} : { textFeatures: options.textFeatures }
        ),
      catch: asDatasetError(dir)
    })
  })

/**
 * Load a dataset (not a `.csd` file: those are feature sequences without splits; use `loadCsd`). Every
 * format's splits pass `DatasetCheck.checkSplits`: a split with too few samples, or features of other
 * sizes than train's, is a `FormatError` naming the file, the split and the field.
 */
export const load = (source: string, options: LoadOptions = {}): Effect.Effect<Dataset, DatasetError> =>
  Effect.gen(function*() {
    const found = yield* detect(source)
    switch (found.kind) {
      case "synthetic":
        return yield* Effect.try({ try: () => Synthetic.synthetic(options.synthetic), catch: asDatasetError("synthetic") })
      case "mosi-real":
        return yield* loadMosiReal(found.dir, options)
      case "pickle":
        return yield* loadPickle(found.file, options)
      case "csd":
        return yield* new InvalidOption({
          option: "data",
          value: source,
          reason: "a .csd file is one feature sequence, not a dataset with splits: use `haemsa data inspect` or Csd.alignToSegments"
        })
    }
  })

/** The service: swap it to load datasets from elsewhere (a database, a browser File, a test fixture). */
export class DatasetLoader extends Context.Service<DatasetLoader, {
  readonly load: (source: string, options?: LoadOptions) => Effect.Effect<Dataset, DatasetError>
  readonly loadCsd: (file: string) => Effect.Effect<Csd.ComputationalSequence, DatasetError>
  readonly detect: (source: string) => Effect.Effect<Detected, FileError>
}>()("@haemsa/datasets/DatasetLoader") {
  /** Reads from the local file system (Node, Deno). */
  static readonly layer = Layer.succeed(DatasetLoader, { load, loadCsd, detect })
}
