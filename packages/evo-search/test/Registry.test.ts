import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Errors, Operator, Registry, Strategy } from "@haemsa/evo-search"
import { thrown } from "./Arbitraries"

const context = { populationSize: 10, dimension: 4 }
const resolve = (specs: Partial<Registry.OperatorSpecs>, registry = Registry.defaultRegistry) =>
  Registry.resolve(registry, { ...Strategy.defaultOperators, ...specs }, context)

/** A selection operator a contributor might add: always the index of the lowest fitness. */
const greedy: Operator.SelectionOperator<{}> = {
  kind: "selection",
  name: "greedy",
  description: "the best individual, always",
  parse(params) {
    Operator.checkParamNames("greedy", params, [])
    return {}
  },
  select: (fitness) => fitness.reduce((best, f, i) => (f < fitness[best] || Number.isNaN(fitness[best]) ? i : best), 0)
}

describe("Registry", () => {
  it("ships tournament, blend, uniform and gaussian", () => {
    expect(Registry.names(Registry.defaultRegistry)).toEqual({
      selection: ["tournament"],
      crossover: ["blend", "uniform"],
      mutation: ["gaussian"]
    })
  })

  it("fills defaults: tournament size 3, gaussian sigma 0.1 and rate 1 / dimension", () => {
    const resolved = Result.getOrThrow(resolve({}))
    expect(resolved.selection.params).toEqual({ size: 3 })
    expect(resolved.crossover.params).toEqual({})
    expect(resolved.mutation.params).toEqual({ sigma: 0.1, rate: 0.25 })
    const small = Registry.resolve(Registry.defaultRegistry, Strategy.defaultOperators, { populationSize: 2, dimension: 1 })
    expect(Result.getOrThrow(small).selection.params).toEqual({ size: 2 })
  })

  it("an unknown operator name fails with an OperatorError listing the known ones", () => {
    const result = resolve({ crossover: { name: "sbx" } })
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure).toBeInstanceOf(Errors.OperatorError)
      expect(result.failure).toMatchObject({ argument: "crossover.name", value: "sbx" })
      expect(result.failure.message).toContain("blend, uniform")
    }
  })

  it("checks parameters against the population: range, integer, type, unknown names", () => {
    const cases: Array<[Partial<Registry.OperatorSpecs>, string, string]> = [
      [{ selection: { name: "tournament", params: { size: 11 } } }, "size", "11"],
      [{ selection: { name: "tournament", params: { size: 0 } } }, "size", "0"],
      [{ selection: { name: "tournament", params: { size: 2.5 } } }, "size", "2.5"],
      [{ selection: { name: "tournament", params: { size: "3" } } }, "size", "\"3\""],
      [{ selection: { name: "tournament", params: { sise: 3 } } }, "sise", "3"],
      [{ mutation: { name: "gaussian", params: { sigma: -1 } } }, "sigma", "-1"],
      [{ mutation: { name: "gaussian", params: { rate: 1.5 } } }, "rate", "1.5"],
      [{ mutation: { name: "gaussian", params: { rate: null } } }, "rate", "null"],
      [{ crossover: { name: "blend", params: { alpha: 0.5 } } }, "alpha", "0.5"]
    ]
    for (const [specs, argument, value] of cases) {
      const result = resolve(specs)
      expect(Result.isFailure(result) && result.failure).toMatchObject({ _tag: "OperatorError", argument, value })
    }
  })

  it("binds the parsed parameters: the resolved operators behave like the plain functions", () => {
    const resolved = Result.getOrThrow(resolve({ mutation: { name: "gaussian", params: { sigma: 0, rate: 1 } } }))
    expect(resolved.mutation.mutate([0.2, 0.4], { next: () => 0.5, state: () => 0 })).toEqual([0.2, 0.4])
  })

  it("registers a contributor's operator immutably; a duplicate name throws", () => {
    const registry = Registry.register(Registry.defaultRegistry, greedy)
    expect(Registry.names(registry).selection).toEqual(["tournament", "greedy"])
    expect(Registry.names(Registry.defaultRegistry).selection).toEqual(["tournament"])
    expect(thrown(() => Registry.register(registry, greedy))).toMatchObject({ _tag: "OperatorError", argument: "name", value: "greedy" })
    const strategy = Result.getOrThrow(Strategy.make({ dimension: 2, populationSize: 4, elitism: 0, selection: { name: "greedy" } }, registry))
    expect(strategy.config.selection).toEqual({ name: "greedy", params: {} })
    expect(Result.isFailure(Strategy.make({ dimension: 2, populationSize: 4, selection: { name: "greedy" } }))).toBe(true)
  })
})
