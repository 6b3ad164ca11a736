import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Errors, Rng, TournamentSelection, tournamentSelection } from "@haemsa/evo-search"
import { thrown } from "@haemsa/test-helpers"
import { fitness, seed } from "./Arbitraries"

const { beats, entrants } = TournamentSelection

/** A population's fitnesses and a valid tournament size. */
const tournament = fc.array(fitness, { minLength: 1, maxLength: 30 }).chain((f) =>
  fc.tuple(fc.constant(f), fc.integer({ min: 1, max: f.length }))
)

describe("tournamentSelection", () => {
  it("draws size distinct entrants in range", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 1, max: n }))), seed, ([n, size], s) => {
      const drawn = entrants(n, size, Rng.makeRng(s))
      expect(drawn).toHaveLength(size)
      expect(new Set(drawn).size).toBe(size)
      expect(drawn.every((i) => Number.isInteger(i) && i >= 0 && i < n)).toBe(true)
    }))
  })

  it("returns an entrant that no other entrant beats (never worse than a random entrant), the first drawn among equals", () => {
    fc.assert(fc.property(tournament, seed, ([f, size], s) => {
      const drawn = entrants(f.length, size, Rng.makeRng(s))
      const winner = tournamentSelection(f, size, Rng.makeRng(s))
      expect(drawn).toContain(winner)
      for (const e of drawn) expect(beats(f[e], f[winner])).toBe(false)
      const firstBest = drawn.find((e) => !beats(f[winner], f[e]) && !beats(f[e], f[winner]))
      expect(winner).toBe(firstBest)
    }))
  })

  it("with size = population the winner is a global best; with size 1 it is the single uniform draw", () => {
    fc.assert(fc.property(fc.array(fitness, { minLength: 1, maxLength: 30 }), seed, (f, s) => {
      const winner = tournamentSelection(f, f.length, Rng.makeRng(s))
      for (const x of f) expect(beats(x, f[winner])).toBe(false)
      expect(tournamentSelection(f, 1, Rng.makeRng(s))).toBe(Math.floor(Rng.makeRng(s).next() * f.length))
    }))
  })

  it("NaN loses to every number: the winner is NaN only when every entrant is", () => {
    fc.assert(fc.property(tournament, seed, ([f, size], s) => {
      const drawn = entrants(f.length, size, Rng.makeRng(s))
      const winner = tournamentSelection(f, size, Rng.makeRng(s))
      expect(Number.isNaN(f[winner])).toBe(drawn.every((e) => Number.isNaN(f[e])))
    }))
    expect(tournamentSelection([NaN, NaN, 5, NaN], 4, Rng.makeRng(1))).toBe(2)
    expect(tournamentSelection([NaN, Infinity], 2, Rng.makeRng(1))).toBe(1)
  })

  it("is deterministic for a seed and uses exactly size uniforms", () => {
    fc.assert(fc.property(tournament, seed, ([f, size], s) => {
      const a = Rng.makeRng(s)
      const b = Rng.makeRng(s)
      expect(tournamentSelection(f, size, a)).toBe(tournamentSelection(f, size, b))
      const c = Rng.makeRng(s)
      for (let i = 0; i < size; i++) c.next()
      expect(a.state()).toBe(c.state())
    }))
  })

  it("an empty population, a size < 1, > population, fractional or NaN is an OperatorError naming the argument", () => {
    const empty = thrown(() => tournamentSelection([], 1, Rng.makeRng(1)))
    expect(empty).toBeInstanceOf(Errors.OperatorError)
    expect(empty).toMatchObject({ argument: "fitness", operator: "tournament" })
    for (const size of [0, -1, 4, 1.5, NaN, Infinity]) {
      const error = thrown(() => tournamentSelection([1, 2, 3], size, Rng.makeRng(1)))
      expect(error).toBeInstanceOf(Errors.OperatorError)
      expect(error).toMatchObject({ argument: "size", value: String(size) })
    }
  })
})
