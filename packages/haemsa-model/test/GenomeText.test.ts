/**
 * The search's text-features gene: encoded and decoded (`Genome.TEXT_GENE`, only in genomes of
 * `Genome.TEXT_GENE_COUNT` genes), the search space with and without word vectors (a search without
 * them keeps its 24-gene layout, decoding and cache keys, so a seed gives the search it gave), and on
 * mosi-real with a small vector file written by the test: the data loaded with both text features,
 * a genome choosing the vectors trained on them (in process and in a worker thread alike).
 */
import type { Dataset } from "@haemsa/datasets"
import { DatasetLoader } from "@haemsa/datasets"
import { FitnessEvaluator } from "@haemsa/evo-search"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as TextFeatures from "../src/model/TextFeatures"
import * as Environment from "../src/Environment"
import * as Genome from "../src/search/Genome"
import * as SearchEvaluator from "../src/search/SearchEvaluator"
import { MOSI_REAL, tempCacheFolder, tinySpec, transcriptWords } from "./Support"

const gene = fc.double({ min: 0, max: 1, noNaN: true })
const genome = fc.array(gene, { minLength: Genome.GENE_COUNT, maxLength: Genome.GENE_COUNT })
const ALL: ReadonlyArray<Dataset.Modality> = ["text", "audio", "vision"]
const VECTORS: TextFeatures.Choice = { kind: "vectors", source: "v.txt", lexicon: true }

describe("Genome: the text-features gene", () => {
  it("a search without it keeps the 24-gene layout: the default architecture's genome as it always was", () => {
    expect(Genome.GENE_COUNT).toBe(24)
    expect(Genome.geneCount()).toBe(24)
    expect(Genome.geneCount({ textFeatures: true })).toBe(25)
    // pinned: a change of the layout changes every seeded search
    expect(Genome.encode(ArchitectureSpec.defaultSpec)).toEqual([
      0.75, 0.75, 0.75, 0.125, 0.625, 0.125, 0.375, 0.125, 0.375, 0.125, 0.625, 0.25, 0.8333333333333334, 0.625, 0.375, 0.25, 0.75,
      0.375, 0.625, 0.22727272727272727, 0.5, 0.5, 0.5, 0.5
    ])
  })

  it("encodes and decodes the choice after the architecture's genes; the architecture decodes as without it", () => {
    fc.assert(
      fc.property(genome, gene, (g, t) => {
        const withText = [...g, t]
        expect(Genome.decode(withText, ArchitectureSpec.defaultSpec, { textFeatures: true })).toEqual(Genome.decode(g))
        expect(Genome.decodeText(withText)).toBe(t >= 0.5 ? "vectors" : "tokens")
      }),
      { numRuns: 200 }
    )
    for (const text of Genome.TEXT_FEATURES) {
      const g = Genome.encode(ArchitectureSpec.defaultSpec, text)
      expect(g).toHaveLength(Genome.TEXT_GENE_COUNT)
      expect(g.slice(0, Genome.GENE_COUNT)).toEqual(Genome.encode(ArchitectureSpec.defaultSpec))
      expect(Genome.decodeText(g)).toBe(text)
      expect(Genome.decode(g, ArchitectureSpec.defaultSpec, { textFeatures: true })).toEqual(ArchitectureSpec.defaultSpec)
    }
  })

  it("a genome of the other length, or a text gene outside [0, 1], is a GenomeError", () => {
    const g = Genome.encode(ArchitectureSpec.defaultSpec)
    expect(() => Genome.decode([...g, 0.7])).toThrow(/expected 24 genes, got 25/)
    expect(() => Genome.decode(g, ArchitectureSpec.defaultSpec, { textFeatures: true })).toThrow(/expected 25 genes, got 24/)
    expect(() => Genome.decodeText(g)).toThrow(Genome.GenomeError)
    expect(() => Genome.decodeText([...g, 1.5])).toThrow(/gene 24 is 1.5/)
  })
})

describe("SearchEvaluator.makeSpace", () => {
  it("without word vectors (none, or tokens): 24 genes, text always tokens, the keys of old", () => {
    for (const space of [SearchEvaluator.makeSpace(ALL), SearchEvaluator.makeSpace(ALL, ArchitectureSpec.defaultSpec, TextFeatures.TOKENS)]) {
      expect(space.genes).toBe(Genome.GENE_COUNT)
      expect(space.textFeatures).toBeUndefined()
      fc.assert(
        fc.property(genome, (g) => {
          expect(space.decode(g)).toEqual(Genome.decode(g, ArchitectureSpec.defaultSpec, { modalities: ALL }))
          expect(space.key(g)).toBe(Genome.canonicalKey(Genome.decode(g)))
          expect(space.text(g)).toBe("tokens")
        }),
        { numRuns: 50 }
      )
    }
  })

  it("with word vectors: 25 genes; a genome choosing the vectors has its own cache key, one choosing tokens the architecture's", () => {
    const space = SearchEvaluator.makeSpace(ALL, ArchitectureSpec.defaultSpec, VECTORS)
    expect(space.genes).toBe(Genome.TEXT_GENE_COUNT)
    expect(space.textFeatures).toEqual(VECTORS)
    const tokens = Genome.encode(ArchitectureSpec.defaultSpec, "tokens")
    const vectors = Genome.encode(ArchitectureSpec.defaultSpec, "vectors")
    expect(space.text(tokens)).toBe("tokens")
    expect(space.text(vectors)).toBe("vectors")
    expect(space.key(tokens)).toBe(Genome.canonicalKey(ArchitectureSpec.defaultSpec))
    expect(space.key(vectors)).toBe(`${Genome.canonicalKey(ArchitectureSpec.defaultSpec)} text:vectors v.txt + lexicon`)
  })
})

describe("a search choosing the text features on mosi-real", () => {
  let root: string
  let options: SearchEvaluator.EvaluatorOptions
  const folder = tempCacheFolder("haemsa-genome-text-")

  beforeAll(async () => {
    root = folder.make()
    const plain = await Effect.runPromise(DatasetLoader.load(MOSI_REAL))
    const words = [...transcriptWords(plain.splits.train)].sort()
    const file = path.join(root, "vectors.txt")
    fs.writeFileSync(file, words.map((w, i) => `${w} ${Math.sin(i).toFixed(4)} ${Math.cos(i).toFixed(4)}`).join("\n") + "\n")
    options = {
      source: MOSI_REAL,
      seed: 2,
      base: tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] }),
      textFeatures: { kind: "vectors", source: file, lexicon: true }
    }
  }, 60_000)
  afterAll(folder.restore)

  it("loads the data with both text features, once each", async () => {
    const data = await Effect.runPromise(SearchEvaluator.loadSearchData(options).pipe(Effect.provide(DatasetLoader.DatasetLoader.layer)))
    expect(data.tokens.info.features.text!.dim).toBe(4)
    expect(data.vectors!.info.features.text!.dim).toBe(2 + 4)
    expect(data.vectors!.info.text).toMatchObject({ kind: "vectors", lexicon: true })
    expect(SearchEvaluator.dataFor(data, "vectors")).toBe(data.vectors)
    expect(SearchEvaluator.dataFor(data, "tokens")).toBe(data.tokens)
    const plain = await Effect.runPromise(
      SearchEvaluator.loadSearchData({ ...options, textFeatures: TextFeatures.TOKENS }).pipe(Effect.provide(DatasetLoader.DatasetLoader.layer))
    )
    expect(plain.vectors).toBeUndefined()
  }, 60_000)

  it("a genome choosing the vectors trains on them: another fitness than with tokens, the same in a worker thread", async () => {
    const fidelity = { level: 0, epochs: 1, fraction: 0.1 }
    const genomes = (["tokens", "vectors"] as const).map((t) => Genome.encode(options.base!, t))
    const probe = Effect.gen(function*() {
      const evaluator = yield* FitnessEvaluator.FitnessEvaluator
      const space = yield* SearchEvaluator.SearchSpace
      expect(space.genes).toBe(Genome.TEXT_GENE_COUNT)
      return yield* Effect.forEach(genomes, (g) => evaluator.evaluate(g, fidelity))
    })
    const here = await Effect.runPromise(
      probe.pipe(Effect.provide(SearchEvaluator.layerInProcess(options).pipe(Layer.provideMerge(Environment.test))))
    )
    expect(here[0]).not.toBe(here[1])
    const pool = await Effect.runPromise(
      probe.pipe(Effect.provide(SearchEvaluator.layerWorkers({ ...options, workers: 1, backend: "cpu" })), Effect.scoped)
    )
    expect(pool).toEqual(here)
  }, 180_000)
})
