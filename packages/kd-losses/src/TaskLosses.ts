/**
 * Task losses of HAEMSA's multi-task objective (spec part 6): L1 / MSE for sentiment regression,
 * cross-entropy for the 7-class task, binary cross-entropy for IEMOCAP's emotion tasks, and the
 * mapping from regression labels to sentiment classes. Every loss takes optional (B) `weights`
 * that say which samples count (0 = excluded, e.g. a sample without that task's label) and
 * returns the weighted mean over the counted samples (0 when none counts). The {@link TaskLosses}
 * service provides these functions to a trainer, which a user swaps with a layer.
 *
 * @since 0.1.0
 */
import { CustomOp, Fused } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Context, Layer } from "effect"
import { TaskLossError } from "./Errors"
import * as OneOp from "./OneOp"
import { weightedMean } from "./Reduction"

/** Number of sentiment classes: 7 (labels clipped to [-3, 3]), 5 ([-2, 2]) or 3 ([-1, 1]). */
export type SentimentClasses = 7 | 5 | 3

const shapeText = (t: tf.Tensor): string => `[${t.shape.join(",")}]`

const fail = (argument: string, value: string, reason: string): never => {
  throw new TaskLossError({ argument, value, reason })
}

const checkTensor = (argument: string, t: unknown): void => {
  if (!(t instanceof tf.Tensor)) fail(argument, String(t), "must be a tf.Tensor")
}

const checkFloat = (argument: string, t: tf.Tensor): void => {
  if (t.dtype !== "float32") fail(argument, t.dtype, "must be float32")
}

/** A (B) or (B, 1) tensor as (B); anything else is an error. */
const asVector = (argument: string, t: tf.Tensor): tf.Tensor1D => {
  checkTensor(argument, t)
  checkFloat(argument, t)
  if (t.rank === 1) return t as tf.Tensor1D
  if (t.rank === 2 && t.shape[1] === 1) return tf.reshape(t, [-1])
  return fail(argument, shapeText(t), "must be a (B) or (B, 1) tensor")
}

const checkWeights = (weights: tf.Tensor | undefined, batch: number): void => {
  if (weights === undefined) return
  checkTensor("weights", weights)
  if (weights.rank !== 1 || weights.shape[0] !== batch) {
    fail("weights", shapeText(weights), `must be a (B) tensor with B = ${batch}`)
  }
}

const regression = (
  elementwise: (difference: tf.Tensor1D) => tf.Tensor1D,
  pred: tf.Tensor1D | tf.Tensor2D,
  target: tf.Tensor1D | tf.Tensor2D,
  weights: tf.Tensor1D | undefined,
  fused?: "l1"
): tf.Scalar =>
  tf.tidy(() => {
    const p = asVector("pred", pred)
    const y = asVector("target", target)
    if (p.shape[0] !== y.shape[0]) {
      fail("target", shapeText(target), `must have the batch size of pred ${shapeText(pred)}`)
    }
    checkWeights(weights, p.shape[0])
    if (fused === "l1" && OneOp.takes(weights, p.shape[0])) return l1OneOp(p, y, weights)
    const composite = () => weightedMean(elementwise(tf.sub(p, y)), weights)
    return fused === undefined ? composite() : Fused.run(fused, [p, y, weights], composite)
  })

/**
 * The (weighted) L1 loss as one op of the tape (see `OneOp`): the composite inside a custom op, and
 * the tape's chain backward (the (weighted) mean's, |x|'s `dy · step(x, -1)`, then the difference's:
 * the gradient for `pred`, and negated for `target`).
 */
const l1OneOp = (p: tf.Tensor1D, y: tf.Tensor1D, weights: tf.Tensor1D | undefined): tf.Scalar => {
  OneOp.stats.l1++
  const op = CustomOp.customOp<tf.Scalar>(([pIn, yIn], save) => {
    const difference = tf.sub(pIn, yIn)
    save(weights === undefined ? [difference] : [difference, weights])
    return {
      value: weightedMean(tf.abs(difference), weights),
      gradFunc: (dy, [sd, sw]) => {
        const dDifference = tf.mul(OneOp.meanGradient(dy, sw, sd.size), tf.step(sd, -1))
        return [dDifference, tf.neg(dDifference)]
      }
    }
  })
  return op(p, y)
}

/**
 * Mean absolute error `mean_i w_i |pred_i - target_i| / sum w` (the usual MSA regression loss).
 * `pred` and `target` are (B) or (B, 1). The fused op "l1" of `@haemsa/nn`: on webgpu one kernel
 * each way.
 *
 * @throws TaskLossError for other shapes, unequal batch sizes, non-float32 inputs or bad weights.
 */
export const l1Loss = (
  pred: tf.Tensor1D | tf.Tensor2D,
  target: tf.Tensor1D | tf.Tensor2D,
  weights?: tf.Tensor1D
): tf.Scalar => regression(tf.abs, pred, target, weights, "l1")

/**
 * Mean squared error `mean_i w_i (pred_i - target_i)^2 / sum w`. `pred` and `target` are (B) or (B, 1).
 *
 * @throws TaskLossError for other shapes, unequal batch sizes, non-float32 inputs or bad weights.
 */
export const mseLoss = (
  pred: tf.Tensor1D | tf.Tensor2D,
  target: tf.Tensor1D | tf.Tensor2D,
  weights?: tf.Tensor1D
): tf.Scalar => regression(tf.square, pred, target, weights)

/** Class ids on the host, checked against the number of classes. */
const checkedIds = (labels: Int32Array, classes: number): Int32Array => {
  for (let i = 0; i < labels.length; i++) {
    const id = labels[i]
    if (id < 0 || id >= classes) fail(`labels[${i}]`, String(id), `must be a class id in [0, ${classes})`)
  }
  return labels
}

/**
 * Softmax cross-entropy `-sum_c y_c log softmax(logits)_c`, stable for any logit magnitude (it
 * uses `logSoftmax`). `labels` are class ids (an int32 (B) tensor, or an `Int32Array`, which is
 * range-checked) or (B, C) one-hot / probability targets. Ids in a tensor are not read back
 * (that would stall a GPU): an id outside [0, C) there has an all-zero one-hot row and adds 0.
 *
 * @throws TaskLossError for non-(B, C) logits, labels of another shape or dtype, or bad weights.
 */
export const crossEntropy = (
  logits: tf.Tensor2D,
  labels: tf.Tensor1D | tf.Tensor2D | Int32Array,
  weights?: tf.Tensor1D
): tf.Scalar => {
  checkTensor("logits", logits)
  checkFloat("logits", logits)
  if (logits.rank !== 2 || logits.shape[1] < 1) fail("logits", shapeText(logits), "must be a (B, C) tensor")
  const [batch, classes] = logits.shape
  if (labels instanceof Int32Array) {
    if (labels.length !== batch) fail("labels", `Int32Array(${labels.length})`, `must have B = ${batch} ids`)
    checkedIds(labels, classes)
  } else {
    checkTensor("labels", labels)
    if (labels.rank === 1) {
      if (labels.dtype !== "int32") {
        fail("labels", labels.dtype, "class ids must be int32 (map regression labels with sentimentClasses)")
      }
      if (labels.shape[0] !== batch) fail("labels", shapeText(labels), `must have B = ${batch} ids`)
    } else if (labels.rank === 2) {
      checkFloat("labels", labels)
      if (labels.shape[0] !== batch || labels.shape[1] !== classes) {
        fail("labels", shapeText(labels), `one-hot targets must have the logits' shape ${shapeText(logits)}`)
      }
    } else {
      fail("labels", shapeText(labels), "must be (B) class ids or (B, C) one-hot targets")
    }
  }
  checkWeights(weights, batch)
  return tf.tidy(() => {
    const targetsOf = () =>
      labels instanceof Int32Array
        ? tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), classes), "float32")
        : labels.rank === 1
          ? tf.cast(tf.oneHot(labels as tf.Tensor1D, classes), "float32")
          : labels
    // class ids (data, never differentiated): one op of the tape on wasm
    if ((labels instanceof Int32Array || labels.rank === 1) && OneOp.takes(weights, batch)) return crossEntropyOneOp(logits, targetsOf, weights)
    const composite = () => {
      const perSample = tf.neg(tf.sum(tf.mul(targetsOf(), tf.logSoftmax(logits)), 1))
      return weightedMean(perSample, weights)
    }
    // class ids in a tensor: the fused op "crossEntropy" of @haemsa/nn
    return labels instanceof tf.Tensor && labels.rank === 1
      ? Fused.run("crossEntropy", [logits, labels as tf.Tensor1D, weights], composite)
      : composite()
  })
}

/**
 * The (weighted) cross-entropy on class ids as one op of the tape (see `OneOp`): the composite
 * inside a custom op, and the tape's chain backward (the (weighted) mean's, the negation's, the sum over
 * classes', the product with the one-hot targets', then logSoftmax's).
 */
const crossEntropyOneOp = (logits: tf.Tensor2D, targetsOf: () => tf.Tensor, weights: tf.Tensor1D | undefined): tf.Scalar => {
  OneOp.stats.crossEntropy++
  const op = CustomOp.customOp<tf.Scalar>(([input], save) => {
    const targets = targetsOf()
    const logProbs = tf.logSoftmax(input as tf.Tensor2D)
    save(weights === undefined ? [targets, logProbs] : [targets, logProbs, weights])
    return {
      value: weightedMean(tf.neg(tf.sum(tf.mul(targets, logProbs), 1)), weights),
      gradFunc: (dy, [st, sl, sw]) => {
        const dRows = tf.neg(OneOp.meanGradient(dy, sw, sl.shape[0]))
        return OneOp.logSoftmaxGradient(tf.mul(OneOp.sumRowsGradient(dRows, sl.shape), st), sl)
      }
    }
  })
  return op(logits)
}

/**
 * Elementwise `max(x, 0) - x z + log(1 + exp(-|x|))`. Its tfjs gradient is the exact
 * `sigmoid(x) - z` for the logits, also at x = 0 (tfjs takes d|x|/dx = -1 and d relu/dx = 0 there),
 * and `-x` for the targets.
 */
const bceElementwise = (x: tf.Tensor, z: tf.Tensor): tf.Tensor =>
  tf.add(tf.sub(tf.relu(x), tf.mul(x, z)), tf.log1p(tf.exp(tf.neg(tf.abs(x)))))

/**
 * Binary cross-entropy on logits, `-(z log sigmoid(x) + (1 - z) log(1 - sigmoid(x)))`, in the
 * stable form `max(x, 0) - x z + log(1 + exp(-|x|))` (finite for any logit), averaged over all
 * elements. `logits` and `targets` have the same shape, e.g. (B) or (B, K) for K binary tasks
 * (IEMOCAP's four emotions); targets are 0/1 or probabilities. `weights` are (B) (one per sample,
 * shared by its K tasks) or of the logits' shape (one per task and sample).
 *
 * @throws TaskLossError for unequal shapes, non-float32 inputs, a scalar, or bad weights.
 */
export const binaryCrossEntropyWithLogits = (
  logits: tf.Tensor,
  targets: tf.Tensor,
  weights?: tf.Tensor
): tf.Scalar => {
  checkTensor("logits", logits)
  checkTensor("targets", targets)
  checkFloat("logits", logits)
  checkFloat("targets", targets)
  if (logits.rank < 1) fail("logits", shapeText(logits), "must have a batch axis")
  if (!tf.util.arraysEqual(logits.shape, targets.shape)) {
    fail("targets", shapeText(targets), `must have the logits' shape ${shapeText(logits)}`)
  }
  const batch = logits.shape[0] as number
  if (weights !== undefined) {
    checkTensor("weights", weights)
    const perSample = weights.rank === 1 && weights.shape[0] === batch
    if (!perSample && !tf.util.arraysEqual(weights.shape, logits.shape)) {
      fail("weights", shapeText(weights), `must be (B) with B = ${batch}, or the logits' shape ${shapeText(logits)}`)
    }
  }
  return tf.tidy(() => {
    const losses = bceElementwise(logits, targets)
    if (weights === undefined || weights.rank === logits.rank) return weightedMean(losses, weights)
    const w = tf.reshape(weights, [batch, ...logits.shape.slice(1).map(() => 1)])
    return weightedMean(losses, w)
  })
}

/** numpy's `round`: to the nearest integer, ties to the even one. */
const roundHalfEven = (x: number): number => {
  const floor = Math.floor(x)
  const fraction = x - floor
  if (fraction < 0.5) return floor
  if (fraction > 0.5) return floor + 1
  return floor % 2 === 0 ? floor : floor + 1
}

const classIds = (values: ArrayLike<number>, classes: SentimentClasses): Int32Array => {
  const half = (classes - 1) / 2
  const out = new Int32Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const y = values[i]
    if (!Number.isFinite(y)) fail(`y[${i}]`, String(y), "a sentiment label must be finite")
    out[i] = roundHalfEven(Math.min(half, Math.max(-half, y))) + half
  }
  return out
}

/**
 * Regression labels in [-3, 3] to class ids, as the MMSA metrics compute Acc-7 / Acc-5 / Acc-3:
 * `round(clip(y, -k, k)) + k` with k = (classes - 1) / 2 and numpy's round-half-to-even, so 7
 * classes give ids 0..6 (-3 -> 0, 0 -> 3, 3 -> 6; 0.5 -> 3, 1.5 -> 5, 2.5 -> 5). A tensor is read
 * back to the host (labels come from there) and the ids return as an int32 tensor.
 *
 * @throws TaskLossError for a non-finite label, a tensor that is not (B), or another class count.
 */
export function sentimentClasses(y: Float32Array | Float64Array | ReadonlyArray<number>, classes?: SentimentClasses): Int32Array
export function sentimentClasses(y: tf.Tensor1D, classes?: SentimentClasses): tf.Tensor1D
export function sentimentClasses(
  y: Float32Array | Float64Array | ReadonlyArray<number> | tf.Tensor1D,
  classes: SentimentClasses = 7
): Int32Array | tf.Tensor1D {
  if (classes !== 7 && classes !== 5 && classes !== 3) fail("classes", String(classes), "must be 7, 5 or 3")
  if (y instanceof tf.Tensor) {
    if (y.rank !== 1) fail("y", shapeText(y), "must be a (B) tensor of regression labels")
    return tf.tensor1d(classIds(y.dataSync(), classes), "int32")
  }
  return classIds(y, classes)
}

/**
 * The task losses of the multi-task objective and the label-to-class mapping used with them, as an
 * Effect service, so a user can swap one without touching the trainer:
 * `Layer.succeed(TaskLosses, { ...TaskLosses.default, l1: myL1 })`. The service values are the plain
 * tensor functions.
 */
export class TaskLosses extends Context.Service<TaskLosses, {
  /** {@link l1Loss} */
  readonly l1: typeof l1Loss
  /** {@link mseLoss} */
  readonly mse: typeof mseLoss
  /** {@link crossEntropy} */
  readonly crossEntropy: typeof crossEntropy
  /** {@link binaryCrossEntropyWithLogits} */
  readonly binaryCrossEntropyWithLogits: typeof binaryCrossEntropyWithLogits
  /** {@link sentimentClasses} */
  readonly sentimentClasses: typeof sentimentClasses
}>()("@haemsa/kd-losses/TaskLosses") {
  /** The implementation of this package. */
  static readonly default: TaskLosses["Service"] = {
    l1: l1Loss,
    mse: mseLoss,
    crossEntropy,
    binaryCrossEntropyWithLogits,
    sentimentClasses
  }
  /** Provides {@link TaskLosses.default}. */
  static readonly layer: Layer.Layer<TaskLosses> = Layer.succeed(this, this.default)
}
