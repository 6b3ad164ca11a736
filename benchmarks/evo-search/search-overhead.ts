/**
 * The search's own cost per evaluation, outside training: `Search.run` with a fitness that costs
 * nothing (the sphere function), so all time is the loop's (ask/tell, the fitness cache, successive
 * halving, Effect scheduling), and the same with a checkpoint written after every evaluation (as a
 * resumable search does). Compare with the seconds one candidate's training takes.
 *
 *   pnpm bench --package evo-search [--quick]
 */
import { FitnessEvaluator, Search } from "@haemsa/evo-search"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type BenchOptions, describe, fromSamples, type Measurement } from "../Harness"

const DIMENSION = 24
const POPULATION = 16

const sphere = FitnessEvaluator.FitnessEvaluator.fromFunction((genome) => genome.reduce((s, g) => s + (g - 0.5) ** 2, 0))

/** Seconds per evaluation of whole searches; one sample per search. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const generations = options.quick ? 5 : 20
  const repeats = options.quick ? 3 : 7
  const out: Measurement[] = []
  const configs: Array<{ name: string; checkpoint: boolean; fidelity?: Search.SearchOptions["fidelity"] }> = [
    { name: "no checkpoint", checkpoint: false },
    { name: "checkpoint after every evaluation", checkpoint: true },
    { name: "3 fidelity levels (successive halving), checkpoint", checkpoint: true, fidelity: { levels: [{ epochs: 1 }, { epochs: 3 }, { epochs: 9 }], eta: 3 } }
  ]
  for (const config of configs) {
    const perEvaluation: number[] = []
    for (let r = 0; r < repeats + 1; r++) {
      const dir = config.checkpoint ? fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-bench-search-")) : undefined
      try {
        const t0 = performance.now()
        const result = await Effect.runPromise(
          Search.run({
            strategy: { dimension: DIMENSION, populationSize: POPULATION },
            seed: r,
            generations,
            concurrency: 1,
            ...(dir ? { checkpointDir: dir } : {}),
            ...(config.fidelity ? { fidelity: config.fidelity } : {})
          }).pipe(Effect.provide(sphere))
        )
        const seconds = (performance.now() - t0) / 1000
        if (r > 0) perEvaluation.push(seconds / result.evaluations) // the first search is the warm-up
      } finally {
        if (dir) fs.rmSync(dir, { recursive: true, force: true })
      }
    }
    const m = fromSamples(`search overhead per evaluation, ${config.name} (D ${DIMENSION}, population ${POPULATION}, ${generations} generations)`, perEvaluation, {
      figure: (s) => ({ value: s * 1e6, unit: "µs/evaluation" })
    })
    console.log(describe(m))
    out.push(m)
  }
  return out
}
