/**
 * Who successive halving promotes. With `promotion: "incumbent"` a candidate is trained further only
 * when it beats the incumbent (the population's best so far) at the level it is promoted from; and
 * in the first generation the seeds (the strategy's initial population) reach the top level
 * whatever their rank at the cheaper levels.
 */
import * as fc from "fast-check"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { Fidelity as FidelityTypes, Genome as GenomeTypes } from "@haemsa/evo-search"
import { Search } from "@haemsa/evo-search"
import { recording, sphere } from "./Support"

/**
 * Lower with more epochs, the same ranking at every level (a faithful cheap proxy), and plateaus (a
 * coarse sphere) so that some generations find nothing better than the incumbent.
 */
const fitness = (g: GenomeTypes.Genome, f: FidelityTypes.Fidelity) => Math.round(sphere(g) * 20) / 20 + 0.1 / (f.epochs ?? 1)
const levels = [{ epochs: 1 }, { epochs: 3 }, { epochs: 9 }]

/** A search of 9 candidates per generation over `levels` (eta 3, one evaluation at a time): its result and the evaluator's calls. */
const search = (
  f: (g: GenomeTypes.Genome, fidelity: FidelityTypes.Fidelity) => number,
  options: {
    readonly seed: number
    readonly generations: number
    readonly promotion?: "top" | "incumbent"
    readonly initialPopulation?: ReadonlyArray<GenomeTypes.Genome>
    readonly outcome?: (g: GenomeTypes.Genome) => "ok" | "nan"
  }
) => {
  const evaluator = recording(f, options.outcome !== undefined ? { outcome: options.outcome } : {})
  const result = Effect.runSync(
    Search.run({
      strategy: { dimension: 3, populationSize: 9, elitism: 1, ...(options.initialPopulation !== undefined ? { initialPopulation: options.initialPopulation } : {}) },
      seed: options.seed,
      generations: options.generations,
      concurrency: 1,
      fidelity: { levels, eta: 3, ...(options.promotion !== undefined ? { promotion: options.promotion } : {}) }
    }).pipe(Effect.provide(evaluator.layer))
  )
  return { result, calls: evaluator.calls }
}

const run = (promotion: "top" | "incumbent") => search(fitness, { seed: 4, generations: 6, promotion })

describe("promotion: incumbent", () => {
  it("trains fewer candidates at the costly levels, each one better than the incumbent where it was promoted from", () => {
    const top = run("top")
    const incumbent = run("incumbent")
    const atLevel = (calls: typeof top.calls, level: number) => calls.filter((c) => c.fidelity.level === level).length
    expect(atLevel(incumbent.calls, 0)).toBe(atLevel(top.calls, 0))
    expect(atLevel(incumbent.calls, 2)).toBeLessThan(atLevel(top.calls, 2))
    expect(atLevel(incumbent.calls, 1)).toBeLessThan(atLevel(top.calls, 1))
    // the best is still a full-fidelity result
    expect(incumbent.result.best.level).toBe(2)
    // every candidate trained at level L + 1 after the first generation beat the incumbent of its
    // generation at level L: so its level-L fitness is below the best level-L fitness of the
    // candidates that reached the top level before it
    const calls = incumbent.calls
    for (let k = 0; k < calls.length; k++) {
      const { fidelity, genome } = calls[k]
      if (fidelity.level === 0) continue
      const earlierTop = calls.slice(0, k).filter((c) => c.fidelity.level === levels.length - 1)
      if (earlierTop.length === 0) continue
      const own = fitness(genome, { level: fidelity.level - 1, ...levels[fidelity.level - 1] })
      const bar = Math.min(...earlierTop.map((c) => fitness(c.genome, { level: fidelity.level - 1, ...levels[fidelity.level - 1] })))
      expect(own).toBeLessThan(bar)
    }
  })
})

/**
 * A deceptive proxy: below the top level the ranking is reversed (the sphere's optimum looks worst),
 * at the top level it is the sphere itself.
 */
const deceptive = (g: GenomeTypes.Genome, f: FidelityTypes.Fidelity) => (f.level === levels.length - 1 ? sphere(g) : 10 - sphere(g))
const seedGenome = [0.3, 0.3, 0.3]
const isSeed = (g: GenomeTypes.Genome) => g.every((x, i) => x === seedGenome[i])

const seededRun = (promotion: "top" | "incumbent", seed: number, outcome?: (g: GenomeTypes.Genome) => "ok" | "nan") =>
  search(deceptive, { seed, generations: 3, promotion, initialPopulation: [seedGenome], ...(outcome !== undefined ? { outcome } : {}) })

describe("seeds: the initial population reaches the top level", () => {
  it("in the first generation a seed is promoted at every level whatever its rank, so the best is never worse than it", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1_000 }), fc.constantFrom("top" as const, "incumbent" as const), (seed, promotion) => {
        const { calls, result } = seededRun(promotion, seed)
        const seedLevels = calls.filter((c) => isSeed(c.genome)).map((c) => c.fidelity.level)
        // ranked last at levels 0 and 1 by the reversed proxy, and still trained at each level
        expect(seedLevels).toEqual([0, 1, 2])
        expect(result.best.level).toBe(levels.length - 1)
        expect(result.best.fitness).toBeLessThanOrEqual(deceptive(seedGenome, { level: 2 }))
        // the first generation's level 1 holds the best third by rank and the seed besides
        const firstLevel1 = calls.slice(0, 9 + 4).filter((c) => c.fidelity.level === 1)
        expect(firstLevel1).toHaveLength(Math.ceil(9 / 3) + 1)
      }),
      { numRuns: 20 }
    )
  })

  it("a seed that failed is not promoted", () => {
    const { calls } = seededRun("top", 7, (g) => (isSeed(g) ? "nan" : "ok"))
    expect(calls.filter((c) => isSeed(c.genome)).map((c) => c.fidelity.level)).toEqual([0])
  })

  it("without seeds a level promotes by rank alone: 9, 3 and 1 evaluations at the three levels", () => {
    const { calls } = search(deceptive, { seed: 7, generations: 1 })
    const atLevel = (level: number) => calls.filter((c) => c.fidelity.level === level).length
    expect([atLevel(0), atLevel(1), atLevel(2)]).toEqual([9, 3, 1])
  })
})
