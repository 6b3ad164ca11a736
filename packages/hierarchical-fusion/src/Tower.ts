/**
 * The adaptive tower network (HAEMSA part 5): one MLP per task on `z_k`, with depth and width from
 * the genome. `depth` hidden layers of `width` units (activation, dropout), then a linear head to
 * `outDim`; depth 0 is a linear head.
 *
 * @since 0.1.0
 */
import { Layers, Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { checkActivation, checkInt, checkRate } from "./Errors"

/** Configuration of a tower. */
export interface TowerConfig {
  /** Hidden layers, 0-3. */
  readonly depth: number
  /** Units of each hidden layer (>= 1). */
  readonly width: number
  /** Output size (1 for regression, C for C-class logits). */
  readonly outDim: number
  /** Dropout rate after each hidden layer, in [0, 1). */
  readonly dropout: number
  /** Activation of the hidden layers. */
  readonly activation: Layers.Activation
}

/** Check a tower config; throws `FusionError` naming the first bad field. */
export const validate = (config: TowerConfig, inDim: number): void => {
  checkInt("depth", config.depth, 0, 3)
  checkInt("width", config.width, 1)
  checkInt("outDim", config.outDim, 1)
  checkInt("inDim", inDim, 1)
  checkRate("dropout", config.dropout)
  checkActivation("activation", config.activation)
}

/**
 * A tower `(B, inDim) -> (B, outDim)`. Variables "hidden{i}/kernel", "hidden{i}/bias" and
 * "head/kernel", "head/bias". Throws `FusionError` on a bad config.
 */
export const makeTower = (
  config: TowerConfig,
  inDim: number,
  seeds: Module.SeedSource
): Module.Module<tf.Tensor2D, tf.Tensor2D> => {
  validate(config, inDim)
  const hidden = Array.from({ length: config.depth }, (_, i) =>
    Layers.dense(i === 0 ? inDim : config.width, config.width, seeds, { activation: config.activation }))
  const head = Layers.dense(config.depth === 0 ? inDim : config.width, config.outDim, seeds)
  const children: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  hidden.forEach((layer, i) => (children[`hidden${i}`] = layer.variables))
  children.head = head.variables
  return {
    variables: Module.prefixed(children),
    apply: (x, training) =>
      tf.tidy(() => {
        let h = x
        for (const layer of hidden) h = Layers.dropout(layer.apply(h, training), config.dropout, training, seeds)
        return head.apply(h, training)
      })
  }
}
