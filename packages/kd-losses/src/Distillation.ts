/**
 * Cross-modal knowledge distillation (HAEMSA spec, part 7): the unified expert is the teacher with
 * distribution `p_s = softmax(teacher / T)`, each modality expert a student with
 * `p_m = softmax(student / T)`, and the loss is `KL(p_s || p_m) = sum_c p_s (log p_s - log p_m)`.
 * Everything is computed from logits with `logSoftmax` (never `log(softmax)`), so logits of
 * magnitude 1e4 give finite values and gradients. The {@link Distillation} service provides these
 * functions to a trainer, which a user swaps with a layer.
 *
 * @since 0.1.0
 */
import { CustomOp, Fused, WasmWeightedMean } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Context, Layer } from "effect"
import { DistillationError } from "./Errors"
import { stopGradient } from "./Gradient"
import * as OneOp from "./OneOp"
import { weightedMean } from "./Reduction"

/** How per-sample losses are reduced over the batch: mean (default), sum, or none (a (B) tensor). */
export type Reduction = "mean" | "sum" | "none"

/** Options of {@link klDivergence}. */
export interface KlOptions {
  /** Softmax temperature T > 0 applied to both teacher and student logits. Default 1. */
  readonly temperature?: number
  /**
   * Whether the teacher logits receive gradient from the KL term. Default false: the teacher is a
   * fixed target for this term (its gradient is exactly zero) and only the student is pulled.
   */
  readonly teacherGradient?: boolean
  /** Multiply by T^2 so gradient magnitudes do not shrink as T grows (Hinton et al.). Default true. */
  readonly scaleByTemperatureSquared?: boolean
  /** Reduction over the batch. Default "mean". */
  readonly reduction?: Reduction
}

/** Student logits, one (B, C) tensor per modality: a list, or a record keyed by modality name. */
export type Students = ReadonlyArray<tf.Tensor2D> | Readonly<Record<string, tf.Tensor2D>>

/**
 * Which samples count for each student, (B) weights (1 = modality present, 0 = missing):
 * one tensor for every student, a list aligned with a list of students, or a record keyed like a
 * record of students. A missing entry means every sample of that student counts.
 */
export type SampleWeights =
  | tf.Tensor1D
  | ReadonlyArray<tf.Tensor1D | undefined>
  | Readonly<Record<string, tf.Tensor1D | undefined>>

/** Options of {@link crossModalKl}: those of {@link klDivergence} (each term is a mean) and the sample weights. */
export interface CrossModalOptions extends Omit<KlOptions, "reduction"> {
  /** Which samples count per student; a modality missing for a sample contributes nothing. */
  readonly sampleWeights?: SampleWeights
}

const shapeText = (t: tf.Tensor): string => `[${t.shape.join(",")}]`

const fail = (argument: string, value: string, reason: string): never => {
  throw new DistillationError({ argument, value, reason })
}

interface Resolved {
  readonly temperature: number
  readonly teacherGradient: boolean
  readonly scale: boolean
  readonly reduction: Reduction
}

const resolveOptions = (options: KlOptions): Resolved => {
  const temperature = options.temperature ?? 1
  if (typeof temperature !== "number" || !Number.isFinite(temperature) || temperature <= 0) {
    fail("temperature", String(temperature), "must be a finite number > 0")
  }
  const reduction = options.reduction ?? "mean"
  if (reduction !== "mean" && reduction !== "sum" && reduction !== "none") {
    fail("reduction", String(reduction), `must be "mean", "sum" or "none"`)
  }
  return {
    temperature,
    teacherGradient: options.teacherGradient ?? false,
    scale: options.scaleByTemperatureSquared ?? true,
    reduction
  }
}

const checkLogits = (argument: string, logits: tf.Tensor): void => {
  if (!(logits instanceof tf.Tensor)) fail(argument, String(logits), "must be a tf.Tensor")
  if (logits.rank !== 2) fail(argument, shapeText(logits), "must be a rank-2 (batch, classes) tensor of logits")
  if ((logits.shape as ReadonlyArray<number>)[1] < 1) fail(argument, shapeText(logits), "must have at least one class")
  if (logits.dtype !== "float32") fail(argument, logits.dtype, "logits must be float32")
}

const checkPair = (teacherLogits: tf.Tensor, studentArgument: string, studentLogits: tf.Tensor): void => {
  checkLogits("teacherLogits", teacherLogits)
  checkLogits(studentArgument, studentLogits)
  if (teacherLogits.shape[0] !== studentLogits.shape[0] || teacherLogits.shape[1] !== studentLogits.shape[1]) {
    fail(studentArgument, shapeText(studentLogits), `must have the teacher's shape ${shapeText(teacherLogits)}`)
  }
}

/**
 * Clamps the rounding-level negatives of a KL value to 0 while passing the gradient straight
 * through: the true KL is >= 0, so a value below 0 is float error, and its gradient is still the
 * analytic one.
 */
const nonNegative = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc) => ({
  value: tf.relu(x as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.clone(dy)
}))

/** Teacher log-probabilities at temperature T, with the teacher gradient stopped unless asked for. */
const teacherLogProbs = (teacherLogits: tf.Tensor2D, o: Resolved): tf.Tensor2D => {
  const teacher = o.teacherGradient ? teacherLogits : stopGradient(teacherLogits)
  return tf.logSoftmax(o.temperature === 1 ? teacher : tf.div(teacher, o.temperature))
}

/** The teacher's log-probabilities and probabilities (computed once for every student). */
interface Teacher {
  readonly logP: tf.Tensor2D
  readonly p: tf.Tensor2D
}

const teacherOf = (teacherLogits: tf.Tensor2D, o: Resolved): Teacher => {
  const logP = teacherLogProbs(teacherLogits, o)
  return { logP, p: tf.exp(logP) }
}

/** Student log-probabilities at temperature T. */
const studentLogProbs = (studentLogits: tf.Tensor2D, o: Resolved): tf.Tensor2D =>
  tf.logSoftmax(o.temperature === 1 ? studentLogits : tf.div(studentLogits, o.temperature))

/** Whether the KL is multiplied by T^2 (asked for, and T is not 1). */
const scaled = (o: Resolved): boolean => o.scale && o.temperature !== 1

/** Per-sample KL(p_s || p_m), (B), from the student's log-probabilities, including the optional T^2 factor. */
const rowsOf = ({ logP, p }: Teacher, logQ: tf.Tensor2D, o: Resolved): tf.Tensor1D => {
  const rows = nonNegative(tf.sum(tf.mul(p, tf.sub(logP, logQ)), 1)) as tf.Tensor1D
  return scaled(o) ? tf.mul(rows, o.temperature * o.temperature) : rows
}

/** Per-sample KL(p_s || p_m), (B), including the optional T^2 factor. */
const klRows = (teacher: Teacher, studentLogits: tf.Tensor2D, o: Resolved): tf.Tensor1D =>
  rowsOf(teacher, studentLogProbs(studentLogits, o), o)

/**
 * The student's logits with the rows of the absent samples (weight 0) replaced by zeros before any
 * arithmetic, so that logits a missing modality left non-finite give neither a NaN value nor a NaN
 * gradient (`where` broadcasts the (B, 1) condition over the classes).
 */
const presentRows = (logits: tf.Tensor2D, weights: tf.Tensor1D): tf.Tensor2D => tf.where(presence(weights), logits, tf.zerosLike(logits))

/** (B, 1) whether each sample counts (weight not 0). */
const presence = (weights: tf.Tensor): tf.Tensor => tf.reshape(tf.notEqual(weights, 0), [-1, 1])

/** The entries of {@link crossModalKl} that all carry sample weights. */
interface WeightedEntry extends StudentEntry {
  readonly weights: tf.Tensor1D
}

/**
 * {@link crossModalKl}'s composite as one op of the tape (see `OneOp`; every student weighted, the
 * teacher's gradient stopped). Its backward pass runs each student's chain and gives the teacher
 * zeros: the tape ran the teacher's whole chain (exp, logSoftmax, division) only to reach the zero
 * gradient that `stopGradient` gives it.
 */
const crossModalOneOp = (teacherLogits: tf.Tensor2D, entries: ReadonlyArray<WeightedEntry>, o: Resolved): tf.Scalar => {
  OneOp.stats.kl++
  const weights = entries.map((e) => e.weights)
  const op = CustomOp.customOp<tf.Scalar>(([teacherIn, ...studentsIn], save) => {
    const teacher = teacherOf(teacherIn as tf.Tensor2D, o)
    const logQs = studentsIn.map((logits, k) => studentLogProbs(presentRows(logits as tf.Tensor2D, weights[k]), o))
    const terms = logQs.map((logQ, k) => weightedMean(rowsOf(teacher, logQ, o), weights[k]))
    save([teacher.p, ...logQs, ...weights])
    return {
      value: (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar,
      gradFunc: (dy, [p, ...rest]) => {
        const n = logQs.length
        const studentGrads = rest.slice(0, n).map((logQ, k) => {
          const w = rest[n + k]
          // weightedMean's gradient for the rows (addN passes dy to every term as it is), then T^2
          const dMean = WasmWeightedMean.gradient(dy, w)
          const dRows = scaled(o) ? tf.mul(dMean, o.temperature * o.temperature) : dMean
          // the sum over classes, then p · (logP - logQ): times p, negated for logQ; then logSoftmax
          const dLogQ = tf.neg(tf.mul(OneOp.sumRowsGradient(dRows, logQ.shape), p))
          const dScaled = OneOp.logSoftmaxGradient(dLogQ, logQ)
          const dSafe = o.temperature === 1 ? dScaled : tf.div(dScaled, o.temperature)
          // where's gradient (times the condition) plus zerosLike's (zeros)
          const condition = tf.cast(tf.broadcastTo(presence(w), logQ.shape), "float32")
          return tf.add(tf.mul(dSafe, condition), tf.zerosLike(dSafe))
        })
        return [tf.zerosLike(p), ...studentGrads]
      }
    }
  })
  return op(teacherLogits, ...entries.map((e) => e.logits))
}

/** Whether {@link crossModalOneOp} takes these arguments here. */
const oneOpHere = (entries: ReadonlyArray<StudentEntry>, o: Resolved): entries is ReadonlyArray<WeightedEntry> =>
  entries.length > 0 && !o.teacherGradient && entries.every((e) => e.weights !== undefined && OneOp.takes(e.weights, e.logits.shape[0]))

/**
 * `KL(p_s || p_m)` with `p_s = softmax(teacherLogits / T)` (the unified expert) and
 * `p_m = softmax(studentLogits / T)` (a modality expert), both (B, C), times T^2 by default,
 * reduced over the batch ("mean" by default: a scalar; "none": the (B) per-sample values).
 * With `teacherGradient: false` (default) the teacher's gradient is exactly zero and the student's is
 * the exact one, `T (p_m - p_s)` per sample before the batch reduction.
 *
 * @throws DistillationError for a non-rank-2 or non-float32 input, unequal shapes, a temperature
 * that is not a finite number > 0, or an unknown reduction.
 */
export const klDivergence = (
  teacherLogits: tf.Tensor2D,
  studentLogits: tf.Tensor2D,
  options: KlOptions = {}
): tf.Tensor => {
  const o = resolveOptions(options)
  checkPair(teacherLogits, "studentLogits", studentLogits)
  return tf.tidy(() => {
    const rows = klRows(teacherOf(teacherLogits, o), studentLogits, o)
    switch (o.reduction) {
      case "none":
        return rows
      case "sum":
        return tf.sum(rows)
      case "mean":
        return weightedMean(rows)
    }
  })
}

const isStudentList = (s: Students): s is ReadonlyArray<tf.Tensor2D> => Array.isArray(s)

const isWeightList = (w: SampleWeights): w is ReadonlyArray<tf.Tensor1D | undefined> => Array.isArray(w)

const checkWeights = (argument: string, weights: tf.Tensor, batch: number): void => {
  if (!(weights instanceof tf.Tensor)) fail(argument, String(weights), "must be a tf.Tensor")
  if (weights.rank !== 1 || weights.shape[0] !== batch) {
    fail(argument, shapeText(weights), `must be a (B) tensor with B = ${batch}`)
  }
}

interface StudentEntry {
  readonly argument: string
  readonly logits: tf.Tensor2D
  readonly weights: tf.Tensor1D | undefined
}

/** Pairs each student with its argument name (for errors) and its weights, validating the weights. */
const studentEntries = (
  students: Students,
  sampleWeights: SampleWeights | undefined,
  batch: number
): ReadonlyArray<StudentEntry> => {
  const list = isStudentList(students)
  const names = list ? students.map((_, i) => String(i)) : Object.keys(students)
  const logitsOf = (name: string): tf.Tensor2D => (isStudentList(students) ? students[Number(name)] : students[name])
  const nameText = (name: string) => (list ? `[${name}]` : `.${name}`)
  let pick: (name: string) => tf.Tensor1D | undefined
  let weightArgument = (_name: string) => "sampleWeights"
  if (sampleWeights === undefined) {
    pick = () => undefined
  } else if (sampleWeights instanceof tf.Tensor) {
    pick = () => sampleWeights
  } else if (isWeightList(sampleWeights)) {
    if (!list) fail("sampleWeights", "a list", "must be one tensor, or a record keyed like the students")
    if (sampleWeights.length !== names.length) {
      fail("sampleWeights", `a list of ${sampleWeights.length}`, `must have one entry per student (${names.length})`)
    }
    pick = (name) => sampleWeights[Number(name)]
    weightArgument = (name) => `sampleWeights${nameText(name)}`
  } else {
    if (list) fail("sampleWeights", "a record", "must be one tensor, or a list aligned with the students")
    for (const key of Object.keys(sampleWeights)) {
      if (!names.includes(key)) fail(`sampleWeights.${key}`, key, `names no student (students: ${names.join(", ")})`)
    }
    pick = (name) => sampleWeights[name]
    weightArgument = (name) => `sampleWeights${nameText(name)}`
  }
  return names.map((name) => {
    const weights = pick(name)
    if (weights !== undefined) checkWeights(weightArgument(name), weights, batch)
    return { argument: `students${nameText(name)}`, logits: logitsOf(name), weights }
  })
}

/**
 * The cross-modal KL term `sum_m mean_i KL(p_s(x_i) || p_m(x_i))` (spec part 7, the
 * `L_KL^t + L_KL^a + L_KL^v` of the joint objective): for each student modality the mean KL over
 * the samples whose weight is non-zero (a weighted mean for other weights). A sample where the
 * modality is missing contributes nothing, to the value or to any gradient, even if its logits are
 * not finite (they get exactly zero gradient); a modality with no present sample contributes 0.
 * No students gives 0. The fused op "crossModalKl" of `@haemsa/nn`: on webgpu the whole term is
 * one kernel each way.
 *
 * @throws DistillationError for invalid logits (see {@link klDivergence}), or sample weights that
 * are not (B) tensors, do not match the students' layout, or name an unknown student.
 */
export const crossModalKl = (
  teacherLogits: tf.Tensor2D,
  students: Students,
  options: CrossModalOptions = {}
): tf.Scalar => {
  const { sampleWeights, ...klOptions } = options
  const o = resolveOptions({ ...klOptions, reduction: "none" })
  checkLogits("teacherLogits", teacherLogits)
  const entries = studentEntries(students, sampleWeights, teacherLogits.shape[0])
  for (const entry of entries) checkPair(teacherLogits, entry.argument, entry.logits)
  return tf.tidy(() => {
    if (entries.length === 0) return tf.scalar(0)
    if (oneOpHere(entries, o)) return crossModalOneOp(teacherLogits, entries, o)
    const composite = () => {
      const teacher = teacherOf(teacherLogits, o)
      const terms = entries.map(({ logits, weights }) =>
        weightedMean(klRows(teacher, weights === undefined ? logits : presentRows(logits, weights), o), weights))
      return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar
    }
    const scale = o.scale && o.temperature !== 1 ? o.temperature * o.temperature : 1
    const fusedOptions = { temperature: o.temperature, scale, teacherGradient: o.teacherGradient }
    return Fused.run("crossModalKl", [teacherLogits, entries, fusedOptions], composite)
  })
}

/**
 * The cross-modal knowledge-distillation losses as an Effect service, so a user can swap one without
 * touching the trainer: `Layer.succeed(Distillation, { ...Distillation.default, kl: myKl })`. The
 * service values are the plain tensor functions: they run inside a taped training step, where no
 * Effect belongs.
 */
export class Distillation extends Context.Service<Distillation, {
  /** The KL of one student ({@link klDivergence}). */
  readonly kl: typeof klDivergence
  /** The KL term over all modalities ({@link crossModalKl}). */
  readonly crossModal: typeof crossModalKl
}>()("@haemsa/kd-losses/Distillation") {
  /** The implementation of this package (temperature KL from logits, teacher gradient stopped by default). */
  static readonly default: Distillation["Service"] = { kl: klDivergence, crossModal: crossModalKl }
  /** Provides {@link Distillation.default}. */
  static readonly layer: Layer.Layer<Distillation> = Layer.succeed(this, this.default)
}
