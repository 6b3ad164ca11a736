/**
 * Inference latency of the default HAEMSA network (forward pass in evaluation mode, the regression
 * output read back) at batch 1 and 64: p50 (the median) and p99 over single calls, and samples/s.
 *
 *   pnpm bench --package haemsa-model [--backend wasm|cpu|webgpu] [--quick]
 */
import { BatchTensors, Network } from "@haemsa/haemsa-model"
import { type BenchOptions, describe, fromSamples, type Measurement, percentile } from "../Harness"
import { forwardRead } from "../Tensors"
import * as DefaultModel from "./DefaultModel"

/** Latency per batch size; the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const model = DefaultModel.make({ samples: 256 })
  const calls = options.quick ? 50 : 300
  const out: Measurement[] = []
  try {
    for (const b of [1, 64]) {
      const batches = Array.from({ length: 4 }, (_, i) => model.batch(b, i * b))
      const infer = (k: number) => forwardRead(() => model.net.apply(batches[k % batches.length], false).regression!)
      try {
        for (let k = 0; k < 10; k++) await infer(k) // warm-up
        const seconds: number[] = []
        for (let k = 0; k < calls; k++) {
          const t0 = performance.now()
          await infer(k)
          seconds.push((performance.now() - t0) / 1000)
        }
        const p99 = percentile(seconds, 99)
        const m = fromSamples(`default HAEMSA inference (B ${b}) p50 = median, figure = p99`, seconds, {
          figure: () => ({ value: p99 * 1000, unit: "ms p99" })
        })
        console.log(`${describe(m)}; ${(b / m.median).toFixed(0)} samples/s at p50`)
        out.push(m)
      } finally {
        for (const batch of batches) BatchTensors.dispose(batch)
      }
    }
  } finally {
    Network.dispose(model.net)
  }
  return out
}
