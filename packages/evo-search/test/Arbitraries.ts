/**
 * Shared fast-check arbitraries for the evo-search property tests.
 */
import * as fc from "fast-check"

/** A gene: a number in [0, 1], the bounds included. */
export const gene = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 1))

/** A genome of `length` genes. */
export const genome = (length: number) => fc.array(gene, { minLength: length, maxLength: length })

/** Two parents of the same length (0 to 16 genes). */
export const parents = fc.integer({ min: 0, max: 16 }).chain((n) => fc.tuple(genome(n), genome(n)))

/** A seed. */
export const seed = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })

/** A fitness value: finite, infinite or NaN (a failed evaluation). */
export const fitness = fc.oneof(
  { weight: 6, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }) },
  { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 3 }) }
)

/** A value that is not a valid probability / rate. */
export const notAProbability = fc.oneof(
  fc.double({ min: 1, max: 1e9, minExcluded: true, noNaN: true }),
  fc.double({ max: -Number.MIN_VALUE, min: -1e9, noNaN: true }),
  fc.constantFrom(NaN, Infinity, -Infinity)
)
