/**
 * Prediction and evaluation: batched forward passes without gradient, the MMSA metrics (or IEMOCAP
 * per-emotion accuracy/F1), the missing-modality table (every non-empty subset of the model's
 * modalities, the others masked) and the robustness grid (each modality dropped per frame and whole at
 * increasing rates, {@link Robustness}).
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Batching, Metrics } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import * as BatchTensors from "./BatchTensors"
import type { Network } from "./Network"
import * as Robustness from "./Robustness"

/** Predictions for a split. */
export interface Predictions {
  /** (n) sentiment predictions. */
  readonly regression?: Float32Array
  /** (n, 7) logits of the 7-class sentiment head. */
  readonly classLogits?: Float32Array
  /** (n, E, 2) emotion logits. */
  readonly emotionLogits?: Float32Array
  /** (n, K, J) attention weights of HAEMSA (tasks x experts). */
  readonly attention?: Float32Array
}

/** Metrics of a split: the MMSA keys for sentiment, `{emotion: {acc, f1}}` for emotions. */
export type SplitMetrics = Metrics.RegressionMetrics | Record<string, Metrics.EmotionScore>

/** The values of a tensor on the host (an asynchronous read: webgpu allows no other). */
const read = async (t: tf.Tensor): Promise<Float32Array> => (await t.data()) as Float32Array

/** The predictions of the rows `idx` of a split, as one batch (no dropout; `stepKeep` covers the whole split). */
export const predictRows = async (
  net: Network,
  split: Dataset.Split,
  idx: Int32Array,
  stepKeep: BatchTensors.StepKeep = {}
): Promise<Predictions> => {
  const batch = BatchTensors.fromRows(split, idx, undefined, keepRows(stepKeep, split.n, idx))
  try {
    const out = net.apply(batch, false)
    try {
      return {
        ...(out.regression ? { regression: await read(out.regression) } : {}),
        ...(out.classLogits ? { classLogits: await read(out.classLogits) } : {}),
        ...(out.emotionLogits ? { emotionLogits: await read(out.emotionLogits) } : {}),
        ...(out.attention ? { attention: await read(out.attention) } : {})
      }
    } finally {
      tf.dispose(out as unknown as tf.TensorContainer)
    }
  } finally {
    BatchTensors.dispose(batch)
  }
}

/** Predictions of consecutive parts of a split, joined in order (each output concatenated). */
export const concatPredictions = (parts: ReadonlyArray<Predictions>): Predictions => {
  const cat = (key: keyof Predictions): Float32Array | undefined => {
    const arrays = parts.map((p) => p[key]).filter((a): a is Float32Array => a !== undefined)
    if (arrays.length === 0) return undefined
    const out = new Float32Array(arrays.reduce((a, p) => a + p.length, 0))
    let o = 0
    for (const p of arrays) {
      out.set(p, o)
      o += p.length
    }
    return out
  }
  const out: { -readonly [K in keyof Predictions]: Predictions[K] } = {}
  for (const key of ["regression", "classLogits", "emotionLogits", "attention"] as const) {
    const joined = cat(key)
    if (joined !== undefined) out[key] = joined
  }
  return out
}

/** The batch size of prediction when none is given: memory stays bounded on any split. */
export const PREDICT_BATCH = 256

/**
 * The predictions of the rows `idx` of a split, in batches of at most `batchSize` rows (no dropout;
 * `stepKeep` covers the whole split), joined in order. A sample's outputs do not depend on the other
 * samples of its batch, so any batch size gives the same predictions.
 */
export const predictRowsInBatches = async (
  net: Network,
  split: Dataset.Split,
  idx: Int32Array,
  batchSize = PREDICT_BATCH,
  stepKeep: BatchTensors.StepKeep = {}
): Promise<Predictions> => {
  const parts: Predictions[] = []
  // the positions 0..n-1 of idx in consecutive batches (batchIndices also checks batchSize)
  for (const positions of Batching.batchIndices(idx.length, batchSize)) {
    parts.push(await predictRows(net, split, idx.subarray(positions[0], positions[0] + positions.length), stepKeep))
  }
  return parts.length === 1 ? parts[0] : concatPredictions(parts)
}

/**
 * Predict a whole split in batches (no dropout). Asynchronous: the outputs are read back with
 * `data()`, which every backend allows (webgpu has no synchronous read of GPU data).
 */
export const predict = (
  net: Network,
  split: Dataset.Split,
  batchSize = PREDICT_BATCH,
  stepKeep: BatchTensors.StepKeep = {}
): Promise<Predictions> => predictRowsInBatches(net, split, Int32Array.from({ length: split.n }, (_, i) => i), batchSize, stepKeep)

/** The rows `idx` of each (n, T) step mask. */
const keepRows = (stepKeep: BatchTensors.StepKeep, n: number, idx: Int32Array): BatchTensors.StepKeep => {
  const out: BatchTensors.StepKeep = {}
  for (const [m, keep] of Object.entries(stepKeep) as Array<[Dataset.Modality, Uint8Array]>) {
    const steps = keep.length / Math.max(n, 1)
    const rows = new Uint8Array(idx.length * steps)
    idx.forEach((i, r) => rows.set(keep.subarray(i * steps, (i + 1) * steps), r * steps))
    out[m] = rows
  }
  return out
}

/** Metrics of predictions against a split's labels. */
export const metricsOf = (net: Network, split: Dataset.Split, p: Predictions): SplitMetrics =>
  net.info.task === "emotions"
    ? Metrics.emotionMetrics(p.emotionLogits!, split.labels.emotions!, net.info.emotions ?? [])
    : Metrics.regressionMetrics(p.regression!, split.labels.regression!)

/** Predict and score a split (`stepKeep`: steps masked on top of the lengths, see {@link BatchTensors.StepKeep}). */
export const evaluate = async (net: Network, split: Dataset.Split, stepKeep: BatchTensors.StepKeep = {}): Promise<SplitMetrics> =>
  metricsOf(net, split, await predict(net, split, 256, stepKeep))

/**
 * The validation objective used for early stopping and as search fitness (lower is better):
 * MAE for sentiment, mean (1 - weighted F1) over emotions for IEMOCAP.
 */
export const objective = (net: Network, metrics: SplitMetrics): number => {
  if (net.info.task === "emotions") {
    const scores = Object.values(metrics as Record<string, Metrics.EmotionScore>)
    return scores.reduce((a, s) => a + (1 - s.f1), 0) / Math.max(scores.length, 1)
  }
  return (metrics as Metrics.RegressionMetrics).mae
}

/** Every non-empty subset of `modalities`, in a stable order (singles first, then pairs, then all). */
export const subsets = (modalities: ReadonlyArray<Dataset.Modality>): Dataset.Modality[][] => {
  const out: Dataset.Modality[][] = []
  for (let bits = 1; bits < 1 << modalities.length; bits++) out.push(modalities.filter((_, i) => bits & (1 << i)))
  return out.sort((a, b) => a.length - b.length)
}

/** One row of the missing-modality table. */
export interface MissingModalityRow {
  readonly modalities: Array<Dataset.Modality>
  readonly metrics: SplitMetrics
}

/** Metrics with only each subset of the model's modalities present (the rest masked). */
export const missingModalityTable = async (net: Network, split: Dataset.Split): Promise<MissingModalityRow[]> => {
  const rows: MissingModalityRow[] = []
  for (const keep of subsets(net.modalities)) rows.push({ modalities: keep, metrics: await evaluate(net, Batching.keepModalities(split, keep)) })
  return rows
}

/** One row of the robustness grid: the metrics with `modality` dropped at `rate` in `mode`. */
export interface RobustnessRow {
  readonly modality: Dataset.Modality
  readonly mode: Robustness.Mode
  readonly rate: number
  readonly test: SplitMetrics
}

/**
 * The robustness grid of a split: each of `modalities` (those the split has; the model's by default)
 * dropped at each of {@link Robustness.RATES}, per frame and whole ({@link Robustness}), the masks
 * drawn from `seed`. Missing frames are masked in the step mask and missing modalities in the
 * modality mask, the missing-modality table's mechanism; rate 0 scores the split unchanged.
 */
export const robustnessTable = async (
  net: Network,
  split: Dataset.Split,
  seed: number,
  modalities: ReadonlyArray<Dataset.Modality> = net.modalities
): Promise<RobustnessRow[]> => {
  const rows: RobustnessRow[] = []
  for (const modality of modalities) {
    const steps = Robustness.stepsOf(split, modality)
    if (steps === undefined) continue
    for (const mode of Robustness.MODES) {
      for (const rate of Robustness.RATES) {
        const test = mode === "frames"
          ? await evaluate(net, split, { [modality]: Robustness.frameKeep(steps, rate, seed, modality) })
          : await evaluate(net, Robustness.withoutModalityFor(split, modality, Robustness.wholeDrop(split.mask, split.n, rate, seed, modality)))
        rows.push({ modality, mode, rate, test })
      }
    }
  }
  return rows
}
