import { Batching, Random } from "@haemsa/datasets"
import { WasmIdentity } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Backend from "../src/backends/Backend"
import * as BatchTensors from "../src/model/BatchTensors"
import * as Network from "../src/model/Network"
import * as Optimizer from "../src/model/Optimizer"
import * as Train from "../src/model/Train"
import { buildNet, defaultLosses, prepare, sentimentData, tinySpec, useCpu } from "./Support"

beforeAll(async () => {
  await Backend.setup("wasm")
})
afterAll(async () => {
  WasmIdentity.install()
  await useCpu()
})

describe("the wasm backend's Identity kernel (WasmIdentity)", () => {
  it("is installed by Backend.setup and shares the buffer: a clone outlives its source, and both free it", () => {
    expect(WasmIdentity.installed()).toBe(true)
    const buffers = tf.backend().numDataIds()
    const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]])
    const y = tf.clone(x)
    expect(tf.backend().numDataIds()).toBe(buffers + 1)
    x.dispose()
    expect(Array.from(y.dataSync())).toEqual([1, 2, 3, 4, 5, 6])
    y.dispose()
    expect(tf.backend().numDataIds()).toBe(buffers)
  })

  /** Losses and final weights of 6 training steps of a tiny HAEMSA (LSTM experts: every path saves clones). */
  const train = () => {
    const { dataset, info } = prepare(sentimentData(3))
    const spec = tinySpec("haemsa", "lstm")
    const net = buildNet(spec, info, 5)
    const varList = [...net.variables.values()]
    const optimizer = Optimizer.adam(spec.learningRate)
    const rng = Random.makeRng(9)
    const losses: number[] = []
    const counts: Array<[number, number]> = []
    for (const indices of Batching.batchIndices(dataset.splits.train.n, 16, rng).slice(0, 6)) {
      const batch = BatchTensors.fromSplit(Batching.subset(dataset.splits.train, indices))
      const loss = Train.step(net, optimizer, batch, defaultLosses, varList)
      losses.push(loss.dataSync()[0])
      loss.dispose()
      BatchTensors.dispose(batch)
      counts.push([tf.memory().numTensors, tf.backend().numDataIds()])
    }
    const weights = varList.map((v) => Array.from(v.dataSync()))
    optimizer.dispose()
    Network.dispose(net)
    return { losses, weights, counts }
  }

  it("changes no number of a training run, and leaks neither tensors nor buffers", () => {
    WasmIdentity.uninstall()
    expect(WasmIdentity.installed()).toBe(false)
    const copying = train()
    WasmIdentity.install()
    const shared = train()
    expect(shared.losses).toEqual(copying.losses)
    expect(shared.weights).toEqual(copying.weights)
    // after the first step (optimizer slots made) the counts stay flat
    for (const [tensors, buffers] of shared.counts.slice(2)) {
      expect(tensors).toBe(shared.counts[1][0])
      expect(buffers).toBe(shared.counts[1][1])
    }
  })
})
