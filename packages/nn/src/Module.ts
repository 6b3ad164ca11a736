/**
 * The convention every tensor module of HAEMSA follows (experts, fusion levels, attention, towers):
 * a plain object holding its trainable variables by stable path, and a pure `apply` of tensors.
 * No Effect inside: `apply` runs inside a taped training step.
 *
 * @since 0.1.0
 */
import type * as tf from "@tensorflow/tfjs"

/** A tensor module: trainable variables by stable path (e.g. "text/dense0/kernel") and a function of tensors. */
export interface Module<I, O> {
  /** Trainable weights keyed by a stable, unique path (checkpoints store them under these keys). */
  readonly variables: ReadonlyMap<string, tf.Variable>
  /** The forward pass. `training` switches dropout on. Must be synchronous and tidy-safe. */
  apply(input: I, training: boolean): O
}

/** One modality's input to an expert. */
export interface SequenceInput {
  /** (B, T, d) features (padded steps are ignored through `stepMask`). */
  readonly x: tf.Tensor3D
  /** (B, T) float 1 for a valid step, 0 for padding. A sample of a missing modality has all zeros. */
  readonly stepMask: tf.Tensor2D
  /**
   * Optional: the valid steps' rows of x, gathered once for every first linear map that projects
   * them (the modality's expert and the unified expert; see `Layers.packRows`).
   */
  readonly packed?: PackedRows
  /**
   * Optional: x depends on no variable (a data set's features, not an embedding): its first
   * projection builds no input-gradient path (`Layers.project`'s `data`).
   */
  readonly data?: boolean
}

/** Which of N rows are kept (host indices): the kept rows, the others, and each row's source in `[kept rows; filler]`. */
export interface RowSelection {
  readonly n: number
  /** Indices of the kept rows, ascending (K). */
  readonly rows: Int32Array
  /** Indices of the other rows, ascending (N - K). */
  readonly dropped: Int32Array
  /** (N): the kept position of a kept row, K for any other row. */
  readonly places: Int32Array
}

/** The kept rows of a (N, d) input: which ones, the (K, d) rows, and in training their (d, K) transpose. */
export interface PackedRows {
  readonly selection: RowSelection
  /** (K, d) the kept rows. */
  readonly rows: tf.Tensor2D
  /** (d, K) the kept rows transposed, for the weight gradient of every projection of them (training only). */
  readonly rowsT?: tf.Tensor2D
}

/** Seeded randomness for initialisers and dropout: each call gives a fresh integer seed. */
export interface SeedSource {
  nextSeed(): number
}

/**
 * A seed source whose position can be read and set: a training keeps `state()` with its state at the
 * end of each epoch and `restore`s it on resume, so the dropout masks after a resume are the ones an
 * uninterrupted run draws.
 */
export interface ResumableSeedSource extends SeedSource {
  /** The current position (a uint32). */
  state(): number
  /** Continue from a position read with `state()`. */
  restore(state: number): void
}

/** A seed source from a seed (deterministic: same seed, same sequence of seeds); resumable. */
export const seedSource = (seed: number): ResumableSeedSource => {
  let s = (Math.floor(seed) ^ 0x5bd1e995) >>> 0
  return {
    nextSeed() {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      return s % 2147483647
    },
    state: () => s,
    restore(state) {
      s = state >>> 0
    }
  }
}

/** Merge child modules' variables under prefixes: `prefixed({ text: m1.variables, audio: m2.variables })`. */
export const prefixed = (children: Record<string, ReadonlyMap<string, tf.Variable>>): ReadonlyMap<string, tf.Variable> => {
  const out = new Map<string, tf.Variable>()
  for (const [prefix, vars] of Object.entries(children)) {
    for (const [path, v] of vars) {
      const key = `${prefix}/${path}`
      if (out.has(key)) throw new Error(`duplicate variable path ${key}`)
      out.set(key, v)
    }
  }
  return out
}
