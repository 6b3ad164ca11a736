import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { builtIn, ExpertFactory } from "../src/ExpertFactory"
import type { ExpertFactoryShape } from "../src/ExpertFactory"
import { features, lengthMask } from "@haemsa/test-helpers"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const build = Effect.gen(function*() {
  const factory = yield* ExpertFactory
  const expert = factory.make({ modality: "audio", spec: { kind: "meanpool", hidden: 4 }, inputDim: 3, outDim: 2, seeds: Module.seedSource(1) })
  const unified = factory.makeUnified({ spec: { kind: "tcn", hidden: 4 }, inputDims: { text: 3, audio: 2 }, outDim: 2, seeds: Module.seedSource(2) })
  return { expert, unified }
})

describe("ExpertFactory", () => {
  it("builds the built-in experts from ExpertFactory.layer", () => {
    const { expert, unified } = Effect.runSync(Effect.provide(build, ExpertFactory.layer))
    const stepMask = lengthMask([3, 1], 3)
    expect(expert.apply({ x: features(2, 3, 3, 1), stepMask }, false).shape).toEqual([2, 2])
    const out = unified.apply({
      inputs: { text: { x: features(2, 3, 3, 2), stepMask }, audio: { x: features(2, 3, 2, 3), stepMask } },
      modalityMask: tf.tensor2d([[1, 1], [1, 0]]),
      order: ["text", "audio"]
    }, false)
    expect(out.shape).toEqual([2, 2])
  })

  it("the layer provides the built-in constructors, ExpertFactory.builtIn", () => {
    const provided = Effect.runSync(Effect.provide(Effect.gen(function*() {
      return yield* ExpertFactory
    }), ExpertFactory.layer))
    expect(provided).toBe(builtIn)
  })

  it("is swapped with Layer.succeed", () => {
    const calls: Array<string> = []
    const builtIn = Effect.runSync(Effect.provide(Effect.gen(function*() {
      return yield* ExpertFactory
    }), ExpertFactory.layer))
    const mine: ExpertFactoryShape = {
      make: (request) => {
        calls.push(`make ${request.modality} ${request.spec.kind}`)
        return builtIn.make(request)
      },
      makeUnified: (request) => {
        calls.push(`unified ${Object.keys(request.inputDims).join("+")} ${request.spec.kind}`)
        return builtIn.makeUnified(request)
      }
    }
    Effect.runSync(Effect.provide(build, Layer.succeed(ExpertFactory, mine)))
    expect(calls).toEqual(["make audio meanpool", "unified text+audio tcn"])
  })
})
