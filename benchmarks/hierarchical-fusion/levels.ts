/**
 * Forward + backward of the fusion hierarchy per level count (1-4) and width d_h, on the expert
 * outputs of a batch (three local experts and the unified one, B = 256), "evolve" mode and mean
 * pooling (the default architecture's settings): the levels' outputs, a squared-sum loss, the
 * gradients of every weight. Prints samples/s and GFLOP/s of the levels' matmuls (see `Flops.ts`).
 *
 *   pnpm bench --package hierarchical-fusion [--backend wasm|cpu|webgpu] [--quick]
 */
import { Hierarchy } from "@haemsa/hierarchical-fusion"
import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as Flops from "../Flops"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"
import { gradientStep, uniform } from "../Tensors"

const B = 256
const MODALITIES = 3

/** Measure every (depth, width); the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const out: Measurement[] = []
  for (const d of options.quick ? [64] : [64, 256]) {
    const local = Array.from({ length: MODALITIES }, (_, m) => tf.tensor2d(uniform(B * d, 10 + m), [B, d]))
    const shared = tf.tensor2d(uniform(B * d, 20), [B, d])
    const localMask = tf.ones([B, MODALITIES]) as tf.Tensor2D
    try {
      for (const depth of [1, 2, 3, 4]) {
        const hierarchy = Hierarchy.makeHierarchy({ depth, width: d, pool: "mean", sharedMode: "evolve", dropout: 0 }, Module.seedSource(0))
        const vars = [...hierarchy.variables.values()]
        const loss = () => {
          const levels = hierarchy.apply({ local, localMask, shared }, true)
          return tf.addN([...levels.local, ...levels.shared].map((h) => tf.sum(tf.square(h)))) as tf.Scalar
        }
        const m = await measure(`${depth} level${depth > 1 ? "s" : ""}, d ${d} (B ${B}) fwd+bwd`, () => gradientStep(vars, loss), {
          warmup: 2,
          repeats: options.quick ? 5 : 20,
          flops: Flops.trainingStep(Flops.hierarchy(depth, B, d, true)),
          figure: (s) => ({ value: B / s, unit: "samples/s" })
        })
        console.log(describe(m))
        out.push(m)
        for (const v of vars) v.dispose()
      }
    } finally {
      tf.dispose([...local, shared, localMask])
    }
  }
  return out
}
