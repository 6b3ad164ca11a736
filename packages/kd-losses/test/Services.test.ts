import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import { crossModalKl, klDivergence } from "../src/Distillation"
import { Distillation, TaskLosses } from "../src/Services"
import { l1Loss, sentimentClasses } from "../src/TaskLosses"

beforeAll(async () => {
  await tf.setBackend("cpu")
  await tf.ready()
})

describe("services", () => {
  it("the default layers provide this package's functions", () => {
    const program = Effect.gen(function*() {
      const distillation = yield* Distillation
      const tasks = yield* TaskLosses
      return { distillation, tasks }
    })
    const { distillation, tasks } = Effect.runSync(
      Effect.provide(program, Layer.mergeAll(Distillation.layer, TaskLosses.layer))
    )
    expect(distillation.kl).toBe(klDivergence)
    expect(distillation.crossModal).toBe(crossModalKl)
    expect(tasks.l1).toBe(l1Loss)
    expect(tasks.sentimentClasses).toBe(sentimentClasses)
    const t = tf.tensor2d([[2, 0, -1]])
    const s = tf.tensor2d([[0, 1, 0]])
    const viaService = tf.tidy(() => distillation.kl(t, s).dataSync()[0])
    const direct = tf.tidy(() => klDivergence(t, s).dataSync()[0])
    expect(viaService).toBe(direct)
    expect(viaService).toBeGreaterThan(0)
    tf.dispose([t, s])
  })

  it("a user swaps one loss with Layer.succeed and keeps the others", () => {
    const halfKl: typeof klDivergence = (teacher, student, options) =>
      tf.tidy(() => tf.mul(klDivergence(teacher, student, options), 0.5))
    const mine = Layer.succeed(Distillation, { ...Distillation.default, kl: halfKl })
    const t = tf.tensor2d([[2, 0, -1]])
    const s = tf.tensor2d([[0, 1, 0]])
    const value = Effect.runSync(
      Effect.provide(
        Effect.gen(function*() {
          const distillation = yield* Distillation
          expect(distillation.crossModal).toBe(crossModalKl)
          return tf.tidy(() => distillation.kl(t, s).dataSync()[0])
        }),
        mine
      )
    )
    const full = tf.tidy(() => klDivergence(t, s).dataSync()[0])
    expect(value).toBeCloseTo(full / 2, 6)
    tf.dispose([t, s])
  })
})
