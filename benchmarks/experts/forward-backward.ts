/**
 * Forward + backward of one modality expert per encoder kind (meanpool, lstm, transformer, tcn) and
 * size (hidden width), on a MOSI-shaped batch (B = 32, T = 50, 74 features like COVAREP), as a
 * training step computes it: the expert's output, a squared-sum loss, the gradients of every weight.
 * Prints samples/s and the achieved GFLOP/s of the dominant matmuls (see `Flops.ts`).
 *
 *   pnpm bench --package experts [--backend wasm|cpu|webgpu] [--quick]
 */
import { Expert } from "@haemsa/experts"
import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as Flops from "../Flops"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"
import { gradientStep, stepMask, uniform } from "../Tensors"

const B = 32
const T = 50
const D = 74
const OUT = 64

/** The encoder kinds and widths measured. */
export const cases = (quick: boolean): ReadonlyArray<Expert.ExpertSpec> =>
  Expert.EXPERT_KINDS.flatMap((kind) => (quick ? [64] : [32, 64, 128]).map((hidden) => ({ kind, hidden })))

/** Measure every case; the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const out: Measurement[] = []
  const x = tf.tensor3d(uniform(B * T * D, 1), [B, T, D])
  const mask = stepMask(B, T)
  try {
    for (const spec of cases(options.quick ?? false)) {
      const resolved = Expert.resolveSpecOrThrow(spec)
      const expert = Expert.makeExpert(spec, D, OUT, Module.seedSource(0))
      const vars = [...expert.variables.values()]
      const flops = Flops.trainingStep(Flops.expert(resolved, B, T, D, OUT))
      const loss = () => tf.sum(tf.square(expert.apply({ x, stepMask: mask }, true))) as tf.Scalar
      const m = await measure(`${spec.kind} hidden ${spec.hidden} (B ${B}, T ${T}, d ${D}) fwd+bwd`, () => gradientStep(vars, loss), {
        warmup: 2,
        repeats: options.quick ? 3 : 10,
        flops,
        figure: (s) => ({ value: B / s, unit: "samples/s" })
      })
      console.log(describe(m))
      out.push(m)
      for (const v of vars) v.dispose()
    }
  } finally {
    x.dispose()
    mask.dispose()
  }
  return out
}

