/**
 * The 2-D products of the default network's training step, on the active backend: the text
 * projection (rows x 768) · (768 x 64) with its bias (`_FusedMatMul`), its weight gradient
 * xᵀ · dy by transpose flag (what `Layers.project` runs on wasm with `WasmMatMul`) and by an explicit
 * transpose (what it runs elsewhere), and a small (32 x 64) · (64 x 64) product (the fusion and tower
 * layers). On wasm each runs twice: on `WasmMatMul`'s `gemm` kernel (installed by `Backend.setup`)
 * and on the backend's own kernels (XNNPACK), so the two are compared in one run; the results are the
 * same bit for bit (`packages/nn/test/WasmMatMul.test.ts`).
 *
 *   pnpm bench --package nn [--backend wasm|cpu|webgpu] [--quick]
 */
import { WasmMatMul } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as Flops from "../Flops"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"
import { forwardRead, uniform } from "../Tensors"

/** The product timings, with and without `WasmMatMul` on wasm; the backend must be set up already. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const out: Measurement[] = []
  const onWasm = tf.getBackend() === "wasm"
  const wasInstalled = WasmMatMul.installed()
  const modes: ReadonlyArray<readonly [string, boolean]> = onWasm ? [["gemm", true], ["XNNPACK", false]] : [[tf.getBackend(), wasInstalled]]
  const rows = 1200 // about the kept text rows of a batch of 32 (T 50)
  const x = tf.tensor2d(uniform(rows * 768, 1), [rows, 768])
  const w = tf.tensor2d(uniform(768 * 64, 2), [768, 64])
  const bias = tf.tensor1d(uniform(64, 3))
  const dy = tf.tensor2d(uniform(rows * 64, 4), [rows, 64])
  const h = tf.tensor2d(uniform(32 * 64, 5), [32, 64])
  const v = tf.tensor2d(uniform(64 * 64, 6), [64, 64])
  const products: ReadonlyArray<{ name: string; flops: number; run: () => tf.Tensor }> = [
    { name: `text projection (${rows} x 768) . (768 x 64) + bias`, flops: Flops.matmul(rows, 768, 64), run: () => tf.fused.matMul({ a: x, b: w, bias }) },
    { name: `weight gradient x^T . dy by flag (768 x ${rows}) . (${rows} x 64)`, flops: Flops.matmul(768, rows, 64), run: () => tf.matMul(x, dy, true, false) },
    { name: "weight gradient, explicit transpose", flops: Flops.matmul(768, rows, 64), run: () => tf.tidy(() => tf.matMul(tf.transpose(x), dy)) },
    { name: "small product (32 x 64) . (64 x 64)", flops: Flops.matmul(32, 64, 64), run: () => tf.matMul(h, v) }
  ]
  try {
    for (const product of products) {
      for (const [mode, install] of modes) {
        // the backend's own kernels run a flagged product another way, about 10x slower: not timed
        if (onWasm && !install && product.name.includes("by flag")) continue
        if (install) WasmMatMul.install()
        else WasmMatMul.uninstall()
        const small = product.flops < 1e6
        const m = await measure(`${product.name} [${mode}]`, () => forwardRead(product.run), {
          warmup: 3,
          repeats: options.quick ? 10 : small ? 200 : 30,
          flops: product.flops
        })
        console.log(describe(m))
        out.push(m)
      }
    }
  } finally {
    if (wasInstalled) WasmMatMul.install()
    else WasmMatMul.uninstall()
    tf.dispose([x, w, bias, dy, h, v])
  }
  return out
}
