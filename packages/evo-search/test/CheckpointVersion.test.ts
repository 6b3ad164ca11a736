/**
 * The checkpoint format version: version 2 is written; a version 1 file (test/fixtures/
 * checkpoint-v1.json, written by @haemsa/evo-search 0.1.0 mid-way through generation 4) is upgraded
 * and resumes exactly; any other version is a CheckpointError naming the file, the version found
 * and the version needed.
 */
import * as fc from "fast-check"
import { Effect, Exit, Result } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "@effect/vitest"
import type { Fidelity as FidelityTypes, Genome as GenomeTypes } from "@haemsa/evo-search"
import { Checkpoint, Fidelity, Search, SearchState, Strategy } from "@haemsa/evo-search"
import { recording, removeTempDirs, sphere, tempDir, timeless } from "./Support"

afterAll(removeTempDirs)

const FIXTURE = fileURLToPath(new URL("./fixtures/checkpoint-v1.json", import.meta.url))
const v1Text = fs.readFileSync(FIXTURE, "utf8")

/** The search that wrote the fixture. */
const v1Options = (checkpointDir?: string): Search.SearchOptions => ({
  strategy: { dimension: 3, populationSize: 6, elitism: 1 },
  seed: 2024,
  generations: 6,
  concurrency: 2,
  fidelity: { levels: [{ epochs: 1 }, { epochs: 3 }], eta: 2 },
  ...(checkpointDir !== undefined ? { checkpointDir } : {})
})
const v1Fitness = (g: GenomeTypes.Genome, f: FidelityTypes.Fidelity) => sphere(g) + 0.01 / (f.epochs ?? 1)

/** A small current-version checkpoint. */
const current = (): Checkpoint.Checkpoint => {
  const strategy = Result.getOrThrow(Strategy.make({ dimension: 2, populationSize: 3, initialPopulation: [[0.5, 0.5]] }))
  const fidelity = Fidelity.single
  let state = SearchState.initial(strategy.init(1))
  state = SearchState.startGeneration(state, strategy, JSON.stringify)
  for (const i of SearchState.toEvaluate(state)) state = SearchState.record(state, i, i === 1 ? NaN : i / 10)
  state = Result.getOrThrow(SearchState.finishLevel(state, strategy, fidelity, JSON.stringify))
  return { config: { seed: 1, strategy: strategy.config, fidelity }, state }
}

const decodeFailure = (text: string, file: string) => {
  const decoded = Checkpoint.decode(text, file)
  if (Result.isSuccess(decoded)) throw new Error("expected a CheckpointError")
  return decoded.failure
}

/** Runs a search with the v1 fixture in its checkpoint folder. */
const resumeFixture = (text: string, options: (dir: string) => Search.SearchOptions = v1Options) =>
  Effect.gen(function*() {
    const dir = tempDir()
    fs.writeFileSync(Checkpoint.file(dir), text)
    const evaluator = recording(v1Fitness)
    const exit = yield* Effect.exit(Search.run(options(dir)).pipe(Effect.provide(evaluator.layer)))
    return { dir, evaluator, exit }
  })

describe("checkpoint format version", () => {
  it("writes format and version 2, with the initial population and each generation's population", () => {
    const checkpoint = current()
    const json = JSON.parse(Checkpoint.encode(checkpoint))
    expect([json.format, json.version, Checkpoint.VERSION]).toEqual(["@haemsa/evo-search/checkpoint", 2, 2])
    expect(json.config.strategy.initialPopulation).toEqual([[0.5, 0.5]])
    expect(json.state.history[0].population[1].fitness).toBe("NaN")
    expect(json.state.history[0].elites).toBe(0)
    const decoded = Result.getOrThrow(Checkpoint.decode(Checkpoint.encode(checkpoint), "f"))
    expect(decoded).toEqual(checkpoint)
    expect(decoded.migratedFrom).toBeUndefined()
  })

  it("any version other than 1 and 2 is a CheckpointError naming the file, the version found and the one needed", () => {
    const good = JSON.parse(Checkpoint.encode(current()))
    const version = fc.oneof(
      fc.integer().filter((v) => v !== 1 && v !== 2),
      fc.double({ noNaN: true }).filter((v) => !Number.isInteger(v)),
      fc.constantFrom<unknown>("2", "1", null, true, [2], { v: 2 })
    )
    fc.assert(fc.property(version, fc.constantFrom("/runs/x/checkpoint.json", "c.json"), (v, file) => {
      const error = decodeFailure(JSON.stringify({ ...good, version: v }), file)
      expect(error).toMatchObject({ _tag: "CheckpointError", file })
      expect(error.message.startsWith(`${file}: unsupported checkpoint version ${JSON.stringify(v)}: `)).toBe(true)
      expect(error.message).toContain("reads version 2")
    }))
    const { version: _version, ...noVersion } = good
    expect(decodeFailure(JSON.stringify(noVersion), "n.json").message).toMatch(/^n\.json: unsupported checkpoint version \(none\): .*reads version 2/)
  })

  it.effect("Search.run refuses an unsupported version, names it, evaluates nothing and leaves the file alone", () =>
    Effect.gen(function*() {
      const text = JSON.stringify({ ...JSON.parse(Checkpoint.encode(current())), version: 3 })
      const { dir, evaluator, exit } = yield* resumeFixture(text)
      expect(Exit.isFailure(exit)).toBe(true)
      const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
      expect(failure?._tag === "Fail" && failure.error).toMatchObject({ _tag: "CheckpointError", file: Checkpoint.file(dir) })
      expect(failure?._tag === "Fail" && failure.error.message).toContain("unsupported checkpoint version 3")
      expect(evaluator.calls).toHaveLength(0)
      expect(fs.readFileSync(Checkpoint.file(dir), "utf8")).toBe(text)
    }))

  it("a version 2 file whose populations are inconsistent is a corrupt CheckpointError", () => {
    const good = JSON.parse(Checkpoint.encode(current()))
    const history = good.state.history[0]
    const cases = [
      { ...good, config: { ...good.config, strategy: { ...good.config.strategy, initialPopulation: [[0.5], [0.5, 0.5]] } } },
      { ...good, config: { ...good.config, strategy: { ...good.config.strategy, initialPopulation: [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]] } } },
      { ...good, state: { ...good.state, history: [{ ...history, population: [{ genome: [2, 0], fitness: 1, level: 0 }] }] } },
      { ...good, state: { ...good.state, history: [{ ...history, elites: 4 }] } },
      { ...good, state: { ...good.state, history: [{ ...history, population: undefined }] } }
    ]
    for (const json of cases) {
      const error = decodeFailure(JSON.stringify(json), "f.json")
      expect(error.message).toMatch(/^f\.json: corrupt checkpoint/)
    }
  })
})

describe("a version 1 checkpoint", () => {
  it("decodes upgraded: no initial population, empty history populations, migratedFrom 1", () => {
    const checkpoint = Result.getOrThrow(Checkpoint.decode(v1Text, FIXTURE))
    expect(checkpoint.migratedFrom).toBe(1)
    expect(checkpoint.config.strategy.initialPopulation).toEqual([])
    expect(checkpoint.state.history).toHaveLength(3)
    for (const g of checkpoint.state.history) expect([g.population, g.elites]).toEqual([[], 0])
    expect(checkpoint.state.round).not.toBeNull()
    // re-encoding writes version 2
    expect(JSON.parse(Checkpoint.encode(checkpoint)).version).toBe(2)
  })

  it.effect("resumes with Search.run exactly like an uninterrupted search, populations included, evaluating only what it lacked", () =>
    Effect.gen(function*() {
      const straightEvaluator = recording(v1Fitness)
      const straight = yield* Search.run(v1Options()).pipe(Effect.provide(straightEvaluator.layer))
      const saved = Result.getOrThrow(Checkpoint.decode(v1Text, FIXTURE))
      const { dir, evaluator, exit } = yield* resumeFixture(v1Text)
      const resumed = Exit.isSuccess(exit) ? exit.value : undefined
      expect(resumed && timeless(resumed)).toEqual(timeless(straight))
      expect(evaluator.calls.length).toBe(straightEvaluator.calls.length - saved.state.evaluations)
      for (const c of evaluator.calls) expect(saved.state.cache[`${c.fidelity.level}:${JSON.stringify(c.genome)}`]).toBeUndefined()
      // the file is now version 2 with the rebuilt populations
      const upgraded = Result.getOrThrow(Checkpoint.decode(fs.readFileSync(Checkpoint.file(dir), "utf8"), "c"))
      expect(upgraded.migratedFrom).toBeUndefined()
      expect(upgraded.state.history).toEqual(straight.generations)
    }))

  it.effect("that the replay cannot reproduce is a CheckpointError naming both versions, the file left alone", () =>
    Effect.gen(function*() {
      const json = JSON.parse(v1Text)
      const tampered = JSON.stringify({ ...json, state: { ...json.state, strategy: { ...json.state.strategy, rng: 12345 } } })
      const otherKey = (dir: string) => ({ ...v1Options(dir), key: (g: GenomeTypes.Genome) => JSON.stringify(g.map((x) => x / 2)) })
      for (const [text, options, reason] of [
        [tampered, v1Options, "does not reproduce"],
        [v1Text, otherKey, "the fitness cache lacks an evaluation of generation 0"]
      ] as const) {
        const { dir, evaluator, exit } = yield* resumeFixture(text, options)
        const failure = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
        expect(failure?._tag === "Fail" && failure.error).toMatchObject({ _tag: "CheckpointError", file: Checkpoint.file(dir) })
        const message = failure?._tag === "Fail" ? failure.error.message : ""
        expect(message).toContain("cannot upgrade this checkpoint of version 1 to version 2")
        expect(message).toContain(reason)
        expect(evaluator.calls).toHaveLength(0)
        expect(fs.readFileSync(Checkpoint.file(dir), "utf8")).toBe(text)
      }
    }))
})
