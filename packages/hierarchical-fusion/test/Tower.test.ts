import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { FusionError } from "../src/Errors"
import { makeTower } from "../src/Tower"
import type { TowerConfig } from "../src/Tower"
import { expectFiniteGradients, expectGradientsMatchFiniteDifferences, expectTidyLeavesNoTensors, maxAbsDiff, normal, projectionLoss, thrown, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

const x = normal([4, 5], 1) as tf.Tensor2D
const config = (depth: number): TowerConfig => ({ depth, width: 6, outDim: 3, dropout: 0.2, activation: "relu" })

describe("tower", () => {
  it.each([0, 1, 2, 3])("of depth %i maps (B, inDim) to (B, outDim) with depth hidden layers", (depth) => {
    const tower = makeTower(config(depth), 5, Module.seedSource(depth))
    expect(tower.apply(x, true).shape).toEqual([4, 3])
    const paths = [...tower.variables.keys()]
    expect(paths).toEqual([
      ...Array.from({ length: depth }, (_, i) => [`hidden${i}/kernel`, `hidden${i}/bias`]).flat(),
      "head/kernel",
      "head/bias"
    ])
    const loss = projectionLoss([4, 3], 7)
    expectFiniteGradients(tower.variables, () => loss(tower.apply(x, true)))
    expectGradientsMatchFiniteDifferences(tower, () => loss(tower.apply(x, false)))
  })

  it("of depth 0 is a linear head, of depth 1 an MLP", () => {
    const linear = makeTower(config(0), 5, Module.seedSource(1))
    const v = linear.variables
    expect(maxAbsDiff(linear.apply(x, true), tf.add(tf.matMul(x, v.get("head/kernel")!), v.get("head/bias")!))).toBeLessThan(1e-6)
    const mlp = makeTower({ ...config(1), dropout: 0 }, 5, Module.seedSource(2))
    const m = mlp.variables
    const hidden = tf.relu(tf.add(tf.matMul(x, m.get("hidden0/kernel")!), m.get("hidden0/bias")!))
    const expected = tf.add(tf.matMul(hidden, m.get("head/kernel")!), m.get("head/bias")!)
    expect(maxAbsDiff(mlp.apply(x, true), expected)).toBeLessThan(1e-6)
  })

  it("drops out only when training, and leaks no tensors", () => {
    const tower = makeTower({ ...config(2), dropout: 0.5 }, 5, Module.seedSource(3))
    expect(maxAbsDiff(tower.apply(x, false), tower.apply(x, false))).toBe(0)
    expect(maxAbsDiff(tower.apply(x, false), tower.apply(x, true))).toBeGreaterThan(0)
    expectTidyLeavesNoTensors(() => tower.apply(x, true))
  })

  it.each([
    [{ depth: 4 }, "depth"],
    [{ depth: -1 }, "depth"],
    [{ width: 0 }, "width"],
    [{ outDim: 0 }, "outDim"],
    [{ dropout: 1 }, "dropout"],
    [{ activation: "swish" }, "activation"]
  ] as Array<[Partial<TowerConfig>, string]>)("rejects %j (field %s)", (change, field) => {
    expect(thrown(FusionError, () => makeTower({ ...config(1), ...change }, 5, Module.seedSource(1))).field).toBe(field)
  })

  it("rejects an input width below 1", () => {
    expect(thrown(FusionError, () => makeTower(config(1), 0, Module.seedSource(1))).field).toBe("inDim")
  })
})
