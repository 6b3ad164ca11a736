import { ExpertFactory } from "@haemsa/experts"
import * as tf from "@tensorflow/tfjs"
import { Effect, Exit, Layer } from "effect"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import * as Environment from "../src/Environment"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import { prepare, sentimentData, tinySpec, useCpu } from "./Support"

beforeAll(useCpu)

/**
 * An expert factory whose text expert carries a weight that is NaN and that the loss never reads: the
 * loss stays finite (so the training loop's own check passes), but the model's weights are not.
 */
const nanExperts = Layer.succeed(ExpertFactory.ExpertFactory, {
  ...ExpertFactory.builtIn,
  make: (args) => {
    const expert = ExpertFactory.builtIn.make(args)
    if (args.modality !== "text") return expert
    const nan = tf.scalar(Number.NaN)
    const poisoned = tf.variable(nan, true, "text/poisoned")
    nan.dispose()
    return {
      variables: new Map([...expert.variables, ["poisoned", poisoned]]),
      apply: expert.apply
    }
  }
})

describe("a training that diverges", () => {
  it.effect("fails with a TrainingError naming the weight and leaks no tensor", () =>
    Effect.gen(function*() {
      const data = prepare(sentimentData(2))
      const before = tf.memory().numTensors
      const exit = yield* Effect.exit(
        Experiment.trainOn(tinySpec("haemsa", "meanpool"), data, { epochs: 1, seed: 1, batchSize: 16 }).pipe(
          Effect.provide(Layer.merge(Environment.test, nanExperts))
        )
      )
      expect(Exit.isFailure(exit)).toBe(true)
      const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      expect(error?._tag).toBe("Fail")
      const failure = (error as { error: { _tag: string; message: string } }).error
      expect(failure._tag).toBe("TrainingError")
      expect(failure.message).toMatch(/training diverged: the weights are not finite \(.*= NaN\)/)
      expect(tf.memory().numTensors).toBe(before)
    }))

  it.effect("a finite training passes the check", () =>
    Effect.gen(function*() {
      const data = prepare(sentimentData(2))
      const { result } = yield* Experiment.trainOn(tinySpec("haemsa", "meanpool"), data, { epochs: 1, seed: 1, batchSize: 16 }).pipe(
        Effect.provide(Environment.test)
      )
      expect(result.history).toHaveLength(1)
      Network.dispose(result.net)
    }))
})
