/**
 * What the wasm kernels of this project's own do to a whole training step, and what a kernel call
 * costs, on the wasm backend (one thread, Node or Deno):
 *
 * - a one-thread training step of the default HAEMSA network (`DefaultModel.step`: forward, backward,
 *   Adam, the loss read) at batch 16 (a replica's shard of a batch of 32 on two threads) and 32, in
 *   seven settings taken in turn (8 rounds of 8 steps each, after a warm-up), so all see the same
 *   machine: `WasmMatMul`, `WasmMaskedMean` and `WasmWeightedMean` of `@haemsa/nn`, `WasmAdam` and
 *   the losses as one op each (`OneOp` of `@haemsa/kd-losses`) and the projections of data without
 *   their zero input path (`Layers.setDataProjection`) all on (the default), the data projections off, the one-op losses off,
 *   `WasmWeightedMean` off too, `WasmMaskedMean` off too, `WasmMatMul` only, and none (explicit
 *   transposes, XNNPACK, tfjs's Adam, the composites); prints each setting's median and quartiles
 *   and the ratios of the medians. All compute the same numbers bit for bit (`WasmKernels.test.ts`).
 * - the eval-mode forward pass at batch 64 (inference) with and without `WasmMaskedMean`, in turn.
 * - a batch made and predicted (`Evaluate.predictRows`, batch 64) and a training step with its batch
 *   made (batch 16), with the wide text rows gathered straight from the data (`BatchTensors.fromRows`,
 *   the default) and with x made and packed by the network (`BatchTensors.setPackFromData(false)`), in turn.
 * - the cost of one kernel call: 2000 `tf.add` of two (16, 8) tensors in a `tf.tidy`, and in a taped
 *   computation (`tf.variableGrads` of a chain of 1000 add-multiply pairs: forward, backward and the
 *   tape per forward kernel). A training step of 16 samples runs about 960 kernels (`tf.profile`, commit db636bb).
 *
 *   npx tsx --conditions=source benchmarks/nn/step.ts [--rounds R]
 */
import { Backend, BatchTensors, Evaluate, Network, Optimizer, WasmAdam } from "@haemsa/haemsa-model"
import { Layers, WasmMaskedMean, WasmMatMul, WasmWeightedMean } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { OneOp } from "@haemsa/kd-losses"
import { argOption, runtime } from "../Harness"
import * as DefaultModel from "../haemsa-model/DefaultModel"

const rounds = Number(argOption("rounds", "8"))
const STEPS_PER_ROUND = 8

await Backend.setup("wasm")
console.log(`${runtime()}, wasm (one thread)`)

const quantile = (xs: ReadonlyArray<number>, q: number): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]

/** Per-kernel milliseconds: plain (in a tidy) and taped (variableGrads, per forward kernel). */
const kernelCost = (): { readonly plain: number; readonly taped: number } => {
  const a = tf.ones([16, 8])
  const b = tf.ones([16, 8])
  const v = tf.variable(tf.ones([16, 8]))
  let t0 = performance.now()
  tf.tidy(() => {
    let x = a
    for (let i = 0; i < 2000; i++) x = tf.add(x, b)
  })
  const plain = (performance.now() - t0) / 2000
  t0 = performance.now()
  tf.tidy(() => {
    tf.variableGrads(() => {
      let x: tf.Tensor = v
      for (let i = 0; i < 1000; i++) x = tf.mul(tf.add(x, b), 0.999)
      return tf.sum(x) as tf.Scalar
    })
  })
  const taped = (performance.now() - t0) / 2000
  tf.dispose([a, b, v])
  return { plain, taped }
}

const costs = Array.from({ length: 5 }, kernelCost).slice(2) // the first two warm up
console.log(
  `one kernel call: ${(quantile(costs.map((c) => c.plain), 0.5) * 1000).toFixed(1)} us plain, ` +
    `${(quantile(costs.map((c) => c.taped), 0.5) * 1000).toFixed(1)} us per forward kernel with the tape (forward + backward)`
)

for (const batchSize of [16, 32]) {
  const model = DefaultModel.make({ samples: 256 })
  const optimizer = Optimizer.adam(model.net.spec.learningRate)
  const batches = Array.from({ length: 4 }, (_, i) => model.batch(batchSize, i * batchSize))
  for (let i = 0; i < 5; i++) await DefaultModel.step(model, optimizer, batches[i % batches.length])
  const settings = [
    { name: "WasmMatMul + WasmAdam + WasmMaskedMean + WasmWeightedMean + one-op losses + data projections (the default)", matMul: true, adam: true, maskedMean: true, weightedMean: true, oneOp: true, dataProjection: true },
    { name: "WasmMatMul + WasmAdam + WasmMaskedMean + WasmWeightedMean + one-op losses", matMul: true, adam: true, maskedMean: true, weightedMean: true, oneOp: true, dataProjection: false },
    { name: "WasmMatMul + WasmAdam + WasmMaskedMean + WasmWeightedMean", matMul: true, adam: true, maskedMean: true, weightedMean: true, oneOp: false, dataProjection: false },
    { name: "WasmMatMul + WasmAdam + WasmMaskedMean", matMul: true, adam: true, maskedMean: true, weightedMean: false, oneOp: false, dataProjection: false },
    { name: "WasmMatMul + WasmAdam", matMul: true, adam: true, maskedMean: false, weightedMean: false, oneOp: false, dataProjection: false },
    { name: "WasmMatMul only", matMul: true, adam: false, maskedMean: false, weightedMean: false, oneOp: false, dataProjection: false },
    { name: "none", matMul: false, adam: false, maskedMean: false, weightedMean: false, oneOp: false, dataProjection: false }
  ] as const
  const times = settings.map(() => [] as number[])
  for (let round = 0; round < rounds; round++) {
    for (const [k, setting] of settings.entries()) {
      if (setting.matMul) WasmMatMul.install()
      else WasmMatMul.uninstall()
      WasmAdam.setEnabled(setting.adam)
      WasmMaskedMean.setEnabled(setting.maskedMean)
      WasmWeightedMean.setEnabled(setting.weightedMean)
      OneOp.setEnabled(setting.oneOp)
      Layers.setDataProjection(setting.dataProjection)
      for (let i = 0; i < STEPS_PER_ROUND; i++) {
        const t0 = performance.now()
        await DefaultModel.step(model, optimizer, batches[i % batches.length])
        times[k].push(performance.now() - t0)
      }
    }
  }
  WasmMatMul.install()
  WasmAdam.setEnabled(true)
  WasmMaskedMean.setEnabled(true)
  WasmWeightedMean.setEnabled(true)
  OneOp.setEnabled(true)
  Layers.setDataProjection(true)
  const median = (k: number) => quantile(times[k], 0.5)
  console.log(`training step, batch ${batchSize}:`)
  settings.forEach((setting, k) =>
    console.log(
      `  ${setting.name}: median ${median(k).toFixed(2)} ms (quartiles ${quantile(times[k], 0.25).toFixed(2)}-${quantile(times[k], 0.75).toFixed(2)})` +
        (k < settings.length - 1 ? `, ${(median(k) / median(settings.length - 1)).toFixed(2)}x none's` : "")
    )
  )
  optimizer.dispose()
  for (const b of batches) BatchTensors.dispose(b)
  Network.dispose(model.net)
}

// inference: the eval-mode forward pass at batch 64 (the pooling of every expert is a masked mean),
// with and without WasmMaskedMean, in turn
{
  const model = DefaultModel.make({ samples: 256 })
  const batches = Array.from({ length: 4 }, (_, i) => model.batch(64, i * 64))
  const forward = (i: number) => tf.tidy(() => void model.net.apply(batches[i % batches.length], false).regression!.dataSync())
  for (let i = 0; i < 5; i++) forward(i)
  const times = { on: [] as number[], off: [] as number[] }
  for (let round = 0; round < rounds; round++) {
    for (const on of [true, false]) {
      WasmMaskedMean.setEnabled(on)
      for (let i = 0; i < STEPS_PER_ROUND; i++) {
        const t0 = performance.now()
        forward(i)
        times[on ? "on" : "off"].push(performance.now() - t0)
      }
    }
  }
  WasmMaskedMean.setEnabled(true)
  const [on, off] = [quantile(times.on, 0.5), quantile(times.off, 0.5)]
  console.log(`eval-mode forward, batch 64: with WasmMaskedMean median ${on.toFixed(2)} ms, without ${off.toFixed(2)} ms (${(on / off).toFixed(2)}x)`)
  for (const b of batches) BatchTensors.dispose(b)
  Network.dispose(model.net)
}

// batches made too: the wide rows straight from the data (the default) or x made and packed by the network, in turn
{
  const model = DefaultModel.make({ samples: 256 })
  const optimizer = Optimizer.adam(model.net.spec.learningRate)
  const rows = (size: number, i: number) => Int32Array.from({ length: size }, (_, r) => (i * size + r) % model.train.n)
  const trainStep = async (i: number) => {
    const batch = BatchTensors.fromRows(model.train, rows(16, i))
    try {
      await DefaultModel.step(model, optimizer, batch)
    } finally {
      BatchTensors.dispose(batch)
    }
  }
  for (let i = 0; i < 5; i++) {
    await trainStep(i)
    await Evaluate.predictRows(model.net, model.train, rows(64, i))
  }
  const times = { predict: { on: [] as number[], off: [] as number[] }, step: { on: [] as number[], off: [] as number[] } }
  for (let round = 0; round < rounds; round++) {
    for (const on of round % 2 === 0 ? [true, false] : [false, true]) {
      BatchTensors.setPackFromData(on)
      const key = on ? "on" : "off"
      for (let i = 0; i < STEPS_PER_ROUND; i++) {
        let t0 = performance.now()
        await Evaluate.predictRows(model.net, model.train, rows(64, round * STEPS_PER_ROUND + i))
        times.predict[key].push(performance.now() - t0)
        t0 = performance.now()
        await trainStep(round * STEPS_PER_ROUND + i)
        times.step[key].push(performance.now() - t0)
      }
    }
  }
  BatchTensors.setPackFromData(true)
  for (const [name, t] of [["batch made and predicted, batch 64", times.predict], ["batch made and a training step, batch 16", times.step]] as const) {
    const [on, off] = [quantile(t.on, 0.5), quantile(t.off, 0.5)]
    console.log(`${name}: rows from the data median ${on.toFixed(2)} ms, x made and packed by the network ${off.toFixed(2)} ms (${(on / off).toFixed(3)}x)`)
  }
  optimizer.dispose()
  Network.dispose(model.net)
}
