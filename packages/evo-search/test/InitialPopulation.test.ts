/**
 * The strategy's initial population: the first `ask` returns it exactly, topped up with the random
 * genomes an unseeded strategy has at those positions (same rng draws), and a bad one is a typed
 * ConfigError naming the option, from `Strategy.make` and from `Search.run`.
 */
import * as fc from "fast-check"
import { Effect, Exit, Result } from "effect"
import * as fs from "node:fs"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Checkpoint, Search, Strategy } from "@haemsa/evo-search"
import { genome, seed } from "./Arbitraries"
import { recording, removeTempDirs, sphere, tempDir } from "./Support"

afterAll(removeTempDirs)

const make = (config: Strategy.StrategyConfig) => Result.getOrThrow(Strategy.make(config))

/** A config and an initial population of 0 to populationSize genomes. */
const seeded = fc.record({
  dimension: fc.integer({ min: 1, max: 6 }),
  populationSize: fc.integer({ min: 1, max: 10 })
}).chain(({ dimension, populationSize }) =>
  fc.record({
    dimension: fc.constant(dimension),
    populationSize: fc.constant(populationSize),
    elitism: fc.integer({ min: 0, max: populationSize - 1 }),
    initialPopulation: fc.array(genome(dimension), { maxLength: populationSize })
  })
)

/** A gene value that is not a number in [0, 1]. */
const badGene = fc.oneof(
  fc.double({ min: 1, max: 1e9, minExcluded: true, noNaN: true }),
  fc.double({ min: -1e9, max: -Number.MIN_VALUE, noNaN: true }),
  fc.constantFrom<unknown>(NaN, Infinity, -Infinity, "0.5", null, undefined, true)
)

describe("Strategy initial population", () => {
  it("the first ask returns it exactly, then the unseeded strategy's genomes; the rng advances the same", () => {
    fc.assert(fc.property(seeded, seed, (c, s) => {
      const withInitial = make(c)
      const without = make({ ...c, initialPopulation: undefined })
      const asked = withInitial.ask(withInitial.init(s))
      const plain = without.ask(without.init(s))
      const k = c.initialPopulation.length
      expect(asked.genomes).toHaveLength(c.populationSize)
      expect(asked.genomes.slice(0, k)).toEqual(c.initialPopulation)
      expect(asked.genomes.slice(k)).toEqual(plain.genomes.slice(k))
      expect(asked.state.rng).toBe(plain.state.rng)
      expect(withInitial.init(s)).toEqual(without.init(s))
      expect(withInitial.config.initialPopulation).toEqual(c.initialPopulation)
    }))
  })

  it("the top-up is deterministic for a seed, and so is the whole trajectory", () => {
    fc.assert(fc.property(seeded, seed, (c, s) => {
      const trajectory = () => {
        const strategy = make(c)
        let state = strategy.init(s)
        const asked: Array<ReadonlyArray<ReadonlyArray<number>>> = []
        for (let g = 0; g < 3; g++) {
          const a = strategy.ask(state)
          asked.push(a.genomes)
          state = Result.getOrThrow(strategy.tell(a.state, a.genomes.map(sphere)))
        }
        return { asked, state }
      }
      expect(trajectory()).toEqual(trajectory())
    }))
  })

  it("is copied: changing the caller's arrays afterwards changes nothing", () => {
    const initialPopulation = [[0.1, 0.2], [0.3, 0.4]]
    const strategy = make({ dimension: 2, populationSize: 3, initialPopulation })
    initialPopulation[0][0] = 0.9
    initialPopulation.push([0.5, 0.5])
    expect(strategy.ask(strategy.init(1)).genomes.slice(0, 2)).toEqual([[0.1, 0.2], [0.3, 0.4]])
  })

  it("absent or empty, the strategy is the one it was before the option existed", () => {
    fc.assert(fc.property(seeded, seed, (c, s) => {
      const a = make({ ...c, initialPopulation: undefined })
      const b = make({ ...c, initialPopulation: [] })
      expect(a.config).toEqual(b.config)
      let [sa, sb] = [a.init(s), b.init(s)]
      for (let g = 0; g < 3; g++) {
        const [x, y] = [a.ask(sa), b.ask(sb)]
        expect(y).toEqual(x)
        sa = Result.getOrThrow(a.tell(x.state, x.genomes.map(sphere)))
        sb = Result.getOrThrow(b.tell(y.state, y.genomes.map(sphere)))
      }
    }))
  })
})

describe("initial population validation", () => {
  const expectConfigError = (config: Strategy.StrategyConfig, option: string, value?: string) => {
    const made = Strategy.make(config)
    expect(Result.isFailure(made)).toBe(true)
    if (Result.isFailure(made)) {
      expect(made.failure).toMatchObject({ _tag: "ConfigError", option, ...(value !== undefined ? { value } : {}) })
      expect(made.failure.message).toContain(`invalid ${option} = `)
    }
  }

  it("more genomes than populationSize is a ConfigError naming initialPopulation and the count", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 6 })
        .chain((d) => fc.tuple(fc.constant(d), fc.array(genome(d), { minLength: 2, maxLength: 12 })))
        .chain(([d, list]) => fc.tuple(fc.constant(d), fc.integer({ min: 1, max: list.length - 1 }), fc.constant(list))),
      ([dimension, populationSize, initialPopulation]) => {
        const config = { dimension, populationSize, elitism: 0, initialPopulation }
        expectConfigError(config, "initialPopulation", `${initialPopulation.length} genomes`)
      }
    ))
  })

  it("a genome of the wrong length is a ConfigError naming initialPopulation[i]", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 3 }),
      (dimension, length, index) => {
        fc.pre(length !== dimension)
        const initialPopulation = [...Array.from({ length: index }, () => new Array(dimension).fill(0.5)), new Array(length).fill(0.5)]
        expectConfigError({ dimension, populationSize: 4, initialPopulation }, `initialPopulation[${index}]`, `${length} genes`)
      }
    ))
  })

  it("a gene that is not a number in [0, 1] is a ConfigError naming initialPopulation[i][j] and the value", () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 5 }).chain((d) => fc.tuple(fc.constant(d), fc.integer({ min: 0, max: d - 1 }))),
      fc.integer({ min: 0, max: 3 }),
      badGene,
      ([dimension, j], i, bad) => {
        const initialPopulation = Array.from({ length: i + 1 }, () => new Array<unknown>(dimension).fill(0.25))
        initialPopulation[i][j] = bad
        const made = Strategy.make({ dimension, populationSize: 4, initialPopulation: initialPopulation as Array<Array<number>> })
        expect(Result.isFailure(made) && made.failure).toMatchObject({ _tag: "ConfigError", option: `initialPopulation[${i}][${j}]` })
      }
    ))
  })

  it("something that is not an array of arrays is a ConfigError", () => {
    expectConfigError({ dimension: 2, populationSize: 3, initialPopulation: "[[0.5, 0.5]]" as never }, "initialPopulation")
    expectConfigError({ dimension: 2, populationSize: 3, initialPopulation: [0.5, 0.5] as never }, "initialPopulation[0]")
  })

  it.effect("Search.run fails in its error channel with the same ConfigError and evaluates nothing", () =>
    Effect.gen(function*() {
      const cases: Array<[ReadonlyArray<ReadonlyArray<number>>, string]> = [
        [[[0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]], "initialPopulation"],
        [[[0.1, 0.2]], "initialPopulation[0]"],
        [[[0.1, 0.2, 0.3], [0.1, 1.5, 0.3]], "initialPopulation[1][1]"]
      ]
      for (const [initialPopulation, option] of cases) {
        const evaluator = recording(sphere)
        const error = yield* Search.run({ strategy: { dimension: 3, populationSize: 3, initialPopulation }, seed: 1, generations: 2 })
          .pipe(Effect.flip, Effect.provide(evaluator.layer))
        expect(error).toMatchObject({ _tag: "ConfigError", option })
        expect(evaluator.calls).toHaveLength(0)
      }
    }))
})

describe("Search.run with an initial population", () => {
  const initialPopulation = [[0.3, 0.3, 0.3], [0.9, 0.1, 0.5]]
  const options = (checkpointDir?: string): Search.SearchOptions => ({
    strategy: { dimension: 3, populationSize: 6, elitism: 1, initialPopulation },
    seed: 3,
    generations: 4,
    concurrency: 2,
    ...(checkpointDir !== undefined ? { checkpointDir } : {})
  })

  it.effect("evaluates the initial genomes in the first generation and reports them first", () =>
    Effect.gen(function*() {
      const evaluator = recording(sphere)
      const result = yield* Search.run(options()).pipe(Effect.provide(evaluator.layer))
      const first = result.generations[0]
      expect(first.elites).toBe(0)
      expect(first.population.slice(0, 2)).toEqual(initialPopulation.map((genome) => ({ genome, fitness: sphere(genome), level: 0 })))
      expect(evaluator.calls.slice(0, 6).map((c) => c.genome)).toEqual(expect.arrayContaining(initialPopulation))
      // the centre is the optimum, so with elitism it stays the best
      expect(result.best).toEqual({ genome: [0.3, 0.3, 0.3], fitness: 0, level: 0 })
    }))

  it.effect("is part of the checkpoint's configuration: resuming with another one is a CheckpointError", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* Search.run({ ...options(dir), generations: 1 }).pipe(Effect.provide(recording(sphere).layer))
      const before = fs.readFileSync(Checkpoint.file(dir), "utf8")
      for (const other of [undefined, [], [[0.3, 0.3, 0.3]], [[0.9, 0.1, 0.5], [0.3, 0.3, 0.3]]]) {
        const evaluator = recording(sphere)
        const exit = yield* Effect.exit(
          Search.run({ ...options(dir), strategy: { ...options(dir).strategy, initialPopulation: other } }).pipe(Effect.provide(evaluator.layer))
        )
        expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("initialPopulation")
        expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("CheckpointError")
        expect(evaluator.calls).toHaveLength(0)
        expect(fs.readFileSync(Checkpoint.file(dir), "utf8")).toBe(before)
      }
      // the same initial population resumes
      const resumed = yield* Search.run(options(dir)).pipe(Effect.provide(recording(sphere).layer))
      const straight = yield* Search.run(options()).pipe(Effect.provide(recording(sphere).layer))
      expect(resumed.generations).toEqual(straight.generations)
    }))
})
