/**
 * Uniform crossover: each gene of the child comes from parent `a` with probability `probability`,
 * otherwise from `b` (one uniform per gene). The worked example of
 * `docs/contributing-operators.md`: one file, registered in `Registry.builtins`, with its property
 * tests in `test/UniformCrossover.test.ts`.
 *
 * @since 0.1.0
 */
import { OperatorError } from "../Errors"
import type { Genome } from "../Genome"
import { check, checkSameLength } from "../Genome"
import type { CrossoverOperator } from "../Operator"
import { checkParamNames, numberParam } from "../Operator"
import type { Rng } from "../Rng"

const NAME = "uniform"

/** Options of {@link uniformCrossover}. */
export interface UniformOptions {
  /** Probability that a gene is taken from `a`, in [0, 1]. */
  readonly probability: number
}

/**
 * One child of `a` and `b`: gene `i` is `a[i]` when a uniform draw is below `probability`, else
 * `b[i]`. Throws {@link OperatorError} when the parents differ in length, a gene is not in [0, 1],
 * or `probability` is not a number in [0, 1].
 */
export const uniformCrossover = (a: Genome, b: Genome, options: UniformOptions, rng: Rng): number[] => {
  const { probability } = options
  if (!(probability >= 0 && probability <= 1)) {
    throw new OperatorError({ operator: NAME, argument: "probability", value: String(probability), reason: "must be a number in [0, 1]" })
  }
  checkSameLength(NAME, a, b)
  check(NAME, "a", a)
  check(NAME, "b", b)
  const child = new Array<number>(a.length)
  for (let i = 0; i < a.length; i++) child[i] = rng.next() < probability ? a[i] : b[i]
  return child
}

/** The registered operator `"uniform"`, params `{ probability }` in [0, 1] (default 0.5). */
export const operator: CrossoverOperator<UniformOptions> = {
  kind: "crossover",
  name: NAME,
  description: "each gene from a with probability `probability` (default 0.5), else from b",
  parse(params) {
    checkParamNames(NAME, params, ["probability"])
    return { probability: numberParam(NAME, params, "probability", { default: 0.5, min: 0, max: 1 }) }
  },
  cross: (a, b, params, rng) => uniformCrossover(a, b, params, rng)
}
