/**
 * Successive halving with `promotion: "incumbent"`: a candidate is trained further only when it beats
 * the incumbent (the population's best so far) at the level it is promoted from.
 */
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

const run = (promotion: "top" | "incumbent") => {
  const evaluator = recording(fitness)
  const result = Effect.runSync(
    Search.run({
      strategy: { dimension: 3, populationSize: 9, elitism: 1 },
      seed: 4,
      generations: 6,
      concurrency: 1,
      fidelity: { levels, eta: 3, promotion }
    }).pipe(Effect.provide(evaluator.layer))
  )
  return { result, calls: evaluator.calls }
}

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
