/**
 * Gaussian mutation, the HAEMSA paper's operator: each gene, with probability `rate`, gets
 * `N(0, sigma^2)` noise and is clipped to [0, 1]. One uniform per gene decides; a mutated gene
 * draws two more (Box-Muller).
 *
 * @since 0.1.0
 */
import { OperatorError } from "../Errors"
import type { Genome } from "../Genome"
import { check } from "../Genome"
import type { MutationOperator } from "../Operator"
import { checkParamNames, numberParam } from "../Operator"
import type { Rng } from "../Rng"
import { normal } from "../Rng"

const NAME = "gaussian"

/** The noise scale when a config gives none. */
export const DEFAULT_SIGMA = 0.1

/** Options of {@link gaussianMutation}. */
export interface GaussianOptions {
  /** Standard deviation of the noise, finite and >= 0. */
  readonly sigma: number
  /** Probability that a gene mutates, in [0, 1]. */
  readonly rate: number
}

/**
 * A mutated copy of `genome`. With `sigma = 0` or `rate = 0` it equals the input. Throws
 * {@link OperatorError} for a negative or non-finite `sigma`, a `rate` outside [0, 1] (or NaN), or
 * a gene that is not a number in [0, 1].
 */
export const gaussianMutation = (genome: Genome, options: GaussianOptions, rng: Rng): number[] => {
  const { rate, sigma } = options
  if (!(Number.isFinite(sigma) && sigma >= 0)) {
    throw new OperatorError({ operator: NAME, argument: "sigma", value: String(sigma), reason: "must be a finite number >= 0" })
  }
  if (!(rate >= 0 && rate <= 1)) {
    throw new OperatorError({ operator: NAME, argument: "rate", value: String(rate), reason: "must be a number in [0, 1]" })
  }
  check(NAME, "genome", genome)
  const out = new Array<number>(genome.length)
  for (let i = 0; i < genome.length; i++) {
    const g = genome[i]
    out[i] = rng.next() < rate ? Math.min(1, Math.max(0, g + sigma * normal(rng))) : g
  }
  return out
}

/**
 * The registered operator `"gaussian"`, params `{ sigma, rate }`: sigma >= 0 (default 0.1), rate
 * in [0, 1] (default 1 / dimension: one gene mutates per child on average).
 */
export const operator: MutationOperator<GaussianOptions> = {
  kind: "mutation",
  name: NAME,
  description: "per gene with probability rate: add N(0, sigma^2), clip to [0, 1]",
  parse(params, context) {
    checkParamNames(NAME, params, ["sigma", "rate"])
    return {
      sigma: numberParam(NAME, params, "sigma", { default: DEFAULT_SIGMA, min: 0 }),
      rate: numberParam(NAME, params, "rate", { default: 1 / Math.max(1, context.dimension), min: 0, max: 1 })
    }
  },
  mutate: (genome, params, rng) => gaussianMutation(genome, params, rng)
}
