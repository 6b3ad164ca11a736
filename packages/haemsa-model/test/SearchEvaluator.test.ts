import { Errors as SearchErrors, FitnessEvaluator } from "@haemsa/evo-search"
import type { Fidelity } from "@haemsa/evo-search"
import { Effect, Layer } from "effect"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Genome from "../src/search/Genome"
import * as Environment from "../src/Environment"
import * as SearchEvaluator from "../src/search/SearchEvaluator"
import { FIXTURES, MOSI_REAL } from "./Support"

/** Tiny synthetic data: every evaluation trains in well under a second on the cpu backend. */
const OPTIONS: SearchEvaluator.EvaluatorOptions = {
  source: "synthetic",
  loadOptions: { synthetic: { seed: 3, sizes: { train: 40, valid: 16, test: 16 }, steps: 6, dims: { text: 12, audio: 4, vision: 6 } } },
  seed: 5,
  batchSize: 16
}

/** Genomes with different experts (lstm, transformer, tcn), subsets and rates. */
const GENOMES: ReadonlyArray<ReadonlyArray<number>> = [
  Genome.encode(ArchitectureSpec.defaultSpec),
  [0.9, 0.8, 0.1, 0.3, 0.2, 0.6, 0.3, 0.9, 0.1, 0.55, 0.3, 0.2, 0.7, 0.3, 0.6, 0.8, 0.2, 0.5, 0.4, 0.3, 0.7, 0.5, 0.6, 0.1],
  [0.2, 0.1, 0.7, 0.8, 0.1, 0.4, 0.5, 0.35, 0.4, 0.1, 0.2, 0.6, 0.1, 0.1, 0.1, 0.1, 0.9, 0.1, 0.1, 0.6, 0.4, 0.9, 0.2, 0.8]
]
const FIDELITY = { level: 0, epochs: 2, fraction: 0.5 }

/** Evaluates every genome, the retraining of one architecture, and an invalid genome through a layer. */
const probe = Effect.gen(function*() {
  const evaluator = yield* FitnessEvaluator.FitnessEvaluator
  const space = yield* SearchEvaluator.SearchSpace
  const retrainer = yield* SearchEvaluator.Retrainer
  const fitness = yield* Effect.forEach(GENOMES, (g) => evaluator.evaluate(g, FIDELITY), { concurrency: "unbounded" })
  const retrained = yield* retrainer.retrain(space.decode(GENOMES[1]), 2)
  // another training seed than the search's (the selection among finalists)
  const reseeded = yield* retrainer.retrain(space.decode(GENOMES[1]), 2, "tokens", 8)
  const invalid = yield* Effect.flip(evaluator.evaluate([0.5, 0.5], FIDELITY))
  return {
    fitness,
    retrained: { ...retrained, seconds: 0 },
    reseeded: { ...reseeded, seconds: 0 },
    invalid,
    modalities: space.modalities,
    keys: GENOMES.map(space.key)
  }
})

const inProcess = SearchEvaluator.layerInProcess(OPTIONS).pipe(Layer.provideMerge(Environment.test))

describe("SearchEvaluator", () => {
  it("the worker pool gives the same fitness and retraining metrics as the in-process evaluator (cpu backend)", async () => {
    const local = await Effect.runPromise(probe.pipe(Effect.provide(inProcess)))
    const pooled = await Effect.runPromise(probe.pipe(Effect.provide(SearchEvaluator.layerWorkers({ ...OPTIONS, workers: 2, backend: "cpu" }))))

    expect(local.fitness.every((f) => Number.isFinite(f) && f > 0)).toBe(true)
    expect(new Set(local.fitness).size).toBe(GENOMES.length)
    expect(pooled.fitness).toEqual(local.fitness)
    expect(pooled.retrained).toEqual(local.retrained)
    expect(pooled.reseeded).toEqual(local.reseeded)
    expect(local.reseeded.objective).not.toBe(local.retrained.objective)
    expect(local.retrained.epochs).toBe(2)
    expect(pooled.modalities).toEqual(["text", "audio", "vision"])
    expect(pooled.keys).toEqual(local.keys)
    for (const error of [local.invalid, pooled.invalid]) {
      expect(error).toBeInstanceOf(SearchErrors.EvaluationError)
      expect(error.message).toMatch(/^evaluation failed: genome: expected 24 genes, got 2$/)
    }
  })

  it("a candidate promoted to more epochs on all the train split continues its training: the same fitness as trained from the start, in process and on the pool", async () => {
    const short = { level: 0, epochs: 2 }
    const long = { level: 1, epochs: 4 }
    /** Fitness at 4 epochs (after 2 epochs, or the same at a fraction of the data, when asked) and what was reused. */
    const promoted = (first?: Fidelity.Fidelity) =>
      Effect.gen(function*() {
        const evaluator = yield* FitnessEvaluator.FitnessEvaluator
        const reuse = yield* SearchEvaluator.Reuse
        const before = first === undefined ? undefined : yield* Effect.forEach(GENOMES.slice(0, 2), (g) => evaluator.evaluate(g, first), { concurrency: "unbounded" })
        const after = yield* Effect.forEach(GENOMES.slice(0, 2), (g) => evaluator.evaluate(g, long), { concurrency: "unbounded" })
        return { before, after, reused: reuse.stats() }
      })
    const fresh = await Effect.runPromise(promoted().pipe(Effect.provide(inProcess)))
    expect(fresh.reused).toEqual({ evaluations: 0, epochs: 0 })
    const continued = await Effect.runPromise(promoted(short).pipe(Effect.provide(inProcess)))
    expect(continued.after).toEqual(fresh.after)
    expect(continued.reused).toEqual({ evaluations: 2, epochs: 4 })
    // the shorter training is its own fitness: the best of its 2 epochs, never better than the best of 4
    continued.before!.forEach((f, i) => expect(f).toBeGreaterThanOrEqual(fresh.after[i]))
    const pooled = await Effect.runPromise(promoted(short).pipe(Effect.provide(SearchEvaluator.layerWorkers({ ...OPTIONS, workers: 2, backend: "cpu" }))))
    expect(pooled.after).toEqual(fresh.after)
    expect(pooled.reused).toEqual({ evaluations: 2, epochs: 4 })
    // a level on a fraction of the train split trains another subset: nothing to continue
    const fraction = await Effect.runPromise(promoted({ level: 0, epochs: 2, fraction: 0.5 }).pipe(Effect.provide(inProcess)))
    expect(fraction.after).toEqual(fresh.after)
    expect(fraction.reused).toEqual({ evaluations: 0, epochs: 0 })
  })

  it("a pool whose workers cannot load the data fails to start with a WorkerPoolError naming the source", async () => {
    const missing = path.join(FIXTURES, "no-such-file.pkl")
    const error = await Effect.runPromise(
      Effect.flip(Effect.void.pipe(Effect.provide(SearchEvaluator.layerWorkers({ ...OPTIONS, source: missing, workers: 1, backend: "cpu" }))))
    )
    expect(error).toBeInstanceOf(SearchEvaluator.WorkerPoolError)
    expect(error.message).toContain("no-such-file.pkl")
  })

  it("on data without vision (mosi-real) the subsets choose among text and audio only", async () => {
    const space = await Effect.runPromise(
      Effect.gen(function*() {
        return yield* SearchEvaluator.SearchSpace
      }).pipe(
        Effect.provide(SearchEvaluator.layerInProcess({ source: MOSI_REAL }).pipe(Layer.provideMerge(Environment.test)))
      )
    )
    expect(space.modalities).toEqual(["text", "audio"])
    const visionOnly = Genome.encode({ ...ArchitectureSpec.defaultSpec, modalities: ["vision"] })
    expect(space.decode(visionOnly).modalities).toHaveLength(1)
    expect(space.decode(visionOnly).modalities).not.toContain("vision")
    expect(space.decode(new Array(Genome.GENE_COUNT).fill(1)).modalities).toEqual(["text", "audio"])
    expect(space.key(visionOnly)).toBe(Genome.canonicalKey(space.decode(visionOnly)))
  })
})
