/**
 * The entry of a training replica's worker thread (started by `Replicas.make`). It sets up its own
 * backend (one thread), builds the network from the spec and seed it was given, answers `ready`,
 * then serves the training's requests one at a time: `sync` (take the main thread's weights,
 * optimizer state and dropout-seed position), `step` (the loss and gradient of a shard of a batch)
 * and `apply` (one update with the summed gradient; no reply). Its `workerData` is a
 * `Replicas.ReplicaConfig`.
 *
 * @since 0.2.0
 */
import { Batching } from "@haemsa/datasets"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as Backend from "../backends/Backend"
import * as Environment from "../Environment"
import * as BatchTensors from "../model/BatchTensors"
import * as Network from "../model/Network"
import * as Optimizer from "../model/Optimizer"
import type { ReplicaConfig, ReplicaReply, ReplicaRequest } from "./Replicas"
import { apply, shardGradient } from "./Replicas"

const port = parentPort
if (port === null) throw new Error("ReplicaWorker runs in a worker thread (see Replicas.make)")
const config = workerData as ReplicaConfig
const reply = (message: ReplicaReply, transfer: ReadonlyArray<ArrayBuffer> = []) => port.postMessage(message, [...transfer])
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e))

const start = async () => {
  if (config.backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm")
    wasm.setThreadsCount(1)
  }
  await Backend.setup(config.backend)
  const { net, losses } = await Effect.runPromise(
    Effect.gen(function*() {
      const net = yield* Network.build(config.spec, config.info, config.seed)
      const losses = { task: yield* TaskLosses.TaskLosses, kd: yield* Distillation.Distillation }
      return { net, losses }
    }).pipe(Effect.provide(Environment.parts))
  )
  const varList = [...net.variables.values()]
  const optimizer = Optimizer.adam(config.spec.learningRate)
  port.on("message", async (request: ReplicaRequest) => {
    try {
      switch (request.type) {
        case "sync": {
          varList.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(request.weights[i], v.shape, "float32"))))
          optimizer.restoreState(request.optimizer)
          net.seeds.restore(request.seeds)
          return reply({ type: "synced" })
        }
        case "step": {
          const part = Batching.subset(config.train, request.rows)
          const batch = BatchTensors.fromSplit(part, request.mask)
          try {
            const { gradient, loss } = shardGradient(net, batch, losses, request.shares, varList)
            return reply({ type: "gradient", gradient, loss }, [gradient.values.buffer as ArrayBuffer, gradient.present.buffer as ArrayBuffer])
          } finally {
            BatchTensors.dispose(batch)
          }
        }
        case "apply":
          return apply(net, optimizer, varList, request.gradient)
      }
    } catch (e) {
      reply({ type: "failed", reason: `${request.type}: ${reason(e)}` })
    }
  })
  reply({ type: "ready" })
}

start().catch((e) => reply({ type: "fatal", reason: `cannot start (backend ${config.backend}): ${reason(e)}` }))
