/**
 * A training's state, kept in the `--out` folder at the end of each epoch so that an interrupted or
 * killed training resumes (`haemsa train ... --resume`) to the result an uninterrupted one gives:
 * `train-state.json` (the configuration it belongs to, the epoch counter, the history so far, the
 * early-stopping state, the random generators' positions, Adam's step counter and beta powers, a
 * tensor manifest with a sha256) and `train-state-<hash>.bin` (float32, little endian: the weights,
 * the best weights so far and Adam's two moments of each weight).
 *
 * Writes are atomic and under the folder's lock ({@link OutputFolder}, as checkpoints are): the
 * tensors go to a temp file (haemsa's `.<name>.<pid>.<random>.tmp`, those of a killed writer are
 * removed) that is flushed and renamed, then the manifest likewise, then the folder is flushed; a
 * crash at any point leaves the previous epoch's state or the new one, never a mix. Reading checks the format, the sizes and the sha256; a
 * state of another configuration (spec, data, seed, epochs, batch size, patience, train fraction,
 * backend) is a {@link TrainStateError} naming the file and the first difference.
 *
 * @since 0.2.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D } from "@haemsa/datasets"
import { Effect, Schema } from "effect"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import * as ExactJson from "../internal/ExactJson"
import type { ArchitectureSpec } from "./ArchitectureSpec"
import type { Weights } from "./Checkpoint"
import type { AdamState } from "./Optimizer"
import * as OutputFolder from "./OutputFolder"

/** The manifest's file name in the folder. */
export const FILE = "train-state.json"

/** The state's format version this code writes and reads. */
export const VERSION = 1

/** A training state could not be written or read, does not exist, or belongs to another configuration. */
export class TrainStateError extends Schema.TaggedError<TrainStateError>()("TrainStateError", {
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/** What a state belongs to: a resume must be the same training. */
export interface Config {
  readonly spec: ArchitectureSpec
  /** The sha256 of the (normalised) dataset's three splits ({@link dataHash}). */
  readonly data: string
  readonly seed: number
  readonly epochs: number
  readonly batchSize: number
  readonly patience: number
  /** The seeded fraction of the train split, or null for all of it. */
  readonly trainFraction: number | null
  /** The tfjs backend (another backend does not give the same numbers). */
  readonly backend: string
  /**
   * The replica threads sharing each step (`Train.TrainOptions.threads`; absent in states written
   * before they existed: 1). Another count draws other dropout masks, so it is another training.
   */
  readonly threads?: number
}

/** One epoch of the history (as `Train.EpochRecord`). */
export interface EpochRecord {
  readonly epoch: number
  readonly loss: number
  readonly valid: unknown
  readonly objective: number
  readonly seconds: number
}

/** A training's state at the end of an epoch. */
export interface Snapshot {
  readonly config: Config
  /** Epochs completed. */
  readonly epoch: number
  /** Optimisation steps so far. */
  readonly steps: number
  /** Seconds of training so far. */
  readonly seconds: number
  readonly history: ReadonlyArray<EpochRecord>
  /** Early stopping: the best epoch so far (0: none), its valid objective and weights; patience counts from `best.epoch`. */
  readonly best: { readonly epoch: number; readonly objective: number; readonly weights: Weights | undefined }
  /** The positions of the shuffle / modality-dropout generator and of the network's dropout seed source. */
  readonly rng: { readonly shuffle: number; readonly dropout: number }
  readonly weights: Weights
  readonly optimizer: AdamState
}

/** Whether `dir` holds a training state. */
export const exists = (dir: string): boolean => fs.existsSync(path.join(dir, FILE))

const updateArray = (h: ReturnType<typeof createHash>, a: ArrayBufferView) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))

/** The sha256 of a dataset's content (every split's ids, features, tokens, masks and labels). */
export const dataHash = (dataset: Dataset.Dataset): string => {
  const h = createHash("sha256")
  h.update(JSON.stringify({ task: dataset.task, emotions: dataset.emotions ?? null }))
  for (const name of D.SPLITS) {
    const s = dataset.splits[name]
    h.update(JSON.stringify({ split: name, n: s.n, ids: s.ids }))
    for (const m of D.MODALITIES) {
      const b = s.features[m]
      if (b === undefined) continue
      h.update(JSON.stringify({ m, steps: b.steps, dim: b.dim }))
      updateArray(h, b.data)
      updateArray(h, b.lengths)
    }
    if (s.tokens) {
      h.update(JSON.stringify({ tokens: s.tokens.steps, vocabulary: s.tokens.vocabulary }))
      updateArray(h, s.tokens.ids)
      updateArray(h, s.tokens.lengths)
    }
    updateArray(h, s.mask)
    if (s.labels.regression) updateArray(h, s.labels.regression)
    if (s.labels.emotions) updateArray(h, s.labels.emotions)
  }
  return h.digest("hex")
}

/** A JSON value's keys sorted (so two specs compare by content). */
const canonical = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(canonical)
    : v !== null && typeof v === "object"
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
    : v

/** The first path where two JSON values differ, with both values, or undefined. */
const firstDifference = (a: unknown, b: unknown, at: string): string | undefined => {
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k)
      if (d !== undefined) return d
    }
    return undefined
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : `${at}: ${JSON.stringify(a) ?? "none"} here, ${JSON.stringify(b) ?? "none"} in the state`
}

/** How the state's configuration `found` differs from `expected` (the first difference), or undefined. */
const configDifference = (found: Config, expected: Config): string | undefined => {
  const fields: ReadonlyArray<readonly [keyof Config, string]> = [
    ["data", "the data differ (sha256 of the dataset)"],
    ["seed", "--seed"],
    ["epochs", "--epochs"],
    ["batchSize", "--batch-size"],
    ["patience", "--patience"],
    ["trainFraction", "the train fraction"],
    ["backend", "--backend"],
    ["threads", "--threads"]
  ]
  const spec = firstDifference(canonical(expected.spec), canonical(found.spec), "")
  if (spec !== undefined) return `the architecture spec differs (${spec})`
  // a state written before `threads` existed is a one-thread training
  const threads = (config: Config): Config => ({ ...config, threads: config.threads ?? 1 })
  const [want, have] = [threads(expected), threads(found)]
  for (const [key, what] of fields) {
    if (want[key] !== have[key]) return key === "data" ? what : `${what} ${JSON.stringify(want[key])} here, ${JSON.stringify(have[key])} in the state`
  }
  return undefined
}

/** Fail unless the state's configuration is `expected`, naming the file and the first difference. */
export const checkConfig = (dir: string, found: Config, expected: Config): Effect.Effect<void, TrainStateError> => {
  const difference = configDifference(found, expected)
  return difference === undefined
    ? Effect.void
    : Effect.fail(new TrainStateError({
      file: path.join(dir, FILE),
      reason: `the state is of another training: ${difference}; resume with the same command line, or pass --force to start over`
    }))
}

/** Where a state held in memory (`Train.TrainOptions.continueFrom`) is named in errors. */
export const IN_MEMORY = "(a training state in memory)"

/**
 * Fail unless a training of configuration `expected` can continue the state `found` (kept in memory
 * by a shorter training, `Train.TrainOptions.keepFinal`): the same configuration except the number of
 * epochs, which may only grow, and the data, which the caller vouches for (a search continues on the
 * data it trained on). Its first epochs are then those of `found`, and the training goes on as an
 * uninterrupted one of `expected.epochs` would.
 */
export const checkContinuation = (found: Snapshot, expected: Config): Effect.Effect<void, TrainStateError> => {
  if (found.epoch > expected.epochs) {
    return Effect.fail(new TrainStateError({ file: IN_MEMORY, reason: `the state is after epoch ${found.epoch}: it cannot continue a training of ${expected.epochs} epochs` }))
  }
  const difference = configDifference(found.config, { ...expected, epochs: found.config.epochs, data: found.config.data })
  return difference === undefined
    ? Effect.void
    : Effect.fail(new TrainStateError({ file: IN_MEMORY, reason: `cannot continue a training of another configuration: ${difference}` }))
}

/** One tensor of the state's binary file. */
interface Entry {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  /** Offset in float32 elements. */
  readonly offset: number
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

const isStateBin = (f: string) => /^train-state-[0-9a-f]+\.bin$/.test(f)

/** Keep `snapshot` in `dir` (created if needed), atomically replacing the previous state. */
export const save = (dir: string, snapshot: Snapshot): Effect.Effect<void, TrainStateError> =>
  Effect.tryPromise({
    try: async () => {
      await fsp.mkdir(dir, { recursive: true })
      await OutputFolder.withLock(dir, () => write(dir, snapshot))
    },
    catch: (e) => new TrainStateError({ file: dir, reason: `cannot keep the training state: ${errorText(e)}` })
  })

/** The state's files, written as the module comment says (the caller holds the lock). */
const write = async (dir: string, snapshot: Snapshot): Promise<void> => {
  await OutputFolder.removeStaleTemps(dir)
  const groups: Array<readonly [string, Weights]> = [["weights", snapshot.weights]]
  if (snapshot.best.weights) groups.push(["best", snapshot.best.weights])
  const entries: Entry[] = []
  const arrays: Float32Array[] = []
  let total = 0
  const add = (name: string, shape: ReadonlyArray<number>, values: Float32Array) => {
    entries.push({ name, shape: [...shape], offset: total })
    arrays.push(values)
    total += values.length
  }
  for (const [group, weights] of groups) for (const [name, w] of weights) add(`${group}/${name}`, w.shape, w.values)
  snapshot.optimizer.moments.forEach((w, i) => {
    add(`adam/${i}/m`, w.shape, w.m)
    add(`adam/${i}/v`, w.shape, w.v)
  })
  const all = new Float32Array(total)
  arrays.forEach((a, i) => all.set(a, entries[i].offset))
  const bytes = new Uint8Array(all.buffer)
  const sha256 = createHash("sha256").update(bytes).digest("hex")
  const binFile = `train-state-${sha256.slice(0, 16)}.bin`
  await OutputFolder.replaceFile(path.join(dir, binFile), bytes, { syncFolder: false })
  const { moments: _moments, ...optimizer } = snapshot.optimizer
  const manifest = {
    format: "haemsa-train-state",
    version: VERSION,
    config: snapshot.config,
    epoch: snapshot.epoch,
    steps: snapshot.steps,
    seconds: snapshot.seconds,
    history: snapshot.history,
    best: { epoch: snapshot.best.epoch, objective: snapshot.best.objective, weights: snapshot.best.weights !== undefined },
    rng: snapshot.rng,
    optimizer: { ...optimizer, moments: snapshot.optimizer.moments.length },
    tensors: { file: binFile, sha256, elements: total, entries }
  }
  await OutputFolder.replaceFile(path.join(dir, FILE), ExactJson.stringify(manifest, 1))
  for (const f of await fsp.readdir(dir)) if (isStateBin(f) && f !== binFile) await fsp.rm(path.join(dir, f), { force: true })
}

/** Read and verify the state in `dir`; no state there is an error saying so. */
export const load = (dir: string): Effect.Effect<Snapshot, TrainStateError> =>
  Effect.gen(function*() {
    const file = path.join(dir, FILE)
    const fail = (reason: string, at = file) => Effect.fail(new TrainStateError({ file: at, reason }))
    if (!exists(dir)) {
      const finished = fs.existsSync(path.join(dir, "checkpoint.json")) ? " (the folder has a checkpoint: its training finished)" : ""
      return yield* fail(`no training state to resume${finished}; run without --resume to train from the start`)
    }
    const text = yield* Effect.tryPromise({ try: () => fsp.readFile(file, "utf8"), catch: (e) => new TrainStateError({ file, reason: `cannot read: ${errorText(e)}` }) })
    const manifest = yield* Effect.try({
      try: () => ExactJson.parse(text),
      catch: (e) => new TrainStateError({ file, reason: `corrupt training state (not JSON): ${errorText(e)}` })
    })
    if (manifest?.format !== "haemsa-train-state") return yield* fail(`not a haemsa training state (format ${JSON.stringify(manifest?.format)})`)
    if (manifest.version !== VERSION) {
      return yield* fail(`training state format version ${JSON.stringify(manifest.version)}: this version of @haemsa/haemsa-model reads version ${VERSION}`)
    }
    const t = manifest.tensors
    if (typeof t?.file !== "string" || !isStateBin(t.file) || !Array.isArray(t.entries) || !Number.isInteger(t.elements)) {
      return yield* fail("invalid tensor manifest")
    }
    const binFile = path.join(dir, t.file)
    const buf = yield* Effect.tryPromise({ try: () => fsp.readFile(binFile), catch: (e) => new TrainStateError({ file: binFile, reason: `cannot read: ${errorText(e)}` }) })
    if (buf.byteLength !== t.elements * 4) return yield* fail(`size ${buf.byteLength} bytes, the manifest says ${t.elements * 4}`, binFile)
    if (createHash("sha256").update(buf).digest("hex") !== t.sha256) return yield* fail("sha256 mismatch: the file is corrupt", binFile)
    const all = new Float32Array(new Uint8Array(buf).buffer)
    const tensors = new Map<string, { shape: number[]; values: Float32Array }>()
    for (const e of t.entries as Entry[]) {
      const n = Array.isArray(e?.shape) ? e.shape.reduce((a, b) => a * b, 1) : NaN
      if (typeof e?.name !== "string" || !Number.isInteger(n) || !Number.isInteger(e.offset) || e.offset < 0 || e.offset + n > all.length) {
        return yield* fail(`invalid tensor entry ${JSON.stringify(e)}`)
      }
      tensors.set(e.name, { shape: [...e.shape], values: all.slice(e.offset, e.offset + n) })
    }
    const group = (prefix: string): Weights =>
      new Map([...tensors].filter(([k]) => k.startsWith(`${prefix}/`)).map(([k, v]) => [k.slice(prefix.length + 1), v]))
    const moments: Array<AdamState["moments"][number]> = []
    for (let i = 0; i < manifest.optimizer?.moments; i++) {
      const m = tensors.get(`adam/${i}/m`)
      const v = tensors.get(`adam/${i}/v`)
      if (!m || !v) return yield* fail(`missing the optimizer's moments of weight ${i}`)
      moments.push({ shape: m.shape, m: m.values, v: v.values })
    }
    const { moments: _count, ...optimizer } = manifest.optimizer
    return {
      config: manifest.config,
      epoch: manifest.epoch,
      steps: manifest.steps,
      seconds: manifest.seconds,
      history: manifest.history,
      best: { epoch: manifest.best.epoch, objective: manifest.best.objective, weights: manifest.best.weights ? group("best") : undefined },
      rng: manifest.rng,
      weights: group("weights"),
      optimizer: { ...optimizer, moments }
    } satisfies Snapshot
  })

/** Remove the state from `dir` (the manifest first, then the tensor files); nothing to remove is fine. */
export const remove = (dir: string): Effect.Effect<void, TrainStateError> =>
  Effect.tryPromise({
    try: async () => {
      if (!fs.existsSync(dir)) return
      await OutputFolder.withLock(dir, async () => {
        await fsp.rm(path.join(dir, FILE), { force: true })
        for (const f of await fsp.readdir(dir)) if (isStateBin(f)) await fsp.rm(path.join(dir, f), { force: true })
      })
    },
    catch: (e) => new TrainStateError({ file: path.join(dir, FILE), reason: `cannot remove the training state: ${errorText(e)}` })
  })
