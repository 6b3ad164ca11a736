/**
 * `crossModalKl` as one op of the tape on the wasm backend (every student weighted, the teacher's
 * gradient stopped): value and gradients (teacher and students, alone and beside other uses of the
 * logits) bit for bit those of the composite (`OneOp.setEnabled(false)`), for any batch, class
 * count, student count, weights, temperature and scaling, non-finite logits of absent samples
 * included; other arguments run the composite.
 */
import { WasmWeightedMean } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { identical } from "@haemsa/test-helpers"
import { crossModalKl } from "../src/Distillation"
import * as OneOp from "../src/OneOp"

beforeAll(async () => {
  expect(await tf.setBackend("wasm")).toBe(true)
})
afterAll(async () => {
  OneOp.setEnabled(true)
  await tf.setBackend("cpu")
})

interface Case {
  readonly teacher: tf.Tensor2D
  readonly students: ReadonlyArray<tf.Tensor2D>
  readonly weights: ReadonlyArray<tf.Tensor1D>
  readonly temperature: number
  readonly scale: boolean
  /** Other uses of the logits beside the KL (their gradients add up with the KL's). */
  readonly beside: boolean
}

/** The term and its gradients for the teacher and each student, one-op or composite. */
const run = (oneOp: boolean, c: Case) => {
  OneOp.setEnabled(oneOp)
  const options = { temperature: c.temperature, scaleByTemperatureSquared: c.scale, sampleWeights: c.weights }
  const f = (...xs: Array<tf.Tensor>) => {
    const kl = crossModalKl(xs[0] as tf.Tensor2D, xs.slice(1) as Array<tf.Tensor2D>, options)
    if (!c.beside) return kl
    // the logits feed other losses too, before and after the KL on the tape
    const before = tf.sum(tf.mul(xs[1], xs[1]))
    return tf.add(tf.add(before, kl), tf.sum(tf.mul(tf.add(xs[0], xs[xs.length - 1]), 0.5)))
  }
  const value = crossModalKl(c.teacher, c.students as Array<tf.Tensor2D>, options)
  const grads = tf.grads(f)([c.teacher, ...c.students])
  OneOp.setEnabled(true)
  return { value, grads }
}

const logitsOf = (b: number, k: number, seed: number, nanRows: ReadonlyArray<number>): tf.Tensor2D => {
  const x = tf.randomNormal([b, k], 0, 3, "float32", seed).arraySync() as number[][]
  for (const r of nanRows) if (r < b) x[r][0] = r % 2 === 0 ? NaN : Infinity
  return tf.tensor2d(x)
}

describe("crossModalKl as one op on wasm", () => {
  it("equals the composite bit for bit in value and gradients", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }),
        fc.constantFrom(1, 2, 0.5, 3), fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 1_000_000 }),
        (b, k, students, temperature, scale, beside, seed) => {
          // weights: 0, 1 or a fraction per sample; a student's absent rows may hold non-finite logits
          const weights = Array.from({ length: students }, (_, s) =>
            tf.tensor1d(Array.from({ length: b }, (_, i) => [0, 1, 1, 0.5][(i * 7 + s * 3 + seed) % 4])))
          const absent = (s: number) => Array.from({ length: b }, (_, i) => i).filter((i) => [0, 1, 1, 0.5][(i * 7 + s * 3 + seed) % 4] === 0)
          const c: Case = {
            teacher: logitsOf(b, k, seed, []),
            students: Array.from({ length: students }, (_, s) => logitsOf(b, k, seed + 1 + s, absent(s))),
            weights,
            temperature,
            scale,
            beside
          }
          const calls = OneOp.stats.kl
          const one = run(true, c)
          expect(OneOp.stats.kl).toBe(calls + 2)
          const composite = run(false, c)
          expect(OneOp.stats.kl).toBe(calls + 2)
          expect(identical(one.value, composite.value)).toBe(true)
          one.grads.forEach((g, i) => expect(identical(g, composite.grads[i])).toBe(true))
          tf.dispose([c.teacher, ...c.students, ...weights, one.value, composite.value, ...one.grads, ...composite.grads])
        }
      ),
      { numRuns: 80 }
    )
  })

  it("keeps the composite for unweighted students, a teacher gradient, int weights or an empty batch, and leaks no tensor", () => {
    const teacher = tf.randomNormal([6, 7], 0, 1, "float32", 1) as tf.Tensor2D
    const student = tf.randomNormal([6, 7], 0, 1, "float32", 2) as tf.Tensor2D
    const w = tf.tensor1d([1, 0, 1, 1, 0, 1])
    const backward = () => OneOp.stats.kl
    const gradsOf = (options: Parameters<typeof crossModalKl>[2]) =>
      tf.tidy(() => tf.grads((t: tf.Tensor, s: tf.Tensor) => crossModalKl(t as tf.Tensor2D, [s as tf.Tensor2D], options))([teacher, student]).map((g) => g.dataSync()))
    let n = backward()
    gradsOf({ temperature: 2, sampleWeights: [w] })
    expect(backward()).toBe(n + 1)
    // no weights, int weights, or an empty batch: the composite
    n = backward()
    const empty = tf.zeros([0, 7]) as tf.Tensor2D
    expect(crossModalKl(empty, [empty], { sampleWeights: [tf.zeros([0]) as tf.Tensor1D] }).dataSync()[0]).toBe(0)
    gradsOf({ temperature: 2 })
    gradsOf({ temperature: 2, sampleWeights: [tf.tensor1d([1, 0, 1, 1, 0, 1], "int32")] })
    expect(backward()).toBe(n)
    // the teacher's gradient asked for: the composite
    const t = tf.tidy(() => tf.grads((a: tf.Tensor, s: tf.Tensor) => crossModalKl(a as tf.Tensor2D, [s as tf.Tensor2D], { teacherGradient: true, sampleWeights: [w] }))([teacher, student])[0].abs().sum().dataSync()[0])
    expect(t).toBeGreaterThan(0)
    expect(backward()).toBe(n)
    expect(WasmWeightedMean.active()).toBe(true)
    const start = tf.memory().numTensors
    for (let i = 0; i < 3; i++) gradsOf({ temperature: 2, sampleWeights: [w] })
    expect(tf.memory().numTensors).toBe(start)
    tf.dispose([teacher, student, w])
  })
})
