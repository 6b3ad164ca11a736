/**
 * Each generation's population in the result, the progress reports and the checkpoint: it is what
 * was evaluated (every candidate with the fitness the evaluator returned at the level it reached,
 * elites carried over), and a resumed search reports the same populations as an uninterrupted one.
 */
import * as fc from "fast-check"
import { Effect, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import type { Fidelity as FidelityTypes, Genome as GenomeTypes } from "@haemsa/evo-search"
import { Checkpoint, Fidelity, Search, SearchState, Strategy } from "@haemsa/evo-search"
import { genome, seed } from "./Arbitraries"
import { recording, removeTempDirs, sphere, tempDir, timeless } from "./Support"

afterAll(removeTempDirs)

/** A small search: sizes, fidelity levels, an initial population, coarse cache keys or not. */
const searchCase = fc.record({
  dimension: fc.integer({ min: 1, max: 4 }),
  populationSize: fc.integer({ min: 2, max: 8 }),
  levels: fc.integer({ min: 1, max: 3 })
}).chain(({ dimension, levels, populationSize }) =>
  fc.record({
    dimension: fc.constant(dimension),
    populationSize: fc.constant(populationSize),
    elitism: fc.integer({ min: 0, max: populationSize - 1 }),
    levels: fc.constant(Array.from({ length: levels }, (_, i) => ({ epochs: i + 1 }))),
    eta: fc.constantFrom(2, 3),
    promotion: fc.constantFrom("top" as const, "incumbent" as const),
    initialPopulation: fc.array(genome(dimension), { maxLength: populationSize }),
    coarse: fc.boolean(),
    seed,
    generations: fc.integer({ min: 1, max: 4 })
  })
)
type Case = typeof searchCase extends fc.Arbitrary<infer T> ? T : never

const round = (g: GenomeTypes.Genome) => g.map((x) => Math.round(x * 4) / 4)
/** The fitness at a fidelity: a function of the cache key, so a cache hit gets the same value. */
const fitnessOf = (c: Case) => (g: GenomeTypes.Genome, f: FidelityTypes.Fidelity): number =>
  sphere(c.coarse ? round(g) : g) + 0.01 / (f.epochs ?? 1)
/** Some keys fail (NaN), decided by the key too. */
const fails = (c: Case) => (g: GenomeTypes.Genome): boolean => (c.coarse ? round(g) : g)[0] > 0.85
const optionsOf = (c: Case): Search.SearchOptions => ({
  strategy: { dimension: c.dimension, populationSize: c.populationSize, elitism: c.elitism, initialPopulation: c.initialPopulation },
  seed: c.seed,
  generations: c.generations,
  concurrency: 3,
  fidelity: { levels: c.levels, eta: c.eta, promotion: c.promotion },
  ...(c.coarse ? { key: (g: GenomeTypes.Genome) => JSON.stringify(round(g)) } : {})
})
const evaluatorOf = (c: Case) => recording(fitnessOf(c), { outcome: (g) => (fails(c)(g) ? "nan" : "ok") })
const keyOf = (c: Case) => (g: GenomeTypes.Genome) => JSON.stringify(c.coarse ? round(g) : g)

describe("reported populations", () => {
  it("are what was evaluated: every candidate with the evaluator's fitness at its level, elites carried over", async () => {
    await fc.assert(fc.asyncProperty(searchCase, async (c) => {
      const evaluator = evaluatorOf(c)
      const reports: Array<{ population: ReadonlyArray<Strategy.Individual>; elites: number }> = []
      const result = await Effect.runPromise(
        Search.run({ ...optionsOf(c), onProgress: (p) => reports.push(p) }).pipe(Effect.provide(evaluator.layer))
      )
      const f = fitnessOf(c)
      const key = keyOf(c)
      const fidelity = Result.getOrThrow(Fidelity.make({ levels: c.levels, eta: c.eta, promotion: c.promotion }))
      let done = 0
      result.generations.forEach((g, i) => {
        expect(g.population).toHaveLength(c.populationSize)
        expect(g.elites).toBe(i === 0 ? 0 : c.elitism)
        const candidates = g.population.slice(g.elites)
        if (i === 0) expect(candidates.slice(0, c.initialPopulation.length).map((p) => p.genome)).toEqual(c.initialPopulation)
        // each candidate carries the evaluator's answer for its key at the level it reached
        for (const p of candidates) {
          const expected = fails(c)(p.genome) ? NaN : f(p.genome, Fidelity.at(fidelity, p.level))
          expect(p.fitness).toBe(expected)
        }
        // every evaluation of this generation is of one of its candidates, at or below its level
        const calls = evaluator.calls.slice(done, done + g.evaluations)
        done += g.evaluations
        for (const call of calls) {
          const owner = candidates.find((p) => key(p.genome) === key(call.genome) && p.level >= call.fidelity.level)
          expect(owner).toBeDefined()
        }
        // the elites are the best of the previous population, in rank order
        if (i > 0) {
          const previous = result.generations[i - 1].population
          expect(g.population.slice(0, g.elites)).toEqual(Strategy.order(previous).slice(0, g.elites).map((j) => previous[j]))
        }
        expect(g.best).toBe(SearchState.summarize(g.population).best)
      })
      expect(done).toBe(evaluator.calls.length)
      // the progress report after each generation carries the same population
      expect(reports.map((r) => [r.population, r.elites])).toEqual(result.generations.map((g) => [g.population, g.elites]))
    }), { numRuns: 30 })
  })
})

describe("populations across a resume", () => {
  it("stopping anywhere in the pure steps, round-tripping the checkpoint and going on reports the same history", () => {
    fc.assert(fc.property(searchCase, fc.nat(), (c, stopAt) => {
      const options = optionsOf(c)
      const strategy = Result.getOrThrow(Strategy.make(options.strategy))
      const fidelity = Result.getOrThrow(Fidelity.make(options.fidelity))
      const config: Checkpoint.CheckpointConfig = { seed: c.seed, strategy: strategy.config, fidelity }
      const key = keyOf(c)
      const evaluate = (s: SearchState.SearchState, i: number) => {
        const g = SearchState.candidates(s)[i]
        return fails(c)(g) ? NaN : fitnessOf(c)(g, Fidelity.at(fidelity, s.round!.level))
      }
      /** Runs the loop's pure steps; after `stop` steps (if given) the state goes through a checkpoint. */
      const runSteps = (stop?: number) => {
        let s = SearchState.initial(strategy.init(c.seed))
        let steps = 0
        const step = (next: SearchState.SearchState) => {
          s = ++steps === stop ? Result.getOrThrow(Checkpoint.decode(Checkpoint.encode({ config, state: next }), "c")).state : next
        }
        for (let g = 0; g < c.generations; g++) {
          step(SearchState.startGeneration(s, strategy, key))
          while (s.round !== null) {
            for (const i of SearchState.toEvaluate(s)) step(SearchState.record(s, i, evaluate(s, i)))
            step(Result.getOrThrow(SearchState.finishLevel(s, strategy, fidelity, key)))
          }
        }
        return { state: s, steps }
      }
      const straight = runSteps()
      const resumed = runSteps(1 + (stopAt % straight.steps))
      expect(resumed.state.history).toEqual(straight.state.history)
      expect(resumed.state).toEqual(straight.state)
    }), { numRuns: 150 })
  })

  it("Search.run stopped by a budget and rerun from its checkpoint reports the uninterrupted populations", async () => {
    await fc.assert(fc.asyncProperty(searchCase, fc.integer({ min: 1, max: 40 }), async (c, maxEvaluations) => {
      const options = { ...optionsOf(c), generations: c.generations + 1 }
      const straight = await Effect.runPromise(Search.run(options).pipe(Effect.provide(evaluatorOf(c).layer)))
      const dir = tempDir()
      const first = await Effect.runPromise(
        Search.run({ ...options, checkpointDir: dir, budget: { maxEvaluations } }).pipe(Effect.provide(evaluatorOf(c).layer))
      )
      expect(first.generations).toEqual(straight.generations.slice(0, first.generations.length))
      const reports: Array<number> = []
      const second = await Effect.runPromise(
        Search.run({ ...options, checkpointDir: dir, onProgress: (p) => reports.push(p.generation) }).pipe(Effect.provide(evaluatorOf(c).layer))
      )
      expect(timeless(second)).toEqual(timeless(straight))
      expect(reports).toEqual(straight.generations.slice(first.generations.length).map((g) => g.generation + 1))
    }), { numRuns: 15 })
  })
})
