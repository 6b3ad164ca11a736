import { BatchTensors, Layers, Objective } from "@haemsa/haemsa-model"
import { Services } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { Batching } from "@haemsa/datasets"
import { makeTfjs, BATCH } from "./Setup"
const tfjs = await makeTfjs()
const losses = Effect.runSync(Effect.gen(function*() { return { task: yield* Services.TaskLosses, kd: yield* Services.Distillation } }).pipe(Effect.provide(Layers.parts)))
const batch = tfjs.batchOf(Batching.batchIndices(tfjs.train.n, BATCH)[0])
tfjs.step(batch)
const mode = process.argv[2] ?? "forward"
const info = await tf.profile(() => {
  if (mode === "forward") tf.tidy(() => { Objective.jointLoss(tfjs.net, tfjs.net.apply(batch, true), batch, losses) })
  else if (mode === "net") tf.tidy(() => { tfjs.net.apply(batch, true) })
  else tfjs.step(batch)
})
for (const k of info.kernels) console.log(tf.getKernel(k.name, "wasm") ? "  " : "S ", k.name, JSON.stringify(k.inputShapes), JSON.stringify(k.outputShapes))
