/**
 * Per-feature standardisation fitted on the train split only, then applied to every split.
 * Only valid steps of present modalities enter the statistics; padding stays exactly 0.
 *
 * @since 0.1.0
 */
import type { Dataset, Modality, SequenceBlock, Split } from "./Dataset"
import { MODALITIES, MODALITY_INDEX, SPLITS } from "./Dataset"
import { InvalidOption } from "./Errors"

/**
 * Mean and standard deviation per feature, per modality (serialisable: plain number arrays), and the
 * bound, in standard deviations, that standardised values are clipped to (absent: no clipping).
 */
export type NormStats = Partial<Record<Modality, ModalityStats>>

/** The statistics of one modality. */
export interface ModalityStats {
  readonly mean: ReadonlyArray<number>
  readonly std: ReadonlyArray<number>
  readonly clip?: number
}

/**
 * Standardised values are clipped to +-DEFAULT_CLIP (winsorising): real feature files have rare
 * extreme values (the openSMILE audio of mosi-real reaches 151 train standard deviations on the test
 * fold) that a network would otherwise extrapolate wildly from. Pass `clip: Infinity` to keep them.
 */
export const DEFAULT_CLIP = 5

/** Features whose train std is below this are only centred (divided by 1). */
export const MIN_STD = 1e-6

/** Options of {@link fit}. */
export interface FitOptions {
  /** Clip standardised values to +-clip (default {@link DEFAULT_CLIP}; Infinity for none). */
  readonly clip?: number
}

/** Fit mean/std per feature of every modality on one split (the train split). */
export const fit = (split: Split, options: FitOptions = {}): NormStats => {
  const clip = options.clip ?? DEFAULT_CLIP
  if (!(clip > 0)) throw new InvalidOption({ option: "clip", value: String(clip), reason: "must be > 0 (Infinity for no clipping)" })
  const stats: Record<string, ModalityStats> = {}
  for (const m of MODALITIES) {
    const block = split.features[m]
    if (!block) continue
    const { dim, steps } = block
    const sum = new Float64Array(dim)
    const sumSq = new Float64Array(dim)
    let count = 0
    const mi = MODALITY_INDEX[m]
    for (let i = 0; i < block.n; i++) {
      if (split.mask[i * 3 + mi] === 0) continue
      const len = block.lengths[i]
      for (let t = 0; t < len; t++) {
        const base = (i * steps + t) * dim
        for (let d = 0; d < dim; d++) {
          const x = block.data[base + d]
          sum[d] += x
          sumSq[d] += x * x
        }
      }
      count += len
    }
    const mean = new Array<number>(dim)
    const std = new Array<number>(dim)
    for (let d = 0; d < dim; d++) {
      const mu = count > 0 ? sum[d] / count : 0
      const variance = count > 0 ? Math.max(sumSq[d] / count - mu * mu, 0) : 1
      mean[d] = mu
      std[d] = Math.sqrt(variance) < MIN_STD ? 1 : Math.sqrt(variance)
    }
    stats[m] = Number.isFinite(clip) ? { mean, std, clip } : { mean, std }
  }
  return stats
}

const applyBlock = (block: SequenceBlock, s: ModalityStats): SequenceBlock => {
  const { dim, steps } = block
  if (s.mean.length !== dim || s.std.length !== dim) {
    throw new InvalidOption({ option: "normalization", value: `${s.mean.length} features`, reason: `the data has ${dim} features` })
  }
  const out = new Float32Array(block.data.length)
  const inv = s.std.map((x) => 1 / x)
  const hi = s.clip ?? Infinity
  const lo = -hi
  for (let i = 0; i < block.n; i++) {
    const len = block.lengths[i]
    for (let t = 0; t < len; t++) {
      const base = (i * steps + t) * dim
      for (let d = 0; d < dim; d++) {
        const z = (block.data[base + d] - s.mean[d]) * inv[d]
        out[base + d] = z > hi ? hi : z < lo ? lo : z
      }
    }
  }
  return { ...block, data: out }
}

/** Apply stats to one split (new arrays; the input is not modified). */
export const applySplit = (split: Split, stats: NormStats): Split => {
  const features: Partial<Record<Modality, SequenceBlock>> = {}
  for (const m of MODALITIES) {
    const block = split.features[m]
    if (!block) continue
    const s = stats[m]
    features[m] = s ? applyBlock(block, s) : block
  }
  return { ...split, features }
}

/** Fit on train, apply to train, valid and test. */
export const normalize = (dataset: Dataset, options: FitOptions = {}): { readonly dataset: Dataset; readonly stats: NormStats } => {
  const stats = fit(dataset.splits.train, options)
  return { dataset: apply(dataset, stats), stats }
}

/** Apply previously fitted stats (e.g. from a checkpoint) to every split. */
export const apply = (dataset: Dataset, stats: NormStats): Dataset => {
  const splits = Object.fromEntries(SPLITS.map((s) => [s, applySplit(dataset.splits[s], stats)])) as unknown as Dataset["splits"]
  return { ...dataset, splits }
}
