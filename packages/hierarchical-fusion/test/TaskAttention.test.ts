import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import { FusionError } from "../src/Errors"
import { makeTaskAttention } from "../src/TaskAttention"
import type { TaskAttentionInput } from "../src/TaskAttention"
import { expectFiniteGradients, expectGradientsMatchFiniteDifferences, expectTidyLeavesNoTensors, maxAbsDiff, normal, projectionLoss, thrown, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

const B = 3
const D = 4
const J = 5
const tasks = ["regression", "classification"]
const input = (mask: ReadonlyArray<ReadonlyArray<number>>): TaskAttentionInput => ({
  experts: Array.from({ length: J }, (_, j) => normal([B, D], j + 1) as tf.Tensor2D),
  mask: tf.tensor2d(mask as Array<Array<number>>)
})
const someMasked = [
  [1, 1, 1, 1, 1],
  [0, 1, 0, 1, 1],
  [0, 0, 0, 1, 0]
]

describe("task attention", () => {
  it("scores experts by q_k · W_k e_j / sqrt(d) and mixes them with the softmax weights", () => {
    const attention = makeTaskAttention({ tasks, dim: D, enabled: true }, Module.seedSource(1))
    const x = input(someMasked)
    const { z, weights } = attention.apply(x, false)
    expect(weights.shape).toEqual([B, tasks.length, J])
    const stacked = tf.stack([...x.experts], 1) // (B, J, d)
    tasks.forEach((task, k) => {
      const q = attention.variables.get(`${task}/query`)!
      const w = attention.variables.get(`${task}/key`)!
      // q · (W e_j) per sample and expert, masked softmax over the available experts
      const keys = tf.reshape(tf.matMul(tf.reshape(stacked, [-1, D]), tf.transpose(w)), [B, J, D])
      const scores = tf.div(tf.sum(tf.mul(keys, tf.reshape(q, [1, 1, D])), 2), Math.sqrt(D))
      const exp = tf.mul(tf.exp(tf.sub(scores, tf.max(scores, 1, true))), x.mask)
      const expected = tf.div(exp, tf.sum(exp, 1, true))
      const mine = tf.reshape(tf.slice(weights, [0, k, 0], [B, 1, J]), [B, J])
      expect(maxAbsDiff(mine, expected)).toBeLessThan(1e-5)
      const mixed = tf.sum(tf.mul(stacked, tf.expandDims(expected, 2)), 1)
      expect(z[task].shape).toEqual([B, D])
      expect(maxAbsDiff(z[task], mixed)).toBeLessThan(1e-5)
    })
  })

  it("gives weights that sum to 1 over the available experts and are exactly 0 on masked ones", () => {
    const attention = makeTaskAttention({ tasks: ["a", "b", "c"], dim: D, enabled: true }, Module.seedSource(2))
    const experts = Array.from({ length: J }, (_, j) => tf.mul(normal([B, D], 10 + j), 4) as tf.Tensor2D)
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.boolean(), { minLength: J, maxLength: J }), { minLength: B, maxLength: B }),
        (rows) => {
          const mask = rows.map((row) => (row.some((on) => on) ? row : row.map((_, j) => j === 0)).map((on) => (on ? 1 : 0)))
          const weights = tf.tidy(() => attention.apply({ experts, mask: tf.tensor2d(mask) }, false).weights)
          const values = weights.arraySync()
          weights.dispose()
          values.forEach((perTask, b) =>
            perTask.forEach((row) => {
              row.forEach((w, j) => (mask[b][j] === 0 ? expect(w).toBe(0) : expect(w).toBeGreaterThanOrEqual(0)))
              expect(row.reduce((s, w) => s + w, 0)).toBeCloseTo(1, 5)
            })
          )
        }
      ),
      { numRuns: 40 }
    )
  })

  it("ignores the values of masked experts and gives zeros to a sample with none available", () => {
    const attention = makeTaskAttention({ tasks, dim: D, enabled: true }, Module.seedSource(3))
    const mask = [...someMasked.slice(0, 2), [0, 0, 0, 0, 0]]
    const x = input(mask)
    const scrambled = x.experts.map((e, j) =>
      tf.where(tf.greater(tf.slice(x.mask, [0, j], [B, 1]), 0), e, tf.mul(normal([B, D], 40 + j), 1e4))
    ) as Array<tf.Tensor2D>
    const a = attention.apply(x, false)
    const b = attention.apply({ ...x, experts: scrambled }, false)
    for (const task of tasks) expect(maxAbsDiff(a.z[task], b.z[task])).toBe(0)
    expect(maxAbsDiff(a.weights, b.weights)).toBe(0)
    expect(Array.from(tf.slice(a.weights, [2, 0, 0], [1, 2, J]).dataSync()).every((w) => w === 0)).toBe(true)
    expect(Array.from(tf.slice(a.z.regression, [2, 0], [1, D]).dataSync()).every((v) => v === 0)).toBe(true)
  })

  it("without attention is the masked uniform mean, with no variables", () => {
    const attention = makeTaskAttention({ tasks, dim: D, enabled: false }, Module.seedSource(4))
    expect(attention.variables.size).toBe(0)
    const x = input(someMasked)
    const { z, weights } = attention.apply(x, false)
    const uniform = tf.div(x.mask, tf.sum(x.mask, 1, true))
    const mean = tf.sum(tf.mul(tf.stack([...x.experts], 1), tf.expandDims(uniform, 2)), 1)
    for (const [k, task] of tasks.entries()) {
      expect(maxAbsDiff(tf.reshape(tf.slice(weights, [0, k, 0], [B, 1, J]), [B, J]), uniform)).toBeLessThan(1e-6)
      expect(maxAbsDiff(z[task], mean)).toBeLessThan(1e-6)
    }
  })

  it("with gates weights expert j by g_j exp(score_j): ones change nothing, a gate near 0 switches the expert off", () => {
    const attention = makeTaskAttention({ tasks, dim: D, enabled: true }, Module.seedSource(7))
    const x = input(someMasked)
    const plain = attention.apply(x, false).weights
    expect(maxAbsDiff(attention.apply({ ...x, gates: tf.ones([1, J]) as tf.Tensor2D }, false).weights, plain)).toBeLessThan(1e-6)
    const g = [1, 0.5, 0.2, 1, 0.7]
    const gated = attention.apply({ ...x, gates: tf.tensor2d([g]) }, false).weights
    const prior = tf.mul(plain, tf.tensor3d([[g]]))
    expect(maxAbsDiff(gated, tf.div(prior, tf.sum(prior, 2, true)))).toBeLessThan(1e-5)
    const off = attention.apply({ ...x, gates: tf.tensor2d([[1, 0, 1, 1, 1]]) }, false).weights
    expect(tf.max(tf.slice(off, [0, 0, 1], [B, tasks.length, 1])).dataSync()[0]).toBeLessThan(1e-5)
    // uniform mode: weights proportional to the gates over the available experts
    const uniform = makeTaskAttention({ tasks, dim: D, enabled: false }, Module.seedSource(8)).apply({ ...x, gates: tf.tensor2d([g]) }, false).weights
    const expected = tf.mul(x.mask, tf.tensor2d([g]))
    expect(maxAbsDiff(tf.reshape(tf.slice(uniform, [0, 0, 0], [B, 1, J]), [B, J]), tf.div(expected, tf.sum(expected, 1, true)))).toBeLessThan(1e-6)
  })

  it("gives learned gates finite gradients", () => {
    const attention = makeTaskAttention({ tasks, dim: D, enabled: true }, Module.seedSource(9))
    const x = input(someMasked)
    const gates = tf.variable(tf.tensor2d([[0.9, 0.4, 0.2, 1, 0.5]]))
    const loss = projectionLoss([B, D], 10)
    expectFiniteGradients(new Map([["gates", gates]]), () => loss(attention.apply({ ...x, gates }, false).z.regression))
    gates.dispose()
  })

  it("has finite gradients matching finite differences, and leaks no tensors", () => {
    const attention = makeTaskAttention({ tasks, dim: D, enabled: true }, Module.seedSource(5))
    const x = input(someMasked)
    const loss = projectionLoss([B, D], 6)
    const total = () => {
      const { z } = attention.apply(x, true)
      return tf.add(loss(z.regression), tf.mul(loss(z.classification), 0.5)) as tf.Scalar
    }
    expectFiniteGradients(attention.variables, total)
    expectGradientsMatchFiniteDifferences(attention, total)
    expectTidyLeavesNoTensors(() => attention.apply(x, true))
  })

  it("rejects bad configs and inputs with FusionError", () => {
    const seeds = Module.seedSource(1)
    expect(thrown(FusionError, () => makeTaskAttention({ tasks: [], dim: D, enabled: true }, seeds)).field).toBe("tasks")
    expect(thrown(FusionError, () => makeTaskAttention({ tasks: ["a", "a"], dim: D, enabled: true }, seeds)).field).toBe("tasks")
    expect(thrown(FusionError, () => makeTaskAttention({ tasks: ["a"], dim: 0, enabled: true }, seeds)).field).toBe("dim")
    const attention = makeTaskAttention({ tasks, dim: D, enabled: true }, seeds)
    const x = input(someMasked)
    expect(thrown(FusionError, () => attention.apply({ ...x, experts: x.experts.slice(1) }, false)).field).toBe("experts")
  })
})
