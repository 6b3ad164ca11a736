/**
 * The default HAEMSA network on MOSI-shaped synthetic data (T = 50, text 768, audio 5, vision 20),
 * built through the real haemsa-model code path (Network.build with the default parts), and a training
 * step (Train.step) whose loss is read asynchronously. Shared by the training-throughput, inference,
 * GPU agreement and kernel-profile benchmarks.
 */
import type { Dataset } from "@haemsa/datasets"
import { Normalize, Synthetic } from "@haemsa/datasets"
import { ArchitectureSpec, BatchTensors, DataInfo, Environment, Network, Objective, Train } from "@haemsa/haemsa-model"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"

/** A built network with its loss services and its training split. */
export interface DefaultModel {
  readonly net: Network.Network
  readonly losses: Objective.Losses
  readonly train: Dataset.Split
  /** The batch tensors of the first `size` training samples from `offset` (wrapping around). */
  readonly batch: (size: number, offset?: number) => BatchTensors.BatchTensors
}

/** Options of {@link make}. */
export interface ModelOptions {
  /** Training samples generated (default 512). */
  readonly samples?: number
  /** Sequence length (default 50, MOSI's). */
  readonly steps?: number
  /** Feature sizes (default MOSI's 768/5/20). */
  readonly dims?: { readonly text: number; readonly audio: number; readonly vision: number }
  /** The architecture (default `ArchitectureSpec.defaultSpec`). */
  readonly spec?: ArchitectureSpec.ArchitectureSpec
  /** Weight seed (default 0). */
  readonly seed?: number
}

/** Network.build of `spec` with the default parts, and the default loss services. */
export const buildNetwork = (
  spec: ArchitectureSpec.ArchitectureSpec,
  info: DataInfo.DataInfo,
  seed: number
): { readonly net: Network.Network; readonly losses: Objective.Losses } =>
  Effect.runSync(
    Effect.gen(function*() {
      const net = yield* Network.build(spec, info, seed)
      return { net, losses: { task: yield* TaskLosses.TaskLosses, kd: yield* Distillation.Distillation } }
    }).pipe(Effect.provide(Environment.parts))
  )

/** Build the network on seeded synthetic data; tensors live on the active backend. */
export const make = (options: ModelOptions = {}): DefaultModel => {
  const samples = options.samples ?? 512
  const data = Synthetic.synthetic({
    seed: 0,
    steps: options.steps ?? 50,
    ...(options.dims ? { dims: options.dims } : {}),
    sizes: { train: samples, valid: 8, test: 8 }
  })
  const { dataset, stats } = Normalize.normalize(data)
  const info = DataInfo.fromDataset(dataset, stats)
  const { net, losses } = buildNetwork(options.spec ?? ArchitectureSpec.defaultSpec, info, options.seed ?? 0)
  const train = dataset.splits.train
  return {
    net,
    losses,
    train,
    batch: (size, offset = 0) => BatchTensors.fromRows(train, Int32Array.from({ length: size }, (_, i) => (offset + i) % train.n))
  }
}

/** The joint loss of a batch (inside a taped function). */
export const loss = (model: DefaultModel, batch: BatchTensors.BatchTensors): tf.Scalar =>
  Objective.jointLoss(model.net, model.net.apply(batch, true), batch, model.losses)

/**
 * One optimisation step (the optimizer's update of every weight); resolves to the loss. The step is
 * recorded before this returns (every kernel is queued) and only the loss is read back later, so a
 * caller can record the next step before awaiting this one.
 */
export const step = (model: DefaultModel, optimizer: tf.Optimizer, batch: BatchTensors.BatchTensors): Promise<number> => {
  const cost = Train.step(model.net, optimizer, batch, model.losses)
  return cost.data().then(
    (values) => {
      cost.dispose()
      return values[0]
    },
    (e) => {
      cost.dispose()
      throw e
    }
  )
}
