/**
 * Where the time of one training step of the default HAEMSA architecture goes on the wasm backend:
 * wall time of the batch creation, the forward pass (network + joint loss) and the full step
 * (forward, backward, Adam, loss read), and a per-kernel table from `tf.profile` (kernel name and
 * input shapes, total milliseconds over the profiled steps, calls).
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/profile.ts [--steps N] [--top K]
 */
import { Batching } from "@haemsa/datasets"
import { BatchTensors, Objective } from "@haemsa/haemsa-model"
import * as tf from "@tensorflow/tfjs"
import { BATCH, makeTfjs } from "./Setup"

const option = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const steps = option("steps", 10)
const top = option("top", 30)
const tfjs = await makeTfjs()
const losses = tfjs.losses
const batches = Batching.batchIndices(tfjs.train.n, BATCH).slice(0, steps)

// warm-up (kernels compiled, optimizer slots created)
for (const indices of batches.slice(0, 3)) {
  const batch = tfjs.batchOf(indices)
  tfjs.step(batch)
  BatchTensors.dispose(batch)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const wall = { batch: [] as number[], forward: [] as number[], step: [] as number[] }
for (const indices of batches) {
  let t0 = performance.now()
  const batch = tfjs.batchOf(indices)
  wall.batch.push(performance.now() - t0)
  t0 = performance.now()
  tf.tidy(() => Objective.jointLoss(tfjs.net, tfjs.net.apply(batch, true), batch, losses).dataSync())
  wall.forward.push(performance.now() - t0)
  t0 = performance.now()
  tfjs.step(batch)
  wall.step.push(performance.now() - t0)
  BatchTensors.dispose(batch)
}
const [b, f, s] = [median(wall.batch), median(wall.forward), median(wall.step)]
console.log(`median ms: batch tensors ${b.toFixed(2)}, forward ${f.toFixed(2)}, full step ${s.toFixed(2)} (backward + Adam ~${(s - f).toFixed(2)})`)

/** Registered kernels run by `f` (tf.profile also lists custom-gradient and fused-op scopes). */
const kernelsOf = async (f: () => void) =>
  (await tf.profile(f)).kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined)
{
  const batch = tfjs.batchOf(batches[0])
  const forward = await kernelsOf(() => {
    tf.tidy(() => Objective.jointLoss(tfjs.net, tfjs.net.apply(batch, true), batch, losses).dataSync())
  })
  const grads = await kernelsOf(() => {
    const { value, grads } = tf.variableGrads(() => Objective.jointLoss(tfjs.net, tfjs.net.apply(batch, true), batch, losses))
    tf.dispose([value, ...Object.values(grads)])
  })
  const step = await kernelsOf(() => {
    tfjs.step(batch)
  })
  BatchTensors.dispose(batch)
  const ms = (ks: typeof step) => ks.reduce((a, k) => a + (k.kernelTimeMs as number), 0).toFixed(1)
  console.log(`kernel calls (kernel ms): forward ${forward.length} (${ms(forward)}), + backward ${grads.length - forward.length} (${ms(grads)} total), + Adam ${step.length - grads.length} (${ms(step)} total)`)
}

const totals = new Map<string, { ms: number; calls: number }>()
let kernelMs = 0
let profiledWall = 0
for (const indices of batches) {
  const batch = tfjs.batchOf(indices)
  const t0 = performance.now()
  const info = await tf.profile(() => {
    tfjs.step(batch)
  })
  profiledWall += performance.now() - t0
  BatchTensors.dispose(batch)
  // tf.profile also lists the scopes of custom gradients and fused ops; keep only registered kernels
  for (const k of info.kernels.filter((k) => tf.getKernel(k.name, tf.getBackend()) !== undefined)) {
    const key = `${k.name} ${k.inputShapes.map((s) => `[${s?.join(",") ?? ""}]`).join(" ")}`
    const entry = totals.get(key) ?? { ms: 0, calls: 0 }
    entry.ms += k.kernelTimeMs as number
    entry.calls += 1
    totals.set(key, entry)
    kernelMs += k.kernelTimeMs as number
  }
}
const byName = new Map<string, number>()
for (const [key, { ms }] of totals) byName.set(key.split(" ")[0], (byName.get(key.split(" ")[0]) ?? 0) + ms)
const per = (ms: number) => (ms / batches.length).toFixed(2)
console.log(`per step: kernels ${per(kernelMs)} ms, ${per([...totals.values()].reduce((a, e) => a + e.calls, 0))} kernel calls, profiled wall ${per(profiledWall)} ms`)
console.log("\nby kernel (ms/step):")
for (const [name, ms] of [...byName].sort((x, y) => y[1] - x[1]).slice(0, 15)) console.log(`  ${per(ms).padStart(8)}  ${name}`)
console.log("\nby kernel and input shapes (ms/step, calls/step):")
for (const [key, { ms, calls }] of [...totals].sort((x, y) => y[1].ms - x[1].ms).slice(0, top)) {
  console.log(`  ${per(ms).padStart(8)}  ${(calls / batches.length).toFixed(0).padStart(4)}  ${key}`)
}
