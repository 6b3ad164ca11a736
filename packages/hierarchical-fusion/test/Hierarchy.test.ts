import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { FusionError } from "../src/Errors"
import { makeHierarchy } from "../src/Hierarchy"
import type { HierarchyConfig, HierarchyInput, Pool, SharedMode } from "../src/Hierarchy"
import { expectFiniteGradients, expectGradientsMatchFiniteDifferences, expectTidyLeavesNoTensors, maxAbsDiff, normal, projectionLoss, thrown, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

const B = 4
const D = 6
const input = (): HierarchyInput => ({
  local: [normal([B, D], 1), normal([B, D], 2), normal([B, D], 3)] as Array<tf.Tensor2D>,
  localMask: tf.tensor2d([
    [1, 1, 1],
    [1, 0, 1],
    [0, 0, 1],
    [0, 0, 0]
  ]),
  shared: normal([B, D], 4) as tf.Tensor2D
})

/** The equations with explicit concatenations, from the module's own variables. */
const reference = (config: HierarchyConfig, vars: ReadonlyMap<string, tf.Variable>, x: HierarchyInput) =>
  tf.tidy(() => {
    const stacked = tf.stack([...x.local], 1) // (B, M, d)
    const mask = x.localMask
    // gated: every local expert's weight times its gate, renormalised over the present ones
    const prior = x.localGates === undefined ? mask : tf.mul(mask, x.localGates)
    let weights: tf.Tensor
    if (config.pool === "mean") {
      weights = x.localGates === undefined
        ? tf.div(mask, tf.maximum(tf.sum(mask, 1, true), 1))
        : tf.div(prior, tf.maximum(tf.sum(prior, 1, true), 1e-30))
    } else {
      const hidden = tf.tanh(tf.add(tf.matMul(tf.reshape(stacked, [-1, D]), vars.get("pool/kernel")!), vars.get("pool/bias")!))
      const scores = tf.reshape(tf.matMul(hidden, vars.get("pool/score")!), [B, 3])
      const exp = tf.mul(tf.exp(tf.sub(scores, tf.max(scores, 1, true))), prior)
      weights = tf.div(exp, tf.maximum(tf.sum(exp, 1, true), 1e-30))
    }
    let hl = tf.sum(tf.mul(stacked, tf.expandDims(weights, 2)), 1)
    let hs: tf.Tensor = x.shared
    const g = (prefix: string, first: tf.Tensor, second: tf.Tensor) => {
      const w = tf.concat([vars.get(`${prefix}/part0/kernel`)!, vars.get(`${prefix}/part1/kernel`)!], 0)
      return tf.add(tf.relu(tf.add(tf.matMul(tf.concat([first, second], 1), w), vars.get(`${prefix}/bias`)!)), first)
    }
    const local: Array<tf.Tensor> = []
    const shared: Array<tf.Tensor> = []
    for (let i = 1; i <= config.depth; i++) {
      const nextLocal = g(`level${i}/local`, hl, hs)
      const nextShared = config.sharedMode === "evolve" ? g(`level${i}/shared`, hs, hl) : x.shared
      hl = nextLocal
      hs = nextShared
      local.push(hl)
      shared.push(hs)
    }
    return { local, shared }
  })

const configs: Array<[number, Pool, SharedMode]> = [
  [1, "mean", "evolve"],
  [2, "gate", "evolve"],
  [3, "mean", "fixed"],
  [4, "gate", "fixed"]
]

describe.each(configs)("hierarchy of depth %i, %s pooling, %s shared stream", (depth, pool, sharedMode) => {
  const config: HierarchyConfig = { depth, width: D, pool, sharedMode, dropout: 0.2 }
  const x = input()

  it("follows the level equations", () => {
    const hierarchy = makeHierarchy(config, Module.seedSource(depth))
    const out = hierarchy.apply(x, false)
    const expected = reference(config, hierarchy.variables, x)
    expect(out.local.length).toBe(depth)
    expect(out.shared.length).toBe(depth)
    out.local.forEach((h, i) => {
      expect(h.shape).toEqual([B, D])
      expect(maxAbsDiff(h, expected.local[i])).toBeLessThan(1e-5)
      expect(maxAbsDiff(out.shared[i], expected.shared[i])).toBeLessThan(1e-5)
    })
    if (sharedMode === "fixed") out.shared.forEach((h) => expect(h).toBe(x.shared))
  })

  it("ignores the values of missing local experts", () => {
    const hierarchy = makeHierarchy(config, Module.seedSource(10 + depth))
    const scrambled = x.local.map((h, j) =>
      tf.where(tf.greater(tf.slice(x.localMask, [0, j], [B, 1]), 0), h, tf.mul(normal([B, D], 50 + j), 1e3))
    ) as Array<tf.Tensor2D>
    const a = hierarchy.apply(x, false)
    const b = hierarchy.apply({ ...x, local: scrambled }, false)
    a.local.forEach((h, i) => expect(maxAbsDiff(h, b.local[i])).toBe(0))
    a.shared.forEach((h, i) => expect(maxAbsDiff(h, b.shared[i])).toBe(0))
  })

  it("has finite gradients for every variable, matching finite differences", () => {
    const hierarchy = makeHierarchy(config, Module.seedSource(20 + depth))
    const loss = projectionLoss([B, D], 5)
    const total = (training: boolean) => {
      const out = hierarchy.apply(x, training)
      return tf.addN([...out.local, ...out.shared].map(loss)) as tf.Scalar
    }
    expectFiniteGradients(hierarchy.variables, () => total(true))
    expectGradientsMatchFiniteDifferences(hierarchy, () => total(false), 2)
  })

  it("with local gates weights each local expert by its gate; all-ones gates change nothing, a gate near 0 drops the expert", () => {
    const hierarchy = makeHierarchy(config, Module.seedSource(40 + depth))
    const plain = hierarchy.apply(x, false)
    const ones = hierarchy.apply({ ...x, localGates: tf.ones([1, 3]) as tf.Tensor2D }, false)
    plain.local.forEach((h, i) => expect(maxAbsDiff(h, ones.local[i])).toBeLessThan(1e-5))
    const gated = { ...x, localGates: tf.tensor2d([[1, 0.3, 0.6]]) }
    const out = hierarchy.apply(gated, false)
    const expected = reference(config, hierarchy.variables, gated)
    out.local.forEach((h, i) => expect(maxAbsDiff(h, expected.local[i])).toBeLessThan(1e-5))
    // the second expert gated off is (up to the 1e-6 gate floor) the same as masking it
    const off = hierarchy.apply({ ...x, localGates: tf.tensor2d([[1, 0, 1]]) }, false)
    const masked = hierarchy.apply({ ...x, localMask: tf.mul(x.localMask, tf.tensor2d([[1, 0, 1]])) as tf.Tensor2D }, false)
    // a sample whose only present expert is gated off keeps it (weights are renormalised): compare the others
    const rows = [0, 2, 3]
    off.local.forEach((h, i) => expect(maxAbsDiff(tf.gather(h, rows), tf.gather(masked.local[i], rows))).toBeLessThan(1e-4))
  })

  it("gives learned local gates finite gradients", () => {
    const hierarchy = makeHierarchy(config, Module.seedSource(50 + depth))
    const gates = tf.variable(tf.tensor2d([[0.9, 0.4, 0.2]]))
    const loss = projectionLoss([B, D], 7)
    expectFiniteGradients(new Map([["localGates", gates]]), () => tf.addN(hierarchy.apply({ ...x, localGates: gates }, false).local.map(loss)) as tf.Scalar)
    gates.dispose()
  })

  it("is deterministic for a seed and leaks no tensors", () => {
    const a = makeHierarchy(config, Module.seedSource(30)).apply(x, false)
    const b = makeHierarchy(config, Module.seedSource(30)).apply(x, false)
    expect(maxAbsDiff(a.local[depth - 1], b.local[depth - 1])).toBe(0)
    const hierarchy = makeHierarchy(config, Module.seedSource(31))
    expectTidyLeavesNoTensors(() => hierarchy.apply(x, true))
  })
})

describe("hierarchy variables and errors", () => {
  it("names its variables by level and stream", () => {
    const paths = [...makeHierarchy({ depth: 2, width: 3, pool: "gate", sharedMode: "evolve", dropout: 0 }, Module.seedSource(1))
      .variables.keys()]
    expect(paths).toEqual([
      "pool/kernel",
      "pool/bias",
      "pool/score",
      "level1/local/part0/kernel",
      "level1/local/part1/kernel",
      "level1/local/bias",
      "level1/shared/part0/kernel",
      "level1/shared/part1/kernel",
      "level1/shared/bias",
      "level2/local/part0/kernel",
      "level2/local/part1/kernel",
      "level2/local/bias",
      "level2/shared/part0/kernel",
      "level2/shared/part1/kernel",
      "level2/shared/bias"
    ])
  })

  it.each([
    [{ depth: 0 }, "depth"],
    [{ depth: 5 }, "depth"],
    [{ depth: 1.5 }, "depth"],
    [{ width: 0 }, "width"],
    [{ pool: "max" }, "pool"],
    [{ sharedMode: "frozen" }, "sharedMode"],
    [{ dropout: -0.1 }, "dropout"],
    [{ activation: "swish" }, "activation"]
  ] as Array<[Partial<HierarchyConfig>, string]>)("rejects %j (field %s)", (change, field) => {
    const config = { depth: 2, width: 4, pool: "mean", sharedMode: "evolve", dropout: 0, ...change } as HierarchyConfig
    expect(thrown(FusionError, () => makeHierarchy(config, Module.seedSource(1))).field).toBe(field)
  })

  it("rejects a local expert count that does not match the mask", () => {
    const hierarchy = makeHierarchy({ depth: 1, width: D, pool: "mean", sharedMode: "evolve", dropout: 0 }, Module.seedSource(1))
    const x = input()
    expect(thrown(FusionError, () => hierarchy.apply({ ...x, local: x.local.slice(0, 2) }, false)).field).toBe("local")
  })
})
