/**
 * Blend (arithmetic) crossover, the HAEMSA paper's operator: `child = alpha * a + (1 - alpha) * b`
 * with one `alpha ~ U(0, 1)` per child. The child lies on the segment between the parents, so it
 * stays in [0, 1]^D (each gene is clamped to [min(a_i, b_i), max(a_i, b_i)] to absorb rounding).
 *
 * @since 0.1.0
 */
import type { Genome } from "../Genome"
import { check, checkSameLength } from "../Genome"
import type { CrossoverOperator } from "../Operator"
import { checkParamNames } from "../Operator"
import type { Rng } from "../Rng"

const NAME = "blend"

/**
 * One child of `a` and `b` (one uniform draw). Throws {@link Errors.OperatorError} when the parents differ
 * in length or a gene is not a number in [0, 1].
 */
export const blendCrossover = (a: Genome, b: Genome, rng: Rng): number[] => {
  checkSameLength(NAME, a, b)
  check(NAME, "a", a)
  check(NAME, "b", b)
  const alpha = rng.next()
  const child = new Array<number>(a.length)
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    const y = b[i]
    const c = alpha * x + (1 - alpha) * y
    child[i] = x < y ? Math.min(y, Math.max(x, c)) : Math.min(x, Math.max(y, c))
  }
  return child
}

/** The registered operator `"blend"` (no parameters). */
export const operator: CrossoverOperator<{}> = {
  kind: "crossover",
  name: NAME,
  description: "alpha * a + (1 - alpha) * b with one alpha ~ U(0, 1) per child",
  parse(params) {
    checkParamNames(NAME, params, [])
    return {}
  },
  cross: (a, b, _params, rng) => blendCrossover(a, b, rng)
}
