/**
 * The losses as one op of the tape on the wasm backend. A training step records every kernel of a
 * loss's composite on its tape (a cross-entropy about 7, the cross-modal KL about 11 per student),
 * and each costs tens of microseconds with its gradient whatever its size; the losses are a few
 * dozen numbers. On wasm, the cross-modal KL (with sample weights, float32 (B)), the cross-entropy
 * on class ids and the L1 loss (unweighted or with such weights) run their composite inside a custom op (off the tape), and their
 * backward pass runs the chain the tape would run, with the same kernels in the same order (the casts
 * and reshapes that change no value left out): the same numbers bit for bit (`WasmKl.test.ts`,
 * `WasmTaskLosses.test.ts`). Their weighted means run on `WasmWeightedMean` of `@haemsa/nn`.
 *
 * @since 0.4.0
 */
import { Fused, WasmWeightedMean } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"

const enabledSwitch = Fused.flagSwitch("HAEMSA_WASM_ONE_OP_LOSSES")

/** Switch the one-op losses off (or back on): the losses then run their composites, to compare. On by default. */
export const setEnabled = (enabled: boolean): void => enabledSwitch.setEnabled(enabled)

/** How many times each loss ran as one op (tests use it to see which path ran). */
export const stats = { kl: 0, crossEntropy: 0, l1: 0 }

/**
 * Whether a loss of a batch of `batch` samples with these sample weights runs as one op here:
 * switched on, on wasm, at least one sample (an empty batch keeps the composite, whose value is 0 and
 * which tfjs cannot differentiate), unweighted or with float32 (B) weights.
 */
export const takes = (weights: tf.Tensor | undefined, batch: number): boolean =>
  batch > 0 && (weights === undefined || (weights.dtype === "float32" && weights.rank === 1)) && enabledSwitch.enabled() &&
  WasmWeightedMean.active()

/**
 * The gradient of `weightedMean(values, weights)` for its (n) values: `WasmWeightedMean`'s, or
 * without weights the plain mean's as tfjs's `Mean` gradient computes it, `dy · 1 / n`.
 */
export const meanGradient = (dy: tf.Tensor, weights: tf.Tensor | undefined, n: number): tf.Tensor =>
  weights === undefined ? tf.div(tf.mul(tf.reshape(dy, [1]), tf.ones([n], "float32")), n) : WasmWeightedMean.gradient(dy, weights)

/** The gradient of `sum(x, 1)` for x of `shape` (B, C): each row's gradient in every class, times ones as tfjs's `Sum` gradient does. */
export const sumRowsGradient = (dRows: tf.Tensor, shape: ReadonlyArray<number>): tf.Tensor =>
  tf.mul(tf.reshape(dRows, [-1, 1]), tf.ones(shape as Array<number>, "float32"))

/** The gradient of `logSoftmax(x)` (over the last axis of (B, C)) from its value: tfjs's own, `dy - sum(dy) · exp(value)`. */
export const logSoftmaxGradient = (dy: tf.Tensor, value: tf.Tensor): tf.Tensor =>
  tf.sub(dy, tf.mul(tf.sum(dy, 1, true), tf.exp(value)))
