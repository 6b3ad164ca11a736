/**
 * The entry of a training replica's worker thread (started by `Replicas.make`). It sets up its own
 * backend (one thread), builds the network from the spec and seed it was given, answers `ready`,
 * then serves the training's requests one at a time: `sync` (the buffer of weights it shares with
 * the main thread, and the dropout-seed position), `step` (take the weights from that buffer, then
 * the loss and gradient of a shard of a batch), `predict` (take the weights, then the predictions
 * of a shard of rows) and `take` (take the weights now; no reply). Its `workerData` is a
 * `Replicas.ReplicaConfig`.
 *
 * @since 0.2.0
 */
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import { Effect } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as Backend from "../backends/Backend"
import * as Environment from "../Environment"
import * as BatchTensors from "../model/BatchTensors"
import * as Evaluate from "../model/Evaluate"
import * as Network from "../model/Network"
import type { ReplicaConfig, ReplicaReply, ReplicaRequest } from "./Replicas"
import { assignFlat, shardGradient } from "./Replicas"

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
  let weights: Float32Array | undefined
  // the version of the shared weights the network holds (-1: none yet)
  let taken = -1
  const take = (version: number) => {
    if (version === taken) return
    assignFlat(varList, weights!)
    taken = version
  }
  // a failed `take` (which has no reply), reported as the reply to the next request
  let failedTake: string | undefined
  port.on("message", (request: ReplicaRequest) => {
    if (request.type === "take") {
      if (weights === undefined) failedTake = "take: no weights (not synced)"
      else {
        try {
          take(request.version)
        } catch (e) {
          failedTake = `take: ${reason(e)}`
        }
      }
      return
    }
    if (failedTake !== undefined) {
      const failed = failedTake
      failedTake = undefined
      return reply({ type: "failed", reason: failed })
    }
    try {
      switch (request.type) {
        case "sync": {
          weights = request.weights
          taken = -1
          net.seeds.restore(request.seeds)
          return reply({ type: "synced" })
        }
        case "step": {
          if (weights === undefined) return reply({ type: "failed", reason: "step: no weights (not synced)" })
          take(request.version)
          const batch = BatchTensors.fromRows(config.train, request.rows, request.mask)
          try {
            const { gradient, loss } = shardGradient(net, batch, losses, request.shares, varList)
            return reply({ type: "gradient", gradient, loss }, [gradient.values.buffer as ArrayBuffer, gradient.present.buffer as ArrayBuffer])
          } finally {
            BatchTensors.dispose(batch)
          }
        }
        case "predict": {
          if (weights === undefined) return reply({ type: "failed", reason: "predict: no weights (not synced)" })
          const data = config[request.split]
          if (data === undefined) return reply({ type: "failed", reason: `predict: no ${request.split} split` })
          take(request.version)
          // (copied, not transferred: on cpu a read may hand back the backend's own array)
          Evaluate.predictRowsInBatches(net, data, request.rows, request.batchSize)
            .then((predictions) => reply({ type: "predictions", predictions }))
            .catch((e) => reply({ type: "failed", reason: `predict: ${reason(e)}` }))
          return
        }
      }
    } catch (e) {
      reply({ type: "failed", reason: `${request.type}: ${reason(e)}` })
    }
  })
  reply({ type: "ready" })
}

start().catch((e) => reply({ type: "fatal", reason: `cannot start (backend ${config.backend}): ${reason(e)}` }))
