// A ModelError caused by a part that could not be built keeps that part's error as its cause
// (typed: an ExpertError or a FusionError), so callers and --verbose see it; other errors are defects.
import { Errors as ExpertErrors, ExpertFactory } from "@haemsa/experts"
import { Errors as FusionErrors } from "@haemsa/hierarchical-fusion"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
import * as Environment from "../src/Environment"
import * as Network from "../src/model/Network"
import { prepare, sentimentData, tinySpec } from "./Support"

const DATA = prepare(sentimentData())

describe("ModelError keeps the part's error as its cause", () => {
  it.effect("an expert the spec cannot build: the ExpertError is the cause, and --verbose shows it", () =>
    Effect.gen(function*() {
      const base = tinySpec("haemsa", "transformer")
      const spec = { ...base, experts: { ...base.experts, text: { kind: "transformer" as const, hidden: 8, heads: 3 } } }
      const error = yield* Effect.flip(Network.build(spec, DATA.info, 0))
      expect(error).toBeInstanceOf(Network.ModelError)
      expect(error.cause).toBeInstanceOf(ExpertErrors.ExpertError)
      expect(error.message).toBe(error.cause?.message)
      expect(Cause.pretty(Cause.fail(error))).toMatch(/\[cause\]: ExpertError/)
    }).pipe(Effect.provide(Environment.parts)))

  it.effect("a fusion config the spec cannot build: the FusionError is the cause", () =>
    Effect.gen(function*() {
      const base = tinySpec()
      const error = yield* Effect.flip(Network.build({ ...base, fusion: { ...base.fusion, depth: 9 } }, DATA.info, 0))
      expect(error.cause).toBeInstanceOf(FusionErrors.FusionError)
      expect(error.message).toContain("depth")
    }).pipe(Effect.provide(Environment.parts)))

  it.effect("any other error while building is a defect (a bug), not a ModelError", () =>
    Effect.gen(function*() {
      const broken = Layer.succeed(ExpertFactory.ExpertFactory, {
        make: () => {
          throw new TypeError("a custom expert with a bug")
        },
        makeUnified: () => {
          throw new TypeError("a custom expert with a bug")
        }
      })
      const exit = yield* Effect.exit(Network.build(tinySpec(), DATA.info, 0).pipe(Effect.provide(broken)))
      expect(Exit.isFailure(exit) && Cause.hasDies(exit.cause) && !Cause.hasFails(exit.cause)).toBe(true)
    }).pipe(Effect.provide(Environment.parts)))
})
