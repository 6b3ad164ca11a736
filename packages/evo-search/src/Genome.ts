/**
 * Genomes: real vectors in [0, 1]^D. A decoder (in another package) maps one to an architecture;
 * the search only sees the numbers.
 *
 * @since 0.1.0
 */
import { OperatorError } from "./Errors"
import type { Rng } from "./Rng"

/** A genome: every gene is a number in [0, 1]. */
export type Genome = ReadonlyArray<number>

/** A genome with genes drawn uniformly from [0, 1). */
export const random = (dimension: number, rng: Rng): number[] => {
  const genome = new Array<number>(dimension)
  for (let i = 0; i < dimension; i++) genome[i] = rng.next()
  return genome
}

/** True when every gene is a number in [0, 1] (NaN is not). */
export const isValid = (genome: Genome): boolean => {
  for (let i = 0; i < genome.length; i++) {
    const g = genome[i]
    if (!(g >= 0 && g <= 1)) return false
  }
  return true
}

/**
 * Throws an {@link OperatorError} naming `argument[i]` when a gene is not a number in [0, 1].
 * Operators call it on their inputs so a bad genome fails loudly instead of spreading NaN.
 */
export const check = (operator: string, argument: string, genome: Genome): void => {
  for (let i = 0; i < genome.length; i++) {
    const g = genome[i]
    if (!(g >= 0 && g <= 1)) {
      throw new OperatorError({ operator, argument: `${argument}[${i}]`, value: String(g), reason: "a gene must be a number in [0, 1]" })
    }
  }
}

/** Throws an {@link OperatorError} naming `argument` when the two parents differ in length. */
export const checkSameLength = (operator: string, a: Genome, b: Genome, argument = "b"): void => {
  if (a.length !== b.length) {
    throw new OperatorError({
      operator,
      argument,
      value: `length ${b.length}`,
      reason: `parents must have the same length (a has length ${a.length})`
    })
  }
}

/** The canonical cache key of a genome when the caller gives none: its JSON (exact, round-trips). */
export const defaultKey = (genome: Genome): string => JSON.stringify(genome)
