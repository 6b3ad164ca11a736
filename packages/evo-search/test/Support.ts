/**
 * Test helpers: recording evaluators and result comparison.
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Fidelity, Genome, Search } from "@haemsa/evo-search"
import { Errors, FitnessEvaluator } from "@haemsa/evo-search"

/** The sphere function centred at 0.3: the toy fitness. */
export const sphere = (g: Genome.Genome): number => g.reduce((s, x) => s + (x - 0.3) ** 2, 0)

/** One evaluator call. */
export interface Call {
  readonly genome: Genome.Genome
  readonly fidelity: Fidelity.Fidelity
}

/** Options of {@link recording}. */
export interface RecordingOptions {
  /** Milliseconds to sleep before answering (varied, so completions come out of order). */
  readonly delay?: (genome: Genome.Genome) => number
  /** Per genome: a typed failure, a thrown defect, or NaN instead of a fitness. */
  readonly outcome?: (genome: Genome.Genome) => "ok" | "fail" | "die" | "nan"
  /** Called when an evaluation starts (its 1-based number). */
  readonly onStart?: (n: number) => void
}

/** An evaluator of `f` that records every finished call (the ones interrupted mid-way are not recorded). */
export const recording = (f: (g: Genome.Genome, fidelity: Fidelity.Fidelity) => number, options: RecordingOptions = {}) => {
  const calls: Array<Call> = []
  let started = 0
  const layer = Layer.succeed(FitnessEvaluator.FitnessEvaluator, {
    evaluate: (genome, fidelity) =>
      Effect.gen(function*() {
        options.onStart?.(++started)
        const ms = options.delay?.(genome) ?? 0
        if (ms > 0) yield* Effect.sleep(ms)
        else yield* Effect.yieldNow
        calls.push({ genome, fidelity })
        switch (options.outcome?.(genome) ?? "ok") {
          case "fail":
            return yield* new Errors.EvaluationError({ reason: "training diverged" })
          case "die":
            throw new Error("out of memory")
          case "nan":
            return NaN
          default:
            return f(genome, fidelity)
        }
      })
  })
  return { calls, layer }
}

/** A result without its timing, for equality between runs. */
export const timeless = (result: Search.SearchResult) => {
  const { seconds: _seconds, ...rest } = result
  return rest
}

const made: Array<string> = []

/** A fresh temporary folder, removed by {@link removeTempDirs}. */
export const tempDir = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "evo-search-"))
  made.push(dir)
  return dir
}

/** Removes the folders made by {@link tempDir} (call it in `afterAll`). */
export const removeTempDirs = (): void => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
}
