/**
 * `Search.finalists`: the best distinct individuals of a search's generations, the candidates a
 * caller compares again (e.g. over several training seeds).
 */
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import type { SearchState as SearchStateTypes, Strategy as StrategyTypes } from "@haemsa/evo-search"
import { Search, Strategy } from "@haemsa/evo-search"
import { fitness } from "./Arbitraries"

/** An individual with a one-gene genome from a small set (so keys repeat), a fitness (NaN included) and a level. */
const individual: fc.Arbitrary<StrategyTypes.Individual> = fc.record({
  genome: fc.constantFrom(0, 0.25, 0.5, 0.75, 1).map((g) => [g]),
  fitness,
  level: fc.integer({ min: 0, max: 2 })
})

const generation = (population: ReadonlyArray<StrategyTypes.Individual>, i: number): SearchStateTypes.GenerationRecord => ({
  generation: i + 1,
  best: 0,
  mean: 0,
  evaluations: population.length,
  cache_hits: 0,
  failures: 0,
  population,
  elites: 0
})

const generations = fc.array(fc.array(individual, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 4 }).map((gs) => gs.map(generation))

const key = (genome: ReadonlyArray<number>) => JSON.stringify(genome)

describe("Search.finalists", () => {
  it("returns at most `count` individuals, distinct by key, none failed, best first by Strategy.compare", () => {
    fc.assert(
      fc.property(generations, fc.integer({ min: 0, max: 7 }), (gs, count) => {
        const chosen = Search.finalists(gs, count, key)
        const everyone = gs.flatMap((g) => g.population)
        const usable = everyone.filter((i) => !Number.isNaN(i.fitness))
        const keys = new Set(usable.map((i) => key(i.genome)))
        expect(chosen).toHaveLength(Math.min(count, keys.size))
        expect(new Set(chosen.map((i) => key(i.genome))).size).toBe(chosen.length)
        for (const i of chosen) expect(Number.isNaN(i.fitness)).toBe(false)
        for (let k = 1; k < chosen.length; k++) expect(Strategy.compare(chosen[k - 1], chosen[k])).toBeLessThanOrEqual(0)
        // nothing left out beats the last one chosen, unless its key was chosen already (a better copy of it)
        if (chosen.length > 0) {
          const last = chosen[chosen.length - 1]
          const taken = new Set(chosen.map((i) => key(i.genome)))
          for (const i of usable) if (!taken.has(key(i.genome))) expect(Strategy.compare(i, last)).toBeGreaterThanOrEqual(0)
        }
        // the first is the best of all (the search's best) when any individual did not fail
        if (count > 0 && usable.length > 0) expect(Strategy.compare(chosen[0], Strategy.bestOf(everyone)!)).toBe(0)
      })
    )
  })

  it("keeps a key's best entry: a genome met at a higher level is ranked by that level", () => {
    const gs = [
      generation([{ genome: [0.5], fitness: 0.1, level: 0 }, { genome: [0.25], fitness: 0.3, level: 1 }], 0),
      generation([{ genome: [0.5], fitness: 0.4, level: 1 }, { genome: [0.75], fitness: NaN, level: 1 }], 1)
    ]
    expect(Search.finalists(gs, 3, key)).toEqual([
      { genome: [0.25], fitness: 0.3, level: 1 },
      { genome: [0.5], fitness: 0.4, level: 1 }
    ])
  })
})
