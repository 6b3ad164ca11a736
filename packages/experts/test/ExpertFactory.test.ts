import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { ExpertFactory } from "../src/ExpertFactory"
import type { ExpertFactoryShape } from "../src/ExpertFactory"
import { features, lengthMask } from "@haemsa/test-helpers"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const build = Effect.gen(function*() {
  const factory = yield* ExpertFactory
  const expert = factory.make({ kind: "meanpool", hidden: 4 }, 3, 2, Module.seedSource(1))
  const unified = factory.makeUnified({ kind: "tcn", hidden: 4 }, { text: 3, audio: 2 }, 2, Module.seedSource(2))
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

  it("is swapped with Layer.succeed", () => {
    const calls: Array<string> = []
    const builtIn = Effect.runSync(Effect.provide(Effect.gen(function*() {
      return yield* ExpertFactory
    }), ExpertFactory.layer))
    const mine: ExpertFactoryShape = {
      make: (spec, inputDim, outDim, seeds) => {
        calls.push(`make ${spec.kind}`)
        return builtIn.make(spec, inputDim, outDim, seeds)
      },
      makeUnified: (spec, inputDims, outDim, seeds) => {
        calls.push(`unified ${spec.kind}`)
        return builtIn.makeUnified(spec, inputDims, outDim, seeds)
      }
    }
    Effect.runSync(Effect.provide(build, Layer.succeed(ExpertFactory, mine)))
    expect(calls).toEqual(["make meanpool", "unified tcn"])
  })
})
