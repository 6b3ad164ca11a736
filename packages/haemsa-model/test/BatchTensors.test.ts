/**
 * BatchTensors.fromRows (a batch's feature rows straight into their tensors; on wasm into the
 * backend's memory) against fromSplit of the rows' subset: the same tensors, value for value, for
 * sentiment, emotions and token data, any rows (runs, repeats, any order), a modality mask and step
 * masks; nothing leaked; rows out of range refused.
 */
import { Batching } from "@haemsa/datasets"
import type { Dataset as D } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Backend from "../src/backends/Backend"
import * as BatchTensors from "../src/model/BatchTensors"
import { emotionData, prepare, sentimentData, tokenData, useCpu } from "./Support"

/** Every tensor of a batch by name, as plain arrays. */
const contents = (batch: BatchTensors.BatchTensors) => {
  const out: Record<string, { shape: Array<number>; dtype: string; values: Array<number> }> = {}
  const add = (name: string, t: tf.Tensor | undefined) => {
    if (t !== undefined) out[name] = { shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync()) }
  }
  for (const [m, t] of Object.entries(batch.x)) add(`x.${m}`, t)
  for (const [m, t] of Object.entries(batch.stepMask)) add(`stepMask.${m}`, t)
  add("tokens", batch.tokens)
  add("modalityMask", batch.modalityMask)
  add("regression", batch.regression)
  add("classes", batch.classes)
  add("emotions", batch.emotions)
  return { size: batch.size, tensors: out }
}

const splits: ReadonlyArray<readonly [string, D.Split]> = [
  ["sentiment", prepare(sentimentData(2)).dataset.splits.train],
  ["emotions", prepare(emotionData(2)).dataset.splits.train],
  ["tokens", prepare(tokenData(2)).dataset.splits.train]
]

const agree = () =>
  fc.assert(
    fc.property(fc.constantFrom(...splits), fc.array(fc.nat(), { minLength: 1, maxLength: 12 }), fc.boolean(), fc.integer(), ([, split], picks, dropAudio, seed) => {
      const rows = Int32Array.from(picks, (p) => p % split.n)
      const mask = Batching.maskRows(split, rows)
      if (dropAudio) for (let r = 0; r < rows.length; r++) mask[r * 3 + 1] = 0
      const steps = split.features.text?.steps ?? split.tokens!.steps
      const keepText = Uint8Array.from({ length: rows.length * steps }, (_, j) => ((j * 7 + seed) % 5 === 0 ? 0 : 1))
      const stepKeep = split.features.text !== undefined || split.tokens !== undefined ? { text: keepText } : {}
      const direct = BatchTensors.fromRows(split, rows, mask, stepKeep)
      const subset = BatchTensors.fromSplit(Batching.subset(split, rows), mask, stepKeep)
      try {
        expect(contents(direct)).toEqual(contents(subset))
      } finally {
        BatchTensors.dispose(direct)
        BatchTensors.dispose(subset)
      }
    }),
    { numRuns: 40, seed: 12 }
  )

describe("BatchTensors.fromRows", () => {
  describe("on wasm (written into the backend's memory)", () => {
    beforeAll(async () => {
      await Backend.setup("wasm")
    })
    afterAll(useCpu)

    it("makes fromSplit(subset)'s tensors for any rows, masks and step masks", agree)

    it("leaks no tensor or buffer", () => {
      const split = splits[0][1]
      const tensors = tf.memory().numTensors
      const buffers = tf.backend().numDataIds()
      BatchTensors.dispose(BatchTensors.fromRows(split, Int32Array.from([3, 4, 5, 0, 0])))
      expect(tf.memory().numTensors).toBe(tensors)
      expect(tf.backend().numDataIds()).toBe(buffers)
    })
  })

  describe("on cpu", () => {
    beforeAll(useCpu)

    it("makes fromSplit(subset)'s tensors for any rows, masks and step masks", agree)

    it("refuses rows out of range, naming the index", () => {
      expect(() => BatchTensors.fromRows(splits[0][1], Int32Array.from([0, 9999]))).toThrow(/9999/)
    })
  })
})
