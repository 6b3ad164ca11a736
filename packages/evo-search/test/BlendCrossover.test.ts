import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { blendCrossover, Errors, Rng } from "@haemsa/evo-search"
import { thrown } from "@haemsa/test-helpers"
import { genome, parents, seed } from "./Arbitraries"

describe("blendCrossover", () => {
  it("is alpha * a + (1 - alpha) * b with one alpha = the next uniform, within the parents' segment", () => {
    fc.assert(fc.property(parents, seed, ([a, b], s) => {
      const child = blendCrossover(a, b, Rng.makeRng(s))
      const alpha = Rng.makeRng(s).next()
      expect(child).toHaveLength(a.length)
      child.forEach((c, i) => {
        expect(c).toBeGreaterThanOrEqual(Math.min(a[i], b[i]))
        expect(c).toBeLessThanOrEqual(Math.max(a[i], b[i]))
        expect(c).toBeCloseTo(alpha * a[i] + (1 - alpha) * b[i], 12)
      })
    }))
  })

  it("stays in [0, 1], is deterministic for a seed and uses one uniform per child", () => {
    fc.assert(fc.property(parents, seed, ([a, b], s) => {
      const rng = Rng.makeRng(s)
      const child = blendCrossover(a, b, rng)
      expect(child.every((c) => c >= 0 && c <= 1)).toBe(true)
      expect(blendCrossover(a, b, Rng.makeRng(s))).toEqual(child)
      const once = Rng.makeRng(s)
      once.next()
      expect(rng.state()).toBe(once.state())
    }))
  })

  it("of identical parents is that parent", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 16 }).chain(genome), seed, (g, s) => {
      expect(blendCrossover(g, g, Rng.makeRng(s))).toEqual(g)
    }))
  })

  it("parents of different lengths or a gene outside [0, 1] is an OperatorError naming it", () => {
    const mismatch = thrown(() => blendCrossover([0.1, 0.2], [0.3], Rng.makeRng(1)))
    expect(mismatch).toBeInstanceOf(Errors.OperatorError)
    expect(mismatch).toMatchObject({ operator: "blend", argument: "b", value: "length 1" })
    for (const bad of [NaN, -0.1, 1.5, Infinity]) {
      expect(thrown(() => blendCrossover([0.1, 0.2, bad], [0.3, 0.4, 0.5], Rng.makeRng(1)))).toMatchObject({
        _tag: "OperatorError",
        argument: "a[2]",
        value: String(bad)
      })
      expect(thrown(() => blendCrossover([0.3, 0.4], [bad, 0.5], Rng.makeRng(1)))).toMatchObject({ argument: "b[0]" })
    }
  })
})
