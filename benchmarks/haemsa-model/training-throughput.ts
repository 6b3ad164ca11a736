/**
 * Training throughput of the default HAEMSA architecture on MOSI-shaped data (T = 50, text 768,
 * audio 5, vision 20): Adam steps on the joint objective (forward, backward, update, loss read back)
 * at batch 32 (the training default) and 128, in samples/s, with the GFLOP/s of the dominant matmuls
 * (see `Flops.ts`). Batch creation is outside the timed step (as epoch.ts measures it with it).
 *
 *   pnpm bench --package haemsa-model [--backend wasm|cpu|webgpu] [--quick]
 */
import { BatchTensors, Network, Optimizer } from "@haemsa/haemsa-model"
import * as Flops from "../Flops"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"
import * as DefaultModel from "./DefaultModel"

/** The batch sizes measured. */
export const BATCHES = [32, 128] as const

/** Samples/s of training steps per batch size; the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const model = DefaultModel.make({ samples: 512 })
  const optimizer = Optimizer.adam(model.net.spec.learningRate)
  const out: Measurement[] = []
  const steps = 50
  try {
    for (const b of options.quick ? [32] : BATCHES) {
      const batches = Array.from({ length: 4 }, (_, i) => model.batch(b, i * b))
      let k = 0
      try {
        const m = await measure(`default HAEMSA training step (B ${b}, T ${steps})`, () => DefaultModel.step(model, optimizer, batches[k++ % batches.length]), {
          warmup: 3,
          repeats: options.quick ? 5 : 20,
          flops: Flops.trainingStep(Flops.network(model.net, b, steps)),
          figure: (s) => ({ value: b / s, unit: "samples/s" })
        })
        console.log(describe(m))
        out.push(m)
      } finally {
        for (const batch of batches) BatchTensors.dispose(batch)
      }
    }
  } finally {
    optimizer.dispose()
    Network.dispose(model.net)
  }
  return out
}
