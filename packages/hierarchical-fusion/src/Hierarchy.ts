/**
 * Hierarchical fusion (HAEMSA part 3). From the local experts `h_t, h_a, h_v` and the unified
 * expert `h_s`:
 *
 * - `h_l^(0) = pool(h_t, h_a, h_v | m)`: the masked mean of the present local experts, or a learned
 *   gate (`pool: "gate"`): softmax over the present experts of `v · tanh(W h_j + b)`; optional
 *   per-expert prior weights `localGates` g_j (e.g. learned modality gates) multiply each expert's
 *   weight before renormalising (`m_j g_j / sum m g`, or `∝ g_j exp(score_j)`);
 * - `h_l^(i) = g_l^(i)([h_l^(i-1); h_s^(i-1)])` for i = 1..depth;
 * - `h_s^(i) = g_s^(i)([h_s^(i-1); h_l^(i-1)])` (`sharedMode: "evolve"`) or `h_s^(i) = h_s` ("fixed"),
 *   with `h_s^(0) = h_s`.
 *
 * Each `g` is a fusion level (dense + nonlinearity + dropout + residual of its first input). A sample
 * with no local expert present pools to zeros.
 *
 * @since 0.1.0
 */
import { Layers, Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { checkActivation, checkInt, checkRate, FusionError } from "./Errors"
import { makeFusionLevel } from "./FusionLevel"

/** How the local experts are pooled into `h_l^(0)`. */
export type Pool = "mean" | "gate"

/** How the shared stream evolves across levels. */
export type SharedMode = "evolve" | "fixed"

/** Configuration of the hierarchy. */
export interface HierarchyConfig {
  /** Number of levels n, 1-4. */
  readonly depth: number
  /** d_h: width of every expert output and level. */
  readonly width: number
  readonly pool: Pool
  readonly sharedMode: SharedMode
  /** Dropout rate of every level, in [0, 1). */
  readonly dropout: number
  /** Nonlinearity of every level (default "relu"). */
  readonly activation?: Layers.Activation
}

/** Input of the hierarchy. */
export interface HierarchyInput {
  /** The local experts' outputs h_t, h_a, h_v, each (B, d_h). */
  readonly local: ReadonlyArray<tf.Tensor2D>
  /** (B, M) 1 where the local expert's modality is present. */
  readonly localMask: tf.Tensor2D
  /**
   * Optional (B, M) or (1, M) prior weights in (0, 1] of the local experts in the pool (e.g. learned
   * modality gates): mean pooling weights `m_j g_j / sum m g`, gate pooling `∝ g_j exp(score_j)`, so
   * a gate near 0 leaves an expert out of `h_l^(0)`. Absent: all ones.
   */
  readonly localGates?: tf.Tensor2D
  /** The unified expert's output h_s (B, d_h). */
  readonly shared: tf.Tensor2D
}

/** Output of the hierarchy: one tensor per level i = 1..n. */
export interface HierarchyOutput {
  /** h_l^(1..n), each (B, d_h). */
  readonly local: Array<tf.Tensor2D>
  /** h_s^(1..n), each (B, d_h) (all `h_s` itself in "fixed" mode). */
  readonly shared: Array<tf.Tensor2D>
}

/** Check a hierarchy config; throws {@link FusionError} naming the first bad field. */
export const validate = (config: HierarchyConfig): void => {
  checkInt("depth", config.depth, 1, 4)
  checkInt("width", config.width, 1)
  if (config.pool !== "mean" && config.pool !== "gate") {
    throw new FusionError({ field: "pool", value: String(config.pool), reason: "must be mean or gate" })
  }
  if (config.sharedMode !== "evolve" && config.sharedMode !== "fixed") {
    throw new FusionError({ field: "sharedMode", value: String(config.sharedMode), reason: "must be evolve or fixed" })
  }
  checkRate("dropout", config.dropout)
  checkActivation("activation", config.activation ?? "relu")
}

/**
 * The hierarchy. Variables: "pool/kernel", "pool/bias", "pool/score" (gate pooling only),
 * "level{i}/local/..." and, in "evolve" mode, "level{i}/shared/..." for i = 1..n. Throws
 * {@link FusionError} on a bad config.
 */
export const makeHierarchy = (
  config: HierarchyConfig,
  seeds: Module.SeedSource
): Module.Module<HierarchyInput, HierarchyOutput> => {
  validate(config)
  const d = config.width
  const options = { dropout: config.dropout, activation: config.activation ?? "relu" }
  const gate = config.pool === "gate"
    ? { hidden: Layers.dense(d, d, seeds, { activation: "tanh" }), score: Layers.glorotVariable([d, 1], seeds) }
    : undefined
  const levels = Array.from({ length: config.depth }, () => ({
    local: makeFusionLevel([d, d], d, seeds, options),
    shared: config.sharedMode === "evolve" ? makeFusionLevel([d, d], d, seeds, options) : undefined
  }))
  const children: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  if (gate !== undefined) children.pool = new Map([...gate.hidden.variables, ["score", gate.score]])
  levels.forEach((level, i) => {
    children[`level${i + 1}/local`] = level.local.variables
    if (level.shared !== undefined) children[`level${i + 1}/shared`] = level.shared.variables
  })

  /** h_l^(0): weights over the present local experts (masked mean or gate), then their weighted sum. */
  const pool = (stacked: tf.Tensor3D, mask: tf.Tensor2D, gates: tf.Tensor2D | undefined, training: boolean): tf.Tensor2D => {
    if (gate === undefined) {
      return Layers.weightedSum(stacked, Layers.gatedWeights(mask, gates))
    }
    const [b, m] = stacked.shape
    const scores = tf.reshape(Layers.linear(gate.hidden.apply(tf.reshape(stacked, [b * m, d]), training), gate.score as tf.Tensor2D), [b, m]) as tf.Tensor2D
    return Layers.weightedSum(stacked, Layers.gatedSoftmax(scores, mask, gates))
  }

  return {
    variables: Module.prefixed(children),
    apply: ({ local, localGates, localMask, shared }, training) => {
      if (local.length !== localMask.shape[1]) {
        throw new FusionError({
          field: "local",
          value: String(local.length),
          reason: `expected one local expert per mask column (${localMask.shape[1]})`
        })
      }
      return tf.tidy(() => {
        let hl = pool(tf.stack([...local], 1) as tf.Tensor3D, localMask, localGates, training)
        let hs = shared
        const locals: Array<tf.Tensor2D> = []
        const shareds: Array<tf.Tensor2D> = []
        for (const level of levels) {
          const nextLocal = level.local.apply([hl, hs], training)
          const nextShared = level.shared === undefined ? shared : level.shared.apply([hs, hl], training)
          hl = nextLocal
          hs = nextShared
          locals.push(hl)
          shareds.push(hs)
        }
        return { local: locals, shared: shareds }
      })
    }
  }
}
