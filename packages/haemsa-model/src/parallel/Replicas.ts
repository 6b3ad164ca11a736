/**
 * Data-parallel training on every core: replicas of the network in worker threads, each with its
 * own backend instance, that share each step's work.
 *
 * A step's batch (its rows and its modality-dropout mask, drawn on this thread exactly as a
 * one-thread training draws them) is cut into one shard per replica, this thread being replica 0.
 * Each replica computes the gradient of its shard's part of the batch loss (`Objective.Shares`:
 * every term scaled by the shard's part of its normaliser), the gradients are added up here in a
 * fixed order, and this thread updates the weights once (Adam on the host, `Optimizer.hostAdamStep`:
 * tfjs's arithmetic, bit for bit) into a buffer it shares with the workers, which take the new
 * weights from it at their next step. The replicas start from this thread's weights and dropout-seed
 * position ({@link Replicas.sync}), so they hold the same weights at every step. The
 * update is the one-thread update up to float rounding (the sum of the shards' gradients instead of
 * the whole batch's); only the dropout masks differ, as each replica draws its own for its rows. A
 * fixed seed and a fixed number of threads give the same result run after run.
 *
 * The replicas also share prediction ({@link Replicas.predict}: the validation of every epoch, and
 * inference on the train split's rows): each predicts its shard of the rows with the current weights
 * and this thread joins the outputs in order. A sample's outputs do not depend on the other samples of
 * its batch, so these are the one-thread predictions.
 *
 * @since 0.2.0
 */
import type { Dataset } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import type { Scope } from "effect"
import { Effect, Schema } from "effect"
import type { Worker } from "node:worker_threads"
import type { ArchitectureSpec } from "../model/ArchitectureSpec"
import * as BatchTensors from "../model/BatchTensors"
import type { DataInfo } from "../model/DataInfo"
import * as Evaluate from "../model/Evaluate"
import type { Network } from "../model/Network"
import type { Losses, Shares } from "../model/Objective"
import { jointLoss, sharesOf } from "../model/Objective"
import type { FusedAdam } from "../model/Optimizer"
import * as Optimizer from "../model/Optimizer"
import * as Spawn from "./Spawn"

/** A replica could not start, or failed or stopped during training. */
export class ReplicaError extends Schema.TaggedError<ReplicaError>()("ReplicaError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `training replicas: ${this.reason}`
  }
}

/** What a replica worker starts from (its `workerData`). */
export interface ReplicaConfig {
  readonly backend: string
  readonly spec: ArchitectureSpec
  readonly info: DataInfo
  readonly seed: number
  /** The rows the steps draw from (the train split, or its subset). */
  readonly train: Dataset.Split
  /** The validation split, when the replicas share its prediction ({@link Replicas.predict}). */
  readonly valid?: Dataset.Split
}

/** The splits the replicas hold. */
export type ReplicaSplit = "train" | "valid"

/** A request to a replica worker. */
export type ReplicaRequest =
  | {
    readonly type: "sync"
    /** The weights, flattened in the network's variable order, in memory shared with this thread. */
    readonly weights: Float32Array
    readonly seeds: number
  }
  /**
   * Take the weights from the shared buffer (unless this `version` of them is taken already), then
   * the loss and gradient of a shard.
   */
  | { readonly type: "step"; readonly rows: Int32Array; readonly mask: Uint8Array; readonly shares: Shares; readonly version: number }
  /** Take the weights as for a step, then predict the rows `rows` of a split (no dropout) in batches of `batchSize`. */
  | { readonly type: "predict"; readonly split: ReplicaSplit; readonly rows: Int32Array; readonly batchSize: number; readonly version: number }
  /**
   * Take this `version` of the weights now, while this thread takes them too (no reply: a failure is
   * the reply to the worker's next request). Sent right after an update, so that a worker's next
   * step does not start by copying the weights in.
   */
  | { readonly type: "take"; readonly version: number }

/** A reply of a replica worker. */
export type ReplicaReply =
  | { readonly type: "ready" }
  | { readonly type: "fatal"; readonly reason: string }
  | { readonly type: "synced" }
  | { readonly type: "gradient"; readonly gradient: ShardGradient; readonly loss: number }
  | { readonly type: "predictions"; readonly predictions: Evaluate.Predictions }
  | { readonly type: "failed"; readonly reason: string }

/**
 * The gradient of a loss over a list of variables, flattened in the list's order; `present[i]` is 0
 * where variable i got no gradient (tfjs's `variableGrads` leaves those out, and so does the update).
 */
export interface ShardGradient {
  readonly values: Float32Array
  readonly present: Uint8Array
}

/** The offsets of each variable in a flattened gradient, and the total size. */
const layout = (varList: ReadonlyArray<tf.Variable>) => {
  const offsets: Array<number> = []
  let size = 0
  for (const v of varList) {
    offsets.push(size)
    size += v.size
  }
  return { offsets, size }
}

/**
 * The loss of a shard of a batch (its part of the batch's loss, by `shares`) and its gradient over
 * `varList`, read back to the host. Every tensor made is freed.
 */
export const shardGradient = (
  net: Network,
  batch: BatchTensors.BatchTensors,
  losses: Losses,
  shares: Shares,
  varList: ReadonlyArray<tf.Variable>
): { readonly loss: number; readonly gradient: ShardGradient } => {
  const { offsets, size } = layout(varList)
  const { grads, value } = tf.variableGrads(() => jointLoss(net, net.apply(batch, true), batch, losses, shares), [...varList])
  try {
    const values = new Float32Array(size)
    const present = new Uint8Array(varList.length)
    varList.forEach((v, i) => {
      const g = grads[v.name]
      if (g === undefined) return
      values.set(g.dataSync() as Float32Array, offsets[i])
      present[i] = 1
    })
    return { loss: value.dataSync()[0], gradient: { values, present } }
  } finally {
    value.dispose()
    tf.dispose(grads)
  }
}

/** `into += g`, element by element (float32 sums: the same on every replica). */
const accumulate = (into: ShardGradient, g: ShardGradient): ShardGradient => {
  const values = into.values
  for (let j = 0; j < values.length; j++) values[j] += g.values[j]
  const present = into.present
  for (let i = 0; i < present.length; i++) present[i] |= g.present[i]
  return into
}

/** Decoupled weight decay, as a one-thread step applies it after the update (`Train.step`). */
export const decay = (net: Network, varList: ReadonlyArray<tf.Variable>): void => {
  const { spec } = net
  if (spec.weightDecay > 0) {
    tf.tidy(() => {
      for (const v of varList) v.assign(tf.mul(v, 1 - spec.learningRate * spec.weightDecay))
    })
  }
}

/** One update with a summed gradient by the optimizer's own kernels, then the weight decay. */
const tfjsUpdate = (net: Network, optimizer: tf.Optimizer, varList: ReadonlyArray<tf.Variable>, gradient: ShardGradient): void => {
  const { offsets } = layout(varList)
  const grads: tf.NamedTensorMap = {}
  varList.forEach((v, i) => {
    if (gradient.present[i] === 1) grads[v.name] = tf.tensor(gradient.values.subarray(offsets[i], offsets[i] + v.size), v.shape, "float32")
  })
  try {
    optimizer.applyGradients(grads)
  } finally {
    tf.dispose(grads)
  }
  decay(net, varList)
}

/** Copies the variables' values into `weights`, flattened in the list's order (the CPU backends read synchronously). */
const readFlat = (varList: ReadonlyArray<tf.Variable>, weights: Float32Array): void => {
  let offset = 0
  for (const v of varList) {
    weights.set(v.dataSync() as Float32Array, offset)
    offset += v.size
  }
}

/** Assigns each variable its slice of the flattened `weights`. */
export const assignFlat = (varList: ReadonlyArray<tf.Variable>, weights: Float32Array): void => {
  let offset = 0
  for (const v of varList) {
    const slice = weights.subarray(offset, offset + v.size)
    tf.tidy(() => v.assign(tf.tensor(slice, v.shape, "float32")))
    offset += v.size
  }
}

/**
 * The row ranges `[start, end)` of a batch of `n` rows cut into at most `count` shards (none empty):
 * as equal as possible, the first ones one row longer.
 */
export const shardRanges = (n: number, count: number): ReadonlyArray<readonly [number, number]> => {
  const k = Math.max(1, Math.min(count, n))
  const base = Math.floor(n / k)
  const extra = n % k
  const out: Array<readonly [number, number]> = []
  let start = 0
  for (let i = 0; i < k; i++) {
    const end = start + base + (i < extra ? 1 : 0)
    out.push([start, end])
    start = end
  }
  return out
}

/** The training replicas, this thread included. */
export interface Replicas {
  /** How many replicas share a step (this thread and the workers). */
  readonly count: number
  /**
   * Takes this thread's weights and optimizer state, and gives every worker replica the weights and
   * the dropout-seed position (before the first step, and after a resume).
   */
  readonly sync: (net: Network, optimizer: FusedAdam) => Effect.Effect<void, ReplicaError>
  /** Gives the optimizer the state of the updates since {@link sync} (before its state is read). */
  readonly flush: (optimizer: FusedAdam) => void
  /**
   * One training step on the rows `rows` of the train split with the modality mask `mask` (after
   * modality dropout): the shards' gradients summed, applied on every replica. Returns the batch loss.
   */
  readonly step: (
    net: Network,
    optimizer: FusedAdam,
    losses: Losses,
    varList: ReadonlyArray<tf.Variable>,
    rows: Int32Array,
    mask: Uint8Array
  ) => Effect.Effect<number, ReplicaError>
  /**
   * The predictions (no dropout) of the rows `rows` of a split the replicas hold, each replica
   * predicting a shard with the current weights in batches of at most `batchSize` rows (default
   * `Evaluate.PREDICT_BATCH`), joined in order: the one-thread predictions. Many rows at once keep
   * every thread busy until its shard is done (the throughput of a stream of batches); one batch is
   * cut between the threads (its latency). After {@link sync}; `valid` only when the replicas were
   * made with it.
   */
  readonly predict: (
    net: Network,
    split: ReplicaSplit,
    rows: Int32Array,
    batchSize?: number
  ) => Effect.Effect<Evaluate.Predictions, ReplicaError>
}

/** One worker and the reply it owes (one request at a time). */
interface Thread {
  readonly worker: Worker
  lost: string | undefined
  waiting: { readonly resolve: (reply: ReplicaReply) => void; readonly reject: (e: ReplicaError) => void } | undefined
}

const describe = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** Sends a request and waits for the reply. */
const ask = (thread: Thread, request: ReplicaRequest, transfer: ReadonlyArray<ArrayBuffer> = []): Promise<ReplicaReply> =>
  new Promise((resolve, reject) => {
    if (thread.lost !== undefined) return reject(new ReplicaError({ reason: thread.lost }))
    thread.waiting = { resolve, reject }
    thread.worker.postMessage(request, [...transfer])
  })

/** Sends a request that has no reply (`take`); a worker that is lost gets nothing. */
const tell = (thread: Thread, request: ReplicaRequest): void => {
  if (thread.lost === undefined) thread.worker.postMessage(request)
}

const watch = (worker: Worker): Thread => {
  const thread: Thread = { worker, lost: undefined, waiting: undefined }
  const lose = (reason: string) => {
    if (thread.lost !== undefined) return
    thread.lost = reason
    thread.waiting?.reject(new ReplicaError({ reason }))
    thread.waiting = undefined
  }
  worker.on("message", (reply: ReplicaReply) => {
    const waiting = thread.waiting
    thread.waiting = undefined
    if (reply.type === "fatal" || reply.type === "failed") waiting?.reject(new ReplicaError({ reason: reply.reason }))
    else waiting?.resolve(reply)
  })
  worker.on("error", (error: Error) => lose(`a replica worker crashed: ${error.message}`))
  worker.on("exit", (code: number) => lose(`a replica worker exited with code ${code}`))
  return thread
}

const expect = <T extends ReplicaReply["type"]>(reply: ReplicaReply, type: T): Extract<ReplicaReply, { readonly type: T }> => {
  if (reply.type !== type) throw new ReplicaError({ reason: `a replica answered ${reply.type}, expected ${type}` })
  return reply as Extract<ReplicaReply, { readonly type: T }>
}

const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, ReplicaError> =>
  Effect.tryPromise({ try: f, catch: (e) => (e instanceof ReplicaError ? e : new ReplicaError({ reason: describe(e) })) })

/**
 * Starts `threads - 1` replica workers for training on `config.train` (none when `threads` is 1)
 * and waits until each has built its network. Closing the scope stops them.
 */
export const make = (threads: number, config: ReplicaConfig): Effect.Effect<Replicas, ReplicaError, Scope.Scope> =>
  Effect.gen(function*() {
    if (!(Number.isInteger(threads) && threads >= 1)) {
      return yield* new ReplicaError({ reason: `threads must be an integer >= 1 (got ${threads})` })
    }
    const workers = yield* Effect.forEach(
      Array.from({ length: threads - 1 }),
      () =>
        Effect.acquireRelease(
          Effect.try({ try: () => watch(Spawn.spawn("ReplicaWorker", config)), catch: (e) => new ReplicaError({ reason: describe(e) }) }),
          (thread) => Effect.promise(() => thread.worker.terminate())
        ),
      { concurrency: "unbounded" }
    )
    // the first message of a worker is "ready" or "fatal"
    yield* Effect.forEach(workers, (thread) =>
      attempt(() =>
        new Promise<ReplicaReply>((resolve, reject) => {
          if (thread.lost !== undefined) return reject(new ReplicaError({ reason: thread.lost }))
          thread.waiting = { resolve, reject }
        }).then((reply) => expect(reply, "ready"))
      ), { concurrency: "unbounded", discard: true })

    // the weights, flattened, in memory the workers share; and the host Adam updating them
    let shared: Float32Array | undefined
    // bumped at every write of the shared weights: a worker takes them only when they changed
    let version = 0
    let adam: Optimizer.HostAdam | undefined
    // the optimizer's state at the sync, until the first step makes the host Adam from it
    let state: Optimizer.AdamState | undefined

    const sync = (net: Network, optimizer: FusedAdam) =>
      attempt(async () => {
        const varList = [...net.variables.values()]
        const size = varList.reduce((n, v) => n + v.size, 0)
        shared = new Float32Array(new SharedArrayBuffer(size * Float32Array.BYTES_PER_ELEMENT))
        readFlat(varList, shared)
        version++
        state = await optimizer.readState()
        adam = undefined
        const seeds = net.seeds.state()
        await Promise.all(workers.map(async (thread) => expect(await ask(thread, { type: "sync", weights: shared!, seeds }), "synced")))
      })

    /**
     * Runs a request across the shards `ranges`: the workers' shards first (`request` of shard k + 1,
     * answered with `type`), which run while this thread computes shard 0 (`own`); then the workers'
     * replies, in shard order.
     */
    const acrossShards = async <A, T extends ReplicaReply["type"]>(
      ranges: ReadonlyArray<readonly [number, number]>,
      request: (range: readonly [number, number], shard: number) => ReplicaRequest,
      type: T,
      own: (range: readonly [number, number]) => A | Promise<A>
    ): Promise<{ readonly own: A; readonly replies: ReadonlyArray<Extract<ReplicaReply, { readonly type: T }>> }> => {
      const replies = ranges.slice(1).map((range, k) => ask(workers[k], request(range, k + 1)).then((reply) => expect(reply, type)))
      // a rejected reply must not go unhandled while shard 0 runs
      const settled = Promise.allSettled(replies)
      const mine = await own(ranges[0])
      const answered: Array<Extract<ReplicaReply, { readonly type: T }>> = []
      for (const outcome of await settled) {
        if (outcome.status === "rejected") throw outcome.reason
        answered.push(outcome.value)
      }
      return { own: mine, replies: answered }
    }

    const flush = (optimizer: FusedAdam) => {
      if (adam !== undefined) optimizer.restoreState(Optimizer.hostAdamState(adam))
    }

    const step: Replicas["step"] = (net, optimizer, losses, varList, rows, mask) =>
      attempt(async () => {
        if (shared === undefined) throw new ReplicaError({ reason: "a step before the replicas were synced" })
        const weights = shared
        const ranges = shardRanges(rows.length, workers.length + 1)
        const shares = ranges.map(([start, end]) => sharesOf(mask, start, end, net.modalities))
        const { own, replies } = await acrossShards(
          ranges,
          ([start, end], shard) => ({ type: "step", rows: rows.slice(start, end), mask: mask.slice(start * 3, end * 3), shares: shares[shard], version }),
          "gradient",
          ([start, end]) => {
            const batch = BatchTensors.fromRows(config.train, rows.subarray(start, end), mask.slice(start * 3, end * 3))
            try {
              return shardGradient(net, batch, losses, shares[0], varList)
            } finally {
              BatchTensors.dispose(batch)
            }
          }
        )
        let loss = own.loss
        const total = own.gradient
        for (const reply of replies) {
          accumulate(total, reply.gradient)
          loss += reply.loss
        }
        // the host Adam, made at the first step after a sync (which weights get gradients is known then)
        if (state !== undefined) {
          adam = Optimizer.hostAdam(optimizer, state, weights, varList.map((v) => v.shape), total.present, net.spec.weightDecay)
          state = undefined
        }
        // every worker has read the weights of this step (it answered): the buffer takes the next ones
        if (adam !== undefined && adam.present.every((p, i) => p === total.present[i])) {
          Optimizer.hostAdamStep(adam, total.values)
          version++
          // the workers copy the new weights in while this thread does
          for (const thread of workers) tell(thread, { type: "take", version })
          assignFlat(varList, weights)
        } else {
          // the optimizer's state does not fit the weights, or other weights got gradients: tfjs's
          // Adam from here on (it needs no mapping of moments to weights)
          flush(optimizer)
          adam = undefined
          tfjsUpdate(net, optimizer, varList, total)
          readFlat(varList, weights)
          version++
        }
        return loss
      })

    const predict: Replicas["predict"] = (net, split, rows, batchSize = Evaluate.PREDICT_BATCH) =>
      attempt(async () => {
        if (shared === undefined) throw new ReplicaError({ reason: "a prediction before the replicas were synced" })
        const data = config[split]
        if (data === undefined) throw new ReplicaError({ reason: `the replicas hold no ${split} split` })
        // checked before any shard goes out (Batching.batchIndices checks it too, but only once a shard runs)
        if (!Number.isInteger(batchSize) || batchSize < 1) {
          throw new ReplicaError({ reason: `predict: batch size ${batchSize} (must be an integer >= 1)` })
        }
        const { own, replies } = await acrossShards(
          shardRanges(rows.length, workers.length + 1),
          ([start, end]) => ({ type: "predict", split, rows: rows.slice(start, end), batchSize, version }),
          "predictions",
          ([start, end]) => Evaluate.predictRowsInBatches(net, data, rows.subarray(start, end), batchSize)
        )
        return Evaluate.concatPredictions([own, ...replies.map((reply) => reply.predictions)])
      })

    return { count: workers.length + 1, sync, flush, step, predict }
  })
