import * as fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Genome, Strategy } from "@haemsa/evo-search"
import { fitness, seed } from "./Arbitraries"

const make = (config: Strategy.StrategyConfig) => Result.getOrThrow(Strategy.make(config))

/** A reference order independent of the implementation: NaN last, then higher level, then lower fitness. */
const key = (p: Strategy.Individual): [number, number, number] =>
  Number.isNaN(p.fitness) ? [1, 0, 0] : [0, -p.level, p.fitness]
const better = (a: Strategy.Individual, b: Strategy.Individual): boolean => {
  const [x, y] = [key(a), key(b)]
  for (let k = 0; k < 3; k++) if (x[k] !== y[k]) return x[k] < y[k]
  return false
}
const bestRef = (ps: ReadonlyArray<Strategy.Individual>) => ps.reduce((b, p) => (better(p, b) ? p : b))

const config = fc.record({
  dimension: fc.integer({ min: 1, max: 6 }),
  populationSize: fc.integer({ min: 2, max: 10 })
}).chain(({ dimension, populationSize }) =>
  fc.record({
    dimension: fc.constant(dimension),
    populationSize: fc.constant(populationSize),
    elitism: fc.integer({ min: 0, max: populationSize - 1 }),
    crossover: fc.constantFrom({ name: "blend" }, { name: "uniform" })
  })
)

describe("Strategy.make", () => {
  it("rejects a bad dimension, population size or elitism with a ConfigError naming the option", () => {
    const cases: Array<[Strategy.StrategyConfig, string]> = [
      [{ dimension: 0, populationSize: 4 }, "dimension"],
      [{ dimension: 2.5, populationSize: 4 }, "dimension"],
      [{ dimension: 2, populationSize: 0 }, "populationSize"],
      [{ dimension: 2, populationSize: NaN }, "populationSize"],
      [{ dimension: 2, populationSize: 4, elitism: 4 }, "elitism"],
      [{ dimension: 2, populationSize: 4, elitism: -1 }, "elitism"]
    ]
    for (const [c, option] of cases) {
      const result = Strategy.make(c)
      expect(Result.isFailure(result) && result.failure).toMatchObject({ _tag: "ConfigError", option })
    }
  })
})

describe("Strategy ask/tell", () => {
  it("asks populationSize random genomes first, then populationSize - elitism children, all in [0, 1]^D", () => {
    fc.assert(fc.property(config, seed, fc.array(fitness, { minLength: 10, maxLength: 10 }), (c, s, f) => {
      const strategy = make(c)
      const first = strategy.ask(strategy.init(s))
      expect(first.genomes).toHaveLength(c.populationSize)
      const told = Result.getOrThrow(strategy.tell(first.state, f.slice(0, c.populationSize)))
      const second = strategy.ask(told)
      expect(second.genomes).toHaveLength(c.populationSize - c.elitism)
      for (const g of [...first.genomes, ...second.genomes]) {
        expect(g).toHaveLength(c.dimension)
        expect(Genome.isValid(g)).toBe(true)
      }
    }))
  })

  it("is deterministic for a seed; asking twice before tell returns the same candidates", () => {
    fc.assert(fc.property(config, seed, (c, s) => {
      const strategy = make(c)
      const run = () => {
        let state = strategy.init(s)
        for (let g = 0; g < 3; g++) {
          const asked = strategy.ask(state)
          expect(strategy.ask(asked.state)).toEqual(asked)
          state = Result.getOrThrow(strategy.tell(asked.state, asked.genomes.map((x) => x.reduce((a, b) => a + b, 0))))
        }
        return state
      }
      expect(run()).toEqual(run())
    }))
  })

  it("with elitism >= 1 the population's best never gets worse (NaN and fidelity levels included)", () => {
    const told = fc.array(fc.tuple(fitness, fc.integer({ min: 0, max: 2 })), { minLength: 10, maxLength: 10 })
    fc.assert(fc.property(config.filter((c) => c.elitism >= 1), seed, fc.array(told, { minLength: 1, maxLength: 6 }), (c, s, rounds) => {
      const strategy = make(c)
      let state = strategy.init(s)
      let previous: Strategy.Individual | undefined
      for (const round of rounds) {
        const asked = strategy.ask(state)
        const n = asked.genomes.length
        state = Result.getOrThrow(strategy.tell(asked.state, round.slice(0, n).map(([f]) => f), round.slice(0, n).map(([, l]) => l)))
        expect(state.population).toHaveLength(c.populationSize)
        const best = bestRef(state.population)
        if (previous !== undefined) expect(better(previous, best)).toBe(false)
        expect(better(best, state.best!) || better(state.best!, best)).toBe(false)
        previous = best
      }
    }))
  })

  it("rankKeys order like compare, NaN stays NaN, equal individuals share a rank", () => {
    const individual = fc.record({ genome: fc.constant([0.5]), fitness, level: fc.integer({ min: 0, max: 2 }) })
    fc.assert(fc.property(fc.array(individual, { minLength: 1, maxLength: 20 }), (ps) => {
      const keys = Strategy.rankKeys(ps)
      ps.forEach((p, i) => {
        expect(Number.isNaN(keys[i])).toBe(Number.isNaN(p.fitness))
        ps.forEach((q, j) => {
          if (Number.isNaN(keys[i]) || Number.isNaN(keys[j])) return
          expect(keys[i] < keys[j]).toBe(better(p, q))
          expect(keys[i] === keys[j]).toBe(!better(p, q) && !better(q, p))
        })
      })
    }))
  })

  it("tell without ask, or with the wrong number of fitnesses or levels, is a StrategyError", () => {
    const strategy = make({ dimension: 2, populationSize: 3 })
    const state = strategy.init(1)
    expect(Result.isFailure(strategy.tell(state, [1, 2, 3]))).toBe(true)
    const asked = strategy.ask(state)
    for (const bad of [strategy.tell(asked.state, [1, 2]), strategy.tell(asked.state, [1, 2, 3], [0, 0]), strategy.tell(asked.state, [1, 2, 3], [0, -1, 0])]) {
      expect(Result.isFailure(bad) && bad.failure).toMatchObject({ _tag: "StrategyError" })
    }
  })
})

/** Model-based test: random sequences of ask / tell / bad tell against a reference model. */
describe("Strategy state machine (fc.commands)", () => {
  interface Model {
    generation: number
    pending: number | null
    population: Array<Strategy.Individual>
    best: Strategy.Individual | null
  }
  interface Real {
    strategy: Strategy.Strategy
    state: Strategy.StrategyState
    asked: ReadonlyArray<Genome.Genome> | null
  }
  type Cmd = fc.Command<Model, Real>

  class Ask implements Cmd {
    check = () => true
    run(m: Model, r: Real) {
      const { populationSize, elitism, dimension } = r.strategy.config
      const { genomes, state } = r.strategy.ask(r.state)
      if (m.pending !== null) {
        expect(genomes).toEqual(r.asked)
        expect(state).toEqual(r.state)
      } else {
        expect(genomes).toHaveLength(m.generation === 0 ? populationSize : populationSize - elitism)
        expect(genomes.every((g) => g.length === dimension && Genome.isValid(g))).toBe(true)
      }
      m.pending = genomes.length
      r.state = state
      r.asked = genomes
    }
    toString = () => "ask"
  }

  class Tell implements Cmd {
    constructor(readonly values: ReadonlyArray<[number, number]>) {}
    check = () => true
    run(m: Model, r: Real) {
      const n = m.pending ?? r.strategy.config.populationSize
      const fitness = this.values.slice(0, n).map(([f]) => f)
      const levels = this.values.slice(0, n).map(([, l]) => l)
      const result = r.strategy.tell(r.state, fitness, levels)
      if (m.pending === null) {
        expect(Result.isFailure(result)).toBe(true)
        return
      }
      const state = Result.getOrThrow(result)
      const told = r.asked!.map((genome, i) => ({ genome, fitness: fitness[i], level: levels[i] }))
      const elites = [...m.population.keys()]
        .sort((i, j) => (better(m.population[i], m.population[j]) ? -1 : better(m.population[j], m.population[i]) ? 1 : i - j))
        .slice(0, r.strategy.config.elitism)
        .map((i) => m.population[i])
      m.population = [...elites, ...told]
      const newBest = bestRef(told)
      m.best = m.best === null || better(newBest, m.best) ? newBest : m.best
      m.generation++
      m.pending = null
      expect(state.generation).toBe(m.generation)
      expect(state.pending).toBeNull()
      expect(state.population).toEqual(m.population)
      expect(state.best).toEqual(m.best)
      r.state = state
      r.asked = null
    }
    toString = () => `tell(${JSON.stringify(this.values.map(([f, l]) => `${f}@${l}`))})`
  }

  class BadTell implements Cmd {
    check = (m: Readonly<Model>) => m.pending !== null
    run(m: Model, r: Real) {
      const result = r.strategy.tell(r.state, new Array<number>(m.pending! + 1).fill(0))
      expect(Result.isFailure(result) && result.failure).toMatchObject({ _tag: "StrategyError" })
    }
    toString = () => "tell(wrong length)"
  }

  it("matches the model over random command sequences", () => {
    const commands = fc.commands([
      fc.constant(new Ask()),
      fc.array(fc.tuple(fitness, fc.integer({ min: 0, max: 2 })), { minLength: 10, maxLength: 10 }).map((v) => new Tell(v)),
      fc.constant(new BadTell())
    ], { maxCommands: 30 })
    fc.assert(fc.property(config, seed, commands, (c, s, cmds) => {
      const strategy = make(c)
      const model: Model = { generation: 0, pending: null, population: [], best: null }
      const real: Real = { strategy, state: strategy.init(s), asked: null }
      fc.modelRun(() => ({ model, real }), cmds)
    }), { numRuns: 150 })
  })
})
