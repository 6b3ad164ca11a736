/**
 * Results recorded before the initial-population and population-report changes: with no initial
 * population, a seed still gives exactly the same search (the new option draws nothing when absent).
 */
import { Effect, Result } from "effect"
import { describe, expect, it } from "@effect/vitest"
import { Search, Strategy } from "@haemsa/evo-search"
import { recording, sphere } from "./Support"

describe("fixed-seed results recorded before the initial population existed", () => {
  it("ask/tell: four generations of seed 7 end in the same rng state and best", () => {
    for (const extra of [{}, { initialPopulation: [] }]) {
      const strategy = Result.getOrThrow(Strategy.make({ dimension: 3, populationSize: 6, elitism: 1, ...extra }))
      let state = strategy.init(7)
      for (let g = 0; g < 4; g++) {
        const asked = strategy.ask(state)
        state = Result.getOrThrow(strategy.tell(asked.state, asked.genomes.map(sphere)))
      }
      expect(state.rng).toBe(2087939347)
      expect(state.best).toEqual({
        genome: [0.42650460771388576, 0.31157588405963305, 0.36006820219908864],
        fitness: 0.019745605780036795,
        level: 0
      })
    }
  })

  it.effect("Search.run with a cache key, two fidelity levels and failures: the same statistics and best", () =>
    Effect.gen(function*() {
      const coarse = (g: ReadonlyArray<number>) => g.map((x) => Math.round(x * 8) / 8)
      const evaluator = recording((g, f) => sphere(g) + 0.01 / (f.epochs ?? 1), { outcome: (g) => (g[0] > 0.85 ? "fail" : "ok") })
      const result = yield* Search.run({
        strategy: { dimension: 3, populationSize: 9, elitism: 2 },
        seed: 42,
        generations: 6,
        concurrency: 3,
        key: (g) => JSON.stringify(coarse(g)),
        fidelity: { levels: [{ epochs: 1 }, { epochs: 3 }], eta: 2 }
      }).pipe(Effect.provide(evaluator.layer))
      const stats = result.generations.map(({ population: _population, elites: _elites, ...rest }) => rest)
      expect(stats).toEqual([
        { generation: 0, best: 0.05094540830565403, mean: 0.15014714781463262, evaluations: 14, cache_hits: 0, failures: 1 },
        { generation: 1, best: 0.03248994202896514, mean: 0.0873672381536187, evaluations: 9, cache_hits: 2, failures: 0 },
        { generation: 2, best: 0.03055973134880767, mean: 0.03822608758884432, evaluations: 7, cache_hits: 4, failures: 0 },
        { generation: 3, best: 0.019112116389512743, mean: 0.02961690086233725, evaluations: 3, cache_hits: 8, failures: 0 },
        { generation: 4, best: 0.019112116389512743, mean: 0.0248359238691602, evaluations: 2, cache_hits: 9, failures: 0 },
        { generation: 5, best: 0.019112116389512743, mean: 0.02127667523336189, evaluations: 4, cache_hits: 7, failures: 0 }
      ])
      expect(result.best).toEqual({ genome: [0.3716498014825428, 0.3844066959212516, 0.24066536688114618], fitness: 0.019112116389512743, level: 1 })
      expect([result.evaluations, result.cache_hits, result.failures.length, result.stopped]).toEqual([39, 30, 1, "generations"])
    }))
})
