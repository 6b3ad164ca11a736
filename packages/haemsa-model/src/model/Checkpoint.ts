/**
 * Checkpoints: a folder with `checkpoint.json` (format version, spec, data info, normalisation, tensor
 * manifest with the weights' sha256, and an integrity hash over all of it) and `weights-<hash>.bin`
 * (float32, little endian). {@link save} writes under the folder's lock ({@link OutputFolder}): the
 * weights under a temp name, fsync, rename; then the manifest likewise; fsync of the folder; then the
 * previous weights file is removed. A crash at any point leaves the previous checkpoint or the new one,
 * never a manifest naming a missing file. {@link load} verifies the manifest's integrity hash, the
 * weights' size and sha256, and that every weight is finite. A corrupt, tampered or mismatched
 * checkpoint, or one of a format version this code does not read, is a typed error.
 *
 * Format versions: 1, whose spec has no `lambdas.emotion` and `lambdas.teacher` (it loads: its spec
 * decodes with the weights those terms had then, see `ArchitectureSpec.Lambdas`); 2, with those
 * lambdas in the spec; 3, the one written now, with `integrity.sha256` ({@link integrityOf}). Versions
 * 1 and 2 have no integrity hash: only their weights file is checked (its sha256).
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as ArchitectureSpec from "./ArchitectureSpec"
import * as OutputFolder from "./OutputFolder"

/** A checkpoint could not be written, read, or does not fit the model. */
export class CheckpointError extends Schema.TaggedError<CheckpointError>()("CheckpointError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** The manifest file name. */
export const MANIFEST = "checkpoint.json"

/** The format version `save` writes (3: the manifest carries an integrity hash). */
export const FORMAT_VERSION = 3

/** The format versions `load` reads: 1 and 2 (upgraded as they load; no integrity hash) and {@link FORMAT_VERSION}. */
export const READABLE_VERSIONS: ReadonlyArray<number> = [1, 2, FORMAT_VERSION]

/** One tensor in the weights file. */
export interface TensorEntry {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  /** Offset in float32 elements. */
  readonly offset: number
}

/** Named weights as plain arrays. */
export type Weights = ReadonlyMap<string, { readonly shape: ReadonlyArray<number>; readonly values: Float32Array }>

/** What a checkpoint holds besides the weights (data info, normalisation, metrics...: JSON). */
export interface Contents<Extra> {
  readonly spec: ArchitectureSpec.ArchitectureSpec
  readonly extra: Extra
  readonly weights: Weights
}

const sha256 = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex")

/** Sorted-key JSON: the same text for the same data whatever the key order. */
const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/**
 * The integrity hash of a manifest (format version 3 on): the SHA-256 of the canonical JSON (sorted
 * keys) of the manifest without its `integrity` field. It covers everything that affects predictions:
 * the spec, the data info and normalisation (`extra`), the tensor names, shapes and offsets, and the
 * weights file's own sha256.
 */
export const integrityOf = (manifest: Readonly<Record<string, unknown>>): string => {
  const { integrity: _, ...rest } = manifest
  return sha256(canonicalJson(rest))
}

/** The first non-finite weight (NaN or an infinity), as `tensor[i] = NaN`, or undefined when all are finite. */
export const firstNonFinite = (weights: Weights): string | undefined => {
  for (const [name, w] of weights) {
    for (let i = 0; i < w.values.length; i++) {
      if (!Number.isFinite(w.values[i])) return `${name}[${i}] = ${w.values[i]}`
    }
  }
  return undefined
}

/** Options of {@link save}. */
export interface SaveOptions {
  /** The file system steps (default the real one; tests inject failures). */
  readonly fs?: OutputFolder.Fs
  /** The folder's lock when the caller already holds it; otherwise `save` takes it for the write. */
  readonly lock?: OutputFolder.Lock
  /** How `save` takes the lock when it has to (wait bound, progress line, pid). */
  readonly locking?: OutputFolder.AcquireOptions
}

const ignoreMissing = (e: unknown) => {
  if ((e as { code?: unknown })?.code !== "ENOENT") throw e
}

/** The weights file the current manifest of `dir` names, if it is a haemsa checkpoint. */
const currentWeightsFile = async (fsys: OutputFolder.Fs, dir: string): Promise<string | undefined> => {
  try {
    const m = JSON.parse((await fsys.readFile(path.join(dir, MANIFEST))).toString("utf8"))
    const file = m?.format === "haemsa-checkpoint" ? m?.weights?.file : undefined
    return typeof file === "string" && WEIGHTS_FILE.test(file) ? file : undefined
  } catch {
    return undefined
  }
}

/** What a weights file name looks like (no path escapes). */
const WEIGHTS_FILE = /^weights-[0-9a-f]+\.bin$/

/**
 * Write a checkpoint into `dir` (created if needed), replacing any previous one. Weights that are not
 * all finite are refused before anything is written. Under the folder's lock
 * ({@link OutputFolder.acquire}): temp files of haemsa writers that are gone are removed; the weights
 * go to a temp file, fsync, rename to `weights-<hash>.bin`; the manifest to a temp file, fsync, rename
 * over `checkpoint.json`; fsync of the folder; then the previous checkpoint's weights file is removed.
 * A failure at any step leaves the previous checkpoint or the new one loadable (the temp files this
 * write made are removed when it can). Rejects with a {@link CheckpointError} naming the folder.
 */
export const save = async <Extra>(dir: string, contents: Contents<Extra>, options: SaveOptions = {}): Promise<void> => {
  const bad = firstNonFinite(contents.weights)
  if (bad !== undefined) {
    throw new CheckpointError({ file: dir, reason: `cannot write checkpoint: the weights are not finite (${bad}); nothing was written` })
  }
  const fsys = options.fs ?? OutputFolder.nodeFileSystem
  const pid = options.lock?.holder.pid ?? options.locking?.pid ?? process.pid
  let lock: OutputFolder.Lock | undefined
  let placed: string | undefined // the new weights file, once renamed into place
  let previous: string | undefined
  let committed = false
  try {
    await fsys.mkdir(dir)
    lock = options.lock ?? await OutputFolder.acquire(dir, { ...options.locking, fs: fsys })
    await OutputFolder.removeStaleTemps(dir, { fs: fsys, ...(options.locking?.isAlive ? { isAlive: options.locking.isAlive } : {}) })
    previous = await currentWeightsFile(fsys, dir)
    const tensors: TensorEntry[] = []
    let total = 0
    for (const [name, w] of contents.weights) {
      tensors.push({ name, shape: [...w.shape], offset: total })
      total += w.values.length
    }
    const all = new Float32Array(total)
    let k = 0
    for (const w of contents.weights.values()) {
      all.set(w.values, tensors[k++].offset)
    }
    const bytes = new Uint8Array(all.buffer)
    const hash = sha256(bytes)
    const weightsFile = `weights-${hash.slice(0, 16)}.bin`
    // each file written, flushed and renamed into place; the folder flushed once, after the manifest
    const replace = { fs: fsys, pid, syncFolder: false }
    await OutputFolder.replaceFile(path.join(dir, weightsFile), bytes, replace)
    placed = weightsFile
    const body = JSON.parse(JSON.stringify({
      format: "haemsa-checkpoint",
      version: FORMAT_VERSION,
      spec: contents.spec,
      extra: contents.extra,
      weights: { file: weightsFile, sha256: hash, elements: total, tensors }
    }))
    const manifest = { ...body, integrity: { sha256: integrityOf(body) } }
    await OutputFolder.replaceFile(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1), replace)
    committed = true
    await fsys.fsyncFolder(dir)
    if (previous !== undefined && previous !== weightsFile) await fsys.unlink(path.join(dir, previous)).catch(ignoreMissing)
  } catch (e) {
    // remove the weights file this write placed and no manifest names (best effort: a dead process
    // removes nothing; replaceFile removed its own temp file)
    if (!committed && placed !== undefined && placed !== previous) await fsys.unlink(path.join(dir, placed)).catch(() => undefined)
    if (e instanceof OutputFolder.LockError) throw new CheckpointError({ file: e.file, reason: e.reason })
    throw new CheckpointError({ file: dir, reason: `cannot write checkpoint: ${(e as Error).message}` })
  } finally {
    if (options.lock === undefined) await lock?.release().catch(() => undefined)
  }
}

const fail = (file: string, reason: string): never => {
  throw new CheckpointError({ file, reason })
}

/** Fail unless `found` is a format version this code reads, naming the one found and the ones it needs. */
const checkVersion = (manifestFile: string, found: unknown): void => {
  if (READABLE_VERSIONS.includes(found as number)) return
  const needs = `needs format version ${FORMAT_VERSION} (or ${READABLE_VERSIONS.filter((v) => v !== FORMAT_VERSION).join(" or ")}, which it upgrades)`
  const newer = typeof found === "number" && found > FORMAT_VERSION ? ": written by a newer @haemsa/haemsa-model?" : ""
  fail(
    manifestFile,
    found === undefined
      ? `checkpoint without a format version: this version of @haemsa/haemsa-model ${needs}`
      : `checkpoint format version ${JSON.stringify(found)}: this version of @haemsa/haemsa-model ${needs}${newer}`
  )
}

/**
 * Read and verify a checkpoint from `dir`, of any of the {@link READABLE_VERSIONS}: the integrity hash
 * ({@link integrityOf}; versions 1 and 2 have none), the weights file's size and sha256, and that
 * every weight is finite. Rejects with a {@link CheckpointError} naming the file and what does not match.
 */
export const load = async <Extra = unknown>(dir: string): Promise<Contents<Extra>> => {
  const manifestFile = path.join(dir, MANIFEST)
  const text = await fs.readFile(manifestFile, "utf8").catch((e: Error) => fail(manifestFile, `cannot read: ${e.message}`))
  let manifest: any
  try {
    manifest = JSON.parse(text)
  } catch (e) {
    return fail(manifestFile, `corrupt manifest (not JSON): ${(e as Error).message}`)
  }
  if (manifest?.format !== "haemsa-checkpoint") fail(manifestFile, `not a haemsa checkpoint (format ${JSON.stringify(manifest?.format)})`)
  checkVersion(manifestFile, manifest.version)
  // version 3 on has the hash; a manifest that has one is checked whatever its version says (3 edited to 2 is caught)
  if (manifest.version >= 3 || manifest.integrity !== undefined) {
    const stored = manifest.integrity?.sha256
    if (typeof stored !== "string") fail(manifestFile, "no integrity hash (integrity.sha256): the manifest was edited or is incomplete")
    const found = integrityOf(manifest)
    if (found !== stored) {
      fail(manifestFile, `integrity hash mismatch: the manifest (spec, data info, normalisation or tensor list) was changed since it was written (stored ${stored.slice(0, 16)}..., computed ${found.slice(0, 16)}...)`)
    }
  }
  let spec: ArchitectureSpec.ArchitectureSpec
  try {
    spec = ArchitectureSpec.decode(manifest.spec)
  } catch (e) {
    return fail(manifestFile, `invalid architecture spec: ${String(e)}`)
  }
  const w = manifest.weights
  if (typeof w?.file !== "string" || !WEIGHTS_FILE.test(w.file) || !Array.isArray(w.tensors)) {
    fail(manifestFile, "invalid weights manifest")
  }
  const weightsFile = path.join(dir, w.file)
  const buf = await fs.readFile(weightsFile).catch((e: Error) => fail(weightsFile, `cannot read: ${e.message}`))
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  if (bytes.byteLength !== w.elements * 4) fail(weightsFile, `size ${bytes.byteLength} bytes, manifest says ${w.elements * 4}`)
  if (sha256(bytes) !== w.sha256) fail(weightsFile, "sha256 mismatch: the weights file is corrupt")
  const all = new Float32Array(bytes.slice().buffer)
  const nonFinite = all.findIndex((x) => !Number.isFinite(x))
  if (nonFinite >= 0) fail(weightsFile, `the weights are not finite (element ${nonFinite} = ${all[nonFinite]}): the checkpoint cannot predict`)
  const weights = new Map<string, { shape: number[]; values: Float32Array }>()
  for (const t of w.tensors as TensorEntry[]) {
    if (typeof t?.name !== "string" || !Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(manifestFile, `invalid tensor entry ${JSON.stringify(t)}`)
    }
    const n = t.shape.reduce((a, b) => a * b, 1)
    if (!Number.isInteger(t.offset) || t.offset < 0 || t.offset + n > all.length) fail(manifestFile, `tensor ${t.name} out of range`)
    weights.set(t.name, { shape: [...t.shape], values: all.slice(t.offset, t.offset + n) })
  }
  return { spec, extra: manifest.extra as Extra, weights }
}

/** Check that checkpoint weights fit a model's variables exactly (names and shapes). */
export const checkFits = (
  file: string,
  weights: Weights,
  variables: ReadonlyMap<string, { readonly shape: ReadonlyArray<number> }>
): void => {
  for (const [name, v] of variables) {
    const w = weights.get(name)
    if (!w) fail(file, `missing weights for variable ${name}`)
    else if (w.shape.join(",") !== v.shape.join(",")) {
      fail(file, `variable ${name}: checkpoint shape [${w.shape.join(", ")}], model shape [${v.shape.join(", ")}]`)
    }
  }
  for (const name of weights.keys()) if (!variables.has(name)) fail(file, `checkpoint has weights ${name} that the model does not have`)
}
