import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Result, Schema } from "effect"
import * as fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ExpertError } from "../src/Errors"
import { EXPERT_KINDS, ExpertKind, ExpertSpec, makeExpert, resolveSpec } from "../src/Expert"
import {
  expectFiniteGradients,
  expectGradientsMatchFiniteDifferences,
  features,
  lengthMask,
  maxAbsDiff,
  projectionLoss,
  replacePadding
} from "@haemsa/test-helpers"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const specs: Record<ExpertKind, ExpertSpec> = {
  meanpool: { kind: "meanpool", hidden: 6, layers: 2 },
  lstm: { kind: "lstm", hidden: 5, layers: 2 },
  transformer: { kind: "transformer", hidden: 8, heads: 2, layers: 2, activation: "gelu" },
  tcn: { kind: "tcn", hidden: 6, layers: 2, kernel: 3 }
}

const B = 4
const T = 7
const OUT = 2
const lengths = [7, 4, 1, 0]

const cases: Array<[string, ExpertSpec, number]> = [
  ...EXPERT_KINDS.map((kind): [string, ExpertSpec, number] => [kind, specs[kind], 3]),
  // 3·inputDim > 4·hidden: the first map projects to hidden, then lstm0/kernel to the gates.
  ["lstm on a wide input", { kind: "lstm", hidden: 3, layers: 2 }, 7]
]

describe.each(cases)("%s expert", (_name, spec, D) => {
  const x = features(B, T, D, 11)
  const stepMask = lengthMask(lengths, T)
  afterAll(() => tf.dispose([x, stepMask]))

  it("maps (B, T, d) to (B, outDim)", () => {
    const expert = makeExpert(spec, D, OUT, Module.seedSource(1))
    const out = expert.apply({ x, stepMask }, false)
    expect(out.shape).toEqual([B, OUT])
    expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true)
  })

  it("ignores padded values", () => {
    const expert = makeExpert(spec, D, OUT, Module.seedSource(2))
    const garbage = tf.mul(features(B, T, D, 99), 100) as tf.Tensor3D
    const a = expert.apply({ x, stepMask }, false)
    const b = expert.apply({ x: replacePadding(x, stepMask, garbage), stepMask }, false)
    expect(maxAbsDiff(a, b)).toBe(0)
  })

  it("gives each sample the output of its unpadded sequence", () => {
    const expert = makeExpert(spec, D, OUT, Module.seedSource(3))
    const all = expert.apply({ x, stepMask }, false).arraySync()
    lengths.forEach((length, i) => {
      if (length === 0) return
      const alone = tf.slice(x, [i, 0, 0], [1, length, D])
      const single = expert.apply({ x: alone, stepMask: tf.ones([1, length]) }, false).arraySync()[0]
      single.forEach((v, j) => expect(all[i][j]).toBeCloseTo(v, 5))
    })
  })

  it("gives finite outputs for all-zero inputs and for samples with no valid step", () => {
    const expert = makeExpert(spec, D, OUT, Module.seedSource(4))
    const out = expert.apply({ x: tf.zeros([B, T, D]), stepMask: tf.zeros([B, T]) }, false)
    expect(Array.from(out.dataSync()).every(Number.isFinite)).toBe(true)
  })

  it("is deterministic for a seed and differs across seeds", () => {
    const a = makeExpert(spec, D, OUT, Module.seedSource(5)).apply({ x, stepMask }, false)
    const b = makeExpert(spec, D, OUT, Module.seedSource(5)).apply({ x, stepMask }, false)
    const c = makeExpert(spec, D, OUT, Module.seedSource(6)).apply({ x, stepMask }, false)
    expect(maxAbsDiff(a, b)).toBe(0)
    expect(maxAbsDiff(a, c)).toBeGreaterThan(0)
  })

  it("has finite gradients for every variable", () => {
    const expert = makeExpert({ ...spec, dropout: 0.2 }, D, OUT, Module.seedSource(7))
    const loss = projectionLoss([B, OUT], 8)
    expectFiniteGradients(expert.variables, () => loss(expert.apply({ x, stepMask }, true)))
  })

  it("has gradients that match finite differences", () => {
    const expert = makeExpert(spec, D, OUT, Module.seedSource(9))
    const loss = projectionLoss([B, OUT], 10)
    expectGradientsMatchFiniteDifferences(expert, () => loss(expert.apply({ x, stepMask }, false)))
  })

  it("applies dropout only when training, with fresh masks per call", () => {
    const expert = makeExpert({ ...spec, dropout: 0.5 }, D, OUT, Module.seedSource(12))
    const evalA = expert.apply({ x, stepMask }, false)
    const evalB = expert.apply({ x, stepMask }, false)
    const trainA = expert.apply({ x, stepMask }, true)
    const trainB = expert.apply({ x, stepMask }, true)
    expect(maxAbsDiff(evalA, evalB)).toBe(0)
    expect(maxAbsDiff(evalA, trainA)).toBeGreaterThan(0)
    expect(maxAbsDiff(trainA, trainB)).toBeGreaterThan(0)
  })

  it("leaks no tensors", () => {
    const expert = makeExpert(spec, D, OUT, Module.seedSource(13))
    tf.tidy(() => {
      expert.apply({ x, stepMask }, true)
    })
    const before = tf.memory().numTensors
    tf.tidy(() => {
      expert.apply({ x, stepMask }, true)
    })
    expect(tf.memory().numTensors).toBe(before)
    const loss = projectionLoss([B, OUT], 14)
    const { value, grads } = tf.variableGrads(() => loss(expert.apply({ x, stepMask }, true)), [...expert.variables.values()])
    tf.dispose([value, ...Object.values(grads)])
    expect(tf.memory().numTensors).toBe(before + 1) // the loss's projection weights
  })
})

describe("LSTM masking", () => {
  it("keeps the state across a padded step in the middle (as if the step were removed)", () => {
    const D = 3
    const expert = makeExpert({ kind: "lstm", hidden: 4 }, D, OUT, Module.seedSource(15))
    const x = features(1, 5, D, 16)
    const holed = expert.apply({ x, stepMask: tf.tensor2d([[1, 1, 0, 1, 1]]) }, false)
    const removed = tf.concat([tf.slice(x, [0, 0, 0], [1, 2, D]), tf.slice(x, [0, 3, 0], [1, 2, D])], 1) as tf.Tensor3D
    const skipped = expert.apply({ x: removed, stepMask: tf.ones([1, 4]) }, false)
    expect(maxAbsDiff(holed, skipped)).toBeLessThan(1e-6)
  })
})

describe("spec validation", () => {
  const failure = (spec: ExpertSpec) => {
    const result = resolveSpec(spec)
    if (Result.isSuccess(result)) throw new Error("expected a failure")
    return result.failure
  }

  it("fills defaults", () => {
    const result = resolveSpec({ kind: "transformer", hidden: 12 })
    expect(Result.isSuccess(result) && result.success).toEqual({
      kind: "transformer",
      hidden: 12,
      layers: 1,
      heads: 4,
      kernel: 3,
      dropout: 0,
      activation: "relu"
    })
  })

  it.each([
    [{ kind: "gru", hidden: 4 } as unknown as ExpertSpec, "kind"],
    [{ kind: "lstm", hidden: 0 }, "hidden"],
    [{ kind: "lstm", hidden: 2.5 }, "hidden"],
    [{ kind: "transformer", hidden: 6, heads: 4 }, "heads"],
    [{ kind: "tcn", hidden: 4, kernel: 0 }, "kernel"],
    [{ kind: "meanpool", hidden: 4, layers: 0 }, "layers"],
    [{ kind: "meanpool", hidden: 4, dropout: 1 }, "dropout"],
    [{ kind: "transformer", hidden: 4, activation: "tanh" } as unknown as ExpertSpec, "activation"]
  ] as Array<[ExpertSpec, string]>)("rejects %j (field %s)", (spec, field) => {
    const error = failure(spec)
    expect(error).toBeInstanceOf(ExpertError)
    expect(error._tag).toBe("ExpertError")
    expect(error.field).toBe(field)
  })

  it.each([
    [{ kind: "gru", hidden: 4 }, "invalid expert kind = gru: unknown encoder kind (expected one of meanpool, lstm, transformer, tcn)"],
    [{ hidden: 4 }, "invalid expert kind = undefined: unknown encoder kind (expected one of meanpool, lstm, transformer, tcn)"],
    [{ kind: "lstm", hidden: 2.5 }, "invalid expert hidden = 2.5: must be an integer >= 1"],
    [{ kind: "lstm", hidden: "8" }, "invalid expert hidden = 8: must be an integer >= 1"],
    [{ kind: "lstm" }, "invalid expert hidden = undefined: must be an integer >= 1"],
    [{ kind: "transformer", hidden: 6, heads: 4 }, "invalid expert heads = 4: must divide hidden = 6"],
    [{ kind: "tcn", hidden: 4, kernel: 0 }, "invalid expert kernel = 0: must be an integer >= 1"],
    [{ kind: "meanpool", hidden: 4, layers: 1.5 }, "invalid expert layers = 1.5: must be an integer >= 1"],
    [{ kind: "meanpool", hidden: 4, dropout: -0.1 }, "invalid expert dropout = -0.1: must be in [0, 1)"],
    [{ kind: "transformer", hidden: 4, activation: "tanh" }, "invalid expert activation = tanh: must be relu or gelu"]
  ])("names the field, the value and the reason: %j", (spec, message) => {
    expect(failure(spec as unknown as ExpertSpec).message).toBe(message)
  })

  it("a transformer's heads must divide hidden; the other kinds ignore heads", () => {
    expect(Result.isSuccess(resolveSpec({ kind: "meanpool", hidden: 6, heads: 4 }))).toBe(true)
    expect(Result.isSuccess(resolveSpec({ kind: "transformer", hidden: 8, heads: 4 }))).toBe(true)
    expect(failure({ kind: "transformer", hidden: 8, heads: 3 }).field).toBe("heads")
  })

  it("accepts exactly the specs the constraints allow (an independent statement of them), schema and resolveSpec alike", () => {
    const decode = Schema.decodeUnknownResult(ExpertSpec)
    const count = (n: unknown) => typeof n === "number" && Number.isInteger(n) && n >= 1
    const valid = (s: Record<string, unknown>) =>
      ["meanpool", "lstm", "transformer", "tcn"].includes(s.kind as string) && count(s.hidden) &&
      (s.layers === undefined || count(s.layers)) && (s.heads === undefined || count(s.heads)) &&
      (s.kernel === undefined || count(s.kernel)) &&
      (s.dropout === undefined || (s.dropout as number) >= 0 && (s.dropout as number) < 1) &&
      (s.activation === undefined || s.activation === "relu" || s.activation === "gelu") &&
      (s.kind !== "transformer" || s.heads === undefined || (s.hidden as number) % (s.heads as number) === 0)
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom("meanpool", "lstm", "transformer", "tcn", "gru"),
          hidden: fc.oneof(fc.integer({ min: -2, max: 40 }), fc.double({ min: 0, max: 10, noNaN: true })),
          layers: fc.option(fc.integer({ min: -1, max: 3 }), { nil: undefined }),
          heads: fc.option(fc.integer({ min: 0, max: 8 }), { nil: undefined }),
          kernel: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
          dropout: fc.option(fc.double({ min: -0.5, max: 1.5, noNaN: true }), { nil: undefined }),
          activation: fc.option(fc.constantFrom("relu", "gelu", "tanh"), { nil: undefined })
        }, { requiredKeys: ["kind", "hidden"] }),
        (spec) => {
          expect(Result.isSuccess(decode(spec))).toBe(valid(spec))
          expect(Result.isSuccess(resolveSpec(spec as unknown as ExpertSpec))).toBe(valid(spec))
        }
      ),
      { numRuns: 300 }
    )
  })

  it("the kinds are the schema's literals, in order", () => {
    expect(EXPERT_KINDS).toEqual(["meanpool", "lstm", "transformer", "tcn"])
    expect(EXPERT_KINDS).toBe(ExpertKind.literals)
  })

  it("makeExpert throws the typed error, also for bad dimensions", () => {
    expect(() => makeExpert({ kind: "tcn", hidden: 4, kernel: 0 }, 3, 2, Module.seedSource(1))).toThrow(ExpertError)
    expect(() => makeExpert({ kind: "tcn", hidden: 4 }, 0, 2, Module.seedSource(1))).toThrow(/inputDim/)
    expect(() => makeExpert({ kind: "tcn", hidden: 4 }, 3, 0, Module.seedSource(1))).toThrow(/outDim/)
  })
})
