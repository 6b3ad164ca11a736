/**
 * The tfjs side of the training-epoch benchmark, shared by `epoch.ts` and `profile.ts`: the default
 * HAEMSA network on the synthetic MOSI-shaped data (1284 training samples, T = 50, text 768,
 * audio 5, vision 20), trained as `Train.train` trains it: Adam on the joint objective, batches made
 * as Train.train makes them (subset, modality dropout, BatchTensors), on one thread (`Train.step`) or
 * data-parallel over `threads` replicas (`Replicas`, what `haemsa train --threads N` runs).
 */
import { Batching, Dataset, Normalize, Random, Synthetic } from "@haemsa/datasets"
import { ArchitectureSpec, Backend, BatchTensors, DataInfo, Evaluate, Optimizer, Replicas, Train } from "@haemsa/haemsa-model"
import { Effect, Exit, Scope } from "effect"
import { buildNetwork } from "./DefaultModel"

/** The batch size of the benchmark (the training default). */
export const BATCH = 32

/** CPU seconds of this process since `since` (all its threads). */
const cpuSince = (since: NodeJS.CpuUsage): number => {
  const spent = process.cpuUsage(since)
  return (spent.user + spent.system) / 1e6
}

/**
 * Set up the backend and build the network, its Adam optimizer and the training split (and the
 * replica workers when `threads` > 1); returns them with functions that make a batch, train one step
 * and train one epoch, and `close` (stops the workers).
 */
export const makeTfjs = async (backend = "wasm", threads = 1) => {
  await Backend.setup(backend)
  const { dataset, stats } = Normalize.normalize(Synthetic.synthetic({ seed: 0 }))
  const info = DataInfo.fromDataset(dataset, stats)
  const spec = ArchitectureSpec.defaultSpec
  const { net, losses } = buildNetwork(spec, info, 0)
  const train = dataset.splits.train
  const rng = Random.makeRng(0x5eed)
  const used = net.modalities.map((m) => Dataset.MODALITY_INDEX[m])
  const varList = [...net.variables.values()]
  const optimizer = Optimizer.adam(spec.learningRate)
  const scope = Effect.runSync(Scope.make())
  const replicas = threads > 1
    ? await Effect.runPromise(Scope.provide(Replicas.make(threads, { backend, spec, info, seed: 0, train }), scope))
    : undefined
  if (replicas !== undefined) await Effect.runPromise(replicas.sync(net, optimizer))
  /** The batch tensors of `indices`, as Train.train makes them (with modality dropout). */
  const batchOf = (indices: Int32Array): BatchTensors.BatchTensors => {
    return BatchTensors.fromRows(train, indices, Train.modalityDropout(Batching.maskRows(train, indices), used, spec.modalityDropout, rng))
  }
  /** One optimisation step on a batch (Train.step); the loss value (read right away, synchronously). */
  const step = (batch: BatchTensors.BatchTensors): number => {
    const loss = Train.step(net, optimizer, batch, losses, varList)
    const value = loss.dataSync()[0]
    loss.dispose()
    return value
  }
  return {
    net,
    losses,
    threads,
    /** Trainable parameters. */
    parameters: varList.reduce((sum, v) => sum + v.size, 0),
    train,
    batchOf,
    step,
    /** One training epoch as Train.train runs it (without validation): wall and CPU seconds (this process, every thread). */
    epoch: async (): Promise<{ readonly seconds: number; readonly cpuSeconds: number }> => {
      const started = performance.now()
      const cpu = process.cpuUsage()
      for (const indices of Batching.batchIndices(train.n, BATCH, rng)) {
        if (replicas !== undefined) {
          const mask = Train.modalityDropout(Batching.maskRows(train, indices), used, spec.modalityDropout, rng)
          await Effect.runPromise(replicas.step(net, optimizer, losses, varList, Int32Array.from(indices), mask))
          continue
        }
        const batch = batchOf(indices)
        try {
          step(batch)
        } finally {
          BatchTensors.dispose(batch)
        }
      }
      return { seconds: (performance.now() - started) / 1000, cpuSeconds: cpuSince(cpu) }
    },
    /**
     * Predictions (evaluation mode) of the train split's rows `rows` in batches of at most
     * `batchSize` rows, their batches made and the outputs read back: shared by the replicas when
     * there are any (`Replicas.predict`), else on this thread.
     */
    predict: (rows: Int32Array, batchSize?: number): Promise<Evaluate.Predictions> =>
      replicas !== undefined
        ? Effect.runPromise(replicas.predict(net, "train", rows, batchSize))
        : Evaluate.predictRowsInBatches(net, train, rows, batchSize),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}
