/**
 * The batch's features are data, and the network treats them so:
 * - `BatchTensors.fromRows` gathers the valid steps of a wide modality straight from the data set
 *   (`batch.packed`), and the network projects those rows without reading x, which the batch then
 *   makes only when something reads it. Checked against `setPackFromData(false)` (every x made, the
 *   rows packed by the network, as before);
 * - their first projections build no input-gradient path (`SequenceInput.data`,
 *   `Layers.project`'s `data`), checked against `Layers.setDataProjection(false)`.
 * On cpu and on wasm: the same kept rows, the same predictions and the same weights after training
 * steps, bit for bit (LSTM and transformer experts too, which reshape the projected rows), and no
 * tensor left behind whether x was read or not.
 */
import { Batching, Random, Synthetic } from "@haemsa/datasets"
import { Layers } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import * as Backend from "../src/backends/Backend"
import * as BatchTensors from "../src/model/BatchTensors"
import * as Evaluate from "../src/model/Evaluate"
import * as Network from "../src/model/Network"
import * as Optimizer from "../src/model/Optimizer"
import * as Train from "../src/model/Train"
import { kernelNames } from "@haemsa/test-helpers"
import { buildNet, defaultLosses, prepare, tinySpec, useCpu } from "./Support"

/** Text and vision wide enough to pack (Layers.PACK_DIM 64), audio not; lengths from half the steps to all. */
const { dataset, info } = prepare(Synthetic.synthetic({ sizes: { train: 48, valid: 16, test: 16 }, steps: 10, dims: { text: 70, audio: 5, vision: 66 }, seed: 4 }))
const split = dataset.splits.train

afterEach(() => {
  BatchTensors.setPackFromData(true)
  Layers.setDataProjection(true)
})

/** The values of x's rows (B·T, d) that `selection` keeps. */
const keptRowsOf = (x: tf.Tensor3D, selection: { readonly rows: Int32Array }): Array<number> => {
  const [, , d] = x.shape
  const values = x.dataSync()
  return Array.from(selection.rows).flatMap((j) => Array.from(values.subarray(j * d, (j + 1) * d)))
}

const bothBackends = (body: () => void) => {
  describe("on cpu", () => {
    beforeAll(useCpu)
    body()
  })
  describe("on wasm", () => {
    beforeAll(async () => {
      await Backend.setup("wasm")
    })
    afterAll(useCpu)
    body()
  })
}

/** Predictions of `rows` of the train split, and the weights after `steps` training steps, with the rows packed from the data or not. */
const run = (fromData: boolean, kind: "meanpool" | "lstm" | "transformer", steps: number, dataProjection = true) => {
  BatchTensors.setPackFromData(fromData)
  Layers.setDataProjection(dataProjection)
  const spec = tinySpec("haemsa", kind, { dropout: 0.1, modalityDropout: 0.2 })
  const net = buildNet(spec, info, 3)
  const varList = [...net.variables.values()]
  const optimizer = Optimizer.adam(spec.learningRate)
  const rng = Random.makeRng(7)
  const losses: Array<number> = []
  let packedBatches = 0
  // the zero-valued input paths of projections (Layers.project) fill their zeros with Fill
  let fills = 0
  for (const indices of Batching.batchIndices(split.n, 16, rng).slice(0, steps)) {
    const rows = Int32Array.from(indices)
    const batch = BatchTensors.fromRows(split, rows, Train.modalityDropout(Batching.maskRows(split, rows), [0, 1, 2], spec.modalityDropout, rng))
    if (batch.packed !== undefined) packedBatches++
    fills += kernelNames(() => {
      const loss = Train.step(net, optimizer, batch, defaultLosses, varList)
      losses.push(loss.dataSync()[0])
      loss.dispose()
    }).filter((name) => name === "Fill").length
    BatchTensors.dispose(batch)
  }
  return Evaluate.predictRows(net, split, Int32Array.from({ length: 20 }, (_, i) => (i * 5) % split.n)).then((predictions) => {
    const weights = varList.map((v) => Array.from(v.dataSync()))
    optimizer.dispose()
    Network.dispose(net)
    return { losses, weights, predictions, packedBatches, fills }
  })
}

bothBackends(() => {
  it("keeps the rows Layers.packSelection picks from the step mask, with x's values, for any rows and masks", () =>
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), fc.boolean(), (picks, dropVision) => {
        const rows = Int32Array.from(picks, (p) => p % split.n)
        const mask = Batching.maskRows(split, rows)
        if (dropVision) for (let r = 0; r < rows.length; r++) mask[r * 3 + 2] = 0
        const batch = BatchTensors.fromRows(split, rows, mask)
        try {
          for (const m of ["text", "audio", "vision"] as const) {
            const dim = split.features[m]!.dim
            const selection = Layers.packSelection(dim, batch.stepMask[m]!.dataSync())
            const packed = batch.packed?.[m]
            if (selection === undefined) {
              expect(packed).toBeUndefined()
              continue
            }
            expect(packed).toBeDefined()
            expect(Array.from(packed!.selection.rows)).toEqual(Array.from(selection.rows))
            expect(packed!.rows.shape).toEqual([selection.rows.length, dim])
            expect(Array.from(packed!.rows.dataSync())).toEqual(keptRowsOf(batch.x[m]!, selection))
          }
        } finally {
          BatchTensors.dispose(batch)
        }
      }),
      { numRuns: 30, seed: 5 }
    ))

  it("makes x only when read, once, and leaves no tensor behind either way", () => {
    const rows = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7])
    const before = tf.memory().numTensors
    const unread = BatchTensors.fromRows(split, rows)
    expect(unread.packed?.text).toBeDefined()
    const made = tf.memory().numTensors
    BatchTensors.dispose(unread)
    expect(tf.memory().numTensors).toBe(before)

    const read = BatchTensors.fromRows(split, rows)
    const x = tf.tidy(() => read.x.text!) // read inside a tidy: kept, not disposed at its end
    expect(tf.memory().numTensors).toBe(made + 1)
    expect(read.x.text).toBe(x)
    expect(x.isDisposed).toBe(false)
    expect(x.shape).toEqual([8, 10, 70])
    BatchTensors.dispose(read)
    expect(x.isDisposed).toBe(true)
    expect(tf.memory().numTensors).toBe(before)
  })

  for (const kind of ["meanpool", "lstm", "transformer"] as const) {
    it(`${kind} experts: the same losses, weights and predictions as with x made and packed by the network`, async () => {
      const fromData = await run(true, kind, 4)
      const asBefore = await run(false, kind, 4)
      expect(fromData.packedBatches).toBeGreaterThan(0)
      expect(asBefore.packedBatches).toBe(0)
      expect(fromData.losses).toEqual(asBefore.losses)
      expect(fromData.weights).toEqual(asBefore.weights)
      expect(fromData.predictions).toEqual(asBefore.predictions)
      expect({ ...fromData, packedBatches: 0, fills: 0 }).toEqual({ ...asBefore, packedBatches: 0, fills: 0 })
    })

    it(`${kind} experts: the same losses, weights and predictions with the data's projections as one op and with their input path`, async () => {
      const oneOp = await run(true, kind, 4)
      const withInputPath = await run(true, kind, 4, false)
      // every modality's projections are of data here: their input paths went
      expect(oneOp.fills).toBeLessThan(withInputPath.fills)
      expect({ ...oneOp, fills: 0 }).toEqual({ ...withInputPath, fills: 0 })
    })
  }
})
