import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Result } from "effect"
import { TestClock } from "effect/testing"
import * as fs from "node:fs"
import { Checkpoint, Search, Strategy } from "@haemsa/evo-search"
import { recording, removeTempDirs, sphere, tempDir, timeless } from "./Support"

afterAll(removeTempDirs)

const base: Search.SearchOptions = {
  strategy: { dimension: 4, populationSize: 10, elitism: 2 },
  seed: 42,
  generations: 8
}
const run = (options: Search.SearchOptions, layer: ReturnType<typeof recording>["layer"]) =>
  Search.run(options).pipe(Effect.provide(layer))
/**
 * Runs `effect` while driving the TestClock forward: every sleep (an evaluator's delay) wakes in
 * virtual time, earliest deadline first, and `Clock` (the search's seconds) reads virtual time.
 */
const driven = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.join(fiber)
  })
const sum = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0)

describe("Search.run", () => {
  it.effect("improves the sphere function; the population best never worsens with elitism", () =>
    Effect.gen(function*() {
      const evaluator = recording(sphere)
      const result = yield* run({ ...base, generations: 15 }, evaluator.layer)
      expect(result.generations).toHaveLength(15)
      expect(result.stopped).toBe("generations")
      const bests = result.generations.map((g) => g.best)
      for (let i = 1; i < bests.length; i++) expect(bests[i]).toBeLessThanOrEqual(bests[i - 1])
      expect(bests[bests.length - 1]).toBeLessThan(bests[0])
      expect(result.best.fitness).toBe(bests[bests.length - 1])
      expect(result.best.fitness).toBe(sphere(result.best.genome))
    }))

  it.effect("gives the same result for a seed whatever the concurrency and completion order", () =>
    Effect.gen(function*() {
      // the delays (virtual time, TestClock) make evaluations finish out of order under concurrency 5
      const delay = (g: ReadonlyArray<number>) => Math.floor(g[0] * 6)
      const a = yield* run({ ...base, concurrency: 1 }, recording(sphere).layer)
      const b = yield* driven(run({ ...base, concurrency: 5 }, recording(sphere, { delay }).layer))
      const c = yield* driven(run({ ...base, seed: 43, concurrency: 5 }, recording(sphere, { delay }).layer))
      expect(timeless(b)).toEqual(timeless(a))
      expect(timeless(c)).not.toEqual(timeless(a))
    }))

  it.effect("counts every evaluator call once; a key shared by genomes is evaluated once (cache hits)", () =>
    Effect.gen(function*() {
      const coarse = (g: ReadonlyArray<number>) => g.map((x) => Math.round(x * 4) / 4)
      const evaluator = recording((g) => sphere(coarse(g)))
      const result = yield* run({
        ...base,
        strategy: { dimension: 2, populationSize: 12, elitism: 1 },
        generations: 10,
        key: (g) => JSON.stringify(coarse(g))
      }, evaluator.layer)
      const keys = evaluator.calls.map((c) => JSON.stringify(coarse(c.genome)))
      expect(new Set(keys).size).toBe(keys.length)
      expect(result.evaluations).toBe(evaluator.calls.length)
      expect(result.cache_hits).toBeGreaterThan(0)
      expect(sum(result.generations.map((g) => g.evaluations))).toBe(result.evaluations)
      expect(sum(result.generations.map((g) => g.cache_hits))).toBe(result.cache_hits)
      // every candidate is either evaluated or a cache hit: 12 first, then 11 per generation
      result.generations.forEach((g, i) => expect(g.evaluations + g.cache_hits).toBe(i === 0 ? 12 : 11))
    }))

  it.effect("records failed evaluations (typed error, defect, NaN) with NaN fitness and goes on", () =>
    Effect.gen(function*() {
      const outcome = (g: ReadonlyArray<number>) => (g[0] < 0.15 ? "fail" : g[0] > 0.9 ? "die" : g[1] > 0.9 ? "nan" : "ok")
      const evaluator = recording(sphere, { outcome })
      const result = yield* run({ ...base, generations: 6 }, evaluator.layer)
      const failed = evaluator.calls.filter((c) => outcome(c.genome) !== "ok")
      expect(failed.length).toBeGreaterThan(0)
      expect(result.failures).toHaveLength(failed.length)
      expect(sum(result.generations.map((g) => g.failures))).toBe(failed.length)
      for (const f of result.failures) {
        const expected = { fail: "evaluation failed: training diverged", die: "out of memory", nan: "the evaluator returned NaN" }
        expect(f.reason).toBe(expected[outcome(f.genome) as "fail" | "die" | "nan"])
        expect(f.key).toBe(JSON.stringify(f.genome))
      }
      expect(Number.isNaN(result.best.fitness)).toBe(false)
      expect(outcome(result.best.genome)).toBe("ok")
    }))

  it.effect("stops between generations once maxEvaluations is reached", () =>
    Effect.gen(function*() {
      const evaluator = recording(sphere)
      const result = yield* run({ ...base, generations: 100, budget: { maxEvaluations: 25 } }, evaluator.layer)
      expect(result.stopped).toBe("max-evaluations")
      expect(result.evaluations).toBeGreaterThanOrEqual(25)
      expect(result.evaluations - result.generations[result.generations.length - 1].evaluations).toBeLessThan(25)
      expect(evaluator.calls).toHaveLength(result.evaluations)
    }))

  it.effect("stops between generations once maxSeconds is spent (virtual time: each evaluation takes 5 ms of the TestClock)", () =>
    Effect.gen(function*() {
      // one evaluation at a time, 5 ms each: the search's clock reads exactly 5 ms per evaluation
      const evaluator = recording(sphere, { delay: () => 5 })
      const result = yield* driven(run({ ...base, generations: 1000, concurrency: 1, budget: { maxSeconds: 0.1 } }, evaluator.layer))
      expect(result.stopped).toBe("max-seconds")
      expect(result.seconds).toBeGreaterThanOrEqual(0.1)
      expect(result.generations.length).toBeLessThan(1000)
      expect(evaluator.calls).toHaveLength(result.evaluations)
      expect(result.seconds).toBeCloseTo(result.evaluations * 0.005, 9)
      // the budget is checked between generations: it was not spent before the last one started
      const beforeLast = result.evaluations - result.generations[result.generations.length - 1].evaluations
      expect(beforeLast * 0.005).toBeLessThan(0.1)
      // in virtual time the run is the same every time: seed 42 stops after 3 generations, 24 evaluations, 0.12 s
      expect(result.generations.map((g) => g.evaluations)).toEqual([10, 7, 7])
      expect(result.seconds).toBeCloseTo(0.12, 9)
    }))

  it.effect("successive halving: all candidates at level 0, the best ceil(n / eta) promoted, up to full fidelity", () =>
    Effect.gen(function*() {
      const evaluator = recording((g, f) => sphere(g) + 0.01 / (f.epochs ?? 1))
      const fidelity = { levels: [{ epochs: 1, fraction: 0.5 }, { epochs: 2 }, { epochs: 4 }], eta: 2 }
      const result = yield* run({ ...base, strategy: { dimension: 4, populationSize: 9, elitism: 1 }, generations: 5, fidelity }, evaluator.layer)
      for (const call of evaluator.calls) expect(call.fidelity).toEqual({ level: call.fidelity.level, ...fidelity.levels[call.fidelity.level] })
      // candidates per level: 9 -> 5 -> 3 in the first generation, 8 -> 4 -> 2 after (evaluated or cache hits)
      result.generations.forEach((g, i) => expect(g.evaluations + g.cache_hits).toBe(i === 0 ? 17 : 14))
      // a genome reaches a level only after being evaluated at the one below
      const seen = new Set(evaluator.calls.map((c) => `${c.fidelity.level}:${JSON.stringify(c.genome)}`))
      for (const c of evaluator.calls) if (c.fidelity.level > 0) expect(seen.has(`${c.fidelity.level - 1}:${JSON.stringify(c.genome)}`)).toBe(true)
      expect(result.best.level).toBe(2)
      expect(result.best.fitness).toBeCloseTo(sphere(result.best.genome) + 0.0025, 12)
    }))

  it.effect("reports progress after every generation", () =>
    Effect.gen(function*() {
      const reports: Array<{ generation: number; evaluations: number; etaSeconds: number }> = []
      const result = yield* run({ ...base, generations: 4, onProgress: (p) => reports.push(p) }, recording(sphere).layer)
      expect(reports.map((p) => p.generation)).toEqual([1, 2, 3, 4])
      expect(reports.map((p) => p.evaluations)).toEqual(result.generations.map((_, i) => sum(result.generations.slice(0, i + 1).map((g) => g.evaluations))))
      expect(reports[3].etaSeconds).toBe(0)
    }))

  it.effect("rejects invalid options with a ConfigError or OperatorError", () =>
    Effect.gen(function*() {
      const bad: Array<[Partial<Search.SearchOptions>, string]> = [
        [{ generations: 0 }, "ConfigError"],
        [{ concurrency: 0 }, "ConfigError"],
        [{ seed: NaN }, "ConfigError"],
        [{ budget: { maxEvaluations: 0 } }, "ConfigError"],
        [{ budget: { maxSeconds: -1 } }, "ConfigError"],
        [{ fidelity: { eta: 1 } }, "ConfigError"],
        [{ strategy: { dimension: 4, populationSize: 3, selection: { name: "tournament", params: { size: 4 } } } }, "OperatorError"]
      ]
      for (const [options, tag] of bad) {
        const exit = yield* Effect.exit(run({ ...base, ...options }, recording(sphere).layer))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain(tag)
      }
    }))
})

describe("Search.run with a checkpoint", () => {
  const options = (checkpointDir: string): Search.SearchOptions => ({
    ...base,
    generations: 6,
    concurrency: 3,
    checkpointDir,
    fidelity: { levels: [{ epochs: 1 }, { epochs: 3 }], eta: 2 }
  })
  const delay = (g: ReadonlyArray<number>) => 1 + Math.floor(g[1] * 4)

  // live clock: the evaluations sleep for real while the checkpoint is written to disk, and the
  // interrupt comes from outside the Effect runtime
  it.live("interrupted anywhere and rerun, ends like an uninterrupted run and repeats no finished evaluation", () =>
    Effect.gen(function*() {
      const reference = recording(sphere, { delay })
      const expected = yield* run(options(tempDir()), reference.layer)
      for (const stopAt of [1, 7, 23, 40]) {
        const dir = tempDir()
        let fiber: Fiber.Fiber<Search.SearchResult, unknown> | undefined
        // The interrupt comes from outside the evaluator, as a signal or timeout would: raised
        // synchronously inside the evaluator's start, it would reach the search while Effect.forEach
        // is still forking that evaluation, before forEach tracks it, and leave it running unsupervised.
        const interrupt = () => fiber !== undefined && Effect.runFork(Fiber.interrupt(fiber))
        const first = recording(sphere, { delay, onStart: (n) => n === stopAt && setImmediate(interrupt) })
        fiber = Effect.runFork(run(options(dir), first.layer))
        const exit = yield* Fiber.await(fiber)
        expect(Exit.hasInterrupts(exit)).toBe(true)
        const saved = Result.getOrThrow(Checkpoint.decode(fs.readFileSync(Checkpoint.file(dir), "utf8"), "checkpoint"))
        // every finished evaluation of the interrupted run is in the checkpoint
        expect(saved.state.evaluations).toBe(first.calls.length)
        const second = recording(sphere, { delay })
        const resumed = yield* run(options(dir), second.layer)
        expect(timeless(resumed)).toEqual(timeless(expected))
        expect(first.calls.length + second.calls.length).toBe(reference.calls.length)
        for (const c of second.calls) expect(saved.state.cache[`${c.fidelity.level}:${JSON.stringify(c.genome)}`]).toBeUndefined()
      }
    }))

  it.effect("rerunning a finished search returns its result without evaluating anything", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const first = yield* run(options(dir), recording(sphere).layer)
      const again = recording(sphere)
      expect(timeless(yield* run(options(dir), again.layer))).toEqual(timeless(first))
      expect(again.calls).toHaveLength(0)
      // more generations continue the same trajectory
      const longer = yield* run({ ...options(dir), generations: 8 }, recording(sphere).layer)
      const straight = yield* run({ ...options(tempDir()), generations: 8 }, recording(sphere).layer)
      expect(timeless(longer)).toEqual(timeless(straight))
    }))

  it.effect("a corrupt checkpoint is a CheckpointError naming the file, and the file is left alone", () =>
    Effect.gen(function*() {
      for (const text of ["{ not json", "{\"format\":\"@haemsa/evo-search/checkpoint\",\"version\":1}", "", "[]"]) {
        const dir = tempDir()
        const file = Checkpoint.file(dir)
        fs.writeFileSync(file, text)
        const evaluator = recording(sphere)
        const exit = yield* Effect.exit(run(options(dir), evaluator.layer))
        expect(Exit.isFailure(exit)).toBe(true)
        const error = Exit.isFailure(exit) ? exit.cause.reasons.find((r) => r._tag === "Fail") : undefined
        expect(error?._tag === "Fail" && error.error).toMatchObject({ _tag: "CheckpointError", file })
        expect(fs.readFileSync(file, "utf8")).toBe(text)
        expect(evaluator.calls).toHaveLength(0)
      }
    }))

  it.effect("a checkpoint of another configuration is a CheckpointError, never overwritten", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      yield* run({ ...options(dir), generations: 1 }, recording(sphere).layer)
      const before = fs.readFileSync(Checkpoint.file(dir), "utf8")
      for (const change of [{ seed: 7 }, { strategy: { ...base.strategy, elitism: 1 } }, { fidelity: { levels: [{}] } }]) {
        const exit = yield* Effect.exit(run({ ...options(dir), ...change }, recording(sphere).layer))
        expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("CheckpointError")
        expect(fs.readFileSync(Checkpoint.file(dir), "utf8")).toBe(before)
      }
    }))
})

describe("Strategy from a search state", () => {
  it("the checkpointed strategy state continues the same ask stream", () => {
    const strategy = Result.getOrThrow(Strategy.make(base.strategy))
    const asked = strategy.ask(strategy.init(1))
    const restored = JSON.parse(JSON.stringify(asked.state)) as Strategy.StrategyState
    expect(strategy.ask(restored)).toEqual(asked)
  })
})
