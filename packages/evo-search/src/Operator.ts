/**
 * The operator interface: what a selection, crossover or mutation operator must provide to be
 * registered (see {@link Registry}) and named in a strategy config. An operator is a plain, pure,
 * seeded function plus a `parse` that checks its config parameters (filling defaults) against the
 * population it will run on. `docs/contributing-operators.md` walks through adding one.
 *
 * @since 0.1.0
 */
import { OperatorError } from "./Errors"
import type { Genome } from "./Genome"
import type { Rng } from "./Rng"

/** Operator parameters as they appear in a config (JSON values). */
export type Params = Readonly<Record<string, unknown>>

/** What `parse` may check parameters against. */
export interface OperatorContext {
  /** Individuals in the population that selection draws from. */
  readonly populationSize: number
  /** Genes per genome. */
  readonly dimension: number
}

/** Picks a parent: the index of an individual, given fitnesses (lower is better, NaN worst). */
export interface SelectionOperator<P = unknown> {
  readonly kind: "selection"
  readonly name: string
  readonly description: string
  /** Checks the config parameters (throws {@link OperatorError}) and returns them complete, defaults filled. */
  parse(params: Params, context: OperatorContext): P
  select(fitness: ReadonlyArray<number>, params: P, rng: Rng): number
}

/** Makes one child genome from two parents. */
export interface CrossoverOperator<P = unknown> {
  readonly kind: "crossover"
  readonly name: string
  readonly description: string
  /** Checks the config parameters (throws {@link OperatorError}) and returns them complete, defaults filled. */
  parse(params: Params, context: OperatorContext): P
  cross(a: Genome, b: Genome, params: P, rng: Rng): number[]
}

/** Perturbs one genome; the result stays in [0, 1]^D. */
export interface MutationOperator<P = unknown> {
  readonly kind: "mutation"
  readonly name: string
  readonly description: string
  /** Checks the config parameters (throws {@link OperatorError}) and returns them complete, defaults filled. */
  parse(params: Params, context: OperatorContext): P
  mutate(genome: Genome, params: P, rng: Rng): number[]
}

/** Any operator. */
export type Operator = SelectionOperator | CrossoverOperator | MutationOperator

/** An operator named in a config: `{ name: "tournament", params: { size: 3 } }`. */
export interface OperatorSpec {
  readonly name: string
  readonly params?: Params
}

/** Options of {@link numberParam}. */
export interface NumberParamOptions {
  /** Used when the parameter is absent; without it the parameter is required. */
  readonly default?: number
  readonly min?: number
  readonly max?: number
  readonly integer?: boolean
}

/**
 * Reads a numeric parameter: finite, optionally an integer in [min, max]. Throws an
 * {@link OperatorError} naming the parameter and its value otherwise.
 */
export const numberParam = (operator: string, params: Params, name: string, options: NumberParamOptions = {}): number => {
  const raw = params[name] === undefined ? options.default : params[name]
  const fail = (reason: string): never => {
    throw new OperatorError({ operator, argument: name, value: render(raw), reason })
  }
  if (raw === undefined) return fail("required")
  if (typeof raw !== "number" || !Number.isFinite(raw)) return fail("must be a finite number")
  if (options.integer === true && !Number.isInteger(raw)) return fail("must be an integer")
  if (options.min !== undefined && raw < options.min) return fail(`must be >= ${options.min}`)
  if (options.max !== undefined && raw > options.max) return fail(`must be <= ${options.max}`)
  return raw
}

/** Throws an {@link OperatorError} for a parameter the operator does not know (a typo in a config). */
export const checkParamNames = (operator: string, params: Params, known: ReadonlyArray<string>): void => {
  for (const name of Object.keys(params)) {
    if (!known.includes(name)) {
      throw new OperatorError({
        operator,
        argument: name,
        value: render(params[name]),
        reason: known.length === 0 ? "this operator takes no parameters" : `unknown parameter (known: ${known.join(", ")})`
      })
    }
  }
}

/** A value as text for an error message. */
export const render = (value: unknown): string => {
  if (typeof value === "number") return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
