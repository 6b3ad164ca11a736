/**
 * Progress reports of the search loop, one after every finished generation, and the ETA
 * estimate in them.
 *
 * @since 0.1.0
 */
import type { Individual } from "./Strategy"

/** What the search reports after each generation. */
export interface Progress {
  /** Generations finished so far (including those of earlier runs of a resumed search). */
  readonly generation: number
  /** Generations asked for. */
  readonly generations: number
  /** Fitness of the current population's best individual. */
  readonly best: number
  /** Mean fitness of the current population (see `GenerationStats.mean`). */
  readonly mean: number
  /**
   * The population after this generation, elites first: the same as the generation's
   * `GenerationRecord.population` in the result.
   */
  readonly population: ReadonlyArray<Individual>
  /** How many of `population` are elites kept from the previous generation. */
  readonly elites: number
  readonly evaluations: number
  readonly cacheHits: number
  readonly failures: number
  /** Wall-clock seconds spent on the search, over all its runs. */
  readonly seconds: number
  /** Estimated seconds left; NaN before the first generation of this run has finished. */
  readonly etaSeconds: number
}

/** Inputs of {@link eta}. */
export interface EtaInput {
  /** Generations finished, and the target. */
  readonly done: number
  readonly generations: number
  /** Generations finished and seconds spent by this run (a resumed run's past is not timed here). */
  readonly runGenerations: number
  readonly runSeconds: number
  /** Evaluations: all so far, by this run, and the budget. */
  readonly evaluations: number
  readonly runEvaluations: number
  readonly maxEvaluations?: number | undefined
  /** All seconds so far and the time budget. */
  readonly seconds: number
  readonly maxSeconds?: number | undefined
}

/**
 * Seconds left: the time this run takes per generation times the generations left, capped by the
 * evaluation budget at this run's evaluation rate and by the time budget. NaN when this run has
 * not finished a generation yet.
 */
export const eta = (input: EtaInput): number => {
  if (input.runGenerations === 0 || input.runSeconds <= 0) return input.done >= input.generations ? 0 : NaN
  let left = Math.max(0, input.generations - input.done) * (input.runSeconds / input.runGenerations)
  if (input.maxEvaluations !== undefined && input.runEvaluations > 0) {
    const rate = input.runEvaluations / input.runSeconds
    left = Math.min(left, Math.max(0, input.maxEvaluations - input.evaluations) / rate)
  }
  if (input.maxSeconds !== undefined) left = Math.min(left, Math.max(0, input.maxSeconds - input.seconds))
  return left
}
