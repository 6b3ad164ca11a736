/**
 * Low-fidelity fitness and successive halving. A config lists fidelity levels, cheapest first
 * (e.g. `[{ epochs: 1, fraction: 0.25 }, { epochs: 3, fraction: 0.5 }, { epochs: 10 }]`); the
 * last is full fidelity. Each generation is evaluated at level 0, the best `ceil(n / eta)` are
 * promoted to level 1, and so on up to the last level. The evaluator receives a {@link Fidelity}
 * and decides what it means (epochs, data fraction...).
 *
 * With `promotion: "incumbent"` a candidate also has to beat the incumbent (the best individual of
 * the population so far, which reached the top level) at the level it is promoted from: a
 * candidate that is worse than the incumbent was after the same training budget is not trained
 * further. Generations that find nothing better then cost only their cheap level, which is where a
 * search spends most of its time otherwise.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { ConfigError } from "./Errors"

/** What the evaluator is asked to do: the level index and, when the config gives them, epochs and data fraction. */
export interface Fidelity {
  readonly level: number
  readonly epochs?: number
  readonly fraction?: number
}

/** One level of a config: optional epochs (integer >= 1) and data fraction (in (0, 1]). */
export interface FidelityLevel {
  readonly epochs?: number
  readonly fraction?: number
}

/**
 * Who goes on to the next level: the best `ceil(n / eta)` ("top"), or those of them that are also
 * better than the incumbent at this level ("incumbent").
 */
export type Promotion = "top" | "incumbent"

/** A checked fidelity config. */
export interface FidelityConfig {
  readonly levels: ReadonlyArray<FidelityLevel>
  /** Promotion factor: the best `ceil(n / eta)` of a level go on to the next. */
  readonly eta: number
  /** The promotion rule; absent: "top" (so configs and checkpoints written before it read the same). */
  readonly promotion?: Promotion
}

/** The eta used when a config gives none. */
export const DEFAULT_ETA = 3

/** One level only, full fidelity: no successive halving. */
export const single: FidelityConfig = { levels: [{}], eta: DEFAULT_ETA }

/** Checks a fidelity config: at least one level, valid epochs and fractions, eta a finite number > 1. */
export const make = (
  input: { readonly levels?: ReadonlyArray<FidelityLevel>; readonly eta?: number; readonly promotion?: Promotion } = {}
): Result.Result<FidelityConfig, ConfigError> => {
  const levels = input.levels ?? [{}]
  const eta = input.eta ?? DEFAULT_ETA
  const fail = (option: string, value: unknown, reason: string) =>
    Result.fail(new ConfigError({ option, value: String(value), reason }))
  if (levels.length === 0) return fail("fidelity.levels", "[]", "needs at least one level (the last is full fidelity)")
  const out: Array<FidelityLevel> = []
  for (let i = 0; i < levels.length; i++) {
    const { epochs, fraction } = levels[i]
    if (epochs !== undefined && !(Number.isInteger(epochs) && epochs >= 1)) {
      return fail(`fidelity.levels[${i}].epochs`, epochs, "must be an integer >= 1")
    }
    if (fraction !== undefined && !(fraction > 0 && fraction <= 1)) {
      return fail(`fidelity.levels[${i}].fraction`, fraction, "must be a number in (0, 1]")
    }
    out.push({ ...(epochs !== undefined ? { epochs } : {}), ...(fraction !== undefined ? { fraction } : {}) })
  }
  if (!(Number.isFinite(eta) && eta > 1)) return fail("fidelity.eta", eta, "must be a finite number > 1 (2 or 3 are usual)")
  const promotion = input.promotion ?? "top"
  if (promotion !== "top" && promotion !== "incumbent") return fail("fidelity.promotion", promotion, "must be \"top\" or \"incumbent\"")
  return Result.succeed({ levels: out, eta, ...(promotion === "incumbent" ? { promotion } : {}) })
}

/** The {@link Fidelity} handed to the evaluator at `level`. */
export const at = (config: FidelityConfig, level: number): Fidelity => ({ level, ...config.levels[level] })

/** How many of `n` candidates of a level go on to the next: `ceil(n / eta)`. */
export const promotedCount = (n: number, eta: number): number => Math.ceil(n / eta)

/**
 * The candidates promoted from a level: the best `ceil(active.length / eta)` by fitness (lower
 * first, ties by index), never a failed (NaN) one, and with a `bar` (the incumbent's fitness at
 * this level) only those strictly below it. Returned in increasing index order.
 */
export const promote = (active: ReadonlyArray<number>, fitness: (index: number) => number, eta: number, bar = NaN): number[] =>
  active
    .filter((i) => !Number.isNaN(fitness(i)) && (Number.isNaN(bar) || fitness(i) < bar))
    .sort((i, j) => fitness(i) - fitness(j) || i - j)
    .slice(0, promotedCount(active.length, eta))
    .sort((i, j) => i - j)
