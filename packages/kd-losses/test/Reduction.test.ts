import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { linearCombination, weightedMean } from "../src/Reduction"
import { useCpu } from "@haemsa/test-helpers"
import { weightedMean64 } from "./Reference"

beforeAll(useCpu)

const read = (f: () => tf.Tensor): number => tf.tidy(() => f().dataSync()[0])

describe("weightedMean", () => {
  it("is sum(w v) / sum(w) over the non-zero weights, the mean without weights, 0 when nothing counts", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }).chain((n) =>
          fc.tuple(
            fc.array(fc.double({ min: -100, max: 100, noNaN: true }).map(Math.fround), { minLength: n, maxLength: n }),
            fc.array(fc.oneof(fc.constant(0), fc.double({ min: 0.1, max: 3, noNaN: true }).map(Math.fround)), {
              minLength: n,
              maxLength: n
            })
          )
        ),
        ([values, weights]) => {
          const plain = read(() => weightedMean(tf.tensor1d(values)))
          expect(Math.abs(plain - weightedMean64(values))).toBeLessThanOrEqual(1e-4)
          const weighted = read(() => weightedMean(tf.tensor1d(values), tf.tensor1d(weights)))
          expect(Math.abs(weighted - weightedMean64(values, weights))).toBeLessThanOrEqual(1e-4)
        }
      ),
      { numRuns: 80 }
    )
  })

  it("ignores non-finite values under weight 0 and broadcasts (B, 1) weights over (B, K) values", () => {
    expect(read(() => weightedMean(tf.tensor1d([Number.NaN, 2, Infinity]), tf.tensor1d([0, 1, 0])))).toBe(2)
    expect(read(() => weightedMean(tf.tensor1d([1, 2]), tf.zeros([2])))).toBe(0)
    expect(read(() => weightedMean(tf.zeros([0])))).toBe(0)
    expect(read(() => weightedMean(tf.tensor2d([[1, 3], [10, 20]]), tf.tensor2d([[1], [0]])))).toBe(2)
  })
})

describe("linearCombination", () => {
  it("is sum_k c_k t_k with gradient c_k for each term", async () => {
    const terms = [tf.scalar(2), tf.scalar(-1.5), tf.scalar(0.25)]
    const { value, grads } = tf.valueAndGrads((...ts: tf.Tensor[]) => linearCombination(ts as tf.Scalar[], [1, 0.2, 4]))(terms)
    expect((await value.data())[0]).toBeCloseTo(2 - 0.3 + 1, 6)
    expect(await Promise.all(grads.map(async (g) => (await g.data())[0]))).toEqual([1, expect.closeTo(0.2, 7), 4])
    tf.dispose([value, ...grads, ...terms])
  })

  it("takes a single term", async () => {
    const t = tf.scalar(3)
    expect((await linearCombination([t], [0.5]).data())[0]).toBe(1.5)
    t.dispose()
  })

  it("rejects lists of different lengths or no terms", () => {
    const t = tf.scalar(1)
    expect(() => linearCombination([t], [1, 2])).toThrow(/1 terms and 2 coefficients/)
    expect(() => linearCombination([], [])).toThrow(/at least 1/)
    t.dispose()
  })
})
