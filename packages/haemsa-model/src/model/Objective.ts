/**
 * The joint objective (spec part 8), term by term:
 *
 *     L = lambda_reg L_reg + lambda_cls L_cls        sentiment: L1 of the prediction, 7-class CE
 *       + lambda_emo L_emo                           emotions: the per-emotion 2-class CEs
 *       + lambda_teacher L_teacher                   CE of the unified expert's head p_s (HAEMSA)
 *       + lambda_uni sum_m L_uni^m                   each modality expert's auxiliary head (HAEMSA)
 *       + gamma sum_m KL(p_s || p_m)                 cross-modal knowledge transfer (HAEMSA)
 *
 * that is `L = sum_k lambda_k L_k + gamma sum_m KL(p_s || p_m)` with the weights of
 * `ArchitectureSpec.Lambdas`. A term the network or the data does not have (no teacher in a
 * baseline, no emotions in sentiment data) is left out, and so is a term of weight 0 (it adds
 * nothing), except the main task's term (L_reg or L_emo), which keeps the loss connected to the
 * network. L_uni^m and KL(p_s || p_m) count only the samples where modality m is present. The
 * losses come from the TaskLosses and Distillation services.
 *
 * @since 0.1.0
 */
import { Dataset as D } from "@haemsa/datasets"
import type { Dataset } from "@haemsa/datasets"
import { Reduction } from "@haemsa/kd-losses"
import type { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import type { BatchTensors } from "./BatchTensors"
import type { Network, Outputs } from "./Network"

/** The loss functions the objective uses (the two services' values). */
export interface Losses {
  readonly task: typeof TaskLosses.TaskLosses.Service
  readonly kd: typeof Distillation.Distillation.Service
}

/**
 * The loss terms of one batch, each a scalar computed only when asked for; `undefined` where the
 * network or the data has no such term.
 */
interface Terms {
  /** L_reg: L1 of the sentiment prediction. */
  readonly regression?: () => tf.Scalar
  /** L_cls: cross-entropy of the 7-class sentiment logits. */
  readonly classification?: () => tf.Scalar
  /** L_emo: cross-entropy of every emotion's 2-class logits. */
  readonly emotion?: () => tf.Scalar
  /** L_teacher: cross-entropy of the unified expert's head p_s. */
  readonly teacher?: () => tf.Scalar
  /** L_uni^m: the auxiliary loss of modality m's head, on the samples that have m. */
  readonly unimodal?: Readonly<Partial<Record<Dataset.Modality, () => tf.Scalar>>>
  /** sum_m KL(p_s || p_m), each on the samples that have m. */
  readonly kl?: () => tf.Scalar
}

/** The joint loss of one batch (a scalar; call inside the optimizer's taped function). */
export const jointLoss = (net: Network, out: Outputs, batch: BatchTensors, losses: Losses): tf.Scalar => {
  const { gamma, lambdas } = net.spec
  const L = net.info.task === "emotions" ? emotionTerms(net, out, batch, losses) : sentimentTerms(net, out, batch, losses)
  // L = sum_k lambda_k L_k + gamma sum_m KL(p_s || p_m)
  return weightedSum([
    [lambdas.regression, L.regression, "main"], // lambda_reg · L_reg
    [lambdas.classification, L.classification], // lambda_cls · L_cls
    [lambdas.emotion, L.emotion, "main"], // lambda_emo · L_emo
    [lambdas.teacher, L.teacher], // lambda_teacher · L_teacher
    ...net.modalities.map((m): Weighted => [lambdas.unimodal, L.unimodal?.[m]]), // lambda_uni · L_uni^m
    [gamma, L.kl] // gamma · sum_m KL(p_s || p_m)
  ])
}

/** A weight, its term (absent: the network has no such term) and whether it is the main task's. */
type Weighted = readonly [weight: number, term: (() => tf.Scalar) | undefined, main?: "main"]

/** `sum lambda · L` over the present terms, in order; a term of weight 0 is left out unless it is the main one. */
const weightedSum = (weighted: ReadonlyArray<Weighted>): tf.Scalar => {
  const kept = weighted.filter(([weight, term, main]) => term !== undefined && (weight > 0 || main !== undefined))
  return Reduction.linearCombination(kept.map(([, term]) => term!()), kept.map(([weight]) => weight))
}

/** (B) 1 where the sample has modality m: the columns of the modality mask, split once when first asked for. */
const presenceOf = (batch: BatchTensors) => {
  let columns: Array<tf.Tensor1D> | undefined
  return (m: Dataset.Modality): tf.Tensor1D => (columns ??= tf.unstack(batch.modalityMask, 1) as Array<tf.Tensor1D>)[D.MODALITY_INDEX[m]]
}

/** The terms on sentiment data: labels y (B) and their 7 classes (B). */
const sentimentTerms = (net: Network, out: Outputs, batch: BatchTensors, { kd, task }: Losses): Terms => {
  const y = batch.regression! // (B)
  const classes = batch.classes! // (B)
  const presence = presenceOf(batch)
  const teacher = out.teacherLogits // (B, 7) logits of p_s, HAEMSA only
  const students = () => Object.fromEntries(net.modalities.map((m) => [m, out.unimodal[m]!.logits])) // m -> (B, 7) logits of p_m
  const weights = () => Object.fromEntries(net.modalities.map((m) => [m, presence(m)])) // m -> (B)
  return {
    regression: () => task.l1(out.regression!, y),
    classification: out.classLogits && (() => task.crossEntropy(out.classLogits!, classes)),
    teacher: teacher && (() => task.crossEntropy(teacher, classes)),
    unimodal: perModality(net, out, (m, head) => task.l1(head.regression!, y, presence(m))),
    kl: teacher && (() => kd.crossModal(teacher, students(), { ...klOptions(net), sampleWeights: weights() }))
  }
}

/** The terms on emotion data: E binary labels per sample, (B, E). */
const emotionTerms = (net: Network, out: Outputs, batch: BatchTensors, { kd, task }: Losses): Terms => {
  const labels = tf.cast(tf.reshape(batch.emotions!, [-1]), "int32") as tf.Tensor1D // (B·E)
  const e = batch.emotions!.shape[1]
  const presence = presenceOf(batch)
  /** (B) -> (B·E): a sample's weight for each of its emotions. */
  const repeat = (w: tf.Tensor1D) => tf.reshape(tf.tile(tf.reshape(w, [-1, 1]), [1, e]), [-1]) as tf.Tensor1D
  const teacher = out.teacherLogits && pairs(out.teacherLogits) // (B·E, 2) logits of p_s, HAEMSA only
  const students = () => Object.fromEntries(net.modalities.map((m) => [m, pairs(out.unimodal[m]!.logits)])) // m -> (B·E, 2)
  const weights = () => Object.fromEntries(net.modalities.map((m) => [m, repeat(presence(m))])) // m -> (B·E)
  return {
    emotion: () => task.crossEntropy(pairs(out.emotionLogits!), labels),
    teacher: teacher && (() => task.crossEntropy(teacher, labels)),
    unimodal: perModality(net, out, (m, head) => task.crossEntropy(pairs(head.logits), labels, repeat(presence(m)))),
    kl: teacher && (() => kd.crossModal(teacher, students(), { ...klOptions(net), sampleWeights: weights() }))
  }
}

/** The auxiliary term of each modality's head, where the network has those heads (HAEMSA). */
const perModality = (
  net: Network,
  out: Outputs,
  loss: (m: Dataset.Modality, head: NonNullable<Outputs["unimodal"][Dataset.Modality]>) => tf.Scalar
): Terms["unimodal"] =>
  net.modalities.every((m) => out.unimodal[m] !== undefined)
    ? Object.fromEntries(net.modalities.map((m) => [m, () => loss(m, out.unimodal[m]!)]))
    : undefined

/** (B·E, 2) rows of per-emotion logits from (B, E·2) or (B, E, 2). */
const pairs = (t: tf.Tensor): tf.Tensor2D => tf.reshape(t, [-1, 2]) as tf.Tensor2D

/** The KL terms' temperature and whether the teacher receives their gradient. */
const klOptions = ({ spec }: Network) => ({ temperature: spec.temperature, teacherGradient: spec.teacherGradient })
