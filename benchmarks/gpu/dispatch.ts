/**
 * Host cost of one kernel dispatch: a chain of tiny element-wise kernels (1024 floats each), timed
 * per kernel, on the active backend. On webgpu this is what bounds a training step made of many small
 * kernels; the GPU work itself is negligible.
 *
 *   npx tsx --conditions=source benchmarks/gpu/dispatch.ts [--backend wasm|cpu|webgpu] [--allow-software-adapter] [--submit-batch N] [--deno]
 *
 * `--submit-batch` sets tfjs-webgpu's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (dispatches per queue submit).
 */
import { Backend } from "@haemsa/haemsa-model"
import * as tf from "@tensorflow/tfjs"
import { argFlag, argOption, median, runtime, scriptEntry } from "../Harness"

/** Median µs per kernel over `repeats` chains of `kernels` dependent `tf.add`s; waits for the result. */
export const dispatchMicros = async (kernels = 500, repeats = 5): Promise<number> => {
  const x = tf.ones([1024])
  const run = async () => {
    const t0 = performance.now()
    let y = x
    for (let i = 0; i < kernels; i++) {
      const next = tf.add(y, x)
      if (y !== x) y.dispose()
      y = next
    }
    await y.data()
    y.dispose()
    return ((performance.now() - t0) * 1000) / kernels
  }
  await run() // compile the shader
  const samples: number[] = []
  for (let r = 0; r < repeats; r++) samples.push(await run())
  x.dispose()
  return median(samples)
}

if (await scriptEntry(import.meta.url, "benchmarks/gpu/dispatch.ts", "dispatch.mjs")) {
  const backend = argOption("backend", "wasm")
  await Backend.setup(backend, undefined, { allowSoftwareAdapter: argFlag("allow-software-adapter") })
  const submit = argOption("submit-batch", "")
  if (submit !== "") tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", Number(submit))
  console.log(
    `backend ${tf.getBackend()}, ${runtime()}${submit === "" ? "" : `, submit batch ${submit}`}: ${(await dispatchMicros()).toFixed(1)} µs per dispatched kernel (chain of 500 adds of 1024 floats)`
  )
  process.exit(0)
}
