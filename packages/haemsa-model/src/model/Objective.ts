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
 * A batch split over replicas (data-parallel training, `Replicas`) gives each shard its
 * {@link Shares}: every term of the shard's loss is a mean over the shard's own samples, times the
 * shard's part of that term's normaliser over the whole batch, so the shards' losses (and their
 * gradients) add up to the whole batch's.
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
  /** KL(p_s || p_m) alone (the sum's term of modality m). */
  readonly klOf?: (m: Dataset.Modality) => tf.Scalar
}

/**
 * A shard's part of its whole batch, per normaliser: `samples` = n_shard / n_batch (the terms that
 * are means over the samples), `present[m]` = the shard's count of samples with modality m over the
 * batch's (the terms that are means over those samples; 0 when the batch has none).
 */
export interface Shares {
  readonly samples: number
  readonly present: Readonly<Partial<Record<Dataset.Modality, number>>>
}

/**
 * The shares of the rows `[start, end)` of a batch whose (n, 3) modality mask (after modality
 * dropout) is `mask`.
 */
export const sharesOf = (mask: Uint8Array, start: number, end: number, modalities: ReadonlyArray<Dataset.Modality>): Shares => {
  const n = mask.length / 3
  const count = (m: Dataset.Modality, from: number, to: number) => {
    let c = 0
    for (let i = from; i < to; i++) c += mask[i * 3 + D.MODALITY_INDEX[m]]
    return c
  }
  return {
    samples: (end - start) / n,
    present: Object.fromEntries(modalities.map((m) => {
      const all = count(m, 0, n)
      return [m, all === 0 ? 0 : count(m, start, end) / all]
    }))
  }
}

/**
 * The joint loss of one batch (a scalar; call inside the optimizer's taped function). With `shares`,
 * the batch is one shard of a larger batch and the loss is its part of that batch's loss.
 */
export const jointLoss = (net: Network, out: Outputs, batch: BatchTensors, losses: Losses, shares?: Shares): tf.Scalar => {
  const { gamma, lambdas } = net.spec
  const whole = net.info.task === "emotions" ? emotionTerms(net, out, batch, losses) : sentimentTerms(net, out, batch, losses)
  const L = shares === undefined ? whole : shareOf(net, whole, shares)
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

/** `share · term`, computed only when asked for. */
const scaled = (share: number, term: (() => tf.Scalar) | undefined): (() => tf.Scalar) | undefined =>
  term && (() => (share === 1 ? term() : tf.mul(term(), share) as tf.Scalar))

/**
 * A shard's terms: each of `whole` (computed on the shard's samples) times its share; the KL term is
 * summed modality by modality, each with its own share.
 */
const shareOf = (net: Network, whole: Terms, shares: Shares): Terms => ({
  regression: scaled(shares.samples, whole.regression),
  classification: scaled(shares.samples, whole.classification),
  emotion: scaled(shares.samples, whole.emotion),
  teacher: scaled(shares.samples, whole.teacher),
  unimodal: whole.unimodal &&
    Object.fromEntries(net.modalities.map((m) => [m, scaled(shares.present[m] ?? 0, whole.unimodal![m])])),
  kl: whole.kl && whole.klOf && (() => {
    const parts = net.modalities.map((m) => tf.mul(whole.klOf!(m), shares.present[m] ?? 0))
    return (parts.length === 1 ? parts[0] : tf.addN(parts)) as tf.Scalar
  })
})

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
    kl: teacher && (() => kd.crossModal(teacher, students(), { ...klOptions(net), sampleWeights: weights() })),
    klOf: teacher && ((m) => kd.crossModal(teacher, { [m]: out.unimodal[m]!.logits }, { ...klOptions(net), sampleWeights: { [m]: presence(m) } }))
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
    kl: teacher && (() => kd.crossModal(teacher, students(), { ...klOptions(net), sampleWeights: weights() })),
    klOf: teacher && ((m) => kd.crossModal(teacher, { [m]: pairs(out.unimodal[m]!.logits) }, { ...klOptions(net), sampleWeights: { [m]: repeat(presence(m)) } }))
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
