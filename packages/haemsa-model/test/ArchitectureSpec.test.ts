import { Expert } from "@haemsa/experts"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"

const { defaultSpec } = ArchitectureSpec

/** The message of the error `decode` throws for `value`. */
const decodeError = (value: unknown): string => {
  try {
    ArchitectureSpec.decode(value)
  } catch (e) {
    return (e as Error).message
  }
  throw new Error("decode accepted an invalid spec")
}

describe("ArchitectureSpec", () => {
  it("decodes the default spec and every model family's default unchanged", () => {
    expect(ArchitectureSpec.decode(defaultSpec)).toEqual(defaultSpec)
    for (const model of ["haemsa", "early-fusion", "late-fusion"] as const) {
      expect(ArchitectureSpec.decode(ArchitectureSpec.defaultFor(model))).toEqual({ ...defaultSpec, model })
    }
  })

  it("decodes a spec that went through JSON (the checkpoint path)", () => {
    expect(ArchitectureSpec.decode(JSON.parse(JSON.stringify(defaultSpec)))).toEqual(defaultSpec)
  })

  it("rejects a hierarchy depth of 5, naming fusion.depth", () => {
    const message = decodeError({ ...defaultSpec, fusion: { ...defaultSpec.fusion, depth: 5 } })
    expect(message).toContain(`["fusion"]["depth"]`)
  })

  it("rejects an empty modality subset, naming modalities", () => {
    expect(decodeError({ ...defaultSpec, modalities: [] })).toContain(`["modalities"]`)
  })

  it("rejects an unknown modality, naming modalities", () => {
    expect(decodeError({ ...defaultSpec, modalities: ["text", "smell"] })).toContain(`["modalities"][1]`)
  })

  it("rejects an unknown expert kind, naming the expert", () => {
    const message = decodeError({ ...defaultSpec, experts: { ...defaultSpec.experts, audio: { kind: "gru", hidden: 32 } } })
    expect(message).toContain(`["experts"]["audio"]["kind"]`)
  })

  it("rejects a missing field, a non-integer hidden size and an out-of-range lambda, naming each", () => {
    const { gamma: _gamma, ...noGamma } = defaultSpec
    expect(decodeError(noGamma)).toContain(`["gamma"]`)
    expect(decodeError({ ...defaultSpec, hidden: 7.5 })).toContain(`["hidden"]`)
    expect(decodeError({ ...defaultSpec, lambdas: { ...defaultSpec.lambdas, unimodal: 2 } })).toContain(`["lambdas"]["unimodal"]`)
  })

  it("accepts every depth in 1..4 and rejects every integer outside it", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 20 }), (depth) => {
        const value = { ...defaultSpec, fusion: { ...defaultSpec.fusion, depth } }
        if (depth >= 1 && depth <= 4) expect(ArchitectureSpec.decode(value).fusion.depth).toBe(depth)
        else expect(decodeError(value)).toContain(`["fusion"]["depth"]`)
      })
    )
  })

  it("a spec written without lambdas.emotion and lambdas.teacher decodes with the weights those terms had: regression, max(classification, 0.1)", () => {
    const { emotion: _emotion, teacher: _teacher, ...older } = defaultSpec.lambdas
    // the default spec's own emotion and teacher weights are those, so its results do not change
    expect(ArchitectureSpec.decode({ ...defaultSpec, lambdas: older })).toEqual(defaultSpec)
    const unit = fc.double({ min: 0, max: 1, noNaN: true })
    fc.assert(
      fc.property(unit, unit, unit, (regression, classification, unimodal) => {
        const lambdas = ArchitectureSpec.decode({ ...defaultSpec, lambdas: { regression, classification, unimodal } }).lambdas
        expect(lambdas).toEqual({ regression, classification, unimodal, emotion: regression, teacher: Math.max(classification, 0.1) })
      })
    )
  })

  it("explicit emotion and teacher weights are kept, and checked like the others", () => {
    const lambdas = { ...defaultSpec.lambdas, emotion: 0.3, teacher: 0 }
    expect(ArchitectureSpec.decode({ ...defaultSpec, lambdas }).lambdas).toEqual(lambdas)
    expect(decodeError({ ...defaultSpec, lambdas: { ...lambdas, teacher: 1.5 } })).toContain(`["lambdas"]["teacher"]`)
    expect(decodeError({ ...defaultSpec, lambdas: { ...lambdas, emotion: -1 } })).toContain(`["lambdas"]["emotion"]`)
  })

  it("experts are the ExpertSpec schema of @haemsa/experts, with its checks and its messages", () => {
    expect(ArchitectureSpec.ExpertSpec).toBe(Expert.ExpertSpec)
    const withText = (text: unknown) => ({ ...defaultSpec, experts: { ...defaultSpec.experts, text } })
    const message = decodeError(withText({ kind: "transformer", hidden: 30, heads: 4 }))
    expect(message).toContain("must divide hidden = 30")
    expect(message).toContain(`["experts"]["text"]["heads"]`)
    expect(decodeError(withText({ kind: "tcn", hidden: 8, dropout: 1 }))).toContain("must be in [0, 1)")
    const gelu = { kind: "transformer" as const, hidden: 32, heads: 4, activation: "gelu" as const }
    expect(ArchitectureSpec.decode(withText(gelu)).experts.text).toEqual(gelu)
  })
})
