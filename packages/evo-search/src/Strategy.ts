/**
 * The genetic strategy with an ask/tell interface over an immutable state (the shape of evosax and
 * EvoTorch). `ask` returns the candidates to evaluate; `tell` takes their fitnesses (lower is
 * better, NaN = failed) and returns the next state. All randomness comes from the state's rng, so
 * a state restored from a checkpoint continues exactly.
 *
 * A generation: keep the best `elitism` individuals, then make `populationSize - elitism`
 * children, each `mutate(cross(select(), select()))`. The first `ask` returns `populationSize`
 * uniform random genomes, of which the config's `initialPopulation` (if any) replaces the first
 * ones: position `i` holds `initialPopulation[i]` or, past its end, the random genome an unseeded
 * strategy has there. The rng advances exactly as without an initial population, so the same seed
 * draws the same top-up genomes and the same later generations' randomness. Individuals are ranked
 * by {@link compare}: failed (NaN) last, then the higher fidelity level first (successive halving),
 * then lower fitness.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { ConfigError, StrategyError } from "./Errors"
import type { Genome } from "./Genome"
import { random } from "./Genome"
import type { OperatorSpec } from "./Operator"
import { render } from "./Operator"
import type { Registry, ResolvedOperators, ResolvedSpec } from "./Registry"
import { defaultRegistry, resolve } from "./Registry"
import { fromState, makeRng } from "./Rng"
import type { OperatorError } from "./Errors"

/** An evaluated genome: its fitness (NaN = failed) and the fidelity level it was evaluated at. */
export interface Individual {
  readonly genome: Genome
  readonly fitness: number
  readonly level: number
}

/** The whole state of the strategy: plain data (save it, compare it, restore it). */
export interface StrategyState {
  /** Generations told so far. */
  readonly generation: number
  /** The rng state (see `Rng.fromState`). */
  readonly rng: number
  /** The current population, elites first; empty before the first `tell`. */
  readonly population: ReadonlyArray<Individual>
  /** The candidates of the last `ask`, waiting for `tell`; null when none. */
  readonly pending: ReadonlyArray<Genome> | null
  /** The best individual ever told (by {@link compare}); null before the first `tell`. */
  readonly best: Individual | null
}

/** A strategy config; operators default to tournament(3), blend, gaussian(0.1, 1/dimension). */
export interface StrategyConfig {
  /** Genes per genome. */
  readonly dimension: number
  readonly populationSize: number
  /** Best individuals kept unchanged each generation (default 1), in [0, populationSize - 1]. */
  readonly elitism?: number
  readonly selection?: OperatorSpec
  readonly crossover?: OperatorSpec
  readonly mutation?: OperatorSpec
  /**
   * Genomes the first `ask` returns first, in this order (e.g. a known good design to improve on).
   * At most `populationSize` of them, each `dimension` genes in [0, 1]; a shorter list is topped up
   * with the random genomes an unseeded strategy has at those positions. Default: none.
   */
  readonly initialPopulation?: ReadonlyArray<Genome>
}

/** A checked config with every default filled: plain JSON (a checkpoint stores it). */
export interface ResolvedConfig {
  readonly dimension: number
  readonly populationSize: number
  readonly elitism: number
  readonly selection: ResolvedSpec
  readonly crossover: ResolvedSpec
  readonly mutation: ResolvedSpec
  /** The genomes the first `ask` starts with (copies; empty when none). */
  readonly initialPopulation: ReadonlyArray<Genome>
}

/** What `ask` returns: the candidates and the state that waits for their fitnesses. */
export interface Asked {
  readonly genomes: ReadonlyArray<Genome>
  readonly state: StrategyState
}

/** A strategy: a checked config and its pure `init`, `ask`, `tell`. */
export interface Strategy {
  readonly config: ResolvedConfig
  /** The state before the first generation (no rng draw yet; the first `ask` draws the first generation). */
  readonly init: (seed: number) => StrategyState
  /**
   * The candidates to evaluate next: first the config's initial population topped up with random
   * genomes, then children. Asking again before `tell` returns the same candidates.
   */
  readonly ask: (state: StrategyState) => Asked
  /**
   * The state after the pending candidates got `fitness` (same order; NaN = failed) at fidelity
   * `levels` (default all 0). Fails when nothing is pending or the lengths differ.
   */
  readonly tell: (
    state: StrategyState,
    fitness: ReadonlyArray<number>,
    levels?: ReadonlyArray<number>
  ) => Result.Result<StrategyState, StrategyError>
}

/** The default operators. */
export const defaultOperators = {
  selection: { name: "tournament" },
  crossover: { name: "blend" },
  mutation: { name: "gaussian" }
} as const satisfies Record<string, OperatorSpec>

/**
 * Orders individuals, best first: failed (NaN) last, then higher fidelity level first, then lower
 * fitness. Negative when `a` is better.
 */
export const compare = (a: Individual, b: Individual): number => {
  const an = Number.isNaN(a.fitness)
  const bn = Number.isNaN(b.fitness)
  if (an || bn) return an === bn ? 0 : an ? 1 : -1
  if (a.level !== b.level) return b.level - a.level
  return a.fitness < b.fitness ? -1 : a.fitness > b.fitness ? 1 : 0
}

/** Indices of `population` best first by {@link compare}; ties keep index order. */
export const order = (population: ReadonlyArray<Individual>): number[] =>
  population.map((_, i) => i).sort((i, j) => compare(population[i], population[j]) || i - j)

/**
 * Selection keys: the rank of each individual by {@link compare} (0 = best; equal individuals
 * share a rank), NaN for failed ones. With a single fidelity level the keys order like the raw
 * fitnesses, so selection sees the same winners.
 */
export const rankKeys = (population: ReadonlyArray<Individual>): number[] => {
  const keys = new Array<number>(population.length)
  const sorted = order(population)
  let rank = 0
  for (let k = 0; k < sorted.length; k++) {
    const i = sorted[k]
    if (k > 0 && compare(population[sorted[k - 1]], population[i]) !== 0) rank = k
    keys[i] = Number.isNaN(population[i].fitness) ? NaN : rank
  }
  return keys
}

/** The best individual by {@link compare} (the first among equals); undefined when empty. */
export const bestOf = (population: ReadonlyArray<Individual>): Individual | undefined => {
  let best: Individual | undefined
  for (const individual of population) if (best === undefined || compare(individual, best) < 0) best = individual
  return best
}

/**
 * Checks a config and resolves its operators in `registry` (default: the built-ins). A bad size,
 * elitism or initial population is a {@link ConfigError} naming the option (e.g.
 * `initialPopulation[2][5]` for a gene out of [0, 1]); bad operator parameters an {@link OperatorError}.
 */
export const make = (
  config: StrategyConfig,
  registry: Registry = defaultRegistry
): Result.Result<Strategy, ConfigError | OperatorError> => {
  const { dimension, populationSize } = config
  const elitism = config.elitism ?? 1
  if (!(Number.isInteger(dimension) && dimension >= 1)) {
    return Result.fail(new ConfigError({ option: "dimension", value: String(dimension), reason: "must be an integer >= 1" }))
  }
  if (!(Number.isInteger(populationSize) && populationSize >= 1)) {
    return Result.fail(new ConfigError({ option: "populationSize", value: String(populationSize), reason: "must be an integer >= 1" }))
  }
  if (!(Number.isInteger(elitism) && elitism >= 0 && elitism < populationSize)) {
    return Result.fail(new ConfigError({
      option: "elitism",
      value: String(elitism),
      reason: `must be an integer in [0, ${populationSize - 1}] (each generation makes at least one child)`
    }))
  }
  const checked = checkInitialPopulation(config.initialPopulation, dimension, populationSize)
  if (Result.isFailure(checked)) return Result.fail(checked.failure)
  const initialPopulation = checked.success
  const specs = {
    selection: config.selection ?? defaultOperators.selection,
    crossover: config.crossover ?? defaultOperators.crossover,
    mutation: config.mutation ?? defaultOperators.mutation
  }
  return Result.map(resolve(registry, specs, { populationSize, dimension }), (operators) =>
    fromOperators({ dimension, populationSize, elitism }, operators, initialPopulation)
  )
}

/** Checks an initial population (see {@link StrategyConfig.initialPopulation}) and copies it. */
const checkInitialPopulation = (
  genomes: ReadonlyArray<Genome> | undefined,
  dimension: number,
  populationSize: number
): Result.Result<ReadonlyArray<Genome>, ConfigError> => {
  const fail = (option: string, value: string, reason: string) => Result.fail(new ConfigError({ option, value, reason }))
  if (genomes === undefined) return Result.succeed([])
  if (!Array.isArray(genomes)) return fail("initialPopulation", render(genomes), "must be an array of genomes")
  if (genomes.length > populationSize) {
    return fail(
      "initialPopulation",
      `${genomes.length} genomes`,
      `at most populationSize = ${populationSize} genomes (a shorter list is topped up with random genomes)`
    )
  }
  const copies: Array<Genome> = []
  for (let i = 0; i < genomes.length; i++) {
    const genome: unknown = genomes[i]
    if (!Array.isArray(genome) || genome.length !== dimension) {
      const value = Array.isArray(genome) ? `${genome.length} genes` : render(genome)
      return fail(`initialPopulation[${i}]`, value, `must be an array of dimension = ${dimension} genes`)
    }
    for (let j = 0; j < dimension; j++) {
      const gene: unknown = genome[j]
      if (!(typeof gene === "number" && gene >= 0 && gene <= 1)) {
        return fail(`initialPopulation[${i}][${j}]`, render(gene), "a gene must be a number in [0, 1]")
      }
    }
    copies.push(Array.from(genome as ReadonlyArray<number>))
  }
  return Result.succeed(copies)
}

const spec = (resolved: ResolvedSpec): ResolvedSpec => ({ name: resolved.name, params: resolved.params })

const fromOperators = (
  sizes: { readonly dimension: number; readonly populationSize: number; readonly elitism: number },
  operators: ResolvedOperators,
  initialPopulation: ReadonlyArray<Genome>
): Strategy => {
  const { dimension, elitism, populationSize } = sizes
  const config: ResolvedConfig = {
    ...sizes,
    selection: spec(operators.selection),
    crossover: spec(operators.crossover),
    mutation: spec(operators.mutation),
    initialPopulation
  }

  const init = (seed: number): StrategyState => ({
    generation: 0,
    rng: makeRng(seed).state(),
    population: [],
    pending: null,
    best: null
  })

  const ask = (state: StrategyState): Asked => {
    if (state.pending !== null) return { genomes: state.pending, state }
    const rng = fromState(state.rng)
    const genomes: Array<Genome> = []
    if (state.population.length === 0) {
      // Draw every random genome even where the initial population replaces it: the rng then
      // advances as in an unseeded strategy, and the top-up is what that strategy has there.
      for (let i = 0; i < populationSize; i++) {
        const drawn = random(dimension, rng)
        genomes.push(i < initialPopulation.length ? initialPopulation[i] : drawn)
      }
    } else {
      const keys = rankKeys(state.population)
      for (let i = 0; i < populationSize - elitism; i++) {
        const a = state.population[operators.selection.select(keys, rng)].genome
        const b = state.population[operators.selection.select(keys, rng)].genome
        genomes.push(operators.mutation.mutate(operators.crossover.cross(a, b, rng), rng))
      }
    }
    return { genomes, state: { ...state, rng: rng.state(), pending: genomes } }
  }

  const tell = (
    state: StrategyState,
    fitness: ReadonlyArray<number>,
    levels?: ReadonlyArray<number>
  ): Result.Result<StrategyState, StrategyError> => {
    const pending = state.pending
    if (pending === null) return Result.fail(new StrategyError({ reason: "tell without a pending ask" }))
    if (fitness.length !== pending.length) {
      return Result.fail(new StrategyError({ reason: `got ${fitness.length} fitnesses for ${pending.length} candidates` }))
    }
    if (fitness.some((f) => typeof f !== "number")) {
      return Result.fail(new StrategyError({ reason: "every fitness must be a number (NaN for a failed evaluation)" }))
    }
    if (levels !== undefined && levels.length !== pending.length) {
      return Result.fail(new StrategyError({ reason: `got ${levels.length} levels for ${pending.length} candidates` }))
    }
    if (levels !== undefined && levels.some((l) => !(Number.isInteger(l) && l >= 0))) {
      return Result.fail(new StrategyError({ reason: "every level must be an integer >= 0" }))
    }
    const told = pending.map((genome, i): Individual => ({ genome, fitness: fitness[i], level: levels?.[i] ?? 0 }))
    const elites = order(state.population).slice(0, elitism).map((i) => state.population[i])
    const newBest = bestOf(told)!
    const best = state.best === null || compare(newBest, state.best) < 0 ? newBest : state.best
    return Result.succeed({
      generation: state.generation + 1,
      rng: state.rng,
      population: [...elites, ...told],
      pending: null,
      best
    })
  }

  return { config, init, ask, tell }
}
