/**
 * One candidate evaluation, or one full training after the search (the selection's, the retraining's),
 * as a job of the search's queue: its payload (what a worker needs to train the candidate the way the
 * coordinator's own worker threads would), the checks a worker makes before
 * building anything (the payload decodes with the {@link ArchitectureSpec} Schema; the coordinator runs
 * the same haemsa and tfjs versions; the backend can be provided; its copy of the data has the same
 * content hash), the search's queue name and the deterministic job id of a candidate at a fidelity.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { Result, Schema } from "effect"
import * as crypto from "node:crypto"
import { createRequire } from "node:module"
import { moduleUrl } from "../../internal/ModuleFile"
import { ArchitectureSpec } from "../../model/ArchitectureSpec"

/** A job this worker will not run: its reason is recorded on the job, which fails without retries. */
export class JobRefused extends Schema.TaggedError<JobRefused>()("JobRefused", {
  reason: Schema.String
}) {
  override get message(): string {
    return `job refused: ${this.reason}`
  }
}

/** The versions of the software that trains: a worker runs jobs of a coordinator with the same ones only. */
export const Versions = Schema.Struct({ haemsa: Schema.String, tfjs: Schema.String })
/** The versions type. */
export type Versions = typeof Versions.Type

/** The data of a job: its name (`synthetic`, `mosi-real`, a file path), loader options and content hash. */
export const DataReference = Schema.Struct({
  source: Schema.String,
  /** Loader options (plain JSON, e.g. smaller synthetic data in tests). */
  loadOptions: Schema.optional(Schema.Unknown),
  /** {@link dataHash} of the loaded dataset, as the coordinator computed it. */
  hash: Schema.String
})
/** The data reference type. */
export type DataReference = typeof DataReference.Type

/** The fidelity of an evaluation, as `@haemsa/evo-search` passes it. */
export const FidelitySchema = Schema.Struct({
  level: Schema.Int,
  epochs: Schema.optional(Schema.Int),
  fraction: Schema.optional(Schema.Finite)
})

/**
 * A full training of an architecture after the search: a finalist of the selection (`--select-seeds`,
 * with its own seed) or the winner and the default (`--retrain`, the search's seed): all the train
 * split, up to `epochs` with early stopping. The job answers the training's metrics.
 */
export const RetrainSchema = Schema.Struct({
  epochs: Schema.Int,
  /** The training seed (default the search's, `seed`). */
  seed: Schema.optional(Schema.Int)
})

/** The payload of a job: a candidate's evaluation at a fidelity (`fidelity`) or a full training (`retrain`), one of the two. */
export const JobPayload = Schema.Struct({
  versions: Versions,
  /** The candidate's canonical key (the search's cache key). */
  key: Schema.String,
  spec: ArchitectureSpec,
  /** An evaluation: the fitness at this fidelity. */
  fidelity: Schema.optional(FidelitySchema),
  /** A full training: its metrics. */
  retrain: Schema.optional(RetrainSchema),
  /** The search's seed. */
  seed: Schema.Int,
  data: DataReference,
  backend: Schema.String,
  /** Threads of the wasm backend. */
  threads: Schema.Int,
  batchSize: Schema.optional(Schema.Int),
  patience: Schema.optional(Schema.Int)
})
/** The payload type. */
export type JobPayload = typeof JobPayload.Type

/** What a worker returns for a job: the fitness of an evaluation, or a full training's outcome. */
export type JobResult = (
  | { readonly fitness: number }
  /** The training's outcome (`SearchEvaluator.TrainOutcome`) as `ExactJson`, so a NaN metric stays NaN. */
  | { readonly retrain: string }
) & {
  /** Seconds the training took on the worker. */
  readonly seconds: number
  /** The worker that trained it (host and process id). */
  readonly worker: string
}

const decodePayload = Schema.decodeUnknownResult(JobPayload)

/**
 * Validates a job's data as a {@link JobPayload} (the architecture with its Schema) before anything is
 * built: exactly one of `fidelity` and `retrain`.
 */
export const validate = (data: unknown): Result.Result<JobPayload, JobRefused> =>
  Result.flatMap(
    Result.mapError(decodePayload(data), (e) => new JobRefused({ reason: `invalid payload: ${String(e.message ?? e)}` })),
    (payload) =>
      (payload.fidelity === undefined) === (payload.retrain === undefined)
        ? Result.fail(new JobRefused({ reason: "invalid payload: a job has either a fidelity (an evaluation) or retrain (a full training), not both or neither" }))
        : Result.succeed(payload)
  )

/**
 * A job's work in words, for `haemsa search --status`: the candidate's key and its fidelity level, or
 * `(full training, up to E epochs, seed S)`. Reads the job's data as stored (it may be of any shape).
 */
export const describeWork = (data: unknown): string => {
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, any>
  const key = typeof d.key === "string" ? d.key : "?"
  if (typeof d.retrain?.epochs === "number") {
    return `${key} (full training, up to ${d.retrain.epochs} epochs, seed ${d.retrain.seed ?? d.seed ?? "?"})`
  }
  return typeof d.fidelity?.level === "number" ? `${key} (level ${d.fidelity.level})` : key
}

/** What a worker can run. */
export interface Capabilities {
  readonly versions: Versions
  /** Backends this worker can set up (`undefined`: any it is asked for, checked when set up). */
  readonly backends?: ReadonlyArray<string>
}

/** Why this worker refuses `payload` (other versions, a backend it cannot provide), or `undefined` when it can run it. */
export const incompatibility = (payload: JobPayload, local: Capabilities): string | undefined => {
  if (payload.versions.haemsa !== local.versions.haemsa) {
    return `the coordinator runs haemsa ${payload.versions.haemsa}, this worker haemsa ${local.versions.haemsa}`
  }
  if (payload.versions.tfjs !== local.versions.tfjs) {
    return `the coordinator runs tfjs ${payload.versions.tfjs}, this worker tfjs ${local.versions.tfjs}`
  }
  if (local.backends !== undefined && !local.backends.includes(payload.backend)) {
    return `backend ${payload.backend} is not available on this worker (it has ${local.backends.join(", ")})`
  }
  return undefined
}

/** The data check: `undefined` when the worker's copy has the coordinator's hash, else the reason. */
export const dataMismatch = (reference: DataReference, localHash: string): string | undefined =>
  reference.hash === localHash
    ? undefined
    : `the data ${reference.source} differs from the coordinator's (content hash ${localHash.slice(0, 12)}, expected ${reference.hash.slice(0, 12)}): copy the same data to this worker`

/** The versions of this process: haemsa-model's package version and tfjs's. */
export const localVersions = (): Versions => ({
  haemsa: (createRequire(moduleUrl())("@haemsa/haemsa-model/package.json") as { version: string }).version,
  tfjs: tf.version.tfjs
})

const feed = (hash: crypto.Hash, view: ArrayBufferView | undefined) => {
  if (view === undefined) {
    hash.update("-")
    return
  }
  hash.update(`${view.byteLength}:`)
  hash.update(new Uint8Array(view.buffer, view.byteOffset, view.byteLength))
}

/**
 * The content hash (SHA-256, hex) of a loaded dataset: every split's ids, features, tokens, mask and
 * labels. Two machines with the same data get the same hash, wherever the files lie.
 */
export const dataHash = (dataset: Dataset.Dataset): string => {
  const hash = crypto.createHash("sha256")
  hash.update(JSON.stringify({ task: dataset.task, emotions: dataset.emotions ?? null }))
  for (const name of Object.keys(dataset.splits).sort()) {
    const split = dataset.splits[name as keyof typeof dataset.splits]
    hash.update(`|${name}:${split.n}:${JSON.stringify(split.ids)}`)
    for (const modality of Object.keys(split.features).sort()) {
      const block = split.features[modality as keyof typeof split.features]
      if (block === undefined) continue
      hash.update(`|${modality}:${block.n}x${block.steps}x${block.dim}`)
      feed(hash, block.data)
      feed(hash, block.lengths)
    }
    if (split.tokens !== undefined) {
      hash.update(`|tokens:${split.tokens.n}x${split.tokens.steps}:${JSON.stringify(split.tokens.vocabulary)}`)
      feed(hash, split.tokens.ids)
      feed(hash, split.tokens.lengths)
    }
    feed(hash, split.mask)
    feed(hash, split.labels.regression)
    feed(hash, split.labels.emotions)
  }
  return hash.digest("hex")
}

const sha = (text: string) => crypto.createHash("sha256").update(text).digest("hex")

/**
 * The queue name of a search: `haemsa-` and a hash of its configuration (seed, strategy, fidelity,
 * data hash) and checkpoint folder, so concurrent searches never share a queue and a restarted
 * coordinator finds its own.
 */
export const queueName = (config: unknown, checkpointDir: string): string => `haemsa-${sha(JSON.stringify({ config, checkpointDir })).slice(0, 16)}`

/**
 * The job id of a candidate at a fidelity (`c-`), or of a full training (`r-`): deterministic (a hash
 * of the canonical key, the fidelity or the epochs and training seed, the search's seed, the data and
 * the backend), so a re-enqueue after a restart finds the existing job, finished or not.
 */
export const jobId = (payload: Pick<JobPayload, "key" | "fidelity" | "retrain" | "seed" | "data" | "backend">): string => {
  const { fidelity, retrain } = payload
  return fidelity !== undefined
    ? `c-${sha(JSON.stringify([payload.key, fidelity.level, fidelity.epochs ?? null, fidelity.fraction ?? null, payload.seed, payload.data.hash, payload.backend])).slice(0, 32)}`
    : `r-${sha(JSON.stringify([payload.key, retrain?.epochs ?? null, retrain?.seed ?? null, payload.seed, payload.data.hash, payload.backend])).slice(0, 32)}`
}
