import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Errors, gaussianMutation, Rng } from "@haemsa/evo-search"
import { thrown } from "@haemsa/test-helpers"
import { genome, notAProbability, seed } from "./Arbitraries"

const anyGenome = fc.integer({ min: 0, max: 24 }).chain(genome)
const sigma = fc.double({ min: 0, max: 2, noNaN: true })
const rate = fc.double({ min: 0, max: 1, noNaN: true })

describe("gaussianMutation", () => {
  it("keeps the length and the bounds [0, 1], and is deterministic for a seed", () => {
    fc.assert(fc.property(anyGenome, sigma, rate, seed, (g, sg, r, s) => {
      const out = gaussianMutation(g, { sigma: sg, rate: r }, Rng.makeRng(s))
      expect(out).toHaveLength(g.length)
      expect(out.every((x) => x >= 0 && x <= 1)).toBe(true)
      expect(gaussianMutation(g, { sigma: sg, rate: r }, Rng.makeRng(s))).toEqual(out)
    }))
  })

  it("is the identity when sigma = 0 or rate = 0", () => {
    fc.assert(fc.property(anyGenome, sigma, rate, seed, (g, sg, r, s) => {
      expect(gaussianMutation(g, { sigma: 0, rate: r }, Rng.makeRng(s))).toEqual(g)
      expect(gaussianMutation(g, { sigma: sg, rate: 0 }, Rng.makeRng(s))).toEqual(g)
    }))
  })

  it("does not modify its input", () => {
    fc.assert(fc.property(anyGenome, sigma, rate, seed, (g, sg, r, s) => {
      const copy = g.slice()
      gaussianMutation(g, { sigma: sg, rate: r }, Rng.makeRng(s))
      expect(g).toEqual(copy)
    }))
  })

  it("mutates a fraction `rate` of the genes with N(0, sigma^2) noise (fixed seed, 20000 genes)", () => {
    const g = new Array<number>(20000).fill(0.5)
    const out = gaussianMutation(g, { sigma: 0.02, rate: 0.3 }, Rng.makeRng(11))
    const deltas = out.map((x, i) => x - g[i]).filter((d) => d !== 0)
    expect(Math.abs(deltas.length / g.length - 0.3)).toBeLessThan(0.015)
    const std = Math.sqrt(deltas.reduce((s, d) => s + d * d, 0) / deltas.length)
    expect(Math.abs(std - 0.02)).toBeLessThan(0.001)
  })

  it("clips to the bounds: a large sigma pushes many genes to exactly 0 or 1", () => {
    const out = gaussianMutation(new Array<number>(1000).fill(0.5), { sigma: 10, rate: 1 }, Rng.makeRng(5))
    expect(out.filter((x) => x === 0).length).toBeGreaterThan(400)
    expect(out.filter((x) => x === 1).length).toBeGreaterThan(400)
  })

  it("sigma < 0 or non-finite, rate outside [0, 1] or NaN, a gene outside [0, 1] are OperatorErrors naming the argument", () => {
    fc.assert(fc.property(fc.oneof(fc.double({ max: -Number.MIN_VALUE, noNaN: true }), fc.constantFrom(NaN, Infinity)), (bad) => {
      expect(thrown(() => gaussianMutation([0.5], { sigma: bad, rate: 0.5 }, Rng.makeRng(1)))).toMatchObject({
        _tag: "OperatorError",
        operator: "gaussian",
        argument: "sigma",
        value: String(bad)
      })
    }))
    fc.assert(fc.property(notAProbability, (bad) => {
      const error = thrown(() => gaussianMutation([0.5], { sigma: 0.1, rate: bad }, Rng.makeRng(1)))
      expect(error).toBeInstanceOf(Errors.OperatorError)
      expect(error).toMatchObject({ argument: "rate", value: String(bad) })
    }))
    expect(thrown(() => gaussianMutation([0.5, 2], { sigma: 0.1, rate: 0.5 }, Rng.makeRng(1)))).toMatchObject({
      argument: "genome[1]",
      value: "2"
    })
  })
})
