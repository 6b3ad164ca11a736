/**
 * Training-step time of the default HAEMSA network (MOSI-shaped: T 50, text 768, audio 5, vision
 * 20) per batch size on the active backend: median wall time of `--steps` steps after a warm-up,
 * each step ending with the loss read back (as a training loop does), and on webgpu the GPU
 * dispatches per step. This is the figure the GPU target is about (webgpu vs wasm on the same
 * machine, and vs the PyTorch reference, `torch_haemsa.py --step-benchmark`).
 *
 *   npx tsx --conditions=source benchmarks/gpu/step.ts [--backend wasm|cpu|webgpu] [--allow-software-adapter] [--batch-sizes 16,32,64]
 *       [--steps N] [--fused on|off] [--caches on|off] [--gates on|off] [--submit-batch N] [--sync each|lag] [--json FILE] [--deno]
 *
 * `--fused off` switches the fused WGSL kernels off (`Fused.setEnabled(false)`): the tfjs
 * composites, as before they existed. `--caches off` leaves out `WebGpuDispatch` (tfjs's own bind groups
 * and uniform uploads). `--gates off` times the default spec without its learned modality gates (the
 * default before they were added; `torch_haemsa.py --no-gates` is its PyTorch twin). `--submit-batch` sets tfjs-webgpu's
 * `WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE` (dispatches per queue submit, default 15). `--sync lag` reads
 * each loss one step late (see {@link Sync}).
 */
import { ArchitectureSpec, Backend, BatchTensors, Network, Optimizer } from "@haemsa/haemsa-model"
import { Fused } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"
import { argFlag, argOption, median, percentile, runtime, scriptEntry } from "../Harness"
import * as DefaultModel from "../haemsa-model/DefaultModel"
import { countDispatches } from "./profile"

/** One batch size's figures. */
export interface StepFigures {
  readonly batchSize: number
  readonly medianMs: number
  readonly p10Ms: number
  readonly p90Ms: number
  readonly samplesPerSecond: number
  readonly dispatchesPerStep?: number
}

/**
 * How a step waits for its loss: `each` reads every step's loss before the next step starts (the GPU
 * idles while the host records the next step); `lag` reads each loss one step late, after the next
 * step is recorded, so the host records step k+1 while the GPU runs step k (a training loop that
 * checks the loss a step late does this).
 */
export type Sync = "each" | "lag"

/** Time `steps` training steps at each batch size on the active backend (default: the default spec). */
export const stepTimes = async (
  batchSizes: ReadonlyArray<number>,
  steps: number,
  sync: Sync = "each",
  spec: ArchitectureSpec.ArchitectureSpec = ArchitectureSpec.defaultSpec
): Promise<StepFigures[]> => {
  const out: StepFigures[] = []
  for (const batchSize of batchSizes) {
    const model = DefaultModel.make({ samples: Math.max(2 * batchSize, 64), spec })
    const optimizer = Optimizer.adam(model.net.spec.learningRate)
    const batches = [model.batch(batchSize, 0), model.batch(batchSize, batchSize)]
    for (let i = 0; i < 4; i++) await DefaultModel.step(model, optimizer, batches[i % 2]) // warm-up: shaders, buffers
    const dispatches = await countDispatches(() => DefaultModel.step(model, optimizer, batches[0]))
    const ms: number[] = []
    if (sync === "each") {
      for (let i = 0; i < steps; i++) {
        const t0 = performance.now()
        await DefaultModel.step(model, optimizer, batches[i % 2])
        ms.push(performance.now() - t0)
      }
    } else {
      let pending = DefaultModel.step(model, optimizer, batches[0])
      for (let i = 1; i <= steps; i++) {
        const t0 = performance.now()
        const next = DefaultModel.step(model, optimizer, batches[i % 2])
        await pending
        pending = next
        ms.push(performance.now() - t0)
      }
      await pending
    }
    for (const b of batches) BatchTensors.dispose(b)
    optimizer.dispose()
    Network.dispose(model.net)
    const m = median(ms)
    const figures: StepFigures = {
      batchSize,
      medianMs: m,
      p10Ms: percentile(ms, 10),
      p90Ms: percentile(ms, 90),
      samplesPerSecond: (1000 * batchSize) / m,
      ...(dispatches === undefined ? {} : { dispatchesPerStep: dispatches })
    }
    console.log(
      `B ${String(batchSize).padStart(4)}: ${m.toFixed(2)} ms/step (p10 ${figures.p10Ms.toFixed(2)}, p90 ${figures.p90Ms.toFixed(2)}), ${figures.samplesPerSecond.toFixed(0)} samples/s${dispatches === undefined ? "" : `, ${dispatches} dispatches/step`}`
    )
    out.push(figures)
  }
  return out
}

/** The value of the switch `--name` (default "on"); anything but on or off is an error. */
const onOff = (name: string): "on" | "off" => {
  const value = argOption(name, "on")
  if (value !== "on" && value !== "off") throw new Error(`--${name} must be on or off, not ${value}`)
  return value
}

if (await scriptEntry(import.meta.url, "benchmarks/gpu/step.ts", "step.mjs")) {
  const backend = argOption("backend", "wasm")
  const caches = onOff("caches")
  await Backend.setup(backend, undefined, { dispatchCaches: caches === "on", allowSoftwareAdapter: argFlag("allow-software-adapter") })
  const fused = onOff("fused")
  Fused.setEnabled(fused === "on")
  const submit = argOption("submit-batch", "")
  if (submit !== "" && backend === "webgpu") tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", Number(submit))
  const batchSizes = argOption("batch-sizes", "16,32,64,128,256").split(",").map(Number)
  if (batchSizes.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--batch-sizes must be positive integers: ${batchSizes.join(",")}`)
  const steps = Number(argOption("steps", "20"))
  const gates = onOff("gates")
  const { modalityGates: _gates, ...withoutGates } = ArchitectureSpec.defaultSpec
  const spec: ArchitectureSpec.ArchitectureSpec = gates === "on" ? ArchitectureSpec.defaultSpec : withoutGates
  const sync = argOption("sync", "each")
  if (sync !== "each" && sync !== "lag") throw new Error(`--sync must be each or lag, not ${sync}`)
  const label = `${backend}${backend === "webgpu" ? `, fused kernels ${fused}, dispatch caches ${caches}${submit === "" ? "" : `, submit batch ${submit}`}` : ""}, modality gates ${gates}, loss read ${sync === "each" ? "every step" : "one step late"}`
  console.log(`default HAEMSA training step, ${label}, ${runtime()}`)
  const figures = await stepTimes(batchSizes, steps, sync, spec)
  const json = argOption("json", "")
  if (json !== "") fs.writeFileSync(json, JSON.stringify({ backend, fused, caches, gates, sync, submitBatch: submit === "" ? 15 : Number(submit), runtime: runtime(), tfjs: tf.version.tfjs, figures }, null, 2) + "\n")
  process.exit(0)
}
