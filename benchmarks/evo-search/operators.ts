/**
 * Throughput of the evolutionary operators (tournament selection, blend and uniform crossover,
 * Gaussian mutation) and of one strategy generation (ask + tell), on genomes of the HAEMSA search
 * space (24 genes) and of a large one (1000 genes). Pure JavaScript: no tensors, no backend.
 *
 *   pnpm bench --package evo-search [--quick]
 */
import { blendCrossover, gaussianMutation, makeRng, Strategy, tournamentSelection, uniformCrossover } from "@haemsa/evo-search"
import { Result } from "effect"
import { type BenchOptions, describe, measure, type Measurement } from "../Harness"

const POPULATION = 64

/** Operator calls per timed run and per second; ask/tell generations per second. */
export const run = async (options: BenchOptions): Promise<Measurement[]> => {
  const out: Measurement[] = []
  const calls = options.quick ? 2_000 : 20_000
  const repeats = options.quick ? 5 : 15
  const push = (m: Measurement) => {
    console.log(describe(m))
    out.push(m)
  }
  for (const dimension of [24, 1000]) {
    const rng = makeRng(1)
    const population = Array.from({ length: POPULATION }, () => Array.from({ length: dimension }, () => rng.next()))
    const fitness = population.map(() => rng.next())
    const n = dimension > 100 ? Math.ceil(calls / 4) : calls
    const perSecond = (s: number) => ({ value: n / s, unit: "ops/s" })
    let sink = 0
    const ops: Array<[string, () => void]> = [
      ["tournament selection (size 3)", () => { for (let i = 0; i < n; i++) sink += tournamentSelection(fitness, 3, rng) }],
      ["blend crossover", () => { for (let i = 0; i < n; i++) sink += blendCrossover(population[i % POPULATION], population[(i + 1) % POPULATION], rng)[0] }],
      ["uniform crossover", () => { for (let i = 0; i < n; i++) sink += uniformCrossover(population[i % POPULATION], population[(i + 1) % POPULATION], { probability: 0.5 }, rng)[0] }],
      ["gaussian mutation", () => { for (let i = 0; i < n; i++) sink += gaussianMutation(population[i % POPULATION], { sigma: 0.1, rate: 1 / dimension }, rng)[0] }]
    ]
    for (const [name, f] of ops) push(await measure(`${name}, D ${dimension}, ${n} calls`, f, { warmup: 2, repeats, figure: perSecond }))
    const strategy = Result.getOrThrow(Strategy.make({ dimension, populationSize: POPULATION }))
    const generations = dimension > 100 ? 5 : 50
    push(await measure(`strategy ask+tell, D ${dimension}, population ${POPULATION}, ${generations} generations`, () => {
      let state = strategy.init(1)
      for (let g = 0; g < generations; g++) {
        const asked = strategy.ask(state)
        state = Result.getOrThrow(strategy.tell(asked.state, asked.genomes.map((genome) => genome[0])))
      }
      sink += state.generation
    }, { warmup: 1, repeats, figure: (s) => ({ value: generations / s, unit: "generations/s" }) }))
    if (Number.isNaN(sink)) throw new Error("unreachable: keeps the results alive")
  }
  return out
}
