import { Result } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import * as EvoSearch from "@haemsa/evo-search"
import { Errors, Operator, Registry, Strategy } from "@haemsa/evo-search"
import { thrown } from "@haemsa/test-helpers"

const context = { populationSize: 10, dimension: 4 }

/**
 * The one declared source of truth for the built-in operators: the files in src/operators/, one
 * operator per file, named <Name><Kind>.ts (docs/contributing-operators.md). From each file name
 * follow the kind it must be registered under, the namespace index.ts must export it as, and its
 * test file. Nothing below lists operators by hand except the four the package has always shipped.
 */
const kindOfSuffix = { Selection: "selection", Crossover: "crossover", Mutation: "mutation" } as const
const method = { selection: "select", crossover: "cross", mutation: "mutate" } as const
const operatorsDir = new URL("../src/operators/", import.meta.url)
const testDir = new URL("./", import.meta.url)
const declared = readdirSync(operatorsDir)
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -".ts".length))
  .sort()
  .map((module) => {
    const suffix = (Object.keys(kindOfSuffix) as Array<keyof typeof kindOfSuffix>).find((s) => module.endsWith(s))
    const exported = (EvoSearch as unknown as Record<string, { readonly operator?: Operator.Operator } | undefined>)[module]
    return { module, kind: suffix && kindOfSuffix[suffix], operator: exported?.operator }
  })
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
    const names = Registry.names(Registry.defaultRegistry)
    expect(names.selection).toContain("tournament")
    expect(names.crossover).toEqual(expect.arrayContaining(["blend", "uniform"]))
    expect(names.mutation).toContain("gaussian")
  })

  it("src/operators/<Name><Kind>.ts: exported as <Name><Kind> by index.ts, registered under its kind", () => {
    expect(declared.map((d) => d.module)).toEqual(expect.arrayContaining(["BlendCrossover", "GaussianMutation", "TournamentSelection", "UniformCrossover"]))
    for (const { module, kind, operator } of declared) {
      expect(kind, `${module}.ts: the file name must end in Selection, Crossover or Mutation`).toBeDefined()
      expect(operator, `index.ts must export * as ${module} from "./operators/${module}" (with its \`operator\`)`).toBeDefined()
      if (kind === undefined || operator === undefined) continue
      expect(operator.kind, `${module}.operator.kind`).toBe(kind)
      expect(typeof (operator as unknown as Record<string, unknown>)[method[kind]], `${module}.operator.${method[kind]}`).toBe("function")
      expect(Registry.defaultRegistry[kind].get(operator.name), `${module}.operator in Registry.builtins`).toBe(operator)
    }
  })

  it("registers exactly the operators of src/operators, each once", () => {
    const label = (o: Operator.Operator) => `${o.kind} ${o.name}`
    expect(Registry.builtins.map(label).sort()).toEqual(
      declared.map((d) => (d.operator ? label(d.operator) : `${d.module}: not exported by index.ts`)).sort()
    )
    for (const { module, operator } of declared) {
      expect(Registry.builtins.filter((o) => o === operator), `${module}.operator in Registry.builtins`).toHaveLength(1)
    }
    const expected = (kind: Operator.Operator["kind"]) => declared.filter((d) => d.kind === kind).map((d) => d.operator?.name).sort()
    const names = Registry.names(Registry.defaultRegistry)
    expect([...names.selection].sort()).toEqual(expected("selection"))
    expect([...names.crossover].sort()).toEqual(expected("crossover"))
    expect([...names.mutation].sort()).toEqual(expected("mutation"))
  })

  it("every operator has its property test: test/<Name><Kind>.test.ts with fc.assert and its typed errors", () => {
    for (const { module, operator } of declared) {
      const file = new URL(`${module}.test.ts`, testDir)
      expect(existsSync(file), `test/${module}.test.ts`).toBe(true)
      if (!existsSync(file)) continue
      const text = readFileSync(file, "utf8")
      expect(text, `test/${module}.test.ts runs fast-check properties`).toContain("fc.assert(")
      expect(text, `test/${module}.test.ts checks errors naming operator "${operator?.name}"`).toContain(`"${operator?.name}"`)
    }
  })

  it("every registered operator parses through Strategy.make: unknown parameter names fail, parsed parameters are plain JSON", () => {
    for (const { operator } of declared) {
      if (operator === undefined) continue
      const spec = { [operator.kind]: { name: operator.name, params: { notAParameter: 1 } } }
      const typo = Strategy.make({ dimension: 4, populationSize: 10, ...spec })
      expect(Result.isFailure(typo) && typo.failure, `${operator.name} with { notAParameter: 1 }`).toMatchObject({
        _tag: "OperatorError",
        argument: "notAParameter"
      })
      const made = Strategy.make({ dimension: 4, populationSize: 10, [operator.kind]: { name: operator.name } })
      if (Result.isSuccess(made)) {
        const params = made.success.config[operator.kind].params
        expect(JSON.parse(JSON.stringify(params)), `${operator.name}: parsed parameters`).toEqual(params)
      } else {
        // an operator may have a required parameter: then its absence is a typed error
        expect(made.failure, `${operator.name} without parameters`).toBeInstanceOf(Errors.OperatorError)
      }
    }
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
    const result = resolve({ crossover: { name: "no-such-operator" } })
    expect(Result.isFailure(result)).toBe(true)
    if (Result.isFailure(result)) {
      expect(result.failure).toBeInstanceOf(Errors.OperatorError)
      expect(result.failure).toMatchObject({ argument: "crossover.name", value: "no-such-operator" })
      expect(result.failure.message).toContain(Registry.names(Registry.defaultRegistry).crossover.join(", "))
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
    const shipped = Registry.names(Registry.defaultRegistry).selection
    const registry = Registry.register(Registry.defaultRegistry, greedy)
    expect(Registry.names(registry).selection).toEqual([...shipped, "greedy"])
    expect(Registry.names(Registry.defaultRegistry).selection).toEqual(shipped)
    expect(thrown(() => Registry.register(registry, greedy))).toMatchObject({ _tag: "OperatorError", argument: "name", value: "greedy" })
    const strategy = Result.getOrThrow(Strategy.make({ dimension: 2, populationSize: 4, elitism: 0, selection: { name: "greedy" } }, registry))
    expect(strategy.config.selection).toEqual({ name: "greedy", params: {} })
    expect(Result.isFailure(Strategy.make({ dimension: 2, populationSize: 4, selection: { name: "greedy" } }))).toBe(true)
  })
})
