import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ExpertError } from "../src/Errors"
import { EXPERT_KINDS, makeExpert } from "../src/Expert"
import type { ExpertKind, ExpertSpec } from "../src/Expert"
import { makeUnifiedExpert } from "../src/UnifiedExpert"
import type { UnifiedInput } from "../src/UnifiedExpert"
import { expectFiniteGradients, features, gradientsByPath, lengthMask, maxAbsDiff, projectionLoss, replacePadding, thrown } from "@haemsa/test-helpers"

beforeAll(async () => {
  await tf.setBackend("cpu")
})

const specs: Record<ExpertKind, ExpertSpec> = {
  meanpool: { kind: "meanpool", hidden: 6 },
  lstm: { kind: "lstm", hidden: 5 },
  transformer: { kind: "transformer", hidden: 8, heads: 2 },
  tcn: { kind: "tcn", hidden: 6, kernel: 2, layers: 2 }
}

const B = 4
const T = 5
const OUT = 3
// Key order differs from the mask order on purpose: mask columns are found by name.
const dims = { audio: 2, text: 3, vision: 4 }
const order = ["text", "audio", "vision"]

const makeInput = (): UnifiedInput => ({
  inputs: {
    text: { x: features(B, T, 3, 1), stepMask: lengthMask([5, 3, 2, 5], T) },
    audio: { x: features(B, T, 2, 2), stepMask: lengthMask([4, 5, 1, 0], T) },
    // One vector per utterance, broadcast over time.
    vision: { x: features(B, 1, 4, 3), stepMask: lengthMask([1, 1, 0, 1], 1) }
  },
  modalityMask: tf.tensor2d([
    [1, 1, 1],
    [1, 0, 1],
    [0, 1, 1],
    [1, 1, 0]
  ]),
  order
})

/** The explicit implementation: concatenate the kept features over time, then one expert. */
const concatenated = (input: UnifiedInput): Module.SequenceInput =>
  tf.tidy(() => {
    const keeps = Object.keys(dims).map((name) => {
      const { x, stepMask } = input.inputs[name]
      const column = tf.slice(input.modalityMask, [0, order.indexOf(name)], [B, 1])
      const keep = tf.tile(tf.mul(stepMask, column), [1, T / stepMask.shape[1]]) as tf.Tensor2D
      return { x: tf.mul(tf.tile(x, [1, T / x.shape[1], 1]), tf.expandDims(keep, 2)) as tf.Tensor3D, keep }
    })
    return {
      x: tf.concat(keeps.map((k) => k.x), 2) as tf.Tensor3D,
      stepMask: keeps.map((k) => k.keep).reduce((a, b) => tf.maximum(a, b) as tf.Tensor2D)
    }
  })

describe.each(EXPERT_KINDS)("unified %s expert", (kind) => {
  const input = makeInput()
  afterAll(() => tf.dispose([...Object.values(input.inputs).flatMap((i) => [i.x, i.stepMask]), input.modalityMask]))

  const pair = () => {
    const unified = makeUnifiedExpert(specs[kind], dims, OUT, Module.seedSource(21))
    const expert = makeExpert(specs[kind], 2 + 3 + 4, OUT, Module.seedSource(22))
    const uv = unified.variables
    for (const [path, v] of expert.variables) {
      if (path === "input/kernel") {
        v.assign(tf.concat(Object.keys(dims).map((name) => uv.get(`input/${name}/kernel`)!), 0))
      } else {
        v.assign(uv.get(path)!)
      }
    }
    return { unified, expert }
  }

  it("equals concatenate-then-encode, in values and gradients", () => {
    const { unified, expert } = pair()
    const reference = concatenated(input)
    const out = unified.apply(input, false)
    expect(out.shape).toEqual([B, OUT])
    expect(maxAbsDiff(out, expert.apply(reference, false))).toBeLessThan(1e-5)

    const loss = projectionLoss([B, OUT], 23)
    const mine = gradientsByPath(unified.variables, () => loss(unified.apply(input, false))).grads
    const theirs = gradientsByPath(expert.variables, () => loss(expert.apply(reference, false))).grads
    for (const [path, g] of theirs) {
      const expected = path === "input/kernel"
        ? tf.concat(Object.keys(dims).map((name) => mine.get(`input/${name}/kernel`)!), 0)
        : mine.get(path)!
      expect(maxAbsDiff(g, expected), path).toBeLessThan(1e-4)
    }
    expect(mine.size).toBe(theirs.size + 2)
  })

  it("ignores padded steps and the values of missing modalities", () => {
    const unified = makeUnifiedExpert(specs[kind], dims, OUT, Module.seedSource(24))
    const scrambled: Record<string, Module.SequenceInput> = {}
    Object.entries(input.inputs).forEach(([name, { x, stepMask }], i) => {
      const column = tf.slice(input.modalityMask, [0, order.indexOf(name)], [B, 1])
      const keep = tf.mul(stepMask, column) as tf.Tensor2D
      const garbage = tf.mul(features(B, x.shape[1], x.shape[2], 30 + i), 50) as tf.Tensor3D
      scrambled[name] = { x: replacePadding(x, keep, garbage), stepMask }
    })
    const a = unified.apply(input, false)
    const b = unified.apply({ ...input, inputs: scrambled }, false)
    expect(maxAbsDiff(a, b)).toBe(0)
  })

  it("with gates scales each modality's projection: ones change nothing, a gate of 0 removes the modality's values", () => {
    const unified = makeUnifiedExpert(specs[kind], dims, OUT, Module.seedSource(28))
    const plain = unified.apply(input, false)
    expect(maxAbsDiff(unified.apply({ ...input, gates: tf.ones([1, 3]) as tf.Tensor2D }, false), plain)).toBeLessThan(1e-6)
    // audio gated off: its values no longer matter
    const off = { ...input, gates: tf.tensor2d([[1, 0, 1]]) }
    const garbage = { ...input.inputs.audio, x: tf.mul(features(B, T, 2, 40), 50) as tf.Tensor3D }
    const a = unified.apply(off, false)
    const b = unified.apply({ ...off, inputs: { ...input.inputs, audio: garbage } }, false)
    expect(a.shape).toEqual([B, OUT])
    expect(maxAbsDiff(a, b)).toBe(0)
    // a gate g is the projection scaled by g: the same as scaling the modality's features by g
    const half = unified.apply({ ...input, gates: tf.tensor2d([[1, 0.5, 1]]) }, false)
    const scaled = unified.apply({ ...input, inputs: { ...input.inputs, audio: { ...input.inputs.audio, x: tf.mul(input.inputs.audio.x, 0.5) as tf.Tensor3D } } }, false)
    expect(maxAbsDiff(half, scaled)).toBeLessThan(1e-5)
  })

  it("gives learned gates finite gradients", () => {
    const unified = makeUnifiedExpert(specs[kind], dims, OUT, Module.seedSource(29))
    const gate = tf.variable(tf.tensor2d([[1, 0.3, 0.7]]))
    const loss = projectionLoss([B, OUT], 30)
    expectFiniteGradients(new Map([["gates", gate]]), () => loss(unified.apply({ ...input, gates: gate }, false)))
    gate.dispose()
  })

  it("leaks no tensors", () => {
    const unified = makeUnifiedExpert({ ...specs[kind], dropout: 0.3 }, dims, OUT, Module.seedSource(27))
    const before = tf.memory().numTensors
    tf.tidy(() => {
      unified.apply(input, true)
    })
    expect(tf.memory().numTensors).toBe(before)
  })

  it("has variables per modality plus the body's", () => {
    const unified = makeUnifiedExpert(specs[kind], dims, OUT, Module.seedSource(25))
    const paths = [...unified.variables.keys()]
    expect(paths.slice(0, 4)).toEqual(["input/audio/kernel", "input/text/kernel", "input/vision/kernel", "input/bias"])
    expect(paths.slice(4).every((p) => p.startsWith("body/"))).toBe(true)
  })
})

describe("unified expert errors", () => {
  const unified = makeUnifiedExpert({ kind: "meanpool", hidden: 4 }, dims, OUT, Module.seedSource(26))
  const input = makeInput()

  it("rejects modalities with mismatched step counts", () => {
    const audio = { x: features(B, 4, 2, 5), stepMask: tf.ones([B, 4]) as tf.Tensor2D }
    const error = thrown(ExpertError, () => unified.apply({ ...input, inputs: { ...input.inputs, audio } }, false))
    expect(error.field).toBe("T")
    expect(error.value).toBe("audio: 4")
  })

  it("rejects a modality missing from the inputs or from the mask order", () => {
    const { text: _text, ...rest } = input.inputs
    expect(thrown(ExpertError, () => unified.apply({ ...input, inputs: rest }, false)).field).toBe("inputs")
    expect(thrown(ExpertError, () => unified.apply({ ...input, order: ["text", "audio"] }, false)).field).toBe("order")
  })

  it("rejects bad specs and dimensions", () => {
    expect(thrown(ExpertError, () => makeUnifiedExpert({ kind: "lstm", hidden: 0 }, dims, OUT, Module.seedSource(1))).field).toBe("hidden")
    expect(thrown(ExpertError, () => makeUnifiedExpert({ kind: "lstm", hidden: 4 }, {}, OUT, Module.seedSource(1))).field).toBe("inputDims")
    expect(thrown(ExpertError, () => makeUnifiedExpert({ kind: "lstm", hidden: 4 }, { text: 0 }, OUT, Module.seedSource(1))).field)
      .toBe("inputDims.text")
  })
})
