/**
 * Turning a batch (a `Split` of typed arrays) into the tensors a model reads.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Batching, Dataset as D } from "@haemsa/datasets"
import { Layers, RowGather } from "@haemsa/nn"
import type { Module, SimdKernels } from "@haemsa/nn"
import { TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"

/** The model's inputs for one batch. Dispose with {@link dispose}. */
export interface BatchTensors {
  readonly size: number
  /** (B, T, d) dense features per modality. */
  readonly x: Partial<Record<Dataset.Modality, tf.Tensor3D>>
  /** (B, T) 1 for valid steps, per modality (text: of the tokens when present, else of the features). */
  readonly stepMask: Partial<Record<Dataset.Modality, tf.Tensor2D>>
  /** (B, T_text) int32 token ids. */
  readonly tokens?: tf.Tensor2D
  /** (B, 3) 1 when the modality is present for the sample. */
  readonly modalityMask: tf.Tensor2D
  /** (B) sentiment labels. */
  readonly regression?: tf.Tensor1D
  /** (B) int32 7-class ids of the sentiment labels (round-half-even of the clipped label, + 3). */
  readonly classes?: tf.Tensor1D
  /** (B, E) 0/1 emotion labels. */
  readonly emotions?: tf.Tensor2D
  /**
   * The valid steps' rows of a wide modality's features (`Layers.packSelection` of its step mask),
   * gathered straight from the data set by {@link fromRows}: the rows `Layers.packRows` would take
   * from `x`, which is then made only when something reads it.
   */
  readonly packed?: Partial<Record<Dataset.Modality, PackedData>>
}

/** A modality's kept rows (K, d) and which of its B·T rows they are. */
export interface PackedData {
  readonly selection: Module.RowSelection
  readonly rows: tf.Tensor2D
}

const stepMaskOf = (n: number, steps: number, lengths: Int32Array, present: (i: number) => boolean, keep?: Uint8Array): Float32Array => {
  const out = new Float32Array(n * steps)
  for (let i = 0; i < n; i++) {
    if (!present(i)) continue
    const len = Math.min(lengths[i], steps)
    out.fill(1, i * steps, i * steps + len)
  }
  if (keep) for (let j = 0; j < out.length; j++) if (keep[j] === 0) out[j] = 0
  return out
}

/**
 * Steps to mask on top of the lengths, per modality: (B, T) row-major, 0 = masked (the robustness
 * grid's dropped frames). Text's is over the tokens when the split has them.
 */
export type StepKeep = Partial<Record<Dataset.Modality, Uint8Array>>

/** A feature block's shape and lengths, and how its (B, T, d) tensor is made (and its kept rows, where they can be gathered from the data). */
interface BlockSource {
  readonly steps: number
  readonly dim: number
  readonly lengths: Int32Array
  readonly tensor: () => tf.Tensor3D
  readonly keptRows?: (selection: Module.RowSelection) => tf.Tensor2D
}

let packFromData = true

/**
 * Whether {@link fromRows} gathers a wide modality's kept rows straight from the data (the default;
 * `false` makes every x at once and leaves the packing to the network, as before: the same
 * numbers, compared in the benchmarks).
 */
export const setPackFromData = (enabled: boolean): void => {
  packFromData = enabled
}

/** The x tensors made on first read (tf.keep: a read inside a tidy does not dispose them), by batch. */
const lazyX = new WeakMap<object, Map<string, { made?: tf.Tensor3D }>>()

/** The tensors of a batch of `split`'s size whose feature tensors come from `blocks`. */
const build = (split: Dataset.Split, blocks: Partial<Record<Dataset.Modality, BlockSource>>, mask: Uint8Array, stepKeep: StepKeep): BatchTensors => {
  const n = split.n
  const x: BatchTensors["x"] = {}
  const stepMask: BatchTensors["stepMask"] = {}
  const packed: Partial<Record<Dataset.Modality, PackedData>> = {}
  const lazy = new Map<string, { made?: tf.Tensor3D }>()
  D.MODALITIES.forEach((m, mi) => {
    const b = blocks[m]
    const present = (i: number) => mask[i * 3 + mi] === 1
    if (b) {
      const ownMask = !(m === "text" && split.tokens)
      const steps = ownMask ? stepMaskOf(n, b.steps, b.lengths, present, stepKeep[m]) : undefined
      if (steps !== undefined) stepMask[m] = tf.tensor2d(steps, [n, b.steps])
      // a wide modality's kept rows straight from the data; its x only when read
      const selection = packFromData && steps !== undefined && b.keptRows !== undefined ? Layers.packSelection(b.dim, steps) : undefined
      if (selection !== undefined) {
        packed[m] = { selection, rows: b.keptRows!(selection) }
        const cell: { made?: tf.Tensor3D } = {}
        lazy.set(m, cell)
        Object.defineProperty(x, m, { enumerable: true, get: () => (cell.made ??= tf.keep(b.tensor())) })
      } else {
        x[m] = b.tensor()
      }
    }
    if (m === "text" && split.tokens) {
      stepMask.text = tf.tensor2d(stepMaskOf(n, split.tokens.steps, split.tokens.lengths, present, stepKeep.text), [n, split.tokens.steps])
    }
  })
  if (lazy.size > 0) lazyX.set(x, lazy)
  const emotions = split.labels.emotions
  return {
    size: n,
    x,
    ...(lazy.size > 0 ? { packed } : {}),
    stepMask,
    ...(split.tokens ? { tokens: tf.tensor2d(split.tokens.ids, [n, split.tokens.steps], "int32") } : {}),
    modalityMask: tf.tensor2d(Float32Array.from(mask), [n, 3]),
    ...(split.labels.regression
      ? {
        regression: tf.tensor1d(split.labels.regression),
        classes: tf.tensor1d(TaskLosses.sentimentClasses(split.labels.regression), "int32")
      }
      : {}),
    ...(emotions ? { emotions: tf.tensor2d(Float32Array.from(emotions), [n, emotions.length / Math.max(n, 1)]) } : {})
  }
}

/**
 * Build the tensors of a batch. `mask` overrides the split's modality mask (modality dropout);
 * `stepKeep` masks single steps too.
 */
export const fromSplit = (split: Dataset.Split, mask: Uint8Array = split.mask, stepKeep: StepKeep = {}): BatchTensors => {
  const blocks: Partial<Record<Dataset.Modality, BlockSource>> = {}
  for (const [m, b] of Object.entries(split.features) as Array<[Dataset.Modality, Dataset.SequenceBlock]>) {
    blocks[m] = { steps: b.steps, dim: b.dim, lengths: b.lengths, tensor: () => tf.tensor3d(b.data, [split.n, b.steps, b.dim]) }
  }
  return build(split, blocks, mask, stepKeep)
}

/**
 * The tensor of `shape` holding the rows `rows` (each `width` numbers) of `data`: on wasm written
 * straight into the backend's memory (one copy per run of consecutive rows), elsewhere gathered on
 * the host first.
 */
const gatherTensor = (data: Float32Array, rows: Int32Array, width: number, shape: Array<number>): tf.Tensor => {
  const copyRuns = (into: Float32Array) => RowGather.copyRuns(rows, width, (from, to, at) => into.set(data.subarray(from, to), at))
  if (tf.getBackend() === "wasm" && rows.length * width > 0) {
    const backend = tf.backend() as unknown as SimdKernels.WasmBackend
    const info = backend.makeOutput(shape, "float32")
    copyRuns(backend.typedArrayFromHeap(info))
    return tf.engine().makeTensorFromTensorInfo(info)
  }
  const values = new Float32Array(rows.length * width)
  copyRuns(values)
  return tf.tensor(values, shape)
}

/**
 * The tensors of the batch of `split`'s rows `rows` (as `fromSplit(Batching.subset(split, rows), mask)`,
 * the same values): the feature rows go straight into their tensors instead of through a subset's
 * copies (on wasm into the backend's memory: a batch of 64 MOSI-shaped samples took 2.7 ms to subset
 * and 1.2 ms to upload). `mask` defaults to the rows' modality mask.
 */
export const fromRows = (split: Dataset.Split, rows: Int32Array, mask?: Uint8Array, stepKeep: StepKeep = {}): BatchTensors => {
  // everything but the feature data (lengths, tokens, labels, masks: small) by a subset; it checks the rows too
  const part = Batching.subset({ ...split, features: {} }, rows)
  const blocks: Partial<Record<Dataset.Modality, BlockSource>> = {}
  for (const [m, b] of Object.entries(split.features) as Array<[Dataset.Modality, Dataset.SequenceBlock]>) {
    blocks[m] = {
      steps: b.steps,
      dim: b.dim,
      lengths: Int32Array.from(rows, (i) => b.lengths[i]),
      tensor: () => gatherTensor(b.data, rows, b.steps * b.dim, [rows.length, b.steps, b.dim]) as tf.Tensor3D,
      keptRows: (selection) => gatherTensor(b.data, keptSteps(rows, b.steps, selection), b.dim, [selection.rows.length, b.dim]) as tf.Tensor2D
    }
  }
  return build(part, blocks, mask ?? part.mask, stepKeep)
}

/** The data-set steps (rows of width d) of the kept batch steps: batch step j is step j mod T of sample rows[j / T]. */
const keptSteps = (rows: Int32Array, steps: number, selection: Module.RowSelection): Int32Array =>
  Int32Array.from(selection.rows, (j) => rows[Math.floor(j / steps)] * steps + (j % steps))

/** Dispose every tensor of a batch. */
export const dispose = (batch: BatchTensors): void => {
  const lazy = lazyX.get(batch.x)
  // an x made on first read is disposed if it was made (reading it here would make it)
  const xs = (Object.keys(batch.x) as Array<Dataset.Modality>).flatMap((m) => {
    const cell = lazy?.get(m)
    return cell === undefined ? [batch.x[m]!] : cell.made === undefined ? [] : [cell.made]
  })
  tf.dispose([
    ...xs,
    ...Object.values(batch.packed ?? {}).map((p) => p.rows),
    ...Object.values(batch.stepMask),
    batch.modalityMask,
    ...(batch.tokens ? [batch.tokens] : []),
    ...(batch.regression ? [batch.regression] : []),
    ...(batch.classes ? [batch.classes] : []),
    ...(batch.emotions ? [batch.emotions] : [])
  ])
}
