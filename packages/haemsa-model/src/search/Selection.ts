/**
 * The selection among a search's finalists (`haemsa search --select-seeds S,S,...`): the search's
 * best distinct architectures (`Search.finalists` of `@haemsa/evo-search`) and the default one, each
 * trained at full fidelity once per seed; the winner is the lowest mean validation objective (the
 * test metrics are reported, never used to choose). One fitness per candidate, with one seed, ranks
 * architectures this close mostly by their seed (docs/search.md); the mean over a few seeds does not.
 * Every finished training is kept in the search's checkpoint folder ({@link FILE}), so a selection
 * that was stopped resumes without training anything twice.
 *
 * @since 0.4.0
 */
import { Errors as SearchErrors } from "@haemsa/evo-search"
import { Effect, Semaphore } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as ExactJson from "../internal/ExactJson"
import type { ArchitectureSpec } from "../model/ArchitectureSpec"
import type * as Evaluate from "../model/Evaluate"
import * as OutputFolder from "../model/OutputFolder"
import * as SeedStats from "../model/SeedStats"
import { formatDuration, Progress } from "../cli/Progress"
import * as Genome from "./Genome"
import * as SearchEvaluator from "./SearchEvaluator"

/** Options of the selection. */
export interface SelectionOptions {
  /** The training seeds: one full training of each finalist per seed. */
  readonly seeds: ReadonlyArray<number>
  /** How many of the search's best distinct architectures (default {@link DEFAULT_FINALISTS}); the default architecture joins them. */
  readonly finalists?: number
  /** The most epochs of each training (default `SearchEvaluator.DEFAULT_EPOCHS`). */
  readonly epochs?: number
}

/** Finalists of a selection besides the default architecture. */
export const DEFAULT_FINALISTS = 3

/** The file in the search's checkpoint folder that keeps the selection's finished trainings. */
export const FILE = "selection.json"

/** One finished training of a finalist. */
export interface TrainedRun {
  readonly seed: number
  readonly valid_objective: number
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
  readonly epochs: number
  readonly best_epoch: number
  readonly seconds: number
}

/** A training of a finalist that failed (it diverged, or its worker crashed): the finalist cannot be chosen. */
export interface FailedRun {
  readonly seed: number
  readonly failed: string
}

/** One training of a finalist, finished or failed. */
export type SelectionRun = TrainedRun | FailedRun

/** Whether a run failed. */
export const isFailed = (run: SelectionRun): run is FailedRun => "failed" in run

/** A finalist: where the search ranked it, and its trainings over the seeds. */
export interface Finalist {
  readonly architecture: ArchitectureSpec
  /** The text features it trains with, when the search chose them. */
  readonly text_features?: string
  /** Its fitness in the search (with the search's seed), the fidelity level of it, and its rank; absent for the default architecture when the search did not rank it among its best. */
  readonly search?: { readonly fitness: number; readonly level: number; readonly rank: number }
  /** Whether it is the default architecture (a finalist whatever its rank). */
  readonly default: boolean
  readonly runs: ReadonlyArray<SelectionRun>
  /** Mean and sample standard deviation (n - 1) over the runs; absent when one of them failed (the finalist is out). */
  readonly mean?: Summary
  readonly std?: Summary
  /** Why the finalist is out: its first failed training. */
  readonly failed?: string
}

/** The validation objective and the metrics of a finalist's runs, averaged (or their standard deviation). */
export interface Summary {
  readonly valid_objective: number
  readonly valid: Evaluate.SplitMetrics
  readonly test: Evaluate.SplitMetrics
}

/** What the selection found. */
export interface SelectionOutput {
  readonly seeds: ReadonlyArray<number>
  readonly epochs: number
  readonly finalists: ReadonlyArray<Finalist>
  /** The index in `finalists` of the chosen one: the lowest mean validation objective among those whose trainings all finished (the first of equals; test metrics are not looked at). */
  readonly chosen: number
}

/** A finalist before its trainings: the architecture and text features, and where the search ranked it. */
export interface Candidate {
  readonly architecture: ArchitectureSpec
  readonly text: Genome.TextGene
  readonly search?: Finalist["search"]
  readonly default: boolean
}

/**
 * The index of the lowest mean validation objective, the first of equals, among the finalists with a
 * mean (a finalist with a failed training has none); undefined when none has one. Pure.
 */
export const choose = (finalists: ReadonlyArray<Pick<Finalist, "mean">>): number | undefined => {
  let chosen: number | undefined
  finalists.forEach((f, i) => {
    if (f.mean === undefined || Number.isNaN(f.mean.valid_objective)) return
    if (chosen === undefined || f.mean.valid_objective < finalists[chosen].mean!.valid_objective) chosen = i
  })
  return chosen
}

/** The key of one training in {@link FILE}: the epochs, the seed, the architecture and its text features in words (`textName`). */
const runKey = (candidate: Candidate, seed: number, epochs: number, textName: string | undefined): string =>
  `${epochs}:${seed}:${Genome.canonicalKey(candidate.architecture)}${textName !== undefined ? ` text:${textName}` : ""}`

/** The finished trainings kept in `file`: none when it does not exist; a `CheckpointError` naming it when it is not one of ours. */
const readRuns = (file: string): Effect.Effect<Record<string, SelectionRun>, SearchErrors.CheckpointError> =>
  Effect.try({
    try: () => {
      let text: string
      try {
        text = fs.readFileSync(file, "utf8")
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return {}
        throw e
      }
      const parsed = ExactJson.parse(text) as { version?: unknown; runs?: unknown } | null
      if (parsed === null || typeof parsed !== "object" || parsed.version !== 1 || parsed.runs === null || typeof parsed.runs !== "object") {
        throw new Error("not a selection file of version 1")
      }
      for (const [key, run] of Object.entries(parsed.runs as Record<string, unknown>)) {
        const r = run as Partial<TrainedRun & FailedRun> | null
        const trained = r !== null && typeof r === "object" && typeof r.valid_objective === "number" && typeof r.valid === "object" && typeof r.test === "object"
        const failed = r !== null && typeof r === "object" && typeof r.failed === "string"
        if (typeof r?.seed !== "number" || !(trained || failed)) throw new Error(`entry '${key}' is not a training's result`)
      }
      return parsed.runs as Record<string, SelectionRun>
    },
    catch: (e) =>
      new SearchErrors.CheckpointError({
        file,
        reason: `cannot read the selection's finished trainings (${e instanceof Error ? e.message : String(e)}); remove the file to train them again`
      })
  })

/**
 * Trains each candidate once per seed at full fidelity (as many at a time as `workers`, on the
 * search's `Retrainer`), keeping each finished training in `dir`/{@link FILE} (trainings found there
 * are not run again), and chooses the lowest mean validation objective.
 */
export const select = (
  candidates: ReadonlyArray<Candidate>,
  options: SelectionOptions,
  settings: {
    readonly workers: number
    /** The search's checkpoint folder. */
    readonly dir: string
    /** The text features in words, when the search chose them. */
    readonly textName: (text: Genome.TextGene) => string | undefined
  }
): Effect.Effect<SelectionOutput, SearchErrors.CheckpointError | SearchErrors.EvaluationError, Progress | SearchEvaluator.Retrainer> =>
  Effect.gen(function*() {
    const progress = yield* Progress
    const retrainer = yield* SearchEvaluator.Retrainer
    const epochs = options.epochs ?? SearchEvaluator.DEFAULT_EPOCHS
    const file = path.join(settings.dir, FILE)
    const kept = yield* readRuns(file)
    const runs: Record<string, SelectionRun> = { ...kept }
    const jobs = candidates.flatMap((candidate, index) => options.seeds.map((seed) => ({ candidate, index, seed, key: runKey(candidate, seed, epochs, settings.textName(candidate.text)) })))
    const cached = jobs.filter((j) => Object.hasOwn(kept, j.key)).length
    progress.log(
      `selection: ${candidates.length} finalist${candidates.length === 1 ? "" : "s"}${candidates.some((c) => c.default && c.search === undefined) ? " (the search's best and the default architecture)" : ""}, ` +
        `${jobs.length} trainings of up to ${epochs} epochs (seeds ${options.seeds.join(",")})${cached > 0 ? `, ${cached} of them done before (${file})` : ""}, chosen on the mean validation objective`
    )
    const lock = yield* Semaphore.make(1)
    /** Keeps a finished training: the file rewritten atomically, one writer at a time. */
    const keep = (key: string, run: SelectionRun) =>
      lock.withPermits(1)(Effect.tryPromise({
        try: async () => {
          runs[key] = run
          await OutputFolder.nodeFileSystem.mkdir(settings.dir)
          await OutputFolder.replaceFile(file, ExactJson.stringify({ version: 1, runs }, 1) + "\n")
        },
        catch: (e) => new SearchErrors.CheckpointError({ file, reason: `cannot write the selection's trainings: ${e instanceof Error ? e.message : String(e)}` })
      }))
    let finished = 0
    const startedAt = performance.now()
    yield* Effect.forEach(
      jobs.filter((j) => !Object.hasOwn(kept, j.key)),
      ({ candidate, index, key, seed }) =>
        retrainer.retrain(candidate.architecture, epochs, candidate.text, seed).pipe(
          Effect.map((o): SelectionRun => ({
            seed,
            valid_objective: o.objective,
            valid: o.valid,
            test: o.test,
            epochs: o.epochs,
            best_epoch: o.bestEpoch,
            seconds: Math.round(o.seconds * 100) / 100
          })),
          // a failed training puts its finalist out (kept, like the search's failed evaluations: not run again)
          Effect.catchTag("EvaluationError", (e) =>
            Effect.sync((): SelectionRun => {
              progress.log(`selection: finalist ${index + 1} with seed ${seed} failed, it cannot be chosen: ${e.reason}`)
              return { seed, failed: e.reason }
            })),
          Effect.flatMap((run) => keep(key, run)),
          Effect.tap(() =>
            Effect.sync(() => {
              finished++
              progress.update(`selection: ${finished + cached}/${jobs.length} trainings finished, ${formatDuration((performance.now() - startedAt) / 1000)} elapsed`)
            })
          )
        ),
      { concurrency: Math.max(1, settings.workers), discard: true }
    )
    const finalists: Array<Finalist> = candidates.map((candidate) => {
      const text = settings.textName(candidate.text)
      const own = options.seeds.map((seed) => runs[runKey(candidate, seed, epochs, text)])
      const failure = own.find(isFailed)
      const trained = own.filter((r): r is TrainedRun => !isFailed(r))
      const objective = SeedStats.meanStd(trained.map((r) => r.valid_objective))
      const valid = SeedStats.summarize(trained.map((r) => r.valid))
      const test = SeedStats.summarize(trained.map((r) => r.test))
      return {
        architecture: candidate.architecture,
        ...(text !== undefined ? { text_features: text } : {}),
        ...(candidate.search !== undefined ? { search: candidate.search } : {}),
        default: candidate.default,
        runs: own,
        ...(failure !== undefined
          ? { failed: `seed ${failure.seed}: ${failure.failed}` }
          : {
            mean: { valid_objective: objective.mean, valid: valid.mean, test: test.mean },
            std: { valid_objective: objective.std, valid: valid.std, test: test.std }
          })
      }
    })
    const chosen = choose(finalists)
    if (chosen === undefined) {
      return yield* new SearchErrors.EvaluationError({
        reason: `selection: every finalist had a failed training (${finalists.map((f, i) => `${i + 1}: ${f.failed}`).join("; ")})`
      })
    }
    return { seeds: options.seeds, epochs, finalists, chosen } satisfies SelectionOutput
  })
