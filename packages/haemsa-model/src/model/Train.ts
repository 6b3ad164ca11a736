/**
 * Training: Adam on the joint objective, seeded shuffling and modality dropout, early stopping on the
 * validation objective (the best weights are restored), progress with ETA. An Effect: it can be
 * interrupted between steps, and it asks for its parts (experts, fusion, losses, progress) as services.
 *
 * With `state`, the training keeps its whole state in a folder at the end of each epoch
 * ({@link TrainState}: weights, Adam's moments and step counter, the early-stopping state, the epoch
 * counter and history, the positions of the shuffle / modality-dropout generator and of the dropout
 * seed source) before it logs the epoch, and `resume` continues from it: the remaining epochs draw the
 * same batches, masks and updates as an uninterrupted run, so the result is the same (bit for bit on
 * a deterministic backend such as cpu).
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Batching, Dataset as D, Random } from "@haemsa/datasets"
import { ExpertFactory } from "@haemsa/experts"
import { FusionFactory } from "@haemsa/hierarchical-fusion"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import type { ArchitectureSpec } from "./ArchitectureSpec"
import * as BatchTensors from "./BatchTensors"
import type { DataInfo } from "./DataInfo"
import * as Evaluate from "./Evaluate"
import * as Network from "./Network"
import * as Optimizer from "./Optimizer"
import * as TrainState from "./TrainState"
import type { Losses } from "./Objective"
import { jointLoss } from "./Objective"
import { bar, formatDuration, Progress } from "../cli/Progress"
import * as Replicas from "../parallel/Replicas"

/** The model parts training asks for. */
export type Parts = ExpertFactory.ExpertFactory | FusionFactory.FusionFactory | TaskLosses.TaskLosses | Distillation.Distillation

/** The batch size of a training that names none. */
export const DEFAULT_BATCH_SIZE = 32

/**
 * The threads a training uses by default on the CPU backends: every core, but at most one per 8
 * samples of a batch (smaller shards spend more time in per-kernel overhead than they save).
 */
export const defaultThreads = (batchSize: number = DEFAULT_BATCH_SIZE): number =>
  Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, Math.floor(batchSize / 8)))

/** Training options (all have defaults). */
export interface TrainOptions {
  readonly epochs?: number
  readonly batchSize?: number
  /** Stop after this many epochs without validation improvement. */
  readonly patience?: number
  readonly seed?: number
  /** Train on this seeded fraction of the train split (low-fidelity search). */
  readonly trainFraction?: number
  /** A label for progress lines (e.g. "haemsa seed 1"). */
  readonly label?: string
  /**
   * How many threads share each step (data-parallel replicas, {@link Replicas}; default 1). Used on
   * the CPU backends (wasm, cpu) with this package's own parts; elsewhere training runs on one
   * thread and says so in a progress line.
   */
  readonly threads?: number
  /**
   * Keep the training's state in `dir` at the end of each epoch (replacing any state there), and with
   * `resume` continue the training whose state is there (a `TrainStateError` when there is none, or
   * it is of another configuration).
   */
  readonly state?: {
    readonly dir: string
    readonly resume?: boolean
    /**
     * The dataset's hash ({@link TrainState.dataHash}) when the caller computed it as the data was
     * loaded: the training then reads nothing of the test split (it is hashed otherwise).
     */
    readonly data?: string
  }
  /**
   * Continue the training whose state a shorter run of the same configuration returned
   * (`TrainResult.final`, with `keepFinal`): the same spec, seed, batch size, patience, train
   * fraction, backend and threads, and at most `epochs` epochs done. The result is the one an
   * uninterrupted training of `epochs` gives (bit for bit on a deterministic backend), without
   * training the first epochs again; a `TrainStateError` for a state of another configuration. The
   * caller vouches that the data are those the state was trained on.
   */
  readonly continueFrom?: TrainState.Snapshot
  /** Return the training's state after its last epoch (`TrainResult.final`), for a longer run to continue it. */
  readonly keepFinal?: boolean
}

/** One epoch of history. */
export interface EpochRecord {
  readonly epoch: number
  readonly loss: number
  readonly valid: Evaluate.SplitMetrics
  readonly objective: number
  readonly seconds: number
}

/** The result of training. */
export interface TrainResult {
  readonly net: Network.Network
  readonly history: ReadonlyArray<EpochRecord>
  readonly bestEpoch: number
  readonly bestObjective: number
  readonly seconds: number
  readonly steps: number
  /** The state after the last epoch (before the best weights were restored), with `keepFinal`. */
  readonly final?: TrainState.Snapshot
}

/** Training diverged (a non-finite loss). */
export class TrainingError extends Schema.TaggedError<TrainingError>()("TrainingError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** Randomly mask present modalities of each sample with probability p, keeping at least one. */
export const modalityDropout = (mask: Uint8Array, used: ReadonlyArray<number>, p: number, rng: Random.Rng): Uint8Array => {
  if (p <= 0 || used.length < 2) return mask
  const out = new Uint8Array(mask)
  for (let i = 0; i < mask.length / 3; i++) {
    const present = used.filter((m) => mask[i * 3 + m] === 1)
    if (present.length < 2) continue
    const dropped = present.filter(() => rng.next() < p)
    // keep at least one present modality
    const drop = dropped.length === present.length ? dropped.slice(1) : dropped
    for (const m of drop) out[i * 3 + m] = 0
  }
  return out
}

const formatMetrics = (net: Network.Network, m: Evaluate.SplitMetrics): string => {
  if (net.info.task === "emotions") {
    return Object.entries(m as Record<string, { acc: number; f1: number }>).map(([e, s]) => `${e} f1 ${s.f1.toFixed(3)}`).join(" ")
  }
  const r = m as { mae: number; corr: number; acc7: number; acc2_non0: number }
  return `mae ${r.mae.toFixed(3)} corr ${r.corr.toFixed(3)} acc7 ${r.acc7.toFixed(3)} acc2 ${r.acc2_non0.toFixed(3)}`
}

/**
 * One optimisation step on a batch: Adam (or any optimizer) on the joint objective, then decoupled
 * weight decay when the spec asks for it. Returns the loss as a scalar tensor, without waiting for
 * it: the caller reads it (`await loss.data()`) and disposes it, so that on a GPU it can record the
 * next step first (the training loop reads each loss one step late). Every other intermediate tensor
 * is freed.
 */
export const step = (
  net: Network.Network,
  optimizer: tf.Optimizer,
  batch: BatchTensors.BatchTensors,
  losses: Losses,
  varList: ReadonlyArray<tf.Variable> = [...net.variables.values()]
): tf.Scalar => {
  const cost = optimizer.minimize(() => jointLoss(net, net.apply(batch, true), batch, losses), true, [...varList])!
  Replicas.decay(net, varList)
  return cost
}

/** Whether every part is this package's own (a replica worker can rebuild only those). */
const builtInParts = (
  experts: ExpertFactory.ExpertFactory["Service"],
  fusion: FusionFactory.FusionFactory["Service"],
  losses: Losses
): boolean => {
  const same = (a: object, b: object) => Object.keys(b).every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k])
  return same(experts, ExpertFactory.builtIn) && same(fusion, FusionFactory.FusionFactory.builtIn) &&
    same(losses.task, TaskLosses.TaskLosses.default) && same(losses.kd, Distillation.Distillation.default)
}

/** The number of threads a training can use: `asked`, or 1 (with the reason) on a GPU backend or with parts of the user's. */
const usableThreads = (asked: number, builtIn: boolean): { readonly threads: number; readonly note?: string } => {
  if (asked <= 1) return { threads: 1 }
  const backend = tf.getBackend()
  if (backend !== "wasm" && backend !== "cpu") return { threads: 1, note: `training on one thread: --threads applies to the wasm and cpu backends, not ${backend}` }
  if (!builtIn) return { threads: 1, note: "training on one thread: replica threads rebuild only the built-in experts, fusion and losses, and this network uses parts of your own" }
  return { threads: asked }
}

/** A step's loss not read yet: the batch size and the step number (for the error message). */
interface PendingLoss {
  readonly loss: tf.Scalar
  readonly n: number
  readonly step: number
}

/** The value of a step's loss (read asynchronously, then disposed). */
const settle = (loss: tf.Scalar): Effect.Effect<number> =>
  Effect.promise(async () => {
    try {
      return (await loss.data())[0]
    } finally {
      loss.dispose()
    }
  })

/** Copies of the variables' values (the best weights so far). */
const snapshot = (net: Network.Network): Map<string, tf.Tensor> =>
  new Map([...net.variables].map(([k, v]) => [k, tf.clone(v)]))

/** Tensors as plain arrays (read asynchronously, as webgpu needs). */
const readAll = async (tensors: Iterable<readonly [string, tf.Tensor]>) => {
  const out = new Map<string, { readonly shape: ReadonlyArray<number>; readonly values: Float32Array }>()
  for (const [k, t] of tensors) out.set(k, { shape: [...t.shape], values: new Float32Array((await t.data()) as Float32Array) })
  return out
}

/** Train a network built from `spec` on a normalised dataset. */
export const train = (
  spec: ArchitectureSpec,
  dataset: Dataset.Dataset,
  info: DataInfo,
  options: TrainOptions = {}
): Effect.Effect<TrainResult, TrainingError | Network.ModelError | TrainState.TrainStateError, Parts | Progress> =>
  Effect.gen(function*() {
    const epochs = options.epochs ?? 30
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE
    const patience = options.patience ?? 6
    const seed = options.seed ?? 0
    const progress = yield* Progress
    const losses = { task: yield* TaskLosses.TaskLosses, kd: yield* Distillation.Distillation }
    const threads = options.threads ?? 1
    if (!(Number.isInteger(threads) && threads >= 1)) {
      return yield* new TrainingError({ reason: `threads must be an integer >= 1 (got ${threads})` })
    }
    const parallel = usableThreads(threads, builtInParts(yield* ExpertFactory.ExpertFactory, yield* FusionFactory.FusionFactory, losses))
    if (parallel.note !== undefined) progress.log(parallel.note)
    const config: TrainState.Config = {
      spec,
      // hashed only for a state kept on disk (a state in memory is continued on the caller's word)
      data: options.state === undefined ? "" : options.state.data ?? TrainState.dataHash(dataset),
      seed,
      epochs,
      batchSize,
      patience,
      trainFraction: options.trainFraction ?? null,
      backend: tf.getBackend(),
      threads: parallel.threads
    }
    // a state to go on from: the one kept on disk (resume), or one in memory (continueFrom)
    const fromDisk = options.state?.resume === true
    if (fromDisk && options.continueFrom !== undefined) {
      return yield* new TrainingError({ reason: "both state.resume and continueFrom name a state to go on from: pass one" })
    }
    const resumed = fromDisk ? yield* TrainState.load(options.state!.dir) : options.continueFrom
    if (resumed !== undefined) {
      yield* fromDisk ? TrainState.checkConfig(options.state!.dir, resumed.config, config) : TrainState.checkContinuation(resumed, config)
    }
    // where the resumed state came from, for errors and the progress line
    const source = fromDisk ? options.state!.dir : TrainState.IN_MEMORY
    const net = yield* Network.build(spec, info, seed)
    let rng = Random.makeRng(seed + 0x5eed)
    const train = options.trainFraction !== undefined && options.trainFraction < 1
      ? Batching.sample(dataset.splits.train, options.trainFraction, rng)
      : dataset.splits.train
    const valid = dataset.splits.valid
    const used = net.modalities.map((m) => D.MODALITY_INDEX[m])
    const varList = [...net.variables.values()]
    const optimizer = Optimizer.adam(spec.learningRate)
    const history: EpochRecord[] = []
    let started = performance.now()
    let best = { objective: Infinity, epoch: 0, weights: undefined as Map<string, tf.Tensor> | undefined }
    let steps = 0
    let first = 1
    // the step whose loss is not read yet (freed by the cleanup if training stops early)
    let pending: PendingLoss | undefined
    const label = options.label ? `${options.label} ` : ""
    // (a generator's own finally does not run when an Effect in it fails: the cleanup is an Effect)
    const cleanup = Effect.sync(() => {
      best.weights?.forEach((t) => t.dispose())
      pending?.loss.dispose()
      optimizer.dispose()
    })
    // the data-parallel replicas, when the training uses several threads
    let replicas: Replicas.Replicas | undefined
    /** The state at the end of `epoch`. */
    const current = (epoch: number) =>
      Effect.gen(function*() {
        // the replicas update the weights with Adam on the host: the optimizer takes that state first
        replicas?.flush(optimizer)
        const read = yield* Effect.promise(async () => ({
          weights: await readAll(net.variables),
          best: best.weights && await readAll(best.weights),
          optimizer: await optimizer.readState()
        }))
        return {
          config,
          epoch,
          steps,
          seconds: (performance.now() - started) / 1000,
          history: [...history],
          best: { epoch: best.epoch, objective: best.objective, weights: read.best },
          rng: { shuffle: rng.state(), dropout: net.seeds.state() },
          weights: read.weights,
          optimizer: read.optimizer
        } satisfies TrainState.Snapshot
      })
    let final: TrainState.Snapshot | undefined
    yield* Effect.gen(function*() {
      replicas = parallel.threads > 1
        ? yield* Replicas.make(parallel.threads, { backend: tf.getBackend(), spec, info, seed, train, valid }).pipe(
          Effect.mapError((e) => new TrainingError({ reason: e.message }))
        )
        : undefined
      if (resumed !== undefined) {
        // the network and the train subset are built as at the start (same draws); then everything moves to the kept epoch
        const restoreError = (reason: string) => new TrainState.TrainStateError({ file: source, reason: `the state does not fit the network: ${reason}` })
        for (const [k, v] of net.variables) {
          const w = resumed.weights.get(k)
          if (w === undefined || w.shape.join(",") !== v.shape.join(",")) return yield* restoreError(`weights ${k}`)
        }
        if (resumed.optimizer.moments.length > varList.length) return yield* restoreError("the optimizer's moments")
        for (const [k, v] of net.variables) {
          const w = resumed.weights.get(k)!
          tf.tidy(() => v.assign(tf.tensor(w.values, [...w.shape], "float32")))
        }
        if (resumed.best.weights !== undefined) {
          const weights = resumed.best.weights
          best = { objective: resumed.best.objective, epoch: resumed.best.epoch, weights: new Map([...weights].map(([k, w]) => [k, tf.tensor(w.values, [...w.shape], "float32")])) }
        } else {
          best = { objective: resumed.best.objective, epoch: resumed.best.epoch, weights: undefined }
        }
        optimizer.restoreState(resumed.optimizer)
        rng = Random.makeRng(seed + 0x5eed, resumed.rng.shuffle)
        net.seeds.restore(resumed.rng.dropout)
        history.push(...(resumed.history as ReadonlyArray<EpochRecord>))
        steps = resumed.steps
        started = performance.now() - resumed.seconds * 1000
        // a state kept after the last epoch, or after the early stop, has nothing left to train
        first = resumed.epoch - best.epoch >= patience ? epochs + 1 : resumed.epoch + 1
        progress.log(fromDisk
          ? `${label}resuming after epoch ${resumed.epoch}/${epochs} (${path.join(source, TrainState.FILE)})`
          : `${label}continuing after epoch ${resumed.epoch}/${epochs} ${source}`)
      }
      if (replicas !== undefined) yield* replicas.sync(net, optimizer).pipe(Effect.mapError((e) => new TrainingError({ reason: e.message })))
      for (let epoch = first; epoch <= epochs; epoch++) {
        const epochStart = performance.now()
        const batches = Batching.batchIndices(train.n, batchSize, rng)
        let lossSum = 0
        // each step's loss is read after the next step is recorded (a GPU runs one while the host records the other)
        const account = (p: PendingLoss) =>
          Effect.gen(function*() {
            const value = yield* settle(p.loss)
            if (!Number.isFinite(value)) {
              return yield* new TrainingError({ reason: `non-finite loss ${value} at epoch ${epoch}, step ${p.step} (try a lower learning rate)` })
            }
            lossSum += value * p.n
          })
        for (let b = 0; b < batches.length; b++) {
          const rows = batches[b]
          const mask = modalityDropout(Batching.maskRows(train, rows), used, spec.modalityDropout, rng)
          let loss: tf.Scalar
          if (replicas !== undefined) {
            const value = yield* replicas.step(net, optimizer, losses, varList, Int32Array.from(rows), mask).pipe(
              Effect.mapError((e) => new TrainingError({ reason: e.message }))
            )
            loss = tf.scalar(value)
          } else {
            const batch = BatchTensors.fromRows(train, Int32Array.from(rows), mask)
            try {
              loss = step(net, optimizer, batch, losses, varList)
            } finally {
              BatchTensors.dispose(batch)
            }
          }
          const earlier = pending
          pending = { loss, n: rows.length, step: b + 1 }
          if (earlier !== undefined) yield* account(earlier)
          steps++
          if (b % 8 === 0) {
            const done = (epoch - 1 + (b + 1) / batches.length) / epochs
            const elapsed = (performance.now() - started) / 1000
            progress.update(`${label}epoch ${epoch}/${epochs} ${bar(done)} loss ${(lossSum / Math.max(1, (b + 1) * batchSize)).toFixed(4)} ETA ${formatDuration(elapsed / done - elapsed)}`)
          }
          yield* Effect.yieldNow
        }
        if (pending !== undefined) {
          const last = pending
          pending = undefined
          yield* account(last)
        }
        // the validation, shared by the replicas when there are any (the same predictions)
        const validMetrics = replicas === undefined
          ? yield* Effect.promise(() => Evaluate.evaluate(net, valid))
          : Evaluate.metricsOf(
            net,
            valid,
            yield* replicas.predict(net, "valid", Int32Array.from({ length: valid.n }, (_, i) => i)).pipe(
              Effect.mapError((e) => new TrainingError({ reason: e.message }))
            )
          )
        const objective = Evaluate.objective(net, validMetrics)
        const seconds = (performance.now() - epochStart) / 1000
        history.push({ epoch, loss: lossSum / train.n, valid: validMetrics, objective, seconds })
        if (objective < best.objective) {
          best.weights?.forEach((t) => t.dispose())
          best = { objective, epoch, weights: snapshot(net) }
        }
        // kept before the epoch is logged: a run killed after its line resumes after this epoch
        if (options.state !== undefined) yield* TrainState.save(options.state.dir, yield* current(epoch))
        const elapsed = (performance.now() - started) / 1000
        progress.log(
          `${label}epoch ${epoch}/${epochs} ${bar(epoch / epochs)} loss ${(lossSum / train.n).toFixed(4)} | valid ${formatMetrics(net, validMetrics)} | ${seconds.toFixed(1)}s/epoch ETA ${formatDuration((elapsed / epoch) * (epochs - epoch))}`
        )
        if (epoch - best.epoch >= patience) {
          progress.log(`${label}early stop at epoch ${epoch}: no validation improvement for ${patience} epochs (best epoch ${best.epoch})`)
          break
        }
      }
      if (options.keepFinal) {
        // a resumed state with nothing left to train is its own final state
        final = resumed !== undefined && history.length === resumed.history.length ? resumed : yield* current(history[history.length - 1]?.epoch ?? 0)
      }
      if (best.weights) for (const [k, v] of net.variables) v.assign(best.weights.get(k)!)
    }).pipe(
      Effect.scoped,
      Effect.ensuring(cleanup),
      // a failed run returns no network: free it too
      Effect.onError(() => Effect.sync(() => Network.dispose(net)))
    )
    const seconds = (performance.now() - started) / 1000
    progress.log(`${label}trained ${history.length} epochs in ${seconds.toFixed(1)}s; best epoch ${best.epoch} (valid objective ${best.objective.toFixed(4)})`)
    return { net, history, bestEpoch: best.epoch, bestObjective: best.objective, seconds, steps, ...(final !== undefined ? { final } : {}) } satisfies TrainResult
  })
