import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { lstmLayer, stepMasking } from "../src/LstmLayer"
import { expectTidyLeavesNoTensors, maxAbsDiff, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

/** The textbook step-by-step LSTM with masked state updates, differentiated by tfjs itself. */
const reference = (gates: tf.Tensor2D, recurrent: tf.Tensor2D, mask: ReadonlyArray<ReadonlyArray<number>>) => {
  const t = mask[0].length
  const b = mask.length
  const h = recurrent.shape[0]
  let hPrev: tf.Tensor = tf.zeros([b, h])
  let cPrev: tf.Tensor = tf.zeros([b, h])
  const states: Array<tf.Tensor> = []
  for (let step = 0; step < t; step++) {
    const m = tf.tensor2d(mask.map((row) => [row[step]]))
    const z = tf.add(tf.slice(gates, [step * b, 0], [b, 4 * h]), tf.matMul(hPrev, recurrent))
    const [i, f, o, g] = tf.split(z, 4, 1)
    const cNew = tf.add(tf.mul(tf.sigmoid(f), cPrev), tf.mul(tf.sigmoid(i), tf.tanh(g)))
    const hNew = tf.mul(tf.sigmoid(o), tf.tanh(cNew))
    cPrev = tf.add(tf.mul(m, cNew), tf.mul(tf.sub(1, m), cPrev))
    hPrev = tf.add(tf.mul(m, hNew), tf.mul(tf.sub(1, m), hPrev))
    states.push(hPrev)
  }
  return tf.concat(states, 0) as tf.Tensor2D
}

/** Values and gradients (for gates and recurrent kernel) of both implementations under one loss. */
const compare = (mask: ReadonlyArray<ReadonlyArray<number>>, h: number, seed: number) =>
  tf.tidy(() => {
    const b = mask.length
    const t = mask[0].length
    const gates = tf.randomNormal([t * b, 4 * h], 0, 1, "float32", seed) as tf.Tensor2D
    const recurrent = tf.randomNormal([h, 4 * h], 0, 0.5, "float32", seed + 1) as tf.Tensor2D
    const weights = tf.randomNormal([t * b, h], 0, 1, "float32", seed + 2)
    const masking = stepMasking(tf.tensor2d(mask as Array<Array<number>>))
    const loss = (run: (g: tf.Tensor2D, r: tf.Tensor2D) => tf.Tensor2D) =>
      tf.grads((g, r) => tf.sum(tf.mul(run(g as tf.Tensor2D, r as tf.Tensor2D), weights)))([gates, recurrent])
    const mine = loss((g, r) => lstmLayer(g, r, masking))
    const theirs = loss((g, r) => reference(g, r, mask))
    return {
      values: maxAbsDiff(lstmLayer(gates, recurrent, masking), reference(gates, recurrent, mask)),
      gates: maxAbsDiff(mine[0], theirs[0]),
      recurrent: maxAbsDiff(mine[1], theirs[1])
    }
  })

describe("lstmLayer", () => {
  it("equals the step-by-step LSTM in values and gradients for any mask", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.infiniteStream(fc.boolean()),
        (b, t, h, seed, bits) => {
          const mask = Array.from({ length: b }, () => Array.from({ length: t }, () => (bits.next().value ? 1 : 0)))
          const diff = compare(mask, h, seed)
          expect(diff.values).toBeLessThan(1e-5)
          expect(diff.gates).toBeLessThan(1e-4)
          expect(diff.recurrent).toBeLessThan(1e-4)
        }
      ),
      { numRuns: 60 }
    )
  })

  it("handles leading, inner and trailing padding, and all-valid batches", () => {
    for (
      const mask of [
        [[0, 0, 1, 1, 1], [0, 1, 1, 1, 0]],
        [[1, 0, 0, 1, 1], [1, 1, 0, 0, 1]],
        [[1, 1, 1, 0, 0], [1, 1, 1, 1, 0]],
        [[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
        [[0, 0, 0], [0, 0, 0]]
      ]
    ) {
      const diff = compare(mask, 3, 7)
      expect(diff.values, JSON.stringify(mask)).toBeLessThan(1e-5)
      expect(diff.gates, JSON.stringify(mask)).toBeLessThan(1e-4)
      expect(diff.recurrent, JSON.stringify(mask)).toBeLessThan(1e-4)
    }
  })

  it("leaks no tensors, forward or backward", () => {
    const gates = tf.randomNormal([3 * 2, 8]) as tf.Tensor2D
    const recurrent = tf.variable(tf.randomNormal([2, 8]))
    const masking = stepMasking(tf.tensor2d([[1, 1, 0], [1, 0, 0]]))
    const before = tf.memory().numTensors
    expectTidyLeavesNoTensors(() => lstmLayer(gates, recurrent as tf.Tensor2D, masking))
    const { value, grads } = tf.variableGrads(() => tf.sum(lstmLayer(gates, recurrent as tf.Tensor2D, masking)) as tf.Scalar)
    tf.dispose([value, ...Object.values(grads)])
    expect(tf.memory().numTensors).toBe(before)
  })
})
