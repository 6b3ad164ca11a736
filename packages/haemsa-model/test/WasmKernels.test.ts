import { Batching, Random } from "@haemsa/datasets"
import { BackwardSaves, Layers, RowGather, WasmIdentity, WasmMaskedMean, WasmMatMul, WasmSum } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Backend from "../src/backends/Backend"
import * as BatchTensors from "../src/model/BatchTensors"
import * as Evaluate from "../src/model/Evaluate"
import * as Network from "../src/model/Network"
import * as Optimizer from "../src/model/Optimizer"
import * as Train from "../src/model/Train"
import * as WasmAdam from "../src/model/WasmAdam"
import * as Replicas from "../src/parallel/Replicas"
import { buildNet, defaultLosses, prepare, sentimentData, tinySpec, useCpu } from "./Support"

beforeAll(async () => {
  await Backend.setup("wasm")
})
afterAll(async () => {
  WasmIdentity.install()
  WasmSum.install()
  WasmMatMul.install()
  WasmAdam.setEnabled(true)
  WasmMaskedMean.setEnabled(true)
  BackwardSaves.install()
  await useCpu()
})

describe("the wasm backend's Identity and same-dtype Cast kernels (WasmIdentity)", () => {
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

  it("shares the buffer for a cast to the same dtype too; a cast to another dtype converts", () => {
    expect(WasmIdentity.installed()).toBe(true)
    const buffers = tf.backend().numDataIds()
    const x = tf.tensor2d([[1.5, -2.25], [3, 4]])
    const same = tf.cast(x, "float32")
    expect(tf.backend().numDataIds()).toBe(buffers + 1)
    const ints = tf.cast(x, "int32")
    expect(tf.backend().numDataIds()).toBe(buffers + 2)
    x.dispose()
    expect(Array.from(same.dataSync())).toEqual([1.5, -2.25, 3, 4])
    expect(ints.dtype).toBe("int32")
    expect(Array.from(ints.dataSync())).toEqual([1, -2, 3, 4])
    tf.dispose([same, ints])
    expect(tf.backend().numDataIds()).toBe(buffers)
  })

  /** Losses and final weights of 6 training steps of a tiny HAEMSA (LSTM experts: every path saves clones; mean-pool ones: the masked means). */
  const train = (kind: "lstm" | "meanpool") => {
    const { dataset, info } = prepare(sentimentData(3))
    const spec = tinySpec("haemsa", kind)
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

  it.each(["lstm", "meanpool"] as const)("changes no number of a training run, and leaks neither tensors nor buffers (with the shared backward saves, WasmSum, WasmMatMul, WasmAdam and WasmMaskedMean too; %s experts)", (kind) => {
    expect(BackwardSaves.installed()).toBe(true)
    expect(WasmSum.installed()).toBe(true)
    expect(WasmMatMul.installed()).toBe(true)
    WasmIdentity.uninstall()
    BackwardSaves.uninstall()
    WasmSum.uninstall()
    WasmMatMul.uninstall()
    WasmAdam.setEnabled(false)
    WasmMaskedMean.setEnabled(false)
    expect(WasmIdentity.installed()).toBe(false)
    const copying = train(kind)
    WasmIdentity.install()
    BackwardSaves.install()
    WasmSum.install()
    WasmMatMul.install()
    WasmAdam.setEnabled(true)
    WasmMaskedMean.setEnabled(true)
    const onKernel = WasmAdam.stats.onKernel
    const pooled = WasmMaskedMean.stats.backward
    const shared = train(kind)
    expect(WasmAdam.stats.onKernel).toBeGreaterThan(onKernel)
    if (kind === "meanpool") expect(WasmMaskedMean.stats.backward).toBeGreaterThan(pooled)
    expect(shared.losses).toEqual(copying.losses)
    expect(shared.weights).toEqual(copying.weights)
    // after the first step (optimizer slots made) the counts stay flat
    for (const [tensors, buffers] of shared.counts.slice(2)) {
      expect(tensors).toBe(shared.counts[1][0])
      expect(buffers).toBe(shared.counts[1][1])
    }
  })
})

describe("the wasm backend's row gather (RowGather) and the packed projection (Layers.projectKept)", () => {
  it("copies the asked rows, runs and single rows alike, and refuses an index out of range", () => {
    const x = tf.tensor2d(Array.from({ length: 24 }, (_, i) => i), [6, 4])
    const index = Int32Array.from([0, 1, 2, 4, 4, 5, 3])
    expect(RowGather.gatherRows(x, index).arraySync()).toEqual(tf.gather(x, Array.from(index)).arraySync())
    expect(() => RowGather.gatherRows(x, Int32Array.from([6]))).toThrow(/index 6 at 0 is outside \[0, 6\)/)
    x.dispose()
  })

  it("gives the cpu backend's values and gradients on wasm (768-d rows into 64 units, a third of the rows dropped)", async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.randomNormal([90, 768], 0, 1, "float32", 1) as tf.Tensor2D
        const w = tf.randomNormal([768, 64], 0, 0.05, "float32", 2) as tf.Tensor2D
        const bias = tf.randomNormal([64], 0, 1, "float32", 3) as tf.Tensor1D
        const mask = tf.tensor1d(Array.from({ length: 90 }, (_, i) => (i % 3 === 2 ? 0 : 1)))
        const up = tf.mul(tf.randomNormal([90, 64], 0, 1, "float32", 4), tf.expandDims(mask, 1))
        const f = (w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(Layers.projectKept(x, mask, w as tf.Tensor2D, b as tf.Tensor1D), up))
        const [gw, gb] = tf.grads(f)([w, bias])
        return [Layers.projectKept(x, mask, w, bias), gw, gb].map((t) => Array.from(t.dataSync()))
      })
    const onWasm = run()
    await useCpu()
    const onCpu = run()
    await Backend.setup("wasm")
    onWasm.forEach((values, i) => values.forEach((v, j) => expect(Math.abs(v - onCpu[i][j])).toBeLessThan(1e-3)))
  })
})

describe("the replicas' shared prediction on wasm", () => {
  it.effect("is the one-thread prediction, bit for bit", () =>
    Effect.gen(function*() {
      const { dataset, info } = prepare(sentimentData(3))
      const spec = tinySpec("haemsa", "lstm")
      const net = buildNet(spec, info, 8)
      const valid = dataset.splits.valid
      yield* Effect.scoped(Effect.gen(function*() {
        const replicas = yield* Replicas.make(2, { backend: "wasm", spec, info, seed: 8, train: dataset.splits.train, valid })
        yield* replicas.sync(net, Optimizer.adam(spec.learningRate))
        const shared = yield* replicas.predict(net, "valid", Int32Array.from({ length: valid.n }, (_, i) => i))
        const alone = yield* Effect.promise(() => Evaluate.predict(net, valid))
        expect(Array.from(shared.regression!)).toEqual(Array.from(alone.regression!))
        expect(Array.from(shared.attention!)).toEqual(Array.from(alone.attention!))
      }))
      Network.dispose(net)
    }), 60_000)
})
