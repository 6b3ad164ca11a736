import { Layers, Objective } from "@haemsa/haemsa-model"
import { Services } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { Batching } from "@haemsa/datasets"
import { makeTfjs, BATCH } from "./Setup"
const tfjs = await makeTfjs()
const losses = Effect.runSync(Effect.gen(function*() { return { task: yield* Services.TaskLosses, kd: yield* Services.Distillation } }).pipe(Effect.provide(Layers.parts)))
const batch = tfjs.batchOf(Batching.batchIndices(tfjs.train.n, BATCH)[0])
const net = tfjs.net
const fns: Record<string, () => void> = {
  netOnly: () => tf.tidy(() => { const o = net.apply(batch, true); o.regression!.dataSync() }),
  forward: () => tf.tidy(() => { Objective.jointLoss(net, net.apply(batch, true), batch, losses).dataSync() }),
  grads: () => { const { value, grads } = tf.variableGrads(() => Objective.jointLoss(net, net.apply(batch, true), batch, losses)); value.dataSync(); tf.dispose([value, ...Object.values(grads)]) },
  step: () => { tfjs.step(batch) },
}
for (const f of Object.values(fns)) for (let i = 0; i < 3; i++) f()
const times: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
for (let r = 0; r < 30; r++) for (const [k, f] of Object.entries(fns)) { const t = performance.now(); f(); times[k].push(performance.now() - t) }
for (const [k, ts] of Object.entries(times)) { ts.sort((a, b) => a - b); console.log(k.padEnd(10), "median", ts[15].toFixed(2), "min", ts[0].toFixed(2)) }
