/**
 * Per-kernel profile of the default HAEMSA training step (batch 32, T = 50, MOSI-shaped data) on any
 * backend: `tf.profile` over a few steps after a warm-up, registered kernels only (the scopes it also
 * lists contain kernels listed on their own), grouped by name (total ms, calls,
 * share of the summed kernel time, mean ms per call), the top kernels with their input shapes, and the
 * step's wall time next to the summed kernel time (the gap is dispatch and host work). On webgpu the
 * kernel times come from timestamp queries when the adapter has them; without them tfjs reports no
 * per-kernel GPU time and only the wall time is meaningful.
 *
 *   npx tsx --conditions=source benchmarks/gpu/profile.ts [--backend wasm|cpu|webgpu] [--allow-software-adapter] [--batch-size B] [--caches on|off] [--steps N] [--top K] [--json FILE] [--deno]
 */
import { Backend, BatchTensors, Network, Optimizer, WebGpuDispatch } from "@haemsa/haemsa-model"
import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"
import { argFlag, argOption, median, runtime, scriptEntry } from "../Harness"
import * as DefaultModel from "../haemsa-model/DefaultModel"

/** Kernel time by name over the profiled steps. */
export interface KernelTotal {
  readonly name: string
  readonly ms: number
  readonly calls: number
}

/** Sum kernel times by `key`, largest first. */
export const totals = (kernels: ReadonlyArray<{ name: string; ms: number }>): KernelTotal[] => {
  const by = new Map<string, KernelTotal>()
  for (const k of kernels) {
    const t = by.get(k.name) ?? { name: k.name, ms: 0, calls: 0 }
    by.set(k.name, { name: k.name, ms: t.ms + k.ms, calls: t.calls + 1 })
  }
  return [...by.values()].sort((a, b) => b.ms - a.ms)
}

/**
 * GPU dispatches made by `run` on the webgpu backend (calls of `GPUComputePassEncoder`'s
 * `dispatchWorkgroups`: tfjs's kernels and the fused WGSL ones); undefined on other backends.
 * A kernel that needs no GPU work (Reshape, Identity, a Cast to the same type, a small op tfjs
 * forwards to the CPU) dispatches nothing.
 */
export const countDispatches = async (run: () => Promise<unknown>): Promise<number | undefined> => {
  const encoder = (globalThis as { GPUComputePassEncoder?: { prototype: { dispatchWorkgroups: (...a: Array<unknown>) => void } } }).GPUComputePassEncoder
  if (tf.getBackend() !== "webgpu" || encoder === undefined) return undefined
  const proto = encoder.prototype
  const original = proto.dispatchWorkgroups
  let n = 0
  proto.dispatchWorkgroups = function(this: unknown, ...args: Array<unknown>) {
    n++
    return original.apply(this, args)
  }
  try {
    await run()
  } finally {
    proto.dispatchWorkgroups = original
  }
  return n
}

/** Host milliseconds per step by where they go. */
export interface HostTotal {
  readonly name: string
  readonly msPerStep: number
  readonly callsPerStep: number
}

/**
 * Where the host time of a step goes: each tfjs kernel call's own time (exclusive of kernels it runs
 * inside, e.g. a fused op's), the WebGPU calls (bind groups, uniform writes, queue submits) and the
 * wait for the loss to come back, and the rest ("model code, tape, tidy": the JS around the kernels).
 * It wraps the engine's and the device's functions with timers for `steps` steps, so it adds a little
 * time itself; the split, not the total, is the point.
 */
export const hostProfile = async (step: () => Promise<unknown>, steps: number): Promise<HostTotal[]> => {
  const totals = new Map<string, { ms: number; calls: number }>()
  const add = (name: string, ms: number) => {
    const t = totals.get(name) ?? { ms: 0, calls: 0 }
    totals.set(name, { ms: t.ms + ms, calls: t.calls + 1 })
  }
  const restores: Array<() => void> = []
  let inner = 0 // time spent in nested timed calls, subtracted from the enclosing one
  const wrap = (target: Record<string, unknown> | undefined, key: string, name: (args: Array<unknown>) => string) => {
    const original = target?.[key]
    if (target === undefined || typeof original !== "function") return
    target[key] = function(this: unknown, ...args: Array<unknown>) {
      const saved = inner
      inner = 0
      const t0 = performance.now()
      try {
        return original.apply(this, args)
      } finally {
        const total = performance.now() - t0
        add(name(args), total - inner)
        inner = saved + total
      }
    }
    restores.push(() => (target[key] = original))
  }
  const engine = tf.engine() as unknown as Record<string, unknown>
  wrap(engine, "runKernelFunc", (a) => {
    const params = a[0] as { kernelName?: string }
    return `kernel ${params.kernelName ?? "customGrad op"}`
  })
  const backend = tf.backend() as unknown as Record<string, Record<string, unknown> | undefined>
  if (tf.getBackend() === "webgpu") {
    const g = globalThis as unknown as Record<string, { prototype: Record<string, unknown> } | undefined>
    wrap(backend.device, "createBindGroup", () => "webgpu createBindGroup")
    wrap(backend.queue, "writeBuffer", () => "webgpu queue.writeBuffer")
    wrap(backend.queue, "submit", () => "webgpu queue.submit")
    wrap(backend.device, "createBuffer", () => "webgpu createBuffer")
    wrap(g.GPUComputePassEncoder?.prototype, "dispatchWorkgroups", () => "webgpu dispatchWorkgroups")
  }
  const t0 = performance.now()
  for (let i = 0; i < steps; i++) await step()
  const wall = performance.now() - t0
  for (const r of restores) r()
  const rows = [...totals].map(([name, t]) => ({ name, msPerStep: t.ms / steps, callsPerStep: t.calls / steps }))
  const timed = rows.reduce((sum, r) => sum + r.msPerStep, 0)
  rows.push({ name: "rest: model code, tape, tidy, waiting for the loss", msPerStep: wall / steps - timed, callsPerStep: 0 })
  return rows.sort((a, b) => b.msPerStep - a.msPerStep)
}

/** Profile `steps` training steps on the active backend; prints and returns the tables. */
export const profile = async (steps: number, top: number, batchSize = Number(argOption("batch-size", "32"))) => {
  const model = DefaultModel.make({ samples: 256 })
  const optimizer = Optimizer.adam(model.net.spec.learningRate)
  const batches = Array.from({ length: 4 }, (_, i) => model.batch(batchSize, i * batchSize))
  for (let i = 0; i < 3; i++) await DefaultModel.step(model, optimizer, batches[i % batches.length]) // warm-up
  const wall: number[] = []
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now()
    await DefaultModel.step(model, optimizer, batches[i % batches.length])
    wall.push(performance.now() - t0)
  }
  const dispatches = await countDispatches(() => DefaultModel.step(model, optimizer, batches[0]))
  const before = { ...WebGpuDispatch.stats }
  const host = await hostProfile(() => DefaultModel.step(model, optimizer, batches[0]), steps)
  const made = WebGpuDispatch.stats.bindGroupsMade - before.bindGroupsMade
  const reused = WebGpuDispatch.stats.bindGroupsReused - before.bindGroupsReused
  if (made + reused > 0) console.log(`bind groups over ${steps} steps: ${made} made, ${reused} reused from the cache; ${WebGpuDispatch.stats.uniformUploads - before.uniformUploads} uniform uploads`)
  const kernels: Array<{ name: string; shapes: string; ms: number }> = []
  for (let i = 0; i < steps; i++) {
    const info = await tf.profile(async () => {
      await DefaultModel.step(model, optimizer, batches[i % batches.length])
      return []
    })
    // tf.profile also lists scopes (custom ops, "x__op" wrappers) that contain kernels listed on their own
    for (const k of info.kernels) {
      if (tf.getKernel(k.name, tf.getBackend()) === undefined) continue
      kernels.push({ name: k.name, shapes: JSON.stringify(k.inputShapes), ms: typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : NaN })
    }
  }
  for (const b of batches) BatchTensors.dispose(b)
  optimizer.dispose()
  Network.dispose(model.net)

  const byName = totals(kernels)
  const byShape = totals(kernels.map((k) => ({ name: `${k.name} ${k.shapes}`, ms: k.ms })))
  const sum = byName.reduce((s, k) => s + k.ms, 0)
  const perStep = sum / steps
  const wallMs = median(wall)
  console.log(`backend ${tf.getBackend()}, ${runtime()}, default HAEMSA training step (B ${batchSize}, T 50): wall median ${wallMs.toFixed(1)} ms, summed kernel time ${perStep.toFixed(1)} ms/step, ${(kernels.length / steps).toFixed(0)} kernels/step${dispatches === undefined ? "" : `, ${dispatches} GPU dispatches/step`}`)
  console.log("\n| kernel | ms/step | share | calls/step | ms/call |\n| --- | --- | --- | --- | --- |")
  for (const k of byName.slice(0, top)) {
    console.log(`| ${k.name} | ${(k.ms / steps).toFixed(2)} | ${((100 * k.ms) / sum).toFixed(1)}% | ${(k.calls / steps).toFixed(0)} | ${(k.ms / k.calls).toFixed(3)} |`)
  }
  console.log(`\nhost time per step (${host.reduce((t, r) => t + r.msPerStep, 0).toFixed(1)} ms with the timers):\n| where | ms/step | calls/step |\n| --- | --- | --- |`)
  for (const r of host.slice(0, top)) console.log(`| ${r.name} | ${r.msPerStep.toFixed(2)} | ${r.callsPerStep.toFixed(0)} |`)
  console.log(`\ntop ${Math.min(top, 15)} kernels by input shapes:\n| kernel and input shapes | ms/step | calls/step |\n| --- | --- | --- |`)
  for (const k of byShape.slice(0, Math.min(top, 15))) console.log(`| ${k.name} | ${(k.ms / steps).toFixed(2)} | ${(k.calls / steps).toFixed(0)} |`)
  return { backend: tf.getBackend(), runtime: runtime(), steps, batchSize, wallMs, kernelMsPerStep: perStep, kernelsPerStep: kernels.length / steps, ...(dispatches === undefined ? {} : { dispatchesPerStep: dispatches }), host, byName, byShape: byShape.slice(0, 40) }
}

if (await scriptEntry(import.meta.url, "benchmarks/gpu/profile.ts", "profile.mjs")) {
  const backend = argOption("backend", "wasm")
  await Backend.setup(backend, undefined, { dispatchCaches: argOption("caches", "on") !== "off", allowSoftwareAdapter: argFlag("allow-software-adapter") })
  const result = await profile(Number(argOption("steps", "5")), Number(argOption("top", "20")))
  const json = argOption("json", "")
  if (json !== "") fs.writeFileSync(json, JSON.stringify(result, null, 2) + "\n")
  process.exit(0)
}
