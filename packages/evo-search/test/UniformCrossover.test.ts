import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Errors, Registry, Rng, Strategy, uniformCrossover } from "@haemsa/evo-search"
import { thrown } from "@haemsa/test-helpers"
import { genome, notAProbability, parents, seed } from "./Arbitraries"

const probability = fc.double({ min: 0, max: 1, noNaN: true })

describe("uniformCrossover", () => {
  it("takes every gene from a or b, keeps the length and is deterministic for a seed", () => {
    fc.assert(fc.property(parents, probability, seed, ([a, b], p, s) => {
      const child = uniformCrossover(a, b, { probability: p }, Rng.makeRng(s))
      expect(child).toHaveLength(a.length)
      child.forEach((c, i) => expect(c === a[i] || c === b[i]).toBe(true))
      expect(uniformCrossover(a, b, { probability: p }, Rng.makeRng(s))).toEqual(child)
    }))
  })

  it("takes gene i from a exactly when the i-th uniform is below the probability", () => {
    fc.assert(fc.property(parents, probability, seed, ([a, b], p, s) => {
      const child = uniformCrossover(a, b, { probability: p }, Rng.makeRng(s))
      const rng = Rng.makeRng(s)
      child.forEach((c, i) => expect(c).toBe(rng.next() < p ? a[i] : b[i]))
    }))
  })

  it("is b with probability 0, a with probability 1, and the parent itself for identical parents", () => {
    fc.assert(fc.property(parents, probability, seed, ([a, b], p, s) => {
      expect(uniformCrossover(a, b, { probability: 0 }, Rng.makeRng(s))).toEqual(b)
      expect(uniformCrossover(a, b, { probability: 1 }, Rng.makeRng(s))).toEqual(a)
      expect(uniformCrossover(a, a, { probability: p }, Rng.makeRng(s))).toEqual(a)
    }))
  })

  it("mismatched lengths, a gene outside [0, 1] or a bad probability are OperatorErrors naming the argument", () => {
    expect(thrown(() => uniformCrossover([0.1], [0.1, 0.2], { probability: 0.5 }, Rng.makeRng(1)))).toMatchObject({
      _tag: "OperatorError",
      operator: "uniform",
      argument: "b"
    })
    expect(thrown(() => uniformCrossover([0.1, NaN], [0.1, 0.2], { probability: 0.5 }, Rng.makeRng(1)))).toMatchObject({
      argument: "a[1]"
    })
    fc.assert(fc.property(notAProbability, fc.integer({ min: 1, max: 5 }).chain(genome), (bad, g) => {
      const error = thrown(() => uniformCrossover(g, g, { probability: bad }, Rng.makeRng(1)))
      expect(error).toBeInstanceOf(Errors.OperatorError)
      expect(error).toMatchObject({ argument: "probability", value: String(bad) })
    }))
  })

  it("is registered as \"uniform\" with its parameter checked and defaulted", () => {
    expect(Registry.names(Registry.defaultRegistry).crossover).toContain("uniform")
    const made = Strategy.make({ dimension: 3, populationSize: 4, crossover: { name: "uniform" } })
    expect(made._tag).toBe("Success")
    if (made._tag === "Success") expect(made.success.config.crossover).toEqual({ name: "uniform", params: { probability: 0.5 } })
    const bad = Strategy.make({ dimension: 3, populationSize: 4, crossover: { name: "uniform", params: { probability: 2 } } })
    expect(bad._tag === "Failure" && bad.failure).toMatchObject({ _tag: "OperatorError", argument: "probability", value: "2" })
  })
})
