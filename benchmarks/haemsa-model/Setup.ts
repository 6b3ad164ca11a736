/**
 * The tfjs side of the training-epoch benchmark, shared by `epoch.ts` and `profile.ts`: the default
 * HAEMSA network on the synthetic MOSI-shaped data (1284 training samples, T = 50, text 768,
 * audio 5, vision 20), on the wasm backend, trained with Train's own step.
 */
import { Batching, Normalize, Random, Synthetic } from "@haemsa/datasets"
import type { Dataset } from "@haemsa/datasets"
import { ArchitectureSpec, Backend, BatchTensors, DataInfo, Layers, Network, Objective, Train } from "@haemsa/haemsa-model"
import { Services } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"

/** The batch size of the benchmark (the training default). */
export const BATCH = 32

/** A ready network, its optimizer, the training split, and step and epoch functions. */
export const makeTfjs = async (backend = "wasm") => {
  await Backend.setup(backend)
  const { dataset, stats } = Normalize.normalize(Synthetic.synthetic({ seed: 0 }))
  const info = DataInfo.fromDataset(dataset, stats)
  const spec = ArchitectureSpec.defaultSpec
  const { net, losses } = Effect.runSync(
    Effect.gen(function*() {
      const net = yield* Network.build(spec, info, 0)
      return { net, losses: { task: yield* Services.TaskLosses, kd: yield* Services.Distillation } }
    }).pipe(Effect.provide(Layers.parts))
  )
  const train = dataset.splits.train
  const rng = Random.makeRng(0x5eed)
  const used = net.modalities.map((m) => ({ text: 0, audio: 1, vision: 2 })[m])
  const varList = [...net.variables.values()]
  const optimizer = tf.train.adam(spec.learningRate)
  /** The batch tensors of `indices`, as Train.train makes them (with modality dropout). */
  const batchOf = (indices: Int32Array): BatchTensors.BatchTensors => {
    const split = Batching.subset(train, indices)
    return BatchTensors.fromSplit(split, Train.modalityDropout(split.mask, used, spec.modalityDropout, rng))
  }
  /** One optimisation step on a batch; the loss value. */
  const step = (batch: BatchTensors.BatchTensors): number => {
    const cost = optimizer.minimize(() => Objective.jointLoss(net, net.apply(batch, true), batch, losses), true, varList)!
    const value = cost.dataSync()[0]
    cost.dispose()
    return value
  }
  return {
    net,
    train: train as Dataset.Split,
    batchOf,
    step,
    /** One training epoch as Train.train runs it (without validation); seconds. */
    epoch: (): number => {
      const started = performance.now()
      for (const indices of Batching.batchIndices(train.n, BATCH, rng)) {
        const batch = batchOf(indices)
        try {
          step(batch)
        } finally {
          BatchTensors.dispose(batch)
        }
      }
      return (performance.now() - started) / 1000
    }
  }
}
