/**
 * The robustness grid's masks: which frames (`frames` mode) or which samples (`whole` mode) of one
 * modality are dropped at a missing rate, drawn from a seed. Pure functions over typed arrays; the
 * masks are applied through the model's own step and modality masks (missing = masked, never
 * zero-filled): a whole-modality drop clears the sample's modality mask (as the missing-modality
 * table does), a frame drop clears the step in the step mask ({@link BatchTensors.fromSplit}).
 *
 * Counts: at rate `r`, a sample with `T` valid steps loses exactly `floor(r * T)` of them (so a
 * sample always keeps at least one valid step when `r < 1`: dropping every frame would be the
 * `whole` mode), and `round(r * P)` of the `P` samples that have the modality lose it whole. The
 * draws are one seeded permutation per (modality, mode), and per sample for frames, taken in order:
 * a higher rate drops a superset of what a lower rate drops, and rate 0 drops nothing.
 *
 * @since 0.2.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D, Random } from "@haemsa/datasets"

/** The missing rates of the grid. */
export const RATES: ReadonlyArray<number> = [0, 0.1, 0.2, 0.3, 0.4, 0.5]

/** `frames`: a fraction of each sample's valid steps; `whole`: the modality for a fraction of the samples. */
export type Mode = "frames" | "whole"

/** The modes, in table order. */
export const MODES: ReadonlyArray<Mode> = ["frames", "whole"]

/** How many of `valid` steps are dropped at `rate`: `floor(rate * valid)` (a 1e-9 slack absorbs float error: 0.3 * 10 is 3). */
export const framesDropped = (valid: number, rate: number): number => Math.max(0, Math.min(valid, Math.floor(rate * valid + 1e-9)))

/** How many of `present` samples lose the modality at `rate`: `round(rate * present)`. */
export const samplesDropped = (present: number, rate: number): number => Math.max(0, Math.min(present, Math.round(rate * present)))

/** The seed of the stream of one (modality, mode): distinct for every integer seed, modality and mode. */
export const streamSeed = (seed: number, modality: Dataset.Modality, mode: Mode): number =>
  seed * 6 + D.MODALITY_INDEX[modality] * 2 + (mode === "whole" ? 1 : 0)

/** The valid steps of one modality of a split: lengths and padded length (text: of the tokens when the split has them). */
export interface Steps {
  readonly n: number
  readonly steps: number
  readonly lengths: Int32Array
}

/** The steps of `modality` in `split` as the model reads them, or `undefined` when the split lacks it. */
export const stepsOf = (split: Dataset.Split, modality: Dataset.Modality): Steps | undefined => {
  if (modality === "text" && split.tokens) return { n: split.n, steps: split.tokens.steps, lengths: split.tokens.lengths }
  const block = split.features[modality]
  return block ? { n: block.n, steps: block.steps, lengths: block.lengths } : undefined
}

/**
 * Frames kept, (n, steps) row-major, 1 = kept: sample `i` loses `framesDropped(min(lengths[i], steps), rate)`
 * of its valid steps, drawn by a seeded permutation of them; padding steps stay 1 (the step mask already
 * has them at 0).
 */
export const frameKeep = (steps: Steps, rate: number, seed: number, modality: Dataset.Modality): Uint8Array => {
  const keep = new Uint8Array(steps.n * steps.steps).fill(1)
  const rng = Random.makeRng(streamSeed(seed, modality, "frames"))
  for (let i = 0; i < steps.n; i++) {
    const valid = Math.max(0, Math.min(steps.lengths[i], steps.steps))
    const order = Random.permutation(valid, rng) // drawn for every sample, so sample i's draw does not depend on the rate
    const k = framesDropped(valid, rate)
    for (let j = 0; j < k; j++) keep[i * steps.steps + order[j]] = 0
  }
  return keep
}

/**
 * Samples that lose `modality` whole, (n), 1 = dropped: `samplesDropped(P, rate)` of the `P` samples
 * whose modality mask has it, drawn by a seeded permutation of them.
 */
export const wholeDrop = (mask: Uint8Array, n: number, rate: number, seed: number, modality: Dataset.Modality): Uint8Array => {
  const column = D.MODALITY_INDEX[modality]
  const present: number[] = []
  for (let i = 0; i < n; i++) if (mask[i * 3 + column] === 1) present.push(i)
  const order = Random.permutation(present.length, Random.makeRng(streamSeed(seed, modality, "whole")))
  const dropped = new Uint8Array(n)
  const k = samplesDropped(present.length, rate)
  for (let j = 0; j < k; j++) dropped[present[order[j]]] = 1
  return dropped
}

/** A split whose modality mask has `modality` cleared for the samples `dropped` marks (the missing-modality mechanism). */
export const withoutModalityFor = (split: Dataset.Split, modality: Dataset.Modality, dropped: Uint8Array): Dataset.Split => {
  const mask = new Uint8Array(split.mask)
  const column = D.MODALITY_INDEX[modality]
  for (let i = 0; i < split.n; i++) if (dropped[i] === 1) mask[i * 3 + column] = 0
  return { ...split, mask }
}
