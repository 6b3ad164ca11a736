import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { Effect } from "effect"
import { beforeAll, describe, expect, it, layer } from "@effect/vitest"
import { TaskLossError } from "../src/Errors"
import { binaryCrossEntropyWithLogits, crossEntropy, l1Loss, mseLoss, sentimentClasses, TaskLosses } from "../src/TaskLosses"
import { bce64, ce64, closeTo, npRound, weightedMean64 } from "./Reference"
import { expectNoLeaks, thrown, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

const f32 = (lim: number) => fc.double({ min: -lim, max: lim, noNaN: true }).map(Math.fround)

const vector = (n: number, lim: number) => fc.array(f32(lim), { minLength: n, maxLength: n })

const mask = (n: number) => fc.array(fc.constantFrom(0, 1), { minLength: n, maxLength: n })

/** Read a scalar loss and dispose everything the call made. */
const scalar = (f: () => tf.Tensor): number => {
  const out = tf.tidy(f)
  const v = out.dataSync()[0]
  out.dispose()
  return v
}

const near = (actual: number, expected: number, abs: number, rel = 1e-5) =>
  expect(Math.abs(actual - expected), `${actual} vs ${expected}`).toBeLessThanOrEqual(abs + rel * Math.abs(expected))

const caught = (f: () => unknown): TaskLossError => thrown(TaskLossError, f)

describe("l1Loss and mseLoss", () => {
  const batch = fc
    .integer({ min: 1, max: 8 })
    .chain((b) => fc.tuple(vector(b, 3), vector(b, 3), mask(b), fc.boolean()))

  it("equal the float64 references, for (B) and (B, 1) predictions, with and without weights", () => {
    fc.assert(
      fc.property(batch, ([p, y, m, column]) => {
        const pred = () => (column ? tf.tensor2d(p, [p.length, 1]) : tf.tensor1d(p))
        const absErr = p.map((v, i) => Math.abs(v - y[i]))
        const sqErr = p.map((v, i) => (v - y[i]) ** 2)
        near(scalar(() => l1Loss(pred(), tf.tensor1d(y))), weightedMean64(absErr), 1e-6)
        near(scalar(() => mseLoss(pred(), tf.tensor1d(y))), weightedMean64(sqErr), 1e-6)
        near(scalar(() => l1Loss(pred(), tf.tensor1d(y), tf.tensor1d(m))), weightedMean64(absErr, m), 1e-6)
        near(scalar(() => mseLoss(pred(), tf.tensor1d(y), tf.tensor1d(m))), weightedMean64(sqErr, m), 1e-6)
      }),
      { numRuns: 60 }
    )
  })

  it("count only the weighted samples: the masked loss equals the loss on the present subset", () => {
    fc.assert(
      fc.property(batch, ([p, y, m]) => {
        const present = m.flatMap((w, i) => (w === 1 ? [i] : []))
        const masked = scalar(() => l1Loss(tf.tensor1d(p), tf.tensor1d(y), tf.tensor1d(m)))
        if (present.length === 0) {
          expect(masked).toBe(0)
        } else {
          const subset = scalar(() =>
            l1Loss(tf.tensor1d(present.map((i) => p[i])), tf.tensor1d(present.map((i) => y[i])))
          )
          near(masked, subset, 1e-6)
        }
      }),
      { numRuns: 60 }
    )
  })

  it("give masked samples zero gradient and present ones sign(p - y) / count", () => {
    const p = tf.tensor1d([1, -2, 0.5, 3])
    const y = tf.tensor1d([0, 0, 1, 3.5])
    const w = tf.tensor1d([1, 0, 1, 1])
    const g = tf.grad((x) => l1Loss(x as tf.Tensor1D, y, w))(p)
    expect(Array.from(g.dataSync(), (v) => v + 0)).toEqual([1 / 3, 0, -1 / 3, -1 / 3].map(Math.fround))
    tf.dispose([p, y, w, g])
  })

  it("reject bad shapes and weights with a TaskLossError naming the argument", () => {
    const b3 = tf.tensor1d([1, 2, 3])
    const b2 = tf.tensor1d([1, 2])
    const wide = tf.zeros([3, 2])
    const ints = tf.tensor1d([1, 2, 3], "int32")
    expect(caught(() => l1Loss(b3, b2)).argument).toBe("target")
    expect(caught(() => mseLoss(wide as tf.Tensor2D, b3)).value).toBe("[3,2]")
    expect(caught(() => l1Loss(b3, b3, b2)).argument).toBe("weights")
    expect(caught(() => l1Loss(ints, b3)).value).toBe("int32")
    tf.dispose([b3, b2, wide, ints])
  })
})

describe("crossEntropy", () => {
  const problem = (lim: number) =>
    fc
      .record({ b: fc.integer({ min: 1, max: 5 }), c: fc.integer({ min: 2, max: 7 }) })
      .chain(({ b, c }) =>
        fc.tuple(
          fc.array(vector(c, lim), { minLength: b, maxLength: b }),
          fc.array(fc.integer({ min: 0, max: c - 1 }), { minLength: b, maxLength: b }),
          mask(b)
        )
      )

  it("equals the float64 reference with int32 ids, Int32Array ids and one-hot targets, with weights", () => {
    fc.assert(
      fc.property(problem(20), ([logits, labels, m]) => {
        const c = logits[0].length
        const expected = weightedMean64(logits.map((row, i) => ce64(row, labels[i])))
        const byIds = scalar(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, "int32")))
        const byArray = scalar(() => crossEntropy(tf.tensor2d(logits), Int32Array.from(labels)))
        const byOneHot = scalar(() =>
          crossEntropy(tf.tensor2d(logits), tf.tensor2d(labels.map((l) => Array.from({ length: c }, (_, k) => (k === l ? 1 : 0)))))
        )
        near(byIds, expected, 1e-5 * (1 + 20))
        expect(byArray).toBe(byIds)
        near(byOneHot, byIds, 1e-6)
        const weighted = scalar(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, "int32"), tf.tensor1d(m)))
        near(weighted, weightedMean64(logits.map((row, i) => ce64(row, labels[i])), m), 1e-5 * (1 + 20))
      }),
      { numRuns: 60 }
    )
  })

  it("is finite, with finite gradients, for extreme logits (±1e4)", () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 5 })
          .chain((c) =>
            fc.tuple(
              fc.array(fc.array(fc.constantFrom(1e4, -1e4, 0, 5e3), { minLength: c, maxLength: c }), {
                minLength: 1,
                maxLength: 4
              }),
              fc.integer({ min: 0, max: c - 1 })
            )
          ),
        ([logits, label]) => {
          const labels = logits.map(() => label)
          const expected = weightedMean64(logits.map((row) => ce64(row, label)))
          const value = scalar(() => crossEntropy(tf.tensor2d(logits), tf.tensor1d(labels, "int32")))
          expect(Number.isFinite(value)).toBe(true)
          near(value, expected, 1e-2, 1e-6)
          const g = tf.tidy(() =>
            Array.from(
              tf.grad((x) => crossEntropy(x as tf.Tensor2D, tf.tensor1d(labels, "int32")))(tf.tensor2d(logits)).dataSync()
            )
          )
          expect(g.every(Number.isFinite)).toBe(true)
        }
      ),
      { numRuns: 40 }
    )
  })

  it("rejects float ids, out-of-range host ids, and mismatched shapes", () => {
    const logits = tf.zeros([2, 3]) as tf.Tensor2D
    const floatIds = tf.tensor1d([0, 1])
    const ids3 = tf.tensor1d([0, 1, 2], "int32")
    const oneHot = tf.zeros([2, 4]) as tf.Tensor2D
    expect(caught(() => crossEntropy(logits, floatIds)).message).toContain("sentimentClasses")
    const range = caught(() => crossEntropy(logits, Int32Array.from([0, 3])))
    expect([range.argument, range.value]).toEqual(["labels[1]", "3"])
    expect(caught(() => crossEntropy(logits, ids3)).argument).toBe("labels")
    expect(caught(() => crossEntropy(logits, oneHot)).value).toBe("[2,4]")
    expect(caught(() => crossEntropy(floatIds as unknown as tf.Tensor2D, ids3)).argument).toBe("logits")
    tf.dispose([logits, floatIds, ids3, oneHot])
  })
})

describe("binaryCrossEntropyWithLogits", () => {
  it("equals the float64 reference for (B) and (B, K) logits, 0/1 and soft targets, with weights", () => {
    fc.assert(
      fc.property(
        fc
          .record({ b: fc.integer({ min: 1, max: 6 }), k: fc.integer({ min: 1, max: 4 }) })
          .chain(({ b, k }) =>
            fc.tuple(
              fc.array(vector(k, 30), { minLength: b, maxLength: b }),
              fc.array(fc.array(fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true }).map(Math.fround)), { minLength: k, maxLength: k }), {
                minLength: b,
                maxLength: b
              }),
              mask(b)
            )
          ),
        ([x, z, m]) => {
          const losses = x.map((row, i) => row.map((v, k) => bce64(v, z[i][k])))
          const expected = weightedMean64(losses.flat())
          near(scalar(() => binaryCrossEntropyWithLogits(tf.tensor2d(x), tf.tensor2d(z))), expected, 1e-5 * 31)
          const perSample = losses.flatMap((row, i) => row.map(() => m[i]))
          near(
            scalar(() => binaryCrossEntropyWithLogits(tf.tensor2d(x), tf.tensor2d(z), tf.tensor1d(m))),
            weightedMean64(losses.flat(), perSample),
            1e-5 * 31
          )
          const column = x.map((row) => row[0])
          near(
            scalar(() => binaryCrossEntropyWithLogits(tf.tensor1d(column), tf.tensor1d(z.map((row) => row[0])))),
            weightedMean64(column.map((v, i) => bce64(v, z[i][0]))),
            1e-5 * 31
          )
        }
      ),
      { numRuns: 60 }
    )
  })

  it("is finite and exact for extreme logits, with the gradient sigmoid(x) - z everywhere (also at 0)", () => {
    const x = [1e4, -1e4, 1e4, -1e4, 0, 0, 88, -88]
    const z = [0, 0, 1, 1, 0, 1, 0, 1]
    const value = scalar(() => binaryCrossEntropyWithLogits(tf.tensor1d(x), tf.tensor1d(z)))
    near(value, weightedMean64(x.map((v, i) => bce64(v, z[i]))), 1e-3, 1e-6)
    const [gx, gz] = tf.tidy(() =>
      tf
        .grads((a, b) => binaryCrossEntropyWithLogits(a, b))([tf.tensor1d(x), tf.tensor1d(z)])
        .map((g) => Array.from(g.dataSync()))
    )
    const sigmoid = (v: number) => 1 / (1 + Math.exp(-v))
    expect(closeTo(gx, x.map((v, i) => (sigmoid(v) - z[i]) / x.length), 1e-7)).toBeUndefined()
    expect(closeTo(gz, x.map((v) => -v / x.length), 1e-3, 1e-6)).toBeUndefined()
  })

  it("rejects unequal shapes and weights that fit neither (B) nor the logits' shape", () => {
    const x = tf.zeros([3, 2])
    const z = tf.zeros([3])
    const w = tf.ones([2])
    expect(caught(() => binaryCrossEntropyWithLogits(x, z)).argument).toBe("targets")
    expect(caught(() => binaryCrossEntropyWithLogits(x, x, w)).value).toBe("[2]")
    expect(caught(() => binaryCrossEntropyWithLogits(tf.scalar(1), tf.scalar(1))).argument).toBe("logits")
    tf.dispose([x, z, w])
  })
})

describe("sentimentClasses", () => {
  it("rounds half to even after clipping, as numpy and the MMSA metrics do", () => {
    const y = Float32Array.from([-0.5, 0.5, 1.5, 2.5, -3.2, 3.7, -2.5, -1.5, 0, -0.49, 2.51])
    expect(Array.from(sentimentClasses(y))).toEqual([3, 3, 5, 5, 0, 6, 1, 1, 3, 3, 6])
    expect(Array.from(sentimentClasses(y, 5))).toEqual([2, 2, 4, 4, 0, 4, 0, 0, 2, 2, 4])
    expect(Array.from(sentimentClasses(y, 3))).toEqual([1, 1, 2, 2, 0, 2, 0, 0, 1, 1, 2])
  })

  it("matches an independent round-half-even reference, in range, for arrays and tensors alike", () => {
    const label = fc.oneof(
      f32(4),
      fc.integer({ min: -8, max: 8 }).map((k) => k / 2)
    )
    fc.assert(
      fc.property(fc.array(label, { maxLength: 20 }), fc.constantFrom(7, 5, 3), (ys, classes) => {
        const k = (classes - 1) / 2
        const expected = ys.map((y) => npRound(Math.min(k, Math.max(-k, y))) + k)
        const fromArray = sentimentClasses(Float32Array.from(ys), classes as 7 | 5 | 3)
        expect(Array.from(fromArray)).toEqual(expected)
        expect(Array.from(fromArray).every((c) => c >= 0 && c < classes)).toBe(true)
        const t = tf.tensor1d(ys)
        const fromTensor = sentimentClasses(t, classes as 7 | 5 | 3)
        expect(fromTensor.dtype).toBe("int32")
        expect(Array.from(fromTensor.dataSync())).toEqual(expected)
        tf.dispose([t, fromTensor])
      }),
      { numRuns: 100 }
    )
  })

  it("rejects non-finite labels and unknown class counts", () => {
    const nan = caught(() => sentimentClasses([0, Number.NaN]))
    expect([nan.argument, nan.value]).toEqual(["y[1]", "NaN"])
    expect(caught(() => sentimentClasses([0], 4 as 7)).argument).toBe("classes")
    const m = tf.zeros([2, 2])
    expect(caught(() => sentimentClasses(m as unknown as tf.Tensor1D)).argument).toBe("y")
    m.dispose()
  })
})

describe("no leaked tensors", () => {
  it("every loss and its gradient, inside tf.tidy and outside", () => {
    const p = tf.tensor1d([0.5, -1, 2])
    const y = tf.tensor1d([0, -1.5, 3])
    const w = tf.tensor1d([1, 0, 1])
    const logits = tf.tensor2d([[1, 2, 3], [1e4, -1e4, 0], [0, 0, 0]])
    const ids = tf.tensor1d([2, 0, 1], "int32")
    const z = tf.tensor2d([[1, 0, 1], [0, 0, 1], [1, 1, 0]])
    const column = tf.reshape(p, [3, 1]) as tf.Tensor2D
    const calls: Array<() => tf.Tensor | Array<tf.Tensor>> = [
      () => l1Loss(p, y, w),
      () => mseLoss(column, y),
      () => crossEntropy(logits, ids, w),
      () => crossEntropy(logits, Int32Array.from([0, 1, 2])),
      () => binaryCrossEntropyWithLogits(logits, z, w),
      () => sentimentClasses(y),
      () => tf.grads((a, b) => binaryCrossEntropyWithLogits(a, b, w))([logits, z]),
      () => tf.grad((a) => crossEntropy(a as tf.Tensor2D, ids))(logits),
      () => tf.grad((a) => mseLoss(a as tf.Tensor1D, y, w))(p)
    ]
    expectNoLeaks(calls)
    tf.dispose([p, y, w, logits, ids, z, column])
  })
})

layer(TaskLosses.layer)("the TaskLosses service", (it) => {
  it.effect("the default layer provides this module's functions", () =>
    Effect.gen(function*() {
      const tasks = yield* TaskLosses
      expect(tasks.l1).toBe(l1Loss)
      expect(tasks.mse).toBe(mseLoss)
      expect(tasks.crossEntropy).toBe(crossEntropy)
      expect(tasks.binaryCrossEntropyWithLogits).toBe(binaryCrossEntropyWithLogits)
      expect(tasks.sentimentClasses).toBe(sentimentClasses)
    }))
})
