import type { Dataset } from "@haemsa/datasets"
import { Expert } from "@haemsa/experts"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Genome from "../src/search/Genome"

const gene = fc.double({ min: 0, max: 1, noNaN: true })
const genome = fc.array(gene, { minLength: Genome.GENE_COUNT, maxLength: Genome.GENE_COUNT })
const allowed = fc.subarray(["text", "audio", "vision"] as Array<Dataset.Modality>, { minLength: 1 })

describe("Genome.decode", () => {
  it("every genome decodes to a spec that ArchitectureSpec.decode accepts, with a non-empty modality subset", () => {
    fc.assert(
      fc.property(genome, (g) => {
        const spec = Genome.decode(g)
        expect(ArchitectureSpec.decode(spec)).toEqual(spec)
        expect(spec.modalities.length).toBeGreaterThan(0)
      }),
      { numRuns: 300 }
    )
  })

  it("chooses modalities only among the allowed ones, never none", () => {
    fc.assert(
      fc.property(genome, allowed, (g, modalities) => {
        const spec = Genome.decode(g, ArchitectureSpec.defaultSpec, { modalities })
        expect(spec.modalities.length).toBeGreaterThan(0)
        for (const m of spec.modalities) expect(modalities).toContain(m)
      })
    )
  })

  it("the modality genes: >= 0.5 means in the subset; with none, the largest gene wins", () => {
    const g = Genome.encode(ArchitectureSpec.defaultSpec)
    const withModalities = (t: number, a: number, v: number) => {
      const copy = g.slice()
      copy.splice(Genome.GENES.modalities, 3, t, a, v)
      return Genome.decode(copy).modalities
    }
    expect(withModalities(0.5, 0.2, 0.9)).toEqual(["text", "vision"])
    expect(withModalities(0.1, 0.4, 0.3)).toEqual(["audio"])
    expect(withModalities(0, 0, 0)).toEqual(["text"])
    expect(Genome.decode(Genome.encode({ ...ArchitectureSpec.defaultSpec, modalities: ["vision"] }), ArchitectureSpec.defaultSpec, {
      modalities: ["text", "audio"]
    }).modalities).toHaveLength(1)
  })

  it("maps a gene to the entry floor(g n) of its list (1 picks the last entry)", () => {
    expect(Genome.pick([10, 20, 30], 0)).toBe(10)
    expect(Genome.pick([10, 20, 30], 0.34)).toBe(20)
    expect(Genome.pick([10, 20, 30], 0.999)).toBe(30)
    expect(Genome.pick([10, 20, 30], 1)).toBe(30)
    const low = Genome.decode(new Array(Genome.GENE_COUNT).fill(0))
    const high = Genome.decode(new Array(Genome.GENE_COUNT).fill(1))
    expect([low.learningRate, high.learningRate]).toEqual([1e-4, 1e-2])
    expect([low.fusion.depth, high.fusion.depth]).toEqual([1, 4])
    expect([low.tower.depth, high.tower.depth]).toEqual([0, 3])
    expect(high.experts.text).toEqual({ kind: "tcn", hidden: 128, layers: 2 })
  })

  it("the encoder kinds are those of @haemsa/experts, in order", () => {
    expect(Genome.KINDS).toBe(Expert.ExpertKind.literals)
    expect(Genome.KINDS).toEqual(["meanpool", "lstm", "transformer", "tcn"])
  })

  it("the teacher weight follows the classification gene as in a spec without one: max(lambda_cls, 0.1)", () => {
    const base = { ...ArchitectureSpec.defaultSpec, lambdas: { ...ArchitectureSpec.defaultSpec.lambdas, teacher: 0.9, emotion: 0.4 } }
    fc.assert(
      fc.property(genome, (g) => {
        const { lambdas } = Genome.decode(g, base)
        expect(lambdas.teacher).toBe(Math.max(lambdas.classification, 0.1))
        expect(lambdas.emotion).toBe(0.4)
      }),
      { numRuns: 50 }
    )
    const g = Genome.encode(ArchitectureSpec.defaultSpec)
    const withClassification = (value: number) => {
      const copy = g.slice()
      copy[Genome.GENES.classification] = Genome.geneOf(Genome.LAMBDA, value)
      return Genome.decode(copy).lambdas
    }
    expect([0, 0.1, 0.2, 0.5, 1].map((c) => withClassification(c).teacher)).toEqual([0.1, 0.1, 0.2, 0.5, 1])
  })

  it("a transformer expert keeps the base expert's activation; the default spec round-trips", () => {
    const base = { ...ArchitectureSpec.defaultSpec, experts: { ...ArchitectureSpec.defaultSpec.experts, text: { kind: "transformer" as const, hidden: 64, activation: "gelu" as const } } }
    expect(Genome.decode(Genome.encode(base), base).experts.text).toEqual({ kind: "transformer", hidden: 64, heads: 4, activation: "gelu" })
    expect(Genome.decode(Genome.encode(ArchitectureSpec.defaultSpec))).toEqual(ArchitectureSpec.defaultSpec)
  })

  it("takes the fields no gene controls from the base spec", () => {
    const base: ArchitectureSpec.ArchitectureSpec = { ...ArchitectureSpec.defaultSpec, weightDecay: 0.01, temperature: 3, embedding: 32 }
    fc.assert(
      fc.property(genome, (g) => {
        const spec = Genome.decode(g, base)
        expect([spec.model, spec.weightDecay, spec.temperature, spec.embedding, spec.lambdas.regression]).toEqual([
          base.model,
          0.01,
          3,
          32,
          base.lambdas.regression
        ])
        expect(spec.fusion.sharedMode).toBe(base.fusion.sharedMode)
      }),
      { numRuns: 50 }
    )
  })

  it("rejects a genome of the wrong length or with a gene outside [0, 1] with a GenomeError naming it", () => {
    const ok = Genome.encode(ArchitectureSpec.defaultSpec)
    const cases: Array<[ReadonlyArray<number>, RegExp]> = [
      [ok.slice(1), /expected 24 genes, got 23/],
      [[...ok, 0.5], /expected 24 genes, got 25/],
      [ok.map((x, i) => (i === 5 ? NaN : x)), /gene 5 is NaN/],
      [ok.map((x, i) => (i === 0 ? 1.5 : x)), /gene 0 is 1.5/],
      [ok.map((x, i) => (i === 23 ? -0.1 : x)), /gene 23 is -0.1/]
    ]
    for (const [g, message] of cases) {
      let error: unknown
      try {
        Genome.decode(g)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(Genome.GenomeError)
      expect((error as Genome.GenomeError).message).toMatch(message)
    }
    expect(() => Genome.decode(ok, ArchitectureSpec.defaultSpec, { modalities: [] })).toThrow(Genome.GenomeError)
  })
})

describe("Genome.encode", () => {
  it("round-trips the default architecture", () => {
    expect(Genome.decode(Genome.encode(ArchitectureSpec.defaultSpec))).toEqual(ArchitectureSpec.defaultSpec)
  })

  it("is an exact inverse on decoded specs: decode(encode(decode(g))) = decode(g)", () => {
    fc.assert(
      fc.property(genome, (g) => {
        const spec = Genome.decode(g)
        const again = Genome.encode(spec)
        expect(again).toHaveLength(Genome.GENE_COUNT)
        expect(Genome.decode(again)).toEqual(spec)
      }),
      { numRuns: 200 }
    )
  })

  it("maps values off the grid to the nearest grid value", () => {
    const spec = { ...ArchitectureSpec.defaultSpec, learningRate: 0.0012, dropout: 0.12, hidden: 50 }
    const decoded = Genome.decode(Genome.encode(spec))
    expect([decoded.learningRate, decoded.dropout, decoded.hidden]).toEqual([1e-3, 0.1, 64])
  })
})

describe("Genome.canonicalKey", () => {
  /** The same object with its keys inserted in reverse order, at every level. */
  const reversed = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(reversed)
      : value !== null && typeof value === "object"
      ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]))
      : value

  it("is stable: the same for the same architecture, whatever the key order; always valid JSON", () => {
    fc.assert(
      fc.property(genome, (g) => {
        const spec = Genome.decode(g)
        const key = Genome.canonicalKey(spec)
        expect(Genome.canonicalKey(Genome.decode(g.slice()))).toBe(key)
        expect(Genome.canonicalKey(reversed(spec) as ArchitectureSpec.ArchitectureSpec)).toBe(key)
        expect(() => JSON.parse(key)).not.toThrow()
      }),
      { numRuns: 100 }
    )
    expect(Genome.canonicalKey(ArchitectureSpec.defaultSpec)).toMatchInlineSnapshot(
      `"{"attention":true,"dropout":0.1,"embedding":64,"experts":{"audio":{"dropout":0,"hidden":32,"kind":"meanpool","layers":1},"text":{"dropout":0,"hidden":64,"kind":"meanpool","layers":1},"unified":{"dropout":0,"hidden":64,"kind":"meanpool","layers":1},"vision":{"dropout":0,"hidden":32,"kind":"meanpool","layers":1}},"fusion":{"depth":2,"pool":"mean","sharedMode":"evolve"},"gamma":0.1,"hidden":64,"lambdas":{"classification":0.2,"regression":1,"unimodal":0.2},"learningRate":0.001,"modalities":["text","audio","vision"],"modalityDropout":0.1,"modalityGates":{"anchor":"text","init":0.1,"scale":10},"model":"haemsa","teacherGradient":false,"temperature":2,"tower":{"depth":1,"width":64},"weightDecay":0}"`
    )
  })

  it("is the same for specs that build the same model, and differs otherwise", () => {
    const base = { ...ArchitectureSpec.defaultSpec, modalities: ["text", "vision"] as ArchitectureSpec.ArchitectureSpec["modalities"] }
    const key = Genome.canonicalKey(base)
    const same = (spec: ArchitectureSpec.ArchitectureSpec) => expect(Genome.canonicalKey(spec)).toBe(key)
    const different = (spec: ArchitectureSpec.ArchitectureSpec) => expect(Genome.canonicalKey(spec)).not.toBe(key)
    // an unused expert, a default written out, a field the kind ignores, the modality order
    same({ ...base, experts: { ...base.experts, audio: { kind: "lstm", hidden: 128 } } })
    same({ ...base, experts: { ...base.experts, text: { kind: "meanpool", hidden: 64, layers: 1, heads: 2, kernel: 5 } } })
    same({ ...base, modalities: ["vision", "text"] })
    different({ ...base, learningRate: 2e-3 })
    different({ ...base, modalities: ["text", "audio", "vision"] })
    different({ ...base, experts: { ...base.experts, text: { kind: "transformer", hidden: 64 } } })
    different({ ...base, experts: { ...base.experts, unified: { kind: "meanpool", hidden: 64, layers: 2 } } })
    // modality gates: the default scale written out is the same; other gates differ; none where the network has none
    same({ ...base, modalityGates: { anchor: "text", init: 0.1, scale: 10 } })
    different({ ...base, modalityGates: { anchor: "text", init: 0.3 } })
    different({ ...base, modalityGates: undefined })
    const textOnly = { ...base, modalities: ["text"] as ArchitectureSpec.ArchitectureSpec["modalities"] }
    expect(Genome.canonicalKey(textOnly)).toBe(Genome.canonicalKey({ ...textOnly, modalityGates: undefined }))
    const lateFusion = { ...base, model: "late-fusion" as const }
    expect(Genome.canonicalKey(lateFusion)).toBe(Genome.canonicalKey({ ...lateFusion, modalityGates: { anchor: "audio", init: 0.5 } }))
    // a transformer's activation: relu is the default, gelu another model
    const transformer = { kind: "transformer" as const, hidden: 64 }
    const withText = (text: ArchitectureSpec.ExpertSpec) => Genome.canonicalKey({ ...base, experts: { ...base.experts, text } })
    expect(withText({ ...transformer, activation: "relu" })).toBe(withText(transformer))
    expect(withText({ ...transformer, activation: "gelu" })).not.toBe(withText(transformer))
    // the emotion and teacher weights: as a spec without them decodes, the same; other weights differ
    same({ ...base, lambdas: { ...base.lambdas, emotion: base.lambdas.regression, teacher: Math.max(base.lambdas.classification, 0.1) } })
    different({ ...base, lambdas: { ...base.lambdas, teacher: 0.5 } })
    different({ ...base, lambdas: { ...base.lambdas, emotion: 0.5 } })
  })
})
