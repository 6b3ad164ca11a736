import { Effect, Option, Result } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Checkpoint, Fidelity, SearchState, Strategy } from "@haemsa/evo-search"
import { removeTempDirs, tempDir } from "./Support"

afterAll(removeTempDirs)

const strategy = Result.getOrThrow(Strategy.make({ dimension: 3, populationSize: 4 }))
const fidelity = Result.getOrThrow(Fidelity.make({ levels: [{ epochs: 1, fraction: 0.5 }, {}], eta: 2 }))
const config: Checkpoint.CheckpointConfig = { seed: 5, strategy: strategy.config, fidelity }

/** A mid-generation state with NaN and infinite fitnesses in it. */
const sample = (): SearchState.SearchState => {
  let state = SearchState.initial(strategy.init(5))
  state = SearchState.startGeneration(state, strategy, JSON.stringify)
  state = SearchState.record(state, 0, NaN, "diverged")
  state = SearchState.record(state, 1, Infinity)
  state = SearchState.record(state, 2, 0.25)
  state = SearchState.record(state, 3, -Infinity)
  state = Result.getOrThrow(SearchState.finishLevel(state, strategy, fidelity, JSON.stringify))
  return state
}

describe("Checkpoint", () => {
  it("round-trips the whole state, NaN and infinities included", () => {
    const checkpoint = { config, state: sample() }
    const text = Checkpoint.encode(checkpoint)
    expect(text).toContain("\"NaN\"")
    expect(text).toContain("\"Infinity\"")
    expect(Result.getOrThrow(Checkpoint.decode(text, "f.json"))).toEqual(checkpoint)
  })

  it.effect("writes atomically (no temp file left) and reads back; a missing file reads as None", () =>
    Effect.gen(function*() {
      const dir = path.join(tempDir(), "nested")
      const file = Checkpoint.file(dir)
      expect(Option.isNone(yield* Checkpoint.read(file))).toBe(true)
      const checkpoint = { config, state: sample() }
      yield* Checkpoint.write(file, checkpoint)
      yield* Checkpoint.write(file, checkpoint)
      expect(fs.readdirSync(dir)).toEqual([Checkpoint.FILE_NAME])
      const read = yield* Checkpoint.read(file)
      expect(Option.getOrThrow(read)).toEqual(checkpoint)
    }))

  it("a corrupt, truncated, foreign or inconsistent file is a CheckpointError naming it", () => {
    const good = JSON.parse(Checkpoint.encode({ config, state: sample() }))
    const withState = (patch: object) => JSON.stringify({ ...good, state: { ...good.state, ...patch } })
    const cases = [
      "",
      "{",
      Checkpoint.encode({ config, state: sample() }).slice(0, 100),
      "null",
      JSON.stringify({ ...good, format: "something-else" }),
      withState({ evaluations: -0.5 }),
      withState({ cache: { "0:[1]": "fast" } }),
      withState({ strategy: { ...good.state.strategy, pending: [[0.1, 0.2]] } }),
      withState({ strategy: { ...good.state.strategy, rng: 2 ** 33 } }),
      withState({ round: { ...good.state.round, planned: [7] } })
    ]
    for (const text of cases) {
      const result = Checkpoint.decode(text, "/runs/a/checkpoint.json")
      expect(Result.isFailure(result)).toBe(true)
      if (Result.isFailure(result)) {
        expect(result.failure).toMatchObject({ _tag: "CheckpointError", file: "/runs/a/checkpoint.json" })
        expect(result.failure.message).toMatch(/^\/runs\/a\/checkpoint\.json: corrupt checkpoint/)
      }
    }
  })

  it.effect("an unreadable path is a CheckpointError naming it", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const exit = yield* Effect.result(Checkpoint.read(dir))
      expect(Result.isFailure(exit) && exit.failure).toMatchObject({ _tag: "CheckpointError", file: dir })
    }))

  it("tells which part of the configuration differs, whatever the key order", () => {
    const reordered = JSON.parse(JSON.stringify({ fidelity: config.fidelity, strategy: config.strategy, seed: config.seed }))
    expect(Checkpoint.configDifference(config, reordered)).toBeUndefined()
    expect(Checkpoint.configDifference(config, { ...config, seed: 6 })).toBe("seed was 5, now 6")
    expect(Checkpoint.configDifference(config, { ...config, fidelity: { ...fidelity, eta: 3 } })).toContain("fidelity")
  })
})
