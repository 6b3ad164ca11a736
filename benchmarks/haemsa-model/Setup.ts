/**
 * The tfjs side of the training-epoch benchmark, shared by `epoch.ts` and `profile.ts`: the default
 * HAEMSA network on the synthetic MOSI-shaped data (1284 training samples, T = 50, text 768,
 * audio 5, vision 20), on the wasm backend, trained with Train's own step (Adam on the joint
 * objective) on batches made as Train.train makes them (subset, modality dropout, BatchTensors).
 */
import { Batching, Dataset, Normalize, Random, Synthetic } from "@haemsa/datasets"
import { ArchitectureSpec, Backend, BatchTensors, DataInfo, Optimizer, Train } from "@haemsa/haemsa-model"
import { buildNetwork } from "./DefaultModel"

/** The batch size of the benchmark (the training default). */
export const BATCH = 32

/**
 * Set up the backend and build the network, its Adam optimizer and the training split; returns them
 * with functions that make a batch, train one step and train one epoch.
 */
export const makeTfjs = async (backend = "wasm") => {
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
  /** The batch tensors of `indices`, as Train.train makes them (with modality dropout). */
  const batchOf = (indices: Int32Array): BatchTensors.BatchTensors => {
    const split = Batching.subset(train, indices)
    return BatchTensors.fromSplit(split, Train.modalityDropout(split.mask, used, spec.modalityDropout, rng))
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
    /** Trainable parameters. */
    parameters: varList.reduce((sum, v) => sum + v.size, 0),
    train,
    batchOf,
    step,
    /** One training epoch as Train.train runs it (without validation): wall and CPU seconds. */
    epoch: (): { readonly seconds: number; readonly cpuSeconds: number } => {
      const started = performance.now()
      const cpu = process.cpuUsage()
      for (const indices of Batching.batchIndices(train.n, BATCH, rng)) {
        const batch = batchOf(indices)
        try {
          step(batch)
        } finally {
          BatchTensors.dispose(batch)
        }
      }
      const spent = process.cpuUsage(cpu)
      return { seconds: (performance.now() - started) / 1000, cpuSeconds: (spent.user + spent.system) / 1e6 }
    }
  }
}
