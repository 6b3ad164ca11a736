/**
 * The joint objective `L = sum_k lambda_k L_k + gamma sum_m KL(p_s || p_m)` (spec part 8): regression
 * L1 and 7-class cross-entropy (or per-emotion 2-class cross-entropy), the unimodal auxiliary tasks on
 * each modality expert (only where the modality is present), the teacher's own classification loss,
 * and the cross-modal KL terms. The losses come from the TaskLosses and Distillation services.
 *
 * @since 0.1.0
 */
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

const MODALITY_INDEX: Record<Dataset.Modality, number> = { text: 0, audio: 1, vision: 2 }

/** (B*E, 2) rows of per-emotion logits from (B, E*2) or (B, E, 2). */
const pairs = (t: tf.Tensor): tf.Tensor2D => tf.reshape(t, [-1, 2]) as tf.Tensor2D

/** The joint loss of one batch (a scalar; call inside the optimizer's taped function). */
export const jointLoss = (net: Network, out: Outputs, batch: BatchTensors, losses: Losses): tf.Scalar => {
  const { spec } = net
  const { lambdas } = spec
  const terms: tf.Scalar[] = []
  const coefficients: number[] = []
  const term = (loss: tf.Scalar, coefficient: number) => {
    terms.push(loss)
    coefficients.push(coefficient)
  }
  // (B) presence weights of each modality: the modality mask's columns, split once when first asked for
  let columns: Array<tf.Tensor1D> | undefined
  const presence = (m: Dataset.Modality) => (columns ??= tf.unstack(batch.modalityMask, 1) as Array<tf.Tensor1D>)[MODALITY_INDEX[m]]
  if (net.info.task === "emotions") {
    const labels = tf.cast(tf.reshape(batch.emotions!, [-1]), "int32") as tf.Tensor1D // (B*E)
    const e = batch.emotions!.shape[1]
    const repeat = (w: tf.Tensor1D) => tf.reshape(tf.tile(tf.reshape(w, [-1, 1]), [1, e]), [-1]) as tf.Tensor1D
    term(losses.task.crossEntropy(pairs(out.emotionLogits!), labels), lambdas.regression)
    if (out.teacherLogits) {
      term(losses.task.crossEntropy(pairs(out.teacherLogits), labels), lambdas.classification)
      const students: Record<string, tf.Tensor2D> = {}
      const weights: Record<string, tf.Tensor1D> = {}
      for (const m of net.modalities) {
        const u = out.unimodal[m]!
        students[m] = pairs(u.logits)
        weights[m] = repeat(presence(m))
        term(losses.task.crossEntropy(students[m], labels, weights[m]), lambdas.unimodal)
      }
      if (spec.gamma > 0) {
        const kl = losses.kd.crossModal(pairs(out.teacherLogits), students, { temperature: spec.temperature, teacherGradient: spec.teacherGradient, sampleWeights: weights })
        term(kl, spec.gamma)
      }
    }
    return Reduction.linearCombination(terms, coefficients)
  }
  const y = batch.regression!
  const classes = batch.classes!
  term(losses.task.l1(out.regression!, y), lambdas.regression)
  if (lambdas.classification > 0 && out.classLogits) {
    term(losses.task.crossEntropy(out.classLogits, classes), lambdas.classification)
  }
  if (out.teacherLogits) {
    term(losses.task.crossEntropy(out.teacherLogits, classes), Math.max(lambdas.classification, 0.1))
    const students: Record<string, tf.Tensor2D> = {}
    const weights: Record<string, tf.Tensor1D> = {}
    for (const m of net.modalities) {
      const u = out.unimodal[m]!
      if (lambdas.unimodal > 0) term(losses.task.l1(u.regression!, y, presence(m)), lambdas.unimodal)
      students[m] = u.logits
      weights[m] = presence(m)
    }
    if (spec.gamma > 0) {
      const kl = losses.kd.crossModal(out.teacherLogits, students, { temperature: spec.temperature, teacherGradient: spec.teacherGradient, sampleWeights: weights })
      term(kl, spec.gamma)
    }
  }
  return Reduction.linearCombination(terms, coefficients)
}
