import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Rng } from "@haemsa/evo-search"
import { seed } from "./Arbitraries"

const take = (rng: Rng.Rng, n: number) => Array.from({ length: n }, () => rng.next())

describe("Rng", () => {
  it("is uniform in [0, 1) and deterministic for a seed", () => {
    fc.assert(fc.property(seed, (s) => {
      const xs = take(Rng.makeRng(s), 50)
      expect(xs.every((x) => x >= 0 && x < 1)).toBe(true)
      expect(take(Rng.makeRng(s), 50)).toEqual(xs)
    }))
  })

  it("continues the exact stream from a saved state", () => {
    fc.assert(fc.property(seed, fc.integer({ min: 0, max: 40 }), (s, k) => {
      const rng = Rng.makeRng(s)
      take(rng, k)
      const restored = Rng.fromState(rng.state())
      expect(take(restored, 20)).toEqual(take(rng, 20))
    }))
  })

  it("gives different streams for different seeds, fractional ones included", () => {
    expect(take(Rng.makeRng(1), 5)).not.toEqual(take(Rng.makeRng(2), 5))
    expect(take(Rng.makeRng(1), 5)).not.toEqual(take(Rng.makeRng(1.5), 5))
  })

  it("rejects a non-finite seed and a state that is not a uint32", () => {
    expect(() => Rng.makeRng(NaN)).toThrow(RangeError)
    expect(() => Rng.fromState(-1)).toThrow(RangeError)
    expect(() => Rng.fromState(2 ** 32)).toThrow(RangeError)
    expect(() => Rng.fromState(1.5)).toThrow(RangeError)
  })

  it("normal has mean 0 and variance 1 (fixed seed, 20000 draws)", () => {
    const rng = Rng.makeRng(3)
    const xs = Array.from({ length: 20000 }, () => Rng.normal(rng))
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length
    expect(xs.every(Number.isFinite)).toBe(true)
    expect(Math.abs(mean)).toBeLessThan(0.03)
    expect(Math.abs(variance - 1)).toBeLessThan(0.04)
  })
})
