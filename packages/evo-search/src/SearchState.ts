/**
 * The search loop's state as plain data, and the pure steps between checkpoints. A generation
 * runs in rounds, one per fidelity level: plan the round (which candidates need an evaluation,
 * which are cache hits), record each finished evaluation, then promote the best to the next level
 * or tell the strategy. Everything random happens in `Strategy.ask`, so the state after each step
 * depends only on the fitness values, never on the order evaluations finish in: a search killed
 * anywhere and resumed from its last checkpoint ends exactly like an uninterrupted one.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import type { StrategyError } from "./Errors"
import type { FidelityConfig } from "./Fidelity"
import { promote } from "./Fidelity"
import type { Genome } from "./Genome"
import type { Individual, Strategy, StrategyState } from "./Strategy"
import { bestOf } from "./Strategy"

/** A failed evaluation: the candidate got NaN fitness (ranked worst) and the search went on. */
export interface Failure {
  /** The generation (0-based) it belongs to. */
  readonly generation: number
  readonly level: number
  /** The candidate's index in its generation. */
  readonly index: number
  /** The caller's key of the genome (see `SearchOptions.key`). */
  readonly key: string
  readonly genome: Genome
  readonly reason: string
}

/** Summary of one finished generation. */
export interface GenerationStats {
  readonly generation: number
  /** Fitness of the population's best individual (elites included, so it never worsens with elitism). */
  readonly best: number
  /** Mean fitness of the population's non-failed individuals at the highest fidelity level present. */
  readonly mean: number
  /** Evaluations run (cache hits excluded). */
  readonly evaluations: number
  readonly cache_hits: number
  readonly failures: number
}

/**
 * One finished generation: its {@link GenerationStats} and its population after `tell`, elites
 * first. `population.slice(elites)` are the generation's candidates in the order `ask` returned
 * them, each with the fitness the evaluator returned at the highest fidelity level it reached (NaN
 * when that evaluation failed); the first `elites` are the best of the previous population, kept.
 */
export interface GenerationRecord extends GenerationStats {
  readonly population: ReadonlyArray<Individual>
  /** How many of `population` are elites carried over from the previous generation (0 in the first). */
  readonly elites: number
}

/** The generation in progress: its candidates are the strategy's pending genomes. */
export interface Round {
  /** The caller's key of each candidate. */
  readonly keys: ReadonlyArray<string>
  /** The fidelity level being evaluated. */
  readonly level: number
  /** Candidates evaluated at this level (indices, increasing). */
  readonly active: ReadonlyArray<number>
  /** Candidates (the first of each distinct key) whose evaluation this level needs; the rest were cache hits. */
  readonly planned: ReadonlyArray<number>
  /** The highest level each candidate is evaluated at so far (-1: none). */
  readonly reached: ReadonlyArray<number>
  /** This generation's counters so far. */
  readonly evaluations: number
  readonly cacheHits: number
  readonly failures: ReadonlyArray<Failure>
}

/** The whole search state: what a checkpoint holds. */
export interface SearchState {
  readonly strategy: StrategyState
  /** Finished evaluations by {@link cacheKey} (failed ones as NaN). */
  readonly cache: Readonly<Record<string, number>>
  readonly evaluations: number
  readonly cacheHits: number
  /** Wall-clock seconds spent, summed over every run that worked on this search. */
  readonly seconds: number
  readonly history: ReadonlyArray<GenerationRecord>
  readonly failures: ReadonlyArray<Failure>
  /** The generation in progress; null between generations. */
  readonly round: Round | null
}

/** The cache entry of a genome key at a fidelity level. */
export const cacheKey = (level: number, key: string): string => `${level}:${key}`

/** A fresh search state. */
export const initial = (strategy: StrategyState): SearchState => ({
  strategy,
  cache: {},
  evaluations: 0,
  cacheHits: 0,
  seconds: 0,
  history: [],
  failures: [],
  round: null
})

/** The cached fitness of `key` at `level`, or undefined. */
export const lookup = (state: SearchState, level: number, key: string): number | undefined => {
  const k = cacheKey(level, key)
  return Object.hasOwn(state.cache, k) ? state.cache[k] : undefined
}

/** The candidates of the generation in progress. */
export const candidates = (state: SearchState): ReadonlyArray<Genome> => state.strategy.pending ?? []

/** Starts a generation: asks the strategy for candidates, keys them and plans level 0. */
export const startGeneration = (state: SearchState, strategy: Strategy, key: (genome: Genome) => string): SearchState => {
  const asked = strategy.ask(state.strategy)
  const keys = asked.genomes.map(key)
  const round: Round = {
    keys,
    level: 0,
    active: [],
    planned: [],
    reached: keys.map(() => -1),
    evaluations: 0,
    cacheHits: 0,
    failures: []
  }
  return plan({ ...state, strategy: asked.state, round }, 0, keys.map((_, i) => i))
}

/** Plans a level: every active candidate whose key is neither cached nor already planned needs an evaluation. */
const plan = (state: SearchState, level: number, active: ReadonlyArray<number>): SearchState => {
  const round = state.round!
  const planned: Array<number> = []
  const seen = new Set<string>()
  let hits = 0
  for (const i of active) {
    const k = round.keys[i]
    if (lookup(state, level, k) !== undefined || seen.has(k)) hits++
    else {
      seen.add(k)
      planned.push(i)
    }
  }
  const reached = round.reached.slice()
  for (const i of active) reached[i] = level
  return {
    ...state,
    cacheHits: state.cacheHits + hits,
    round: { ...round, level, active, planned, reached, cacheHits: round.cacheHits + hits }
  }
}

/** The planned candidates of the current level whose result is not in the cache yet. */
export const toEvaluate = (state: SearchState): ReadonlyArray<number> => {
  const round = state.round
  if (round === null) return []
  return round.planned.filter((i) => lookup(state, round.level, round.keys[i]) === undefined)
}

/** Records a finished evaluation of candidate `index` at the current level (`reason` set when it failed). */
export const record = (state: SearchState, index: number, fitness: number, reason?: string): SearchState => {
  const round = state.round!
  const failed = reason !== undefined || Number.isNaN(fitness)
  const failure: Failure | undefined = failed
    ? {
      generation: state.strategy.generation,
      level: round.level,
      index,
      key: round.keys[index],
      genome: candidates(state)[index],
      reason: reason ?? "the evaluator returned NaN"
    }
    : undefined
  return {
    ...state,
    cache: { ...state.cache, [cacheKey(round.level, round.keys[index])]: failed ? NaN : fitness },
    evaluations: state.evaluations + 1,
    round: {
      ...round,
      evaluations: round.evaluations + 1,
      failures: failure === undefined ? round.failures : [...round.failures, failure]
    }
  }
}

/**
 * The fitness at `level` of the incumbent (the best individual of the population so far), which a
 * candidate must beat there to be promoted under `promotion: "incumbent"`; NaN when there is none
 * yet (the first generation) or it was not evaluated at that level.
 */
const incumbentAt = (state: SearchState, level: number, key: (genome: Genome) => string): number => {
  const incumbent = bestOf(state.strategy.population)
  return incumbent === undefined ? NaN : lookup(state, level, key(incumbent.genome)) ?? NaN
}

/**
 * The seeds of the round: in the first generation, the candidates of the strategy's initial
 * population (its first `initialPopulation.length` positions, e.g. a default design to improve on);
 * none later.
 */
const seedsOf = (state: SearchState, round: Round, strategy: Strategy): ReadonlyArray<number> =>
  state.strategy.generation === 0 ? round.active.filter((i) => i < strategy.config.initialPopulation.length) : []

/** `promoted` and every seed that did not fail, in increasing index order. */
const withSeeds = (promoted: ReadonlyArray<number>, seeds: ReadonlyArray<number>, fitness: (index: number) => number): number[] =>
  [...new Set([...promoted, ...seeds.filter((i) => !Number.isNaN(fitness(i)))])].sort((i, j) => i - j)

/**
 * After every planned evaluation of the level is recorded: promotes the best to the next level,
 * or (at the last level, or when nobody can be promoted) tells the strategy and closes the
 * generation (`round` becomes null). In the first generation the seeds (the strategy's initial
 * population) are promoted whatever their rank, unless they failed: they reach the top level, so
 * the search's best is never worse there than the design it started from. `key` is the search's
 * genome key (the incumbent's cache entries are found by it under `promotion: "incumbent"`).
 */
export const finishLevel = (
  state: SearchState,
  strategy: Strategy,
  fidelity: FidelityConfig,
  key: (genome: Genome) => string
): Result.Result<SearchState, StrategyError> => {
  const round = state.round!
  const fitnessAt = (level: number) => (i: number): number => lookup(state, level, round.keys[i]) ?? NaN
  if (round.level + 1 < fidelity.levels.length) {
    const bar = fidelity.promotion === "incumbent" ? incumbentAt(state, round.level, key) : NaN
    const levelFitness = fitnessAt(round.level)
    const promoted = withSeeds(promote(round.active, levelFitness, fidelity.eta, bar), seedsOf(state, round, strategy), levelFitness)
    if (promoted.length > 0) return Result.succeed(plan(state, round.level + 1, promoted))
  }
  const fitness = round.keys.map((k, i) => lookup(state, round.reached[i], k) ?? NaN)
  return Result.map(strategy.tell(state.strategy, fitness, round.reached), (told): SearchState => {
    const failures = round.failures.slice().sort((a, b) => a.level - b.level || a.index - b.index)
    const stats: GenerationRecord = {
      generation: state.strategy.generation,
      ...summarize(told.population),
      evaluations: round.evaluations,
      cache_hits: round.cacheHits,
      failures: failures.length,
      population: told.population,
      elites: told.population.length - fitness.length
    }
    return {
      ...state,
      strategy: told,
      history: [...state.history, stats],
      failures: [...state.failures, ...failures],
      round: null
    }
  })
}

/** Best and mean fitness of a population (see {@link GenerationStats}). */
export const summarize = (population: ReadonlyArray<Individual>): { readonly best: number; readonly mean: number } => {
  const ok = population.filter((p) => !Number.isNaN(p.fitness))
  const top = ok.reduce((m, p) => Math.max(m, p.level), -1)
  const atTop = ok.filter((p) => p.level === top)
  const mean = atTop.length === 0 ? NaN : atTop.reduce((s, p) => s + p.fitness, 0) / atTop.length
  return { best: bestOf(population)?.fitness ?? NaN, mean }
}
