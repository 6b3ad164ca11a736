/**
 * The entry of a fitness worker thread (started by `SearchEvaluator.layerWorkers`). It sets up its
 * backend, loads and normalises the dataset once (with both text features when the search chooses them), answers `ready` with the data's modalities, then
 * runs each job (a fitness at a fidelity, or a full training run with valid/test metrics) and
 * answers it. Its `workerData` is a `SearchEvaluator.WorkerConfig`.
 *
 * @since 0.1.0
 */
import { DatasetLoader } from "@haemsa/datasets"
import { Cause, Effect, Exit } from "effect"
import { parentPort, workerData } from "node:worker_threads"
import * as Backend from "../backends/Backend"
import { availableModalities } from "../model/DataInfo"
import * as Environment from "../Environment"
import type { FitnessServices, WorkerConfig, WorkerReply, WorkerRequest } from "./SearchEvaluator"
import { dataFor, fitness, loadSearchData, retrain } from "./SearchEvaluator"

const port = parentPort
if (port === null) throw new Error("FitnessWorker runs in a worker thread (see SearchEvaluator.layerWorkers)")
const config = workerData as WorkerConfig
const reply = (message: WorkerReply) => port.postMessage(message)
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Sets up the backend: wasm with the configured number of threads (set before it initialises). */
const setupBackend = async (): Promise<string> => {
  if (config.backend === "wasm") {
    const wasm = await import("@tensorflow/tfjs-backend-wasm")
    wasm.setThreadsCount(config.wasmThreads)
  }
  return Backend.setup(config.backend, undefined, { allowSoftwareAdapter: config.allowSoftwareAdapter === true })
}

const start = async () => {
  const backend = await setupBackend()
  // both text features when the search chooses between them, each loaded once
  const data = await Effect.runPromise(loadSearchData(config.options).pipe(Effect.provide(DatasetLoader.DatasetLoader.layer)))
  // one request at a time: the parent sends the next only after this one is answered
  port.on("message", async (request: WorkerRequest) => {
    const job: Effect.Effect<WorkerReply, unknown, FitnessServices> = request.type === "fitness"
      ? Effect.map(
        fitness(request.spec, dataFor(data, request.text ?? "tokens"), request.fidelity, config.options, {
          ...(request.progress === true ? { log: (line: string) => reply({ type: "progress", id: request.id, line }) } : {}),
          ...(request.from !== undefined ? { from: request.from } : {}),
          keep: request.keep === true
        }),
        (outcome) => ({ type: "fitness", id: request.id, outcome })
      )
      : Effect.map(retrain(request.spec, dataFor(data, request.text ?? "tokens"), request.epochs, config.options, request.seed), (outcome) => ({ type: "retrain", id: request.id, outcome }))
    const exit = await Effect.runPromiseExit(job.pipe(Effect.provide(Environment.parts)))
    reply(Exit.isSuccess(exit) ? exit.value : { type: "failed", id: request.id, reason: reason(Cause.squash(exit.cause)) })
  })
  reply({ type: "ready", modalities: availableModalities(data.tokens.info), backend })
}

start().catch((e) => reply({ type: "fatal", reason: `cannot start (${config.options.source}, backend ${config.backend}): ${reason(e)}` }))
