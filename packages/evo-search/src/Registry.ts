/**
 * The operator registry: selection, crossover and mutation operators by name. A strategy config
 * names its operators (`{ name: "uniform", params: { probability: 0.7 } }`) and {@link resolve}
 * looks them up and checks their parameters once, before the search starts. Registries are
 * immutable values: `register(defaultRegistry, myOperator)` makes a new one.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import { OperatorError } from "./Errors"
import type { Genome } from "./Genome"
import type {
  CrossoverOperator,
  MutationOperator,
  Operator,
  OperatorContext,
  OperatorSpec,
  Params,
  SelectionOperator
} from "./Operator"
import * as BlendCrossover from "./operators/BlendCrossover"
import * as GaussianMutation from "./operators/GaussianMutation"
import * as TournamentSelection from "./operators/TournamentSelection"
import * as UniformCrossover from "./operators/UniformCrossover"
import type { Rng } from "./Rng"

/** Operators by kind and name. */
export interface Registry {
  readonly selection: ReadonlyMap<string, SelectionOperator>
  readonly crossover: ReadonlyMap<string, CrossoverOperator>
  readonly mutation: ReadonlyMap<string, MutationOperator>
}

/** A registry with no operators. */
export const empty: Registry = { selection: new Map(), crossover: new Map(), mutation: new Map() }

/** The operators this package ships. Add a new built-in operator here. */
export const builtins: ReadonlyArray<Operator> = [
  TournamentSelection.operator,
  BlendCrossover.operator,
  UniformCrossover.operator,
  GaussianMutation.operator
]

/**
 * A registry with `operator` added. Throws {@link OperatorError} when an operator of the same kind
 * already has that name (replace one by building a registry without it).
 */
export const register = (registry: Registry, operator: Operator): Registry => {
  const table: ReadonlyMap<string, Operator> = registry[operator.kind]
  if (table.has(operator.name)) {
    throw new OperatorError({
      operator: operator.name,
      argument: "name",
      value: operator.name,
      reason: `a ${operator.kind} operator with this name is already registered`
    })
  }
  return { ...registry, [operator.kind]: new Map([...table, [operator.name, operator]]) }
}

/** The built-in operators: selection `tournament`; crossover `blend`, `uniform`; mutation `gaussian`. */
export const defaultRegistry: Registry = builtins.reduce(register, empty)

/** The names registered for each kind. */
export const names = (registry: Registry): { readonly [K in Operator["kind"]]: ReadonlyArray<string> } => ({
  selection: [...registry.selection.keys()],
  crossover: [...registry.crossover.keys()],
  mutation: [...registry.mutation.keys()]
})

/** An operator spec with its parameters checked and complete (defaults filled). */
export interface ResolvedSpec {
  readonly name: string
  readonly params: Params
}

/** The three operators of a strategy, bound to their checked parameters. */
export interface ResolvedOperators {
  readonly selection: ResolvedSpec & { readonly select: (fitness: ReadonlyArray<number>, rng: Rng) => number }
  readonly crossover: ResolvedSpec & { readonly cross: (a: Genome, b: Genome, rng: Rng) => number[] }
  readonly mutation: ResolvedSpec & { readonly mutate: (genome: Genome, rng: Rng) => number[] }
}

/** The operators named by a strategy config. */
export interface OperatorSpecs {
  readonly selection: OperatorSpec
  readonly crossover: OperatorSpec
  readonly mutation: OperatorSpec
}

/**
 * Looks up the three operators and parses their parameters against `context`. Fails with an
 * {@link OperatorError} for an unknown name (listing the known ones) or an invalid parameter.
 */
export const resolve = (
  registry: Registry,
  specs: OperatorSpecs,
  context: OperatorContext
): Result.Result<ResolvedOperators, OperatorError> => {
  try {
    const selection = find(registry.selection, "selection", specs.selection)
    const crossover = find(registry.crossover, "crossover", specs.crossover)
    const mutation = find(registry.mutation, "mutation", specs.mutation)
    const sp = selection.parse(specs.selection.params ?? {}, context)
    const cp = crossover.parse(specs.crossover.params ?? {}, context)
    const mp = mutation.parse(specs.mutation.params ?? {}, context)
    return Result.succeed({
      selection: { name: selection.name, params: sp as Params, select: (fitness, rng) => selection.select(fitness, sp, rng) },
      crossover: { name: crossover.name, params: cp as Params, cross: (a, b, rng) => crossover.cross(a, b, cp, rng) },
      mutation: { name: mutation.name, params: mp as Params, mutate: (genome, rng) => mutation.mutate(genome, mp, rng) }
    })
  } catch (error) {
    if (error instanceof OperatorError) return Result.fail(error)
    throw error
  }
}

const find = <O extends Operator>(table: ReadonlyMap<string, O>, kind: string, spec: OperatorSpec): O => {
  const operator = table.get(spec.name)
  if (operator === undefined) {
    throw new OperatorError({
      operator: spec.name,
      argument: `${kind}.name`,
      value: String(spec.name),
      reason: `unknown ${kind} operator (known: ${[...table.keys()].join(", ") || "none"})`
    })
  }
  return operator
}
