/**
 * Tournament selection: draw `size` distinct individuals at random; the fittest (lowest fitness)
 * wins. NaN fitness (a failed evaluation) loses to every number; among equals the entrant drawn
 * first wins. A `size` larger than the population is an error, not silently clamped: a tournament
 * of `size` distinct entrants cannot exist there, and clamping would hide a config mistake.
 *
 * @since 0.1.0
 */
import { OperatorError } from "../Errors"
import type { OperatorContext, Params, SelectionOperator } from "../Operator"
import { checkParamNames, numberParam } from "../Operator"
import type { Rng } from "../Rng"

const NAME = "tournament"

/** The tournament size when a config gives none (capped by the population size). */
export const DEFAULT_SIZE = 3

/**
 * The index of the winner of a tournament of `size` distinct random entrants (drawn by
 * {@link entrants}: `size` uniforms). Lower fitness wins; NaN loses to every number; among equals
 * the entrant drawn first wins. Throws {@link OperatorError} for an empty population, or a `size`
 * that is not an integer in [1, population size].
 */
export const tournamentSelection = (fitness: ReadonlyArray<number>, size: number, rng: Rng): number => {
  const n = fitness.length
  if (n === 0) {
    throw new OperatorError({ operator: NAME, argument: "fitness", value: "[]", reason: "the population is empty" })
  }
  if (!Number.isInteger(size) || size < 1 || size > n) {
    throw new OperatorError({
      operator: NAME,
      argument: "size",
      value: String(size),
      reason: `must be an integer in [1, ${n}] (the population size): the entrants are distinct`
    })
  }
  const drawn = entrants(n, size, rng)
  let winner = drawn[0]
  for (let k = 1; k < size; k++) if (beats(fitness[drawn[k]], fitness[winner])) winner = drawn[k]
  return winner
}

/**
 * `size` distinct indices of [0, n) in draw order: a sparse partial Fisher-Yates shuffle (one
 * uniform per entrant, O(size) time whatever n). The caller checks 1 <= size <= n.
 */
export const entrants = (n: number, size: number, rng: Rng): number[] => {
  const moved = new Map<number, number>() // positions swapped so far
  const out = new Array<number>(size)
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rng.next() * (n - i))
    out[i] = moved.get(j) ?? j
    moved.set(j, moved.get(i) ?? i)
  }
  return out
}

/** True when fitness `x` strictly beats `y`: lower wins, any number beats NaN. */
export const beats = (x: number, y: number): boolean => x < y || (Number.isNaN(y) && !Number.isNaN(x))

/** Parameters of the registered operator. */
export interface TournamentParams {
  readonly size: number
}

/** The registered operator `"tournament"`, params `{ size }` (integer in [1, population size], default 3). */
export const operator: SelectionOperator<TournamentParams> = {
  kind: "selection",
  name: NAME,
  description: "tournament of `size` distinct random entrants; lowest fitness wins, NaN loses",
  parse(params: Params, context: OperatorContext): TournamentParams {
    checkParamNames(NAME, params, ["size"])
    const size = numberParam(NAME, params, "size", {
      default: Math.min(DEFAULT_SIZE, context.populationSize),
      integer: true,
      min: 1,
      max: context.populationSize
    })
    return { size }
  },
  select: (fitness, params, rng) => tournamentSelection(fitness, params.size, rng)
}
