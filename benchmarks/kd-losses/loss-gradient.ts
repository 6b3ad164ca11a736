/**
 * The losses of the joint objective and their gradients with respect to the logits: the cross-modal
 * KL (teacher and three students, temperature 2, sample weights for missing modalities), the 7-class
 * cross-entropy and the L1 loss, at batch 32 (a training batch) and 4096 (a whole evaluation split).
 * The gradient runs include the forward pass. Not matrix-heavy: no GFLOP/s.
 *
 *   pnpm bench --package kd-losses [--backend wasm|cpu|webgpu] [--quick]
 */
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"
import { forwardRead, uniform } from "../Tensors"

const C = 7
const STUDENTS = ["text", "audio", "vision"] as const

/** Value and gradient timings per loss and batch size; the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const out: Measurement[] = []
  for (const b of options.quick ? [32] : [32, 4096]) {
    const teacher = tf.tensor2d(uniform(b * C, 1), [b, C])
    const students = Object.fromEntries(STUDENTS.map((m, i) => [m, tf.tensor2d(uniform(b * C, 2 + i), [b, C])])) as Record<string, tf.Tensor2D>
    // every fourth sample misses its audio, as with modality dropout
    const weights = { audio: tf.tensor1d(Float32Array.from({ length: b }, (_, i) => (i % 4 === 0 ? 0 : 1))) }
    const labels = tf.tensor1d(Int32Array.from({ length: b }, (_, i) => i % C), "int32")
    const pred = tf.tensor1d(uniform(b, 7))
    const target = tf.tensor1d(uniform(b, 8))
    const losses: Array<{ name: string; value: (...logits: tf.Tensor[]) => tf.Scalar; inputs: tf.Tensor[] }> = [
      {
        name: "cross-modal KL (3 students)",
        value: (t, s0, s1, s2) =>
          Distillation.crossModalKl(t as tf.Tensor2D, { text: s0 as tf.Tensor2D, audio: s1 as tf.Tensor2D, vision: s2 as tf.Tensor2D }, { temperature: 2, teacherGradient: true, sampleWeights: weights }),
        inputs: [teacher, ...STUDENTS.map((m) => students[m])]
      },
      { name: "cross-entropy 7 classes", value: (l) => TaskLosses.crossEntropy(l as tf.Tensor2D, labels as tf.Tensor1D), inputs: [teacher] },
      { name: "L1", value: (p) => TaskLosses.l1Loss(p as tf.Tensor1D, target as tf.Tensor1D), inputs: [pred] }
    ]
    try {
      for (const loss of losses) {
        const repeats = options.quick ? 10 : 50
        const samples = (s: number) => ({ value: b / s, unit: "samples/s" })
        const value = await measure(`${loss.name} value (B ${b})`, () => forwardRead(() => loss.value(...loss.inputs)), { warmup: 3, repeats, figure: samples })
        const gradient = tf.grads((...xs: tf.Tensor[]) => loss.value(...xs))
        const grad = await measure(`${loss.name} value+gradient (B ${b})`, () => forwardRead(() => tf.addN(gradient(loss.inputs).map((g) => tf.sum(g)))), {
          warmup: 3,
          repeats,
          figure: samples
        })
        for (const m of [value, grad]) {
          console.log(describe(m))
          out.push(m)
        }
      }
    } finally {
      tf.dispose([teacher, ...Object.values(students), weights.audio, labels, pred, target])
    }
  }
  return out
}
