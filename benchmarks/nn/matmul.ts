/**
 * The 2-D products of the default network's training step, as `Layers` runs them on the active
 * backend: the text projection (rows x 768) · (768 x 64) with its bias (`_FusedMatMul`), its weight
 * gradient xᵀ · dy, and the weight gradient of a 64 -> 64 layer at batch 32 (the fusion and tower
 * layers). On wasm each runs twice, in one process: with `WasmMatMul` (installed by `Backend.setup`:
 * the gradients by transpose flag, read in place by its `gemm` kernel) and without it (explicit
 * transposes, then the backend's own XNNPACK kernels, what `Layers` ran before); the results are the
 * same bit for bit (`packages/nn/test/WasmMatMul.test.ts`). Elsewhere each runs once, the gradients
 * with an explicit transpose.
 *
 *   pnpm bench --package nn [--backend wasm|cpu|webgpu] [--quick]
 */
import { WasmMatMul } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as Flops from "../Flops"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"
import { forwardRead, uniform } from "../Tensors"

/** A product, as it runs with `WasmMatMul` and without it. */
interface Product {
  readonly name: string
  readonly flops: number
  readonly withGemm: () => tf.Tensor
  readonly without: () => tf.Tensor
}

/** The product timings, with and without `WasmMatMul` on wasm; the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const out: Measurement[] = []
  const onWasm = tf.getBackend() === "wasm"
  const wasInstalled = WasmMatMul.installed()
  const rows = 1200 // about the kept text rows of a batch of 32 (T 50)
  const x = tf.tensor2d(uniform(rows * 768, 1), [rows, 768])
  const w = tf.tensor2d(uniform(768 * 64, 2), [768, 64])
  const bias = tf.tensor1d(uniform(64, 3))
  const dy = tf.tensor2d(uniform(rows * 64, 4), [rows, 64])
  const h = tf.tensor2d(uniform(32 * 64, 5), [32, 64])
  const dh = tf.tensor2d(uniform(32 * 64, 6), [32, 64])
  const explicit = (a: tf.Tensor2D, b: tf.Tensor2D) => () => tf.tidy(() => tf.matMul(tf.transpose(a), b))
  const products: ReadonlyArray<Product> = [
    {
      name: `text projection (${rows} x 768) . (768 x 64) + bias`,
      flops: Flops.matmul(rows, 768, 64),
      withGemm: () => tf.fused.matMul({ a: x, b: w, bias }),
      without: () => tf.fused.matMul({ a: x, b: w, bias })
    },
    { name: `its weight gradient x^T . dy (768 x ${rows}) . (${rows} x 64)`, flops: Flops.matmul(768, rows, 64), withGemm: () => tf.matMul(x, dy, true, false), without: explicit(x, dy) },
    { name: "weight gradient of a 64 -> 64 layer, batch 32 (64 x 32) . (32 x 64)", flops: Flops.matmul(64, 32, 64), withGemm: () => tf.matMul(h, dh, true, false), without: explicit(h, dh) }
  ]
  const modes: ReadonlyArray<readonly [string, boolean]> = onWasm ? [["WasmMatMul", true], ["XNNPACK, explicit transposes", false]] : [[tf.getBackend(), false]]
  try {
    for (const product of products) {
      for (const [mode, gemm] of modes) {
        if (gemm) WasmMatMul.install()
        else WasmMatMul.uninstall()
        const m = await measure(`${product.name} [${mode}]`, () => forwardRead(gemm ? product.withGemm : product.without), {
          warmup: 3,
          repeats: options.quick ? 10 : product.flops < 1e6 ? 200 : 30,
          flops: product.flops
        })
        console.log(describe(m))
        out.push(m)
      }
    }
  } finally {
    if (wasInstalled) WasmMatMul.install()
    else WasmMatMul.uninstall()
    tf.dispose([x, w, bias, dy, h, dh])
  }
  return out
}
