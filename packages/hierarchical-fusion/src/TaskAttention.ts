/**
 * Task-driven attention (HAEMSA part 4): for each task k a learned query `q_k` attends over the
 * expert outputs `E = {h_t, h_a, h_v, h_s, h_l^(1..n)}`, masked for missing modalities:
 * `alpha_k = softmax_j(q_k · W_k e_j / sqrt(d_h))` over the available experts,
 * `z_k = sum_j alpha_k,j e_j`; with optional prior weights `gates` g_j (e.g. learned modality gates)
 * `alpha_k,j ∝ g_j exp(score_k,j)`, so a gate near 0 switches expert j off. The weights come back with `z` so users see which expert each task
 * used. Since `q_k · W_k e_j = (q_k W_k) · e_j`, all tasks' scores are one matMul of the stacked
 * experts with the (K, d_h) matrix of rows `q_k W_k`.
 *
 * Masked experts get weight exactly 0 (their scores are replaced, not offset). A sample with no
 * available expert gets all-zero weights and `z_k = 0` (HAEMSA always has the unified expert and the
 * levels available, so this does not happen there). With `enabled: false` the weights are the masked
 * uniform mean over the available experts, the same for every task, and there are no variables.
 *
 * @since 0.1.0
 */
import { Layers } from "@haemsa/nn"
import type { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { checkInt, FusionError } from "./Errors"

/** Configuration of the task attention. */
export interface TaskAttentionConfig {
  /** Task names (non-empty, unique), in the order of the weights' K axis. */
  readonly tasks: ReadonlyArray<string>
  /** d_h: the width of every expert output. */
  readonly dim: number
  /** false: a masked uniform mean instead of learned attention. */
  readonly enabled: boolean
}

/** Input of the attention. */
export interface TaskAttentionInput {
  /** The J expert outputs, each (B, d_h). */
  readonly experts: ReadonlyArray<tf.Tensor2D>
  /** (B, J) 1 where the expert is available. */
  readonly mask: tf.Tensor2D
  /**
   * Optional (B, J) or (1, J) prior weights in (0, 1] (e.g. learned modality gates): the weights become
   * `alpha_k,j ∝ g_j exp(score_k,j)` (uniform mode: `∝ g_j`), so a gate near 0 switches an expert off.
   * Absent: all ones.
   */
  readonly gates?: tf.Tensor2D
}

/** Output of the attention. */
export interface TaskAttentionOutput {
  /** z_k (B, d_h) per task. */
  readonly z: Record<string, tf.Tensor2D>
  /** (B, K, J) attention weights: rows sum to 1 over the available experts, 0 on masked ones. */
  readonly weights: tf.Tensor3D
}

/** Check an attention config; throws {@link FusionError} naming the first bad field. */
export const validate = (config: TaskAttentionConfig): void => {
  if (config.tasks.length === 0) throw new FusionError({ field: "tasks", value: "[]", reason: "no task" })
  const seen = new Set<string>()
  for (const task of config.tasks) {
    if (task.length === 0 || seen.has(task)) {
      throw new FusionError({ field: "tasks", value: JSON.stringify(task), reason: "task names must be non-empty and unique" })
    }
    seen.add(task)
  }
  checkInt("dim", config.dim, 1)
}

/**
 * The task attention. Variables "<task>/query" (1, d_h) and "<task>/key" (d_h, d_h) per task when
 * enabled. Throws {@link FusionError} on a bad config, or from `apply` when the experts do not match
 * the mask.
 */
export const makeTaskAttention = (
  config: TaskAttentionConfig,
  seeds: Module.SeedSource
): Module.Module<TaskAttentionInput, TaskAttentionOutput> => {
  validate(config)
  const d = config.dim
  const k = config.tasks.length
  const params = config.enabled
    ? config.tasks.map(() => ({ query: Layers.glorotVariable([1, d], seeds), key: Layers.glorotVariable([d, d], seeds) }))
    : []
  const variables = new Map<string, tf.Variable>()
  config.tasks.forEach((task, i) => {
    if (params[i] === undefined) return
    variables.set(`${task}/query`, params[i].query)
    variables.set(`${task}/key`, params[i].key)
  })
  const scale = 1 / Math.sqrt(d)

  /** (B, K, J) weights. */
  const attend = (stacked: tf.Tensor3D, mask: tf.Tensor2D, gates: tf.Tensor2D | undefined): tf.Tensor3D => {
    const [b, j] = stacked.shape
    if (!config.enabled) {
      const uniform = Layers.gatedWeights(mask, gates)
      return tf.tile(tf.expandDims(uniform, 1), [1, k, 1]) as tf.Tensor3D
    }
    // Rows q_k W_k (K, d), then every score at once: (B·J, d) x (d, K).
    const rows = tf.concat(params.map((p) => Layers.linear(p.query as tf.Tensor2D, p.key as tf.Tensor2D)), 0)
    const scores = Layers.linear(tf.reshape(stacked, [b * j, d]), tf.transpose(rows))
    const logits = tf.mul(tf.transpose(tf.reshape(scores, [b, j, k]), [0, 2, 1]), scale)
    // (B, J) mask and gates as (B, 1, J), broadcast over the K tasks
    return Layers.gatedSoftmax(logits as tf.Tensor3D, tf.expandDims(mask, 1), gates === undefined ? undefined : tf.expandDims(gates, 1))
  }

  return {
    variables,
    apply: ({ experts, gates, mask }) => {
      if (experts.length !== mask.shape[1]) {
        throw new FusionError({
          field: "experts",
          value: String(experts.length),
          reason: `expected one expert per mask column (${mask.shape[1]})`
        })
      }
      return tf.tidy(() => {
        const stacked = tf.stack([...experts], 1) as tf.Tensor3D
        const weights = attend(stacked, mask, gates)
        const z = tf.unstack(tf.matMul(weights, stacked), 1) as Array<tf.Tensor2D>
        return { z: Object.fromEntries(config.tasks.map((task, i) => [task, z[i]])), weights }
      })
    }
  }
}
