/**
 * What each architecture of a search costs to train: for every architecture in a search checkpoint's
 * fitness cache (`haemsa search --checkpoint DIR` writes `DIR/checkpoint.json`), the median wall time
 * of one training step (batch 32, one thread, the synthetic data, after two warm-up steps) with the
 * epoch it implies, and one validation pass, sorted by the step time, with the fidelity levels the
 * search trained it at and its experts. This is how the search's slow candidates (the transformer and
 * LSTM experts) were found.
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/search-architectures.ts DIR/checkpoint.json [--backend wasm|cpu]
 */
import { Batching, DatasetLoader } from "@haemsa/datasets"
import { Backend, BatchTensors, Environment, Evaluate, Experiment, Network, Optimizer, Train } from "@haemsa/haemsa-model"
import type { ArchitectureSpec } from "@haemsa/haemsa-model"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as fs from "node:fs"
import { argOption } from "../Harness"

const file = process.argv[2]
if (file === undefined || !fs.existsSync(file)) {
  console.error("usage: search-architectures.ts DIR/checkpoint.json (a search checkpoint) [--backend wasm|cpu]")
  process.exit(2)
}
await Backend.setup(argOption("backend", "wasm"))
const data = await Effect.runPromise(Experiment.loadNormalized("synthetic").pipe(Effect.provide(DatasetLoader.DatasetLoader.layer)))
const checkpoint = JSON.parse(fs.readFileSync(file, "utf8")) as { state: { cache: Record<string, number> } }

// the cache keys are "level:canonical spec"; one entry per architecture, with its levels
const architectures = new Map<string, { spec: ArchitectureSpec.ArchitectureSpec; levels: Array<number> }>()
for (const key of Object.keys(checkpoint.state.cache)) {
  const colon = key.indexOf(":")
  const text = key.slice(colon + 1)
  const entry = architectures.get(text) ?? { spec: JSON.parse(text) as ArchitectureSpec.ArchitectureSpec, levels: [] }
  entry.levels.push(Number(key.slice(0, colon)))
  architectures.set(text, entry)
}

const losses = { task: TaskLosses.TaskLosses.default, kd: Distillation.Distillation.default }
const train = data.dataset.splits.train
const batches = Batching.batchIndices(train.n, 32)
const experts = (spec: ArchitectureSpec.ArchitectureSpec) =>
  Object.entries(spec.experts).map(([m, e]) => `${m[0]}:${e!.kind}${e!.hidden}x${e!.layers ?? 1}`).join(" ")
const rows: Array<{ step: number; line: string }> = []
for (const { levels, spec } of architectures.values()) {
  const net = await Effect.runPromise(Network.build(spec, data.info, 0).pipe(Effect.provide(Environment.parts)))
  const optimizer = Optimizer.adam(spec.learningRate)
  const times: Array<number> = []
  for (let i = 0; i < 7; i++) {
    const batch = BatchTensors.fromRows(train, batches[i])
    const t0 = performance.now()
    const loss = Train.step(net, optimizer, batch, losses)
    loss.dataSync()
    loss.dispose()
    if (i >= 2) times.push(performance.now() - t0)
    BatchTensors.dispose(batch)
  }
  const t0 = performance.now()
  await Evaluate.evaluate(net, data.dataset.splits.valid)
  const valid = performance.now() - t0
  optimizer.dispose()
  Network.dispose(net)
  const step = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]
  rows.push({
    step,
    line: `${step.toFixed(1).padStart(6)} ms/step  epoch ~${((step * batches.length) / 1000).toFixed(1)} s  valid ${valid.toFixed(0).padStart(4)} ms | levels ${levels.sort().join(",")} | ${experts(spec)} | d_h ${spec.hidden}, depth ${spec.fusion.depth}, tower ${spec.tower.depth}x${spec.tower.width}`
  })
}
console.log(`${architectures.size} architectures of ${file}, backend ${tf.getBackend()}:`)
for (const { line } of rows.sort((a, b) => a.step - b.step)) console.log(line)
