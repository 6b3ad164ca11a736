/**
 * Evaluation metrics exactly as the MMSA toolkit (`__eval_mosei_regression`) and MulT
 * (`eval_iemocap`) compute them, as pure functions on plain arrays.
 *
 * MMSA evaluates float32 tensors, so predictions and labels are first rounded to float32
 * (`Math.fround`) and every comparison (`y != 0`, `p > 0`, rounding) is made on those values.
 * Values are returned unrounded (MMSA rounds to 4 decimals only for display).
 *
 * @since 0.1.0
 */
import { InvalidOption } from "./Errors"

/** MMSA's regression metrics for MOSI / MOSEI (labels in [-3, 3]). */
export interface RegressionMetrics {
  /** Binary accuracy of `p >= 0` vs `y >= 0` over all samples. */
  readonly acc2_has0: number
  /** Binary accuracy of `p > 0` vs `y > 0` over the samples with `y != 0` (NaN when every label is 0). */
  readonly acc2_non0: number
  /** Support-weighted F1 of `y >= 0` vs `p >= 0` over all samples. */
  readonly f1_has0: number
  /** Support-weighted F1 of `y > 0` vs `p > 0` over the samples with `y != 0` (NaN when every label is 0). */
  readonly f1_non0: number
  /** 5-class accuracy: `round(clip(p, -2, 2)) == round(clip(y, -2, 2))`, half to even. */
  readonly acc5: number
  /** 7-class accuracy: `round(clip(p, -3, 3)) == round(clip(y, -3, 3))`, half to even. */
  readonly acc7: number
  /** Mean absolute error, not clipped. */
  readonly mae: number
  /** Pearson correlation (`np.corrcoef(p, y)[0][1]`); NaN when predictions or labels are constant. */
  readonly corr: number
}

/** Accuracy and support-weighted F1 of one binary emotion (IEMOCAP). */
export interface EmotionScore {
  readonly acc: number
  readonly f1: number
}

/**
 * Round to the nearest integer, ties to even, as `np.round` does: 0.5 -> 0, 1.5 -> 2, -2.5 -> -2.
 * Returns +0 rather than -0.
 */
export const roundHalfEven = (x: number): number => {
  const r = Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x)
  return r === 0 ? 0 : r
}

/** Fraction of positions where `truth[i] === pred[i]` (booleans compared as 0/1). */
export const accuracy = (
  truth: ArrayLike<number | boolean>,
  pred: ArrayLike<number | boolean>
): number => {
  checkPair(truth, pred, "truth", "pred")
  let hits = 0
  for (let i = 0; i < truth.length; i++) if (Number(truth[i]) === Number(pred[i])) hits++
  return hits / truth.length
}

/**
 * scikit-learn's `f1_score(truth, pred, average="weighted")`: the F1 of each class present in
 * `truth` or `pred`, averaged with the class's true support as weight. A class never predicted
 * (or never correct) has F1 0 (`zero_division` -> 0).
 */
export const weightedF1 = (
  truth: ArrayLike<number | boolean>,
  pred: ArrayLike<number | boolean>
): number => {
  checkPair(truth, pred, "truth", "pred")
  const classes = new Map<number, { tp: number; fp: number; fn: number; support: number }>()
  const entry = (c: number) => {
    let e = classes.get(c)
    if (e === undefined) {
      e = { tp: 0, fp: 0, fn: 0, support: 0 }
      classes.set(c, e)
    }
    return e
  }
  for (let i = 0; i < truth.length; i++) {
    const t = Number(truth[i])
    const p = Number(pred[i])
    entry(t).support++
    if (t === p) {
      entry(t).tp++
    } else {
      entry(t).fn++
      entry(p).fp++
    }
  }
  let sum = 0
  for (const { fn, fp, support, tp } of classes.values()) {
    // F1 = 2 tp / (2 tp + fp + fn); 0 when the class has no true and no predicted sample correct
    const denominator = 2 * tp + fp + fn
    sum += support * (denominator === 0 ? 0 : (2 * tp) / denominator)
  }
  return sum / truth.length
}

/**
 * Pearson correlation as `np.corrcoef(x, y)[0][1]` (float64, clipped to [-1, 1]).
 * NaN when either side is constant (numpy divides by a zero standard deviation).
 */
export const pearson = (x: ArrayLike<number>, y: ArrayLike<number>): number => {
  checkPair(x, y, "x", "y")
  const n = x.length
  let mx = 0
  let my = 0
  for (let i = 0; i < n; i++) {
    mx += x[i]
    my += y[i]
  }
  mx /= n
  my /= n
  let sxy = 0
  let sxx = 0
  let syy = 0
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx
    const dy = y[i] - my
    sxy += dx * dy
    sxx += dx * dx
    syy += dy * dy
  }
  if (sxx === 0 || syy === 0) return NaN
  const r = sxy / Math.sqrt(sxx) / Math.sqrt(syy)
  return Math.max(-1, Math.min(1, r))
}

/**
 * MMSA's `__eval_mosei_regression` on predictions `preds` and labels `labels` (same length, n >= 1,
 * finite). Both are rounded to float32 first. `acc2_non0`/`f1_non0` are NaN when every label is 0;
 * `corr` is NaN when predictions or labels are constant.
 *
 * @throws InvalidOption naming `preds` or `labels` on an empty input, a length mismatch or a
 * non-finite value.
 */
export const regressionMetrics = (preds: ArrayLike<number>, labels: ArrayLike<number>): RegressionMetrics => {
  checkValues(preds, "preds")
  checkValues(labels, "labels")
  if (preds.length !== labels.length) {
    throw new InvalidOption({
      option: "labels",
      value: `length ${labels.length}`,
      reason: `must have the length of preds (${preds.length})`
    })
  }
  const p = Float32Array.from(preds)
  const y = Float32Array.from(labels)
  const n = p.length

  let absSum = 0
  let hit7 = 0
  let hit5 = 0
  const truthHas0 = new Uint8Array(n)
  const predHas0 = new Uint8Array(n)
  const truthNon0: Array<boolean> = []
  const predNon0: Array<boolean> = []
  for (let i = 0; i < n; i++) {
    absSum += Math.abs(Math.fround(p[i] - y[i]))
    if (roundHalfEven(clip(p[i], 3)) === roundHalfEven(clip(y[i], 3))) hit7++
    if (roundHalfEven(clip(p[i], 2)) === roundHalfEven(clip(y[i], 2))) hit5++
    truthHas0[i] = y[i] >= 0 ? 1 : 0
    predHas0[i] = p[i] >= 0 ? 1 : 0
    if (y[i] !== 0) {
      truthNon0.push(y[i] > 0)
      predNon0.push(p[i] > 0)
    }
  }
  const non0 = truthNon0.length > 0
  return {
    acc2_has0: accuracy(truthHas0, predHas0),
    acc2_non0: non0 ? accuracy(truthNon0, predNon0) : NaN,
    f1_has0: weightedF1(truthHas0, predHas0),
    f1_non0: non0 ? weightedF1(truthNon0, predNon0) : NaN,
    acc5: hit5 / n,
    acc7: hit7 / n,
    mae: absSum / n,
    corr: pearson(p, y)
  }
}

/**
 * MulT's `eval_iemocap`: per emotion, the predicted class is the argmax of the two outputs
 * (`scores` laid out (n, E, 2), logits or probabilities; ties go to class 0 like `np.argmax`), or,
 * when `scores` is (n, E), the probability of the positive class (predicted 1 when > 0.5, which is
 * the same argmax over `[1 - s, s]`). `labels` is (n, E) with 0/1 values. Returns accuracy and
 * support-weighted F1 per emotion name.
 *
 * @throws InvalidOption naming the argument on an empty input, a size mismatch, a non-finite score
 * or a label other than 0/1.
 */
export const emotionMetrics = (
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  emotions: ReadonlyArray<string>
): Record<string, EmotionScore> => {
  const e = emotions.length
  if (e === 0) throw new InvalidOption({ option: "emotions", value: "[]", reason: "must name at least one emotion" })
  if (labels.length === 0 || labels.length % e !== 0) {
    throw new InvalidOption({
      option: "labels",
      value: `length ${labels.length}`,
      reason: `must be a non-empty (n, ${e}) array`
    })
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) {
      throw new InvalidOption({ option: "labels", value: String(labels[i]), reason: `must be 0 or 1 (index ${i})` })
    }
  }
  const n = labels.length / e
  const paired = scores.length === 2 * n * e
  if (!paired && scores.length !== n * e) {
    throw new InvalidOption({
      option: "scores",
      value: `length ${scores.length}`,
      reason: `must be (${n}, ${e}, 2) or (${n}, ${e}) to match labels`
    })
  }
  checkValues(scores, "scores")
  const result: Record<string, EmotionScore> = {}
  for (let k = 0; k < e; k++) {
    const truth = new Uint8Array(n)
    const pred = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      truth[i] = labels[i * e + k]
      if (paired) {
        const o = (i * e + k) * 2
        pred[i] = scores[o + 1] > scores[o] ? 1 : 0
      } else {
        pred[i] = scores[i * e + k] > 0.5 ? 1 : 0
      }
    }
    result[emotions[k]] = { acc: accuracy(truth, pred), f1: weightedF1(truth, pred) }
  }
  return result
}

const clip = (x: number, bound: number): number => Math.max(-bound, Math.min(bound, x))

const checkValues = (values: ArrayLike<number>, name: string): void => {
  if (values.length === 0) throw new InvalidOption({ option: name, value: "[]", reason: "must not be empty" })
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new InvalidOption({ option: name, value: String(values[i]), reason: `must be finite (index ${i})` })
    }
  }
}

const checkPair = (a: ArrayLike<unknown>, b: ArrayLike<unknown>, nameA: string, nameB: string): void => {
  if (a.length === 0) throw new InvalidOption({ option: nameA, value: "[]", reason: "must not be empty" })
  if (a.length !== b.length) {
    throw new InvalidOption({
      option: nameB,
      value: `length ${b.length}`,
      reason: `must have the length of ${nameA} (${a.length})`
    })
  }
}
