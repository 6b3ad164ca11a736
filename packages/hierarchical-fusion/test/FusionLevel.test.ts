import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import { FusionError } from "../src/Errors"
import { makeFusionLevel } from "../src/FusionLevel"
import { expectFiniteGradients, expectGradientsMatchFiniteDifferences, maxAbsDiff, normal, projectionLoss, thrown, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

const a = normal([4, 5], 1) as tf.Tensor2D
const b = normal([4, 3], 2) as tf.Tensor2D

describe("fusion level", () => {
  it("equals act([a; b] · W + bias) + a, with the concatenation never built", () => {
    const level = makeFusionLevel([5, 3], 5, Module.seedSource(1), { dropout: 0, activation: "tanh" })
    const v = level.variables
    expect([...v.keys()]).toEqual(["part0/kernel", "part1/kernel", "bias"])
    const w = tf.concat([v.get("part0/kernel")!, v.get("part1/kernel")!], 0)
    const expected = tf.add(tf.tanh(tf.add(tf.matMul(tf.concat([a, b], 1), w), v.get("bias")!)), a)
    expect(maxAbsDiff(level.apply([a, b], false), expected)).toBeLessThan(1e-5)
  })

  it("projects the residual when the first input's width differs from the output's", () => {
    const level = makeFusionLevel([5, 3], 4, Module.seedSource(2), { dropout: 0, activation: "relu" })
    const v = level.variables
    expect([...v.keys()]).toEqual(["part0/kernel", "part1/kernel", "bias", "residual/kernel"])
    const pre = tf.add(tf.add(tf.matMul(a, v.get("part0/kernel")!), tf.matMul(b, v.get("part1/kernel")!)), v.get("bias")!)
    const expected = tf.add(tf.relu(pre), tf.matMul(a, v.get("residual/kernel")!))
    const out = level.apply([a, b], false)
    expect(out.shape).toEqual([4, 4])
    expect(maxAbsDiff(out, expected)).toBeLessThan(1e-5)
  })

  it("has gradients that exist, are finite and match finite differences", () => {
    const level = makeFusionLevel([5, 3], 4, Module.seedSource(3), { dropout: 0.3, activation: "gelu" })
    const loss = projectionLoss([4, 4], 4)
    expectFiniteGradients(level.variables, () => loss(level.apply([a, b], true)))
    expectGradientsMatchFiniteDifferences(level, () => loss(level.apply([a, b], false)))
  })

  it("drops out only when training and is seeded", () => {
    const make = () => makeFusionLevel([5, 3], 5, Module.seedSource(5), { dropout: 0.5, activation: "relu" })
    const level = make()
    expect(maxAbsDiff(level.apply([a, b], false), level.apply([a, b], false))).toBe(0)
    expect(maxAbsDiff(level.apply([a, b], false), level.apply([a, b], true))).toBeGreaterThan(0)
    expect(maxAbsDiff(make().apply([a, b], true), make().apply([a, b], true))).toBe(0)
  })

  it("rejects bad sizes and options with FusionError", () => {
    const options = { dropout: 0, activation: "relu" as const }
    expect(thrown(FusionError, () => makeFusionLevel([], 4, Module.seedSource(1), options)).field).toBe("inDims")
    expect(thrown(FusionError, () => makeFusionLevel([0, 3], 4, Module.seedSource(1), options)).field).toBe("inDims[0]")
    expect(thrown(FusionError, () => makeFusionLevel([5], 0, Module.seedSource(1), options)).field).toBe("outDim")
    expect(thrown(FusionError, () => makeFusionLevel([5], 4, Module.seedSource(1), { ...options, dropout: 1 })).field)
      .toBe("dropout")
    expect(
      thrown(FusionError, () => makeFusionLevel([5], 4, Module.seedSource(1), { dropout: 0, activation: "swish" as "relu" }))
        .field
    ).toBe("activation")
    const level = makeFusionLevel([5, 3], 4, Module.seedSource(1), options)
    expect(thrown(FusionError, () => level.apply([a], false)).field).toBe("inputs")
  })
})
