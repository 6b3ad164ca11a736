/**
 * Speculation: the guesses of the evaluations a search asks for next, and `Search.run` with
 * `speculate` (idle slots start them early): the same result, counters and checkpoint as without,
 * with the next level's or generation's evaluations started while the last ones of a level still run.
 */
import { Effect, Layer, Result } from "effect"
import { afterAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import type { Genome } from "@haemsa/evo-search"
import { Fidelity, FitnessEvaluator, Search, SearchState, Speculation, Strategy } from "@haemsa/evo-search"
import { removeTempDirs, sphere, tempDir, timeless } from "./Support"

afterAll(removeTempDirs)

const strategy = Result.getOrThrow(Strategy.make({ dimension: 3, populationSize: 6, elitism: 1 }))
const fidelity = Result.getOrThrow(Fidelity.make({ levels: [{ epochs: 1 }, { epochs: 2 }, { epochs: 3 }], eta: 3 }))
const key = (g: Genome.Genome) => JSON.stringify(g)
const fitness = (g: Genome.Genome, level: number) => sphere(g) + 0.1 / (level + 1)

/** The context of {@link Speculation.guesses}, with the results and running evaluations given. */
const context = (known: ReadonlyMap<string, number>, running: ReadonlySet<string>): Speculation.Context => ({
  strategy,
  fidelity,
  key,
  continues: (s) => s.strategy.generation < 3,
  known: (k) => known.get(k),
  running: (k) => running.has(k)
})

/** Records the results of the current level's evaluations (all of them) and finishes the level. */
const finish = (s: SearchState.SearchState): SearchState.SearchState => {
  let next = s
  const level = s.round!.level
  for (const i of SearchState.toEvaluate(s)) next = SearchState.record(next, i, fitness(SearchState.candidates(s)[i], level))
  return Result.getOrThrow(SearchState.finishLevel(next, strategy, fidelity, key))
}

describe("Speculation.guesses", () => {
  const start = SearchState.startGeneration(SearchState.initial(strategy.init(3)), strategy, key)
  const round = start.round!
  const genomes = SearchState.candidates(start)
  const at = (level: number, i: number) => SearchState.cacheKey(level, round.keys[i])

  it("none while the current level has evaluations the search has not started, or too few results to choose the promotion", () => {
    expect(Speculation.guesses(start, context(new Map(), new Set([at(0, 0)])))).toEqual([])
    // every evaluation running and no result: the promotion would be chosen by the placeholders
    expect(Speculation.guesses(start, context(new Map(), new Set(round.keys.map((_, i) => at(0, i)))))).toEqual([])
  })

  it("the next level's promotion among the finished evaluations, when the running ones are ranked last", () => {
    // five of six finished (as guesses), the last one running: the best two of the five go on
    const known = new Map(round.keys.slice(0, 5).map((_, i) => [at(0, i), fitness(genomes[i], 0)] as const))
    const guesses = Speculation.guesses(start, context(known, new Set([at(0, 5)])))
    const best = [0, 1, 2, 3, 4].sort((a, b) => fitness(genomes[a], 0) - fitness(genomes[b], 0)).slice(0, 2).sort((a, b) => a - b)
    expect(guesses).toEqual(best.map((i) => ({ level: 1, key: round.keys[i], genome: genomes[i], running: false })))
    // a guess started already is still listed, as running: it should go on
    const started = Speculation.guesses(start, context(known, new Set([at(0, 5), at(1, best[0])])))
    expect(started).toEqual(best.map((i, j) => ({ level: 1, key: round.keys[i], genome: genomes[i], running: j === 0 })))
    // what the search asks for when the running one is indeed worse
    const s = finish(start)
    if (fitness(genomes[5], 0) > Math.max(...best.map((i) => fitness(genomes[i], 0)))) {
      expect(SearchState.toEvaluate(s).map((i) => s.round!.keys[i])).toEqual(best.map((i) => round.keys[i]))
    }
  })

  it("at the top level, the next generation: what the strategy asks for when the new best does not beat the incumbent", () => {
    const top = finish(finish(start))
    expect(top.round!.level).toBe(2)
    const running = new Set(SearchState.toEvaluate(top).map((i) => SearchState.cacheKey(2, top.round!.keys[i])))
    const guesses = Speculation.guesses(top, context(new Map(), running))
    // the first generation has no incumbent: its top result cannot change the next one
    const next = SearchState.startGeneration(finish(top), strategy, key)
    expect(guesses).toEqual(
      SearchState.toEvaluate(next).map((i) => ({ level: 0, key: next.round!.keys[i], genome: SearchState.candidates(next)[i], running: false }))
    )
    expect(guesses.length).toBeGreaterThan(0)
    // no generation after the last one
    const last = { ...top, strategy: { ...top.strategy, generation: 2 } }
    expect(Speculation.guesses(last, context(new Map(), running))).toEqual([])
  })
})

describe("Search.run with speculate", () => {
  /** An evaluator that logs when each evaluation starts and ends; some genomes take longer. */
  const timed = () => {
    const log: Array<{ readonly event: "start" | "end"; readonly level: number; readonly key: string }> = []
    const layer = Layer.succeed(FitnessEvaluator.FitnessEvaluator, {
      evaluate: (genome, f) =>
        Effect.gen(function*() {
          log.push({ event: "start", level: f.level, key: key(genome) })
          yield* Effect.sleep(2 + Math.round(genome[0] * 10) * (f.level + 1))
          return fitness(genome, f.level)
        }).pipe(Effect.ensuring(Effect.sync(() => log.push({ event: "end", level: f.level, key: key(genome) }))))
    })
    return { log, layer }
  }
  const options = (checkpointDir: string, speculate: boolean): Search.SearchOptions => ({
    strategy: { dimension: 3, populationSize: 6, elitism: 1 },
    seed: 11,
    generations: 4,
    concurrency: 2,
    key,
    fidelity: { levels: [{ epochs: 1 }, { epochs: 2 }, { epochs: 3 }], eta: 3 },
    checkpointDir,
    speculate
  })

  it.live("gives the result, counters and checkpoint of a search without it, and starts evaluations before the level before them ends", () =>
    Effect.gen(function*() {
      const [plainDir, speculativeDir] = [tempDir(), tempDir()]
      const plain = timed()
      const speculative = timed()
      const a = yield* Search.run(options(plainDir, false)).pipe(Effect.provide(plain.layer))
      const b = yield* Search.run(options(speculativeDir, true)).pipe(Effect.provide(speculative.layer))
      const { speculation, ...same } = timeless(b)
      expect(same).toEqual(timeless(a))
      expect(a.speculation).toBeUndefined()
      expect(speculation!.used).toBeGreaterThan(0)
      expect(speculation!.started).toBeGreaterThanOrEqual(speculation!.used)
      const state = (dir: string) => {
        const { seconds: _seconds, ...rest } = JSON.parse(fs.readFileSync(path.join(dir, "checkpoint.json"), "utf8")).state
        return rest
      }
      expect(state(speculativeDir)).toEqual(state(plainDir))
      // without speculation a level starts only once the one before it ended
      const overlaps = (log: ReturnType<typeof timed>["log"]) => {
        let count = 0
        const open = new Map<number, number>()
        for (const e of log) {
          if (e.event === "start" && [...open].some(([level, n]) => n > 0 && level !== e.level)) count++
          open.set(e.level, (open.get(e.level) ?? 0) + (e.event === "start" ? 1 : -1))
        }
        return count
      }
      expect(overlaps(plain.log)).toBe(0)
      expect(overlaps(speculative.log)).toBeGreaterThan(0)
      // never more than `concurrency` evaluations at a time
      let now = 0
      let most = 0
      for (const e of speculative.log) {
        now += e.event === "start" ? 1 : -1
        most = Math.max(most, now)
      }
      expect(most).toBe(2)
    }))
})
