/**
 * The embedded synthetic sentiment dataset: MOSI-shaped (1284/229/686 samples, text 768, audio 5,
 * vision 20, 50 steps) and generated from a seed, so the toolkit runs and its tests pass with no
 * file at all.
 *
 * @since 0.1.0
 */
import type { Dataset, Modality, SequenceBlock, Split, SplitName } from "./Dataset"
import { MODALITIES, SPLITS } from "./Dataset"
import { checkSplits, MIN_SAMPLES } from "./DatasetCheck"
import { InvalidOption } from "./Errors"
import type { Rng } from "./Random"
import { int, makeRng, normal } from "./Random"

/** Options of {@link synthetic}; every field has a MOSI-like default. */
export interface SyntheticOptions {
  /** Seed of everything (default 0). The same seed gives bit-identical data. */
  readonly seed?: number
  /** Padded sequence length T (default 50). */
  readonly steps?: number
  /** Feature size per modality (default text 768, audio 5, vision 20). */
  readonly dims?: Partial<Record<Modality, number>>
  /** Samples per split (default MOSI's 1284/229/686). */
  readonly sizes?: Partial<Record<SplitName, number>>
  /** Standard deviation of the per-element gaussian feature noise (default 1). */
  readonly noise?: number
  /** Sizes of the latent spaces: shared `s`, specific `u_m` per modality, nuisance `n_m` per modality (default 2/2/2). */
  readonly latents?: { readonly shared?: number; readonly specific?: number; readonly nuisance?: number }
  /**
   * Label weights (default shared 0.8, text 1, audio 0.5, vision 0.5, interaction 0.3): `interaction`
   * multiplies the product of the text and audio specific factors (only a nonlinear model using both
   * modalities can use it).
   */
  readonly weights?: {
    readonly shared?: number
    readonly text?: number
    readonly audio?: number
    readonly vision?: number
    readonly interaction?: number
  }
  /** Standard deviation of the label noise `eps` (default 0.3). */
  readonly labelNoise?: number
  /** Scale of the nuisance part of the features (default 1). */
  readonly nuisanceScale?: number
  /** Shortest valid length as a fraction of `steps` (default 0.5): lengths are uniform in [ceil(f T), T]. */
  readonly minLengthFraction?: number
  /** Shortest signal window as a fraction of the valid length (default 0.5). */
  readonly minWindowFraction?: number
}

interface Resolved {
  readonly seed: number
  readonly steps: number
  readonly dims: Record<Modality, number>
  readonly sizes: Record<SplitName, number>
  readonly noise: number
  readonly shared: number
  readonly specific: number
  readonly nuisance: number
  readonly weights: { shared: number; text: number; audio: number; vision: number; interaction: number }
  readonly labelNoise: number
  readonly nuisanceScale: number
  readonly minLengthFraction: number
  readonly minWindowFraction: number
}

/** Fixed random parameters of the generating "world", shared by the three splits. */
interface World {
  /** Label direction in the shared latent space (unit vector). */
  readonly sharedDirection: Float64Array
  /** Label direction in each modality's specific latent space (unit vectors). */
  readonly specificDirection: Record<Modality, Float64Array>
  /** (dim, shared + specific) signal mixing matrix per modality. */
  readonly signalMix: Record<Modality, Float64Array>
  /** (dim, nuisance) nuisance mixing matrix per modality. */
  readonly nuisanceMix: Record<Modality, Float64Array>
  /** Gaussian table the per-element noise is drawn from. */
  readonly noiseTable: Float32Array
}

/** Size of the gaussian noise table: indexed by the top 16 bits of a uint32. */
const NOISE_TABLE_SIZE = 1 << 16

/**
 * Generate the synthetic dataset (format "synthetic", task "sentiment", name "synthetic").
 *
 * Generative story, per sample:
 * - latents: a shared `s ~ N(0, I_shared)` seen by every modality, a specific `u_m ~ N(0, I_specific)`
 *   seen only by modality m, and a nuisance `n_m ~ N(0, I_nuisance)` per modality that is unrelated to
 *   the label (think speaker identity);
 * - label: with fixed unit directions `a`, `b_m`,
 *   `y = clip(w_s a.s + w_t b_t.u_t + w_a b_a.u_a + w_v b_v.u_v + w_i (b_t.u_t)(b_a.u_a) + eps, -3, 3)`,
 *   `eps ~ N(0, labelNoise^2)`, rounded to a multiple of 0.2 like MOSI's annotator means (so some labels
 *   are exactly 0). Text carries the most label variance, audio and vision less, the shared part alone
 *   less than text, and all modalities together the most; the interaction term rewards a nonlinear model;
 * - features: a valid length `L` uniform in [ceil(minLengthFraction T), T] (steps past `L` are zero
 *   padding, recorded in `lengths`, the same for the three modalities) and a signal window `[w0, w1)` of
 *   at least `minWindowFraction L` steps inside it; for t < L,
 *   `x_m[t] = 1{w0 <= t < w1} A_m [s; u_m] + nuisanceScale B_m n_m + noise * e_t`, with fixed random
 *   mixing matrices `A_m` (dim x (shared + specific)) and `B_m`, and `e_t` iid standard normal (drawn from a
 *   seeded table of 65536 gaussian values, for speed).
 *
 * Ids are `syn_<split>_00001`..., every modality is present (mask all ones), there is no raw text, and no
 * value is replaced. Splits use independent streams, so the train split does not depend on the other sizes.
 *
 * @throws InvalidOption naming the option when an option is not a finite number, or a size, dim, step
 * count or latent size is not an integer >= 1 (`sizes.train` >= 2, see `DatasetCheck.MIN_SAMPLES`).
 * @throws FormatError (file "synthetic") when options this extreme make a label non-finite.
 */
export const synthetic = (options: SyntheticOptions = {}): Dataset => {
  const o = resolve(options)
  const rng = makeRng(o.seed)
  const world = makeWorld(o, rng)
  const splitSeeds = SPLITS.map(() => Math.floor(rng.next() * 4294967296))
  const splits = {} as Record<SplitName, Split>
  SPLITS.forEach((name, k) => {
    splits[name] = makeSplit(name, o, world, makeRng(splitSeeds[k]))
  })
  const dataset: Dataset = { name: "synthetic", format: "synthetic", task: "sentiment", splits }
  checkSplits(dataset, "synthetic")
  return dataset
}

const makeWorld = (o: Resolved, rng: Rng): World => {
  const unit = (k: number): Float64Array => {
    const v = new Float64Array(k)
    let norm = 0
    while (norm === 0) {
      norm = 0
      for (let j = 0; j < k; j++) {
        v[j] = normal(rng)
        norm += v[j] * v[j]
      }
    }
    norm = Math.sqrt(norm)
    for (let j = 0; j < k; j++) v[j] /= norm
    return v
  }
  const matrix = (rows: number, cols: number): Float64Array => {
    const m = new Float64Array(rows * cols)
    const scale = 1 / Math.sqrt(cols)
    for (let j = 0; j < m.length; j++) m[j] = normal(rng) * scale
    return m
  }
  const sharedDirection = unit(o.shared)
  const specificDirection = {} as Record<Modality, Float64Array>
  const signalMix = {} as Record<Modality, Float64Array>
  const nuisanceMix = {} as Record<Modality, Float64Array>
  for (const m of MODALITIES) {
    specificDirection[m] = unit(o.specific)
    signalMix[m] = matrix(o.dims[m], o.shared + o.specific)
    nuisanceMix[m] = matrix(o.dims[m], o.nuisance)
  }
  const noiseTable = new Float32Array(NOISE_TABLE_SIZE)
  for (let j = 0; j < NOISE_TABLE_SIZE; j++) noiseTable[j] = normal(rng)
  return { sharedDirection, specificDirection, signalMix, nuisanceMix, noiseTable }
}

const makeSplit = (name: SplitName, o: Resolved, world: World, rng: Rng): Split => {
  const n = o.sizes[name]
  const T = o.steps
  const ks = o.shared
  const ku = o.specific
  const kn = o.nuisance
  const kz = ks + ku

  // latents, label and timing of every sample
  const s = new Float64Array(n * ks)
  const u = {} as Record<Modality, Float64Array>
  const nu = {} as Record<Modality, Float64Array>
  for (let j = 0; j < s.length; j++) s[j] = normal(rng)
  for (const m of MODALITIES) {
    u[m] = new Float64Array(n * ku)
    for (let j = 0; j < u[m].length; j++) u[m][j] = normal(rng)
    nu[m] = new Float64Array(n * kn)
    for (let j = 0; j < nu[m].length; j++) nu[m][j] = normal(rng)
  }
  const dot = (v: Float64Array, offset: number, direction: Float64Array): number => {
    let acc = 0
    for (let j = 0; j < direction.length; j++) acc += v[offset + j] * direction[j]
    return acc
  }
  const regression = new Float32Array(n)
  const lengths = new Int32Array(n)
  const windowStart = new Int32Array(n)
  const windowEnd = new Int32Array(n)
  const minLength = Math.max(1, Math.ceil(o.minLengthFraction * T))
  const w = o.weights
  for (let i = 0; i < n; i++) {
    const fs = dot(s, i * ks, world.sharedDirection)
    const ft = dot(u.text, i * ku, world.specificDirection.text)
    const fa = dot(u.audio, i * ku, world.specificDirection.audio)
    const fv = dot(u.vision, i * ku, world.specificDirection.vision)
    const score = w.shared * fs + w.text * ft + w.audio * fa + w.vision * fv + w.interaction * ft * fa
    const y = Math.max(-3, Math.min(3, score + o.labelNoise * normal(rng)))
    const quantised = Math.round(y * 5) / 5
    regression[i] = quantised === 0 ? 0 : quantised
    const L = minLength + int(rng, T - minLength + 1)
    const minWindow = Math.max(1, Math.ceil(o.minWindowFraction * L))
    const width = minWindow + int(rng, L - minWindow + 1)
    const start = int(rng, L - width + 1)
    lengths[i] = L
    windowStart[i] = start
    windowEnd[i] = start + width
  }

  // features: flat loops over preallocated buffers
  const features: Partial<Record<Modality, SequenceBlock>> = {}
  const table = world.noiseTable
  // noise indices come from an inlined Mulberry32 stream (the same generator as Random.ts), seeded from rng
  let state = Math.floor(rng.next() * 4294967296) | 0
  for (const m of MODALITIES) {
    const D = o.dims[m]
    const data = new Float32Array(n * T * D)
    const signal = new Float64Array(D)
    const nuisance = new Float64Array(D)
    const A = world.signalMix[m]
    const B = world.nuisanceMix[m]
    const um = u[m]
    const nm = nu[m]
    for (let i = 0; i < n; i++) {
      for (let d = 0; d < D; d++) {
        let sig = 0
        for (let j = 0; j < ks; j++) sig += A[d * kz + j] * s[i * ks + j]
        for (let j = 0; j < ku; j++) sig += A[d * kz + ks + j] * um[i * ku + j]
        let nui = 0
        for (let j = 0; j < kn; j++) nui += B[d * kn + j] * nm[i * kn + j]
        signal[d] = sig
        nuisance[d] = o.nuisanceScale * nui
      }
      const L = lengths[i]
      const w0 = windowStart[i]
      const w1 = windowEnd[i]
      for (let t = 0; t < L; t++) {
        const base = (i * T + t) * D
        const on = t >= w0 && t < w1
        for (let d = 0; d < D; d++) {
          state = (state + 0x6d2b79f5) | 0
          let r = Math.imul(state ^ (state >>> 15), state | 1)
          r ^= r + Math.imul(r ^ (r >>> 7), r | 61)
          const e = table[(r ^ (r >>> 14)) >>> 16]
          data[base + d] = (on ? signal[d] : 0) + nuisance[d] + o.noise * e
        }
      }
    }
    features[m] = { n, steps: T, dim: D, data, lengths: Int32Array.from(lengths) }
  }

  const ids: Array<string> = []
  for (let i = 0; i < n; i++) ids.push(`syn_${name}_${String(i + 1).padStart(5, "0")}`)
  return {
    n,
    ids,
    features,
    mask: new Uint8Array(n * MODALITIES.length).fill(1),
    labels: { regression },
    nonfiniteReplaced: { text: 0, audio: 0, vision: 0 }
  }
}

const resolve = (options: SyntheticOptions): Resolved => {
  const finite = (name: string, value: number | undefined, fallback: number, min = -Infinity): number => {
    const v = value ?? fallback
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new InvalidOption({ option: name, value: String(v), reason: "must be a finite number" })
    }
    if (v < min) throw new InvalidOption({ option: name, value: String(v), reason: `must be >= ${min}` })
    return v
  }
  const count = (name: string, value: number | undefined, fallback: number, min = 1): number => {
    const v = value ?? fallback
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      throw new InvalidOption({ option: name, value: String(v), reason: `must be an integer >= ${min}` })
    }
    return v
  }
  const fraction = (name: string, value: number | undefined, fallback: number): number => {
    const v = finite(name, value, fallback)
    if (v <= 0 || v > 1) throw new InvalidOption({ option: name, value: String(v), reason: "must be in (0, 1]" })
    return v
  }
  const weights = options.weights ?? {}
  return {
    seed: finite("seed", options.seed, 0),
    steps: count("steps", options.steps, 50),
    dims: {
      text: count("dims.text", options.dims?.text, 768),
      audio: count("dims.audio", options.dims?.audio, 5),
      vision: count("dims.vision", options.dims?.vision, 20)
    },
    sizes: {
      train: count("sizes.train", options.sizes?.train, 1284, MIN_SAMPLES.train),
      valid: count("sizes.valid", options.sizes?.valid, 229),
      test: count("sizes.test", options.sizes?.test, 686)
    },
    noise: finite("noise", options.noise, 1, 0),
    shared: count("latents.shared", options.latents?.shared, 2),
    specific: count("latents.specific", options.latents?.specific, 2),
    nuisance: count("latents.nuisance", options.latents?.nuisance, 2),
    weights: {
      shared: finite("weights.shared", weights.shared, 0.8),
      text: finite("weights.text", weights.text, 1),
      audio: finite("weights.audio", weights.audio, 0.5),
      vision: finite("weights.vision", weights.vision, 0.5),
      interaction: finite("weights.interaction", weights.interaction, 0.3)
    },
    labelNoise: finite("labelNoise", options.labelNoise, 0.3, 0),
    nuisanceScale: finite("nuisanceScale", options.nuisanceScale, 1, 0),
    minLengthFraction: fraction("minLengthFraction", options.minLengthFraction, 0.5),
    minWindowFraction: fraction("minWindowFraction", options.minWindowFraction, 0.5)
  }
}
