import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { beforeAll, expect, layer } from "@effect/vitest"
import { FusionFactory } from "../src/FusionFactory"
import type { FusionFactoryShape } from "../src/FusionFactory"
import { normal, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

const build = Effect.gen(function*() {
  const fusion = yield* FusionFactory
  const seeds = Module.seedSource(1)
  return {
    hierarchy: fusion.hierarchy({ depth: 2, width: 4, pool: "gate", sharedMode: "evolve", dropout: 0.1 }, seeds),
    attention: fusion.attention({ tasks: ["regression"], dim: 4, enabled: true }, seeds),
    tower: fusion.tower({ depth: 1, width: 8, outDim: 1, dropout: 0.1, activation: "relu" }, 4, seeds)
  }
})

layer(FusionFactory.layer)("FusionFactory", (it) => {
  it.effect("builds the built-in modules from FusionFactory.layer, which compose", () =>
    Effect.gen(function*() {
      const { hierarchy, attention, tower } = yield* build
      const local = [normal([2, 4], 1), normal([2, 4], 2), normal([2, 4], 3)] as Array<tf.Tensor2D>
      const localMask = tf.tensor2d([[1, 1, 1], [1, 0, 1]])
      const shared = normal([2, 4], 4) as tf.Tensor2D
      const levels = hierarchy.apply({ local, localMask, shared }, true)
      const { z, weights } = attention.apply({
        experts: [...local, shared, ...levels.local],
        mask: tf.concat([localMask, tf.ones([2, 3])], 1) as tf.Tensor2D
      }, true)
      expect(weights.shape).toEqual([2, 1, 6])
      expect(tower.apply(z.regression, true).shape).toEqual([2, 1])
    }))

  it.effect("is swapped with Layer.succeed", () =>
    Effect.gen(function*() {
      const builtIn = yield* FusionFactory
      const calls: Array<string> = []
      const mine: FusionFactoryShape = {
        hierarchy: (config, seeds) => (calls.push("hierarchy"), builtIn.hierarchy(config, seeds)),
        attention: (config, seeds) => (calls.push("attention"), builtIn.attention(config, seeds)),
        tower: (config, inDim, seeds) => (calls.push("tower"), builtIn.tower(config, inDim, seeds))
      }
      yield* build.pipe(Effect.provide(Layer.succeed(FusionFactory, mine)))
      expect(calls).toEqual(["hierarchy", "attention", "tower"])
    }))
})
