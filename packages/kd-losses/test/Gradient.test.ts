import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { stopGradient } from "../src/Gradient"
import { useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

describe("stopGradient", () => {
  it("is the identity forward and blocks exactly the gradient through it", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 8 }), (xs) => {
        const x = tf.tensor1d(xs)
        const before = tf.memory().numTensors
        const [forward, blocked, mixed] = tf.tidy(() => [
          Array.from(stopGradient(x).dataSync()),
          Array.from(tf.grad((a) => tf.sum(tf.square(stopGradient(a))))(x).dataSync()),
          // d/da sum(a * stop(a)) = stop(a) = a: only the first factor's gradient flows.
          Array.from(tf.grad((a) => tf.sum(tf.mul(a, stopGradient(a))))(x).dataSync())
        ])
        expect(tf.memory().numTensors).toBe(before)
        expect(forward).toEqual(Array.from(x.dataSync()))
        expect(blocked.every((g) => g === 0)).toBe(true)
        expect(mixed.map((v) => v + 0)).toEqual(forward.map((v) => v + 0))
        x.dispose()
      }),
      { numRuns: 30 }
    )
  })
})
