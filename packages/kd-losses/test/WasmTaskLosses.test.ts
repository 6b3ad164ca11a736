/**
 * The weighted L1 loss and the weighted cross-entropy on class ids as one op of the tape on the wasm
 * backend (`OneOp`): value and gradients (the logits, the prediction and the target, alone and beside
 * other uses) bit for bit those of the composite (`OneOp.setEnabled(false)`), for any batch, class
 * count, weights (or none) and labels; soft targets keep the composite.
 */
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identical } from "@haemsa/test-helpers"
import * as OneOp from "../src/OneOp"
import { crossEntropy, l1Loss } from "../src/TaskLosses"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  OneOp.setEnabled(true)
  await tf.setBackend("cpu")
})

/** `f`'s value and gradients for `xs`, one-op or composite; with `beside`, the inputs feed other terms too. */
const run = (oneOp: boolean, f: (...xs: Array<tf.Tensor>) => tf.Scalar, xs: Array<tf.Tensor>, beside: boolean) => {
  OneOp.setEnabled(oneOp)
  const g = (...ys: Array<tf.Tensor>) => (beside ? tf.add(tf.add(tf.sum(tf.square(ys[0])), f(...ys)), tf.sum(tf.mul(ys[ys.length - 1], 0.25))) : f(...ys)) as tf.Scalar
  const value = f(...xs)
  const grads = tf.grads(g)(xs)
  OneOp.setEnabled(true)
  return { value, grads }
}

/** Sample weights (0, 1, 0.5 or 2), or none for one seed in three. */
const weightsOf = (b: number, seed: number) =>
  seed % 3 === 2 ? undefined : tf.tensor1d(Array.from({ length: b }, (_, i) => [0, 1, 1, 0.5, 2][(i * 3 + seed) % 5]))

describe("the task losses as one op on wasm", () => {
  it("cross-entropy on class ids equals the composite bit for bit", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 2, max: 9 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1_000_000 }),
        (b, k, hostIds, beside, seed) => {
          const logits = tf.randomNormal([b, k], 0, 4, "float32", seed) as tf.Tensor2D
          const ids = Int32Array.from({ length: b }, (_, i) => (i * 5 + seed) % k)
          const labels = hostIds ? ids : tf.tensor1d(ids, "int32")
          const w = weightsOf(b, seed)
          const f = (x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, labels, w)
          const calls = OneOp.stats.crossEntropy
          const one = run(true, f, [logits], beside)
          expect(OneOp.stats.crossEntropy).toBe(calls + 2)
          const composite = run(false, f, [logits], beside)
          expect(OneOp.stats.crossEntropy).toBe(calls + 2)
          expect(identical(one.value, composite.value)).toBe(true)
          expect(identical(one.grads[0], composite.grads[0])).toBe(true)
          tf.dispose([logits, ...(w ? [w] : []), one.value, composite.value, ...one.grads, ...composite.grads])
          if (labels instanceof tf.Tensor) labels.dispose()
        }),
      { numRuns: 60 }
    )
  })

  it("the L1 loss equals the composite bit for bit, for the prediction and the target", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1_000_000 }),
        (b, column, beside, seed) => {
          const pred: tf.Tensor = column ? tf.randomNormal([b, 1], 0, 2, "float32", seed) : tf.randomNormal([b], 0, 2, "float32", seed)
          // some targets equal the predictions (|x|'s gradient at 0)
          const target = tf.tidy(() => tf.where(tf.less(tf.randomUniform([b], 0, 1, "float32", seed + 1), 0.2), tf.reshape(pred, [b]), tf.randomNormal([b], 0, 2, "float32", seed + 2))) as tf.Tensor1D
          const w = weightsOf(b, seed)
          const f = (p: tf.Tensor, y: tf.Tensor) => l1Loss(p as tf.Tensor1D, y as tf.Tensor1D, w)
          const calls = OneOp.stats.l1
          const one = run(true, f, [pred, target], beside)
          expect(OneOp.stats.l1).toBe(calls + 2)
          const composite = run(false, f, [pred, target], beside)
          expect(identical(one.value, composite.value)).toBe(true)
          one.grads.forEach((g, i) => expect(identical(g, composite.grads[i])).toBe(true))
          tf.dispose([pred, target, ...(w ? [w] : []), one.value, composite.value, ...one.grads, ...composite.grads])
        }),
      { numRuns: 60 }
    )
  })

  it("keeps the composite for soft targets and empty batches, and leaks no tensor", () => {
    const logits = tf.randomNormal([5, 3], 0, 1, "float32", 4) as tf.Tensor2D
    const soft = tf.softmax(tf.randomNormal([5, 3], 0, 1, "float32", 5)) as tf.Tensor2D
    const w = tf.tensor1d([1, 0, 1, 0.5, 2])
    const [ce, l1] = [OneOp.stats.crossEntropy, OneOp.stats.l1]
    crossEntropy(logits, soft, w).dispose()
    crossEntropy(logits, soft).dispose()
    // an empty batch: the composite's 0 (which tfjs cannot differentiate), as on every backend
    const empty = tf.zeros([0]) as tf.Tensor1D
    expect(crossEntropy(tf.zeros([0, 3]) as tf.Tensor2D, new Int32Array(0), empty).dataSync()[0]).toBe(0)
    expect(l1Loss(empty, empty, empty).dataSync()[0]).toBe(0)
    expect([OneOp.stats.crossEntropy, OneOp.stats.l1]).toEqual([ce, l1])
    const ids = Int32Array.from([0, 1, 2, 0, 1])
    const step = () => tf.tidy(() => tf.grad((x: tf.Tensor) => crossEntropy(x as tf.Tensor2D, ids, w))(logits).dataSync())
    step()
    const start = tf.memory().numTensors
    for (let i = 0; i < 3; i++) step()
    expect(tf.memory().numTensors).toBe(start)
    expect(OneOp.stats.crossEntropy).toBe(ce + 4)
    tf.dispose([logits, soft, w])
  })
})
