import { Errors as SearchErrors } from "@haemsa/evo-search"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { Progress } from "../src/cli/Progress"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as SearchEvaluator from "../src/search/SearchEvaluator"
import * as Selection from "../src/search/Selection"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-selection-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const finalist = (valid_objective: number) => ({ mean: { valid_objective, valid: {}, test: {} } })

describe("Selection.choose", () => {
  it("takes the lowest mean validation objective, the first of equals", () => {
    expect(Selection.choose([0.95, 0.94, 0.96].map(finalist))).toBe(1)
    expect(Selection.choose([0.94, 0.93, 0.93].map(finalist))).toBe(1)
    expect(Selection.choose([0.9].map(finalist))).toBe(0)
  })

  it("never chooses a finalist without a mean (a failed training) or with a NaN one; undefined when none has one", () => {
    expect(Selection.choose([{}, finalist(0.97), finalist(NaN), finalist(0.95)])).toBe(3)
    expect(Selection.choose([finalist(0.97), {}])).toBe(0)
    expect(Selection.choose([{}, finalist(NaN)])).toBeUndefined()
  })
})

/** Two candidates: the default architecture and a text-only one. */
const DEFAULT: Selection.Candidate = { architecture: ArchitectureSpec.defaultSpec, text: "tokens", default: true }
const TEXT: Selection.Candidate = {
  architecture: { ...ArchitectureSpec.defaultSpec, modalities: ["text"] },
  text: "tokens",
  search: { fitness: 0.5, level: 1, rank: 1 },
  default: false
}

/** A retrainer whose objective is a function of the architecture and the seed; `fails` says which trainings fail. Counts its calls. */
const fakeRetrainer = (fails: (spec: ArchitectureSpec.ArchitectureSpec, seed: number) => boolean, calls: { n: number }) =>
  Layer.succeed(SearchEvaluator.Retrainer, {
    retrain: (spec, epochs, _text, seed = 0) =>
      Effect.suspend(() => {
        calls.n++
        if (fails(spec, seed)) return Effect.fail(new SearchErrors.EvaluationError({ reason: `diverged (seed ${seed})` }))
        const objective = (spec.modalities.length === 1 ? 0.5 : 0.6) + seed / 100
        // (seed 3's correlation is NaN, as for a constant prediction: it must survive the file)
        const metrics = { mae: objective, acc2_has0: 0.7, acc2_non0: 0.7, f1_has0: 0.7, f1_non0: 0.7, acc5: 0.4, acc7: 0.3, corr: seed === 3 ? NaN : 0.5 }
        return Effect.succeed({ objective, valid: metrics, test: { ...metrics, mae: objective + 0.1 }, epochs, bestEpoch: epochs, seconds: 1 })
      })
  })

const run = (dir: string, fails: (spec: ArchitectureSpec.ArchitectureSpec, seed: number) => boolean, calls: { n: number }, lines: string[] = []) =>
  Selection.select([TEXT, DEFAULT], { seeds: [1, 2, 3], epochs: 4 }, { workers: 2, dir, textName: () => undefined }).pipe(
    Effect.provide(Layer.merge(fakeRetrainer(fails, calls), Progress.layerCollect(lines)))
  )

describe("Selection.select", () => {
  it.effect("trains each finalist once per seed, means over the seeds, chooses on validation and keeps every run in the folder", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "plain")
      const calls = { n: 0 }
      const out = yield* run(dir, () => false, calls)
      expect(calls.n).toBe(6)
      expect(out.chosen).toBe(0)
      expect(out.finalists[0].mean!.valid_objective).toBeCloseTo(0.52, 12)
      expect(out.finalists[1].mean!.valid_objective).toBeCloseTo(0.62, 12)
      expect(out.finalists[0].mean!.test).toMatchObject({ mae: expect.closeTo(0.62, 12) })
      expect(out.finalists[0].std!.valid_objective).toBeCloseTo(0.01, 12)
      expect(out.finalists.map((f) => f.default)).toEqual([false, true])
      expect(Number.isNaN((out.finalists[0].runs[2] as Selection.TrainedRun).valid["corr" as keyof object])).toBe(true)
      // rerun: nothing trained again, the same result (NaN read back as NaN, not null or 0)
      const again = { n: 0 }
      const lines: string[] = []
      expect(yield* run(dir, () => false, again, lines)).toEqual(out)
      expect(again.n).toBe(0)
      expect(lines[0]).toMatch(/6 trainings of up to 4 epochs \(seeds 1,2,3\), 6 of them done before/)
    }))

  it.effect("a failed training puts its finalist out (kept, not run again); every finalist out is an EvaluationError", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "failed")
      const calls = { n: 0 }
      const lines: string[] = []
      const out = yield* run(dir, (spec, seed) => spec.modalities.length === 1 && seed === 2, calls, lines)
      expect(calls.n).toBe(6)
      expect(out.chosen).toBe(1)
      expect(out.finalists[0].mean).toBeUndefined()
      expect(out.finalists[0].failed).toBe("seed 2: diverged (seed 2)")
      expect(out.finalists[0].runs[1]).toEqual({ seed: 2, failed: "diverged (seed 2)" })
      expect(lines).toContain("selection: finalist 1 with seed 2 failed, it cannot be chosen: diverged (seed 2)")
      const again = { n: 0 }
      expect(yield* run(dir, () => false, again)).toEqual(out)
      expect(again.n).toBe(0)

      const error = yield* Effect.flip(run(path.join(tmp, "all-failed"), () => true, { n: 0 }))
      expect(error).toBeInstanceOf(SearchErrors.EvaluationError)
      expect(error.message).toMatch(/every finalist had a failed training \(1: seed 1: diverged \(seed 1\); 2: seed 1: diverged/)
    }))

  it.effect("a selection file that is not one is a CheckpointError naming it", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "corrupt")
      fs.mkdirSync(dir, { recursive: true })
      for (const bad of ["{ not json", "[]", JSON.stringify({ version: 1, runs: { x: { seed: 1 } } })]) {
        fs.writeFileSync(path.join(dir, Selection.FILE), bad)
        const error = yield* Effect.flip(run(dir, () => false, { n: 0 }))
        expect(error).toBeInstanceOf(SearchErrors.CheckpointError)
        expect(error.message).toContain(path.join(dir, Selection.FILE))
      }
    }))
})
