/**
 * Checkpoints: a folder with `checkpoint.json` (format version, spec, data info, normalisation, tensor
 * manifest with a sha256) and `weights-<hash>.bin` (float32, little endian). Writes are atomic: the
 * weights file is written under a temporary name and renamed, then the manifest likewise; a crash at
 * any point leaves the previous checkpoint or the new one, never a mix. A corrupt or mismatched
 * checkpoint, or one of a format version this code does not read, is a typed error.
 *
 * Format versions: 1, whose spec has no `lambdas.emotion` and `lambdas.teacher` (it loads: its spec
 * decodes with the weights those terms had then, see `ArchitectureSpec.Lambdas`); 2, the one written
 * now, with those lambdas in the spec.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import * as ArchitectureSpec from "./ArchitectureSpec"

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

/** The format version `save` writes. */
export const FORMAT_VERSION = 2

/** The format versions `load` reads: 1 (upgraded as it loads) and {@link FORMAT_VERSION}. */
export const READABLE_VERSIONS: ReadonlyArray<number> = [1, FORMAT_VERSION]

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

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")

const writeAtomic = async (file: string, bytes: Uint8Array | string) => {
  const tmp = `${file}.tmp-${process.pid}-${Date.now()}`
  const handle = await fs.open(tmp, "w")
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, file)
}

/** Write a checkpoint into `dir` (created if needed), atomically replacing any previous one. */
export const save = async <Extra>(dir: string, contents: Contents<Extra>): Promise<void> => {
  try {
    await fs.mkdir(dir, { recursive: true })
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
    await writeAtomic(path.join(dir, weightsFile), bytes)
    const manifest = {
      format: "haemsa-checkpoint",
      version: FORMAT_VERSION,
      spec: contents.spec,
      extra: contents.extra,
      weights: { file: weightsFile, sha256: hash, elements: total, tensors }
    }
    await writeAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 1))
    for (const f of await fs.readdir(dir)) {
      if (/^weights-.*\.bin$/.test(f) && f !== weightsFile) await fs.rm(path.join(dir, f), { force: true })
    }
  } catch (e) {
    throw new CheckpointError({ file: dir, reason: `cannot write checkpoint: ${(e as Error).message}` })
  }
}

const fail = (file: string, reason: string): never => {
  throw new CheckpointError({ file, reason })
}

/** Fail unless `found` is a format version this code reads, naming the one found and the ones it needs. */
const checkVersion = (manifestFile: string, found: unknown): void => {
  if (READABLE_VERSIONS.includes(found as number)) return
  const needs = `needs format version ${FORMAT_VERSION} (or ${READABLE_VERSIONS.filter((v) => v !== FORMAT_VERSION).join(", ")}, which it upgrades)`
  const newer = typeof found === "number" && found > FORMAT_VERSION ? ": written by a newer @haemsa/haemsa-model?" : ""
  fail(
    manifestFile,
    found === undefined
      ? `checkpoint without a format version: this version of @haemsa/haemsa-model ${needs}`
      : `checkpoint format version ${JSON.stringify(found)}: this version of @haemsa/haemsa-model ${needs}${newer}`
  )
}

/** Read and verify a checkpoint from `dir`, of any of the {@link READABLE_VERSIONS}. */
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
  let spec: ArchitectureSpec.ArchitectureSpec
  try {
    spec = ArchitectureSpec.decode(manifest.spec)
  } catch (e) {
    return fail(manifestFile, `invalid architecture spec: ${String(e)}`)
  }
  const w = manifest.weights
  if (typeof w?.file !== "string" || !/^weights-[0-9a-f]+\.bin$/.test(w.file) || !Array.isArray(w.tensors)) {
    fail(manifestFile, "invalid weights manifest")
  }
  const weightsFile = path.join(dir, w.file)
  const buf = await fs.readFile(weightsFile).catch((e: Error) => fail(weightsFile, `cannot read: ${e.message}`))
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
  if (bytes.byteLength !== w.elements * 4) fail(weightsFile, `size ${bytes.byteLength} bytes, manifest says ${w.elements * 4}`)
  if (sha256(bytes) !== w.sha256) fail(weightsFile, "sha256 mismatch: the weights file is corrupt")
  const all = new Float32Array(bytes.slice().buffer)
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
