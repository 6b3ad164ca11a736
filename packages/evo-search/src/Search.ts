/**
 * The search loop: ask the strategy, evaluate the candidates concurrently through the
 * {@link FitnessEvaluator} (with a fitness cache, successive halving over fidelity levels, and a
 * budget), tell the strategy, repeat. With a checkpoint folder the whole state is saved after every
 * finished evaluation, and rerunning the same search continues where it stopped: no finished
 * evaluation is repeated and the result equals an uninterrupted run with the same seed (all
 * randomness comes from the strategy state's rng, never from evaluation order or timing). The
 * result and the progress reports carry each generation's population with its fitnesses and
 * fidelity levels, so a caller never needs to replay the search to see them. With `speculate`,
 * slots the search leaves idle run the evaluations it will likely ask for next ({@link Speculation});
 * the result is the same, only sooner.
 *
 * @since 0.1.0
 */
import { Cause, Clock, Deferred, Effect, Exit, Fiber, Option, Ref, Result, Scope, Semaphore } from "effect"
import * as os from "node:os"
import * as Checkpoint from "./Checkpoint"
import type { SearchError } from "./Errors"
import { CheckpointError, ConfigError } from "./Errors"
import * as Fidelity from "./Fidelity"
import { FitnessEvaluator } from "./FitnessEvaluator"
import type { Genome } from "./Genome"
import { defaultKey } from "./Genome"
import type { Progress } from "./Progress"
import { eta } from "./Progress"
import type { Registry } from "./Registry"
import * as Speculation from "./Speculation"
import type { Failure, GenerationRecord, SearchState } from "./SearchState"
import * as State from "./SearchState"
import type { Individual, StrategyConfig } from "./Strategy"
import * as Strategy from "./Strategy"
import { upgrade } from "./internal/upgrade"

/** Stop criteria besides the number of generations, checked between generations. */
export interface Budget {
  /** Start no new generation once this many evaluations ran (cache hits do not count). */
  readonly maxEvaluations?: number
  /** Start no new generation once this many wall-clock seconds were spent (over all runs). */
  readonly maxSeconds?: number
}

/** Options of {@link run}. */
export interface SearchOptions {
  /**
   * Sizes, elitism, operators, and `initialPopulation`: the genomes the first generation starts
   * with (see {@link StrategyConfig.initialPopulation}; part of the checkpoint's configuration).
   */
  readonly strategy: StrategyConfig
  /** Where the operators named in `strategy` are looked up (default: the built-ins). */
  readonly registry?: Registry
  readonly seed: number
  /** Generations to run (an integer >= 1). */
  readonly generations: number
  /**
   * The fitness-cache key of a genome, e.g. the canonical JSON of the architecture it decodes to,
   * so genomes decoding to the same architecture are evaluated once. Default: the genome's JSON.
   * Must be deterministic: a resumed search recomputes it.
   */
  readonly key?: (genome: Genome) => string
  /** Evaluations run at the same time, guesses included (default: `os.availableParallelism()`). */
  readonly concurrency?: number
  readonly budget?: Budget
  /**
   * Fidelity levels, cheapest first, the successive-halving factor and the promotion rule (default:
   * one level, no halving; promotion "top").
   */
  readonly fidelity?: {
    readonly levels?: ReadonlyArray<Fidelity.FidelityLevel>
    readonly eta?: number
    readonly promotion?: Fidelity.Promotion
  }
  /** Folder of the checkpoint; without it nothing is saved and nothing resumes. */
  readonly checkpointDir?: string
  /** Called after every finished generation (with its population, see {@link Progress}). */
  readonly onProgress?: (progress: Progress) => void
  /**
   * Let idle evaluation slots start the evaluations the search will likely ask for next
   * ({@link Speculation}: the next level's promotion, the next generation), and take their results
   * when it does (default false). The result, the counters and the checkpoint are those of a search
   * without it; only the wall time changes, at the cost of the guesses that turn out wrong (they are
   * interrupted as soon as they are). Needs an evaluator that gives the same fitness whenever it runs
   * (as the fitness cache already assumes) and `concurrency` > 1 to gain anything.
   */
  readonly speculate?: boolean
}

/**
 * The `count` best distinct individuals of a search's generations, best first by
 * {@link Strategy.compare} (the highest fidelity level first, then the lowest fitness; the first of
 * equals), one per `key` (default: the genome's JSON), failed ones left out: the candidates to
 * compare again, e.g. over several training seeds. Its first is the search's best unless that failed. Pure.
 */
export const finalists = (
  generations: ReadonlyArray<GenerationRecord>,
  count: number,
  key: (genome: Genome) => string = defaultKey
): ReadonlyArray<Individual> => {
  // (Array.prototype.sort is stable: equal individuals keep the order they were met in)
  const ranked = generations.flatMap((g) => g.population).filter((i) => !Number.isNaN(i.fitness)).sort(Strategy.compare)
  const seen = new Set<string>()
  const chosen: Array<Individual> = []
  for (const individual of ranked) {
    if (chosen.length >= count) break
    const k = key(individual.genome)
    if (seen.has(k)) continue
    seen.add(k)
    chosen.push(individual)
  }
  return chosen
}

/** Why the search stopped. */
export type StopReason = "generations" | "max-evaluations" | "max-seconds"

/** The outcome of a search. */
export interface SearchResult {
  /** Every finished generation: its statistics and its population (also those of earlier runs of a resumed search). */
  readonly generations: ReadonlyArray<GenerationRecord>
  /** The best individual found (failed ones last, then the highest fidelity level, then the lowest fitness). */
  readonly best: Individual
  readonly evaluations: number
  readonly cache_hits: number
  readonly failures: ReadonlyArray<Failure>
  /** Wall-clock seconds over all runs of this search. */
  readonly seconds: number
  readonly stopped: StopReason
  /**
   * With `speculate`, in this run: the guesses started in idle slots, and those whose result the
   * search used (the others were interrupted once wrong, or finished unused).
   */
  readonly speculation?: { readonly started: number; readonly used: number }
}

/**
 * Runs a search to its end (generations or budget). Evaluator failures never escape: the candidate
 * gets NaN fitness and a {@link Failure} record. Fails with a {@link SearchError} for an invalid
 * config (a `ConfigError` naming the option, e.g. `initialPopulation[0]`), a corrupt
 * checkpoint, one of an unsupported version, or one written by another configuration (seed,
 * strategy including its initial population, fidelity; never overwritten), or a checkpoint that
 * cannot be written. A version 1 checkpoint is upgraded: its generations' populations are rebuilt
 * from its fitness cache without evaluating anything.
 */
export const run = (options: SearchOptions): Effect.Effect<SearchResult, SearchError, FitnessEvaluator> =>
  Effect.gen(function*() {
    const strategy = yield* Effect.fromResult(Strategy.make(options.strategy, options.registry))
    const fidelity = yield* Effect.fromResult(Fidelity.make(options.fidelity))
    const { budget, concurrency, generations } = yield* Effect.fromResult(checkOptions(options))
    const key = options.key ?? defaultKey
    const config: Checkpoint.CheckpointConfig = { seed: options.seed, strategy: strategy.config, fidelity }
    const file = options.checkpointDir === undefined ? undefined : Checkpoint.file(options.checkpointDir)

    const saved = file === undefined ? Option.none() : yield* Checkpoint.read(file)
    if (Option.isSome(saved)) {
      const difference = Checkpoint.configDifference(saved.value.config, config)
      if (difference !== undefined) {
        return yield* new CheckpointError({
          file: file!,
          reason: `the checkpoint belongs to a search with another configuration (${difference}); ` +
            "use another checkpoint folder or delete this file"
        })
      }
    }
    let first = State.initial(strategy.init(options.seed))
    if (Option.isSome(saved)) {
      const checkpoint = saved.value
      const upgraded = checkpoint.migratedFrom === undefined
        ? Result.succeed(checkpoint.state)
        : upgrade(checkpoint, strategy, fidelity, key)
      if (Result.isFailure(upgraded)) {
        return yield* new CheckpointError({
          file: file!,
          reason: `cannot upgrade this checkpoint of version ${checkpoint.migratedFrom} to version ${Checkpoint.VERSION}: ` +
            `${upgraded.failure}; use another checkpoint folder or delete this file`
        })
      }
      first = upgraded.success
    }

    const evaluator = yield* FitnessEvaluator
    const startedAt = yield* Clock.currentTimeMillis
    const runSeconds = Effect.map(Clock.currentTimeMillis, (now) => (now - startedAt) / 1000)
    const state = yield* Ref.make(first)
    const lock = yield* Semaphore.make(1)

    /** Replaces the state and writes the checkpoint, one at a time. */
    const commit = (f: (s: SearchState) => SearchState) =>
      lock.withPermits(1)(Effect.gen(function*() {
        const seconds = first.seconds + (yield* runSeconds)
        const next: SearchState = { ...f(yield* Ref.get(state)), seconds }
        yield* Ref.set(state, next)
        if (file !== undefined) yield* Checkpoint.write(file, { config, state: next })
        return next
      }))

    // at most `concurrency` evaluations run at a time: the search's own, and guesses in idle slots
    const slots = yield* Semaphore.make(concurrency)
    /** The search's own evaluations waiting for a slot (guesses start only when none waits). */
    let waiting = 0
    /** The cache keys (`State.cacheKey`) of the search's own evaluations running now. */
    const running = new Set<string>()
    /** Guesses started by idle slots, by cache key: the result once finished. */
    const guessed = new Map<string, Guessed>()
    /** Guesses the search took for its own evaluations, until their result is recorded. */
    const taken = new Map<string, Guessed>()
    /** Results of the search's own evaluations, until they are recorded. */
    const unrecorded = new Map<string, Outcome>()
    /** A finished result not in the state yet: guesses see it as known, not as running. */
    const known = (k: string): number | undefined => (guessed.get(k)?.done ?? taken.get(k)?.done ?? unrecorded.get(k))?.fitness
    const guessScope = yield* Scope.make()
    const speculation = { started: 0, used: 0 }
    const speculating = yield* Semaphore.make(1)

    /** Starts the likeliest guesses in the idle slots and interrupts the running ones no longer likely. */
    const speculate: Effect.Effect<void> = options.speculate !== true ? Effect.void : speculating.withPermits(1)(Effect.gen(function*() {
      const s = yield* Ref.get(state)
      const seconds = first.seconds + (yield* runSeconds)
      const list = Speculation.guesses(s, {
        strategy,
        fidelity,
        key,
        continues: (x) => stopReason(x, generations, budget, seconds) === undefined,
        known,
        running: (k) => running.has(k) || (guessed.has(k) && guessed.get(k)!.done === undefined)
      })
      const wanted = new Set(list.map((g) => State.cacheKey(g.level, g.key)))
      for (const [k, g] of guessed) {
        if (g.done !== undefined || wanted.has(k)) continue
        guessed.delete(k)
        if (g.fiber !== undefined) yield* Fiber.interrupt(g.fiber)
      }
      for (const g of list) {
        const k = State.cacheKey(g.level, g.key)
        if (g.running || guessed.has(k) || running.has(k)) continue
        if (waiting > 0 || !(yield* slots.takeIfAvailable(1))) break
        const entry: Guessed = { result: Deferred.makeUnsafe() }
        guessed.set(k, entry)
        speculation.started++
        entry.fiber = yield* evaluateSafely(evaluator, g.genome, Fidelity.at(fidelity, g.level)).pipe(
          Effect.flatMap((outcome) => {
            entry.done = outcome
            return Deferred.succeed(entry.result, outcome)
          }),
          Effect.ensuring(slots.release(1)),
          // the slot is free again: the next guess, if any
          Effect.andThen(Effect.suspend(() => speculate)),
          Effect.asVoid,
          // interruptible even when started from a recording (uninterruptible) step
          Effect.interruptible,
          Effect.forkIn(guessScope)
        )
      }
    }))

    /** The outcome of the search's own evaluation: a guess's when one was started for it, else evaluated in a slot. */
    const outcomeOf = (genome: Genome, at: Fidelity.Fidelity, k: string): Effect.Effect<Outcome> =>
      options.speculate !== true ? evaluateSafely(evaluator, genome, at) : Effect.suspend(() => {
        running.add(k)
        const guess = guessed.get(k)
        if (guess !== undefined) {
          guessed.delete(k)
          taken.set(k, guess)
          speculation.used++
          return Deferred.await(guess.result)
        }
        waiting++
        let counted = true
        const leave = Effect.sync(() => {
          if (counted) waiting--
          counted = false
        })
        return slots.withPermits(1)(Effect.andThen(leave, evaluateSafely(evaluator, genome, at))).pipe(Effect.ensuring(leave))
      }).pipe(Effect.ensuring(Effect.sync(() => running.delete(k))))

    /** Evaluates (interruptibly); once finished, the result is always recorded and checkpointed, and idle slots take guesses. */
    const evaluate = (index: number, genome: Genome, at: Fidelity.Fidelity, k: string) =>
      Effect.uninterruptibleMask((restore) =>
        restore(outcomeOf(genome, at, k)).pipe(
          Effect.tap((outcome) => Effect.sync(() => unrecorded.set(k, outcome))),
          Effect.flatMap(({ fitness, reason }) => commit((s) => State.record(s, index, fitness, reason))),
          Effect.andThen(Effect.sync(() => {
            unrecorded.delete(k)
            taken.delete(k)
          })),
          Effect.andThen(speculate)
        )
      )

    let runGenerations = 0
    const loop = Effect.gen(function*() {
      while (true) {
        let s = yield* Ref.get(state)
        if (s.round === null) {
          const seconds = first.seconds + (yield* runSeconds)
          const stopped = stopReason(s, generations, budget, seconds)
          if (stopped !== undefined) {
            const final = yield* commit((x) => x)
            const result = toResult(final, stopped)
            return options.speculate === true ? { ...result, speculation: { ...speculation } } : result
          }
          s = yield* commit((x) => State.startGeneration(x, strategy, key))
        }
        const genomes = State.candidates(s)
        const level = s.round!.level
        const at = Fidelity.at(fidelity, level)
        const keys = s.round!.keys
        // (with speculation the slots limit how many run at a time, guesses included)
        yield* Effect.forEach(State.toEvaluate(s), (i) => evaluate(i, genomes[i], at, State.cacheKey(level, keys[i])), {
          concurrency: options.speculate === true ? "unbounded" : concurrency,
          discard: true
        })
        const next = yield* Effect.fromResult(State.finishLevel(yield* Ref.get(state), strategy, fidelity, key))
        s = yield* commit(() => next)
        if (s.round === null) {
          runGenerations++
          options.onProgress?.(progress(s, first, runGenerations, generations, budget))
        }
      }
    })
    // guesses still running when the search ends are not needed
    return yield* loop.pipe(Effect.ensuring(Scope.close(guessScope, Exit.void)))
  })

/** A finished evaluation: its fitness, and why it failed (NaN) when it did. */
type Outcome = { readonly fitness: number; readonly reason?: string }

/** A guess started in an idle slot: its result to come, its fiber, its result once finished. */
interface Guessed {
  readonly result: Deferred.Deferred<Outcome>
  fiber?: Fiber.Fiber<void>
  done?: Outcome
}

/** The outcome of one evaluation: a failure (typed error, defect, NaN) becomes NaN with a reason. */
const evaluateSafely = (
  evaluator: FitnessEvaluator["Service"],
  genome: Genome,
  at: Fidelity.Fidelity
): Effect.Effect<Outcome> =>
  evaluator.evaluate(genome, at).pipe(
    Effect.map((fitness) =>
      typeof fitness === "number" && !Number.isNaN(fitness)
        ? { fitness }
        : { fitness: NaN, reason: `the evaluator returned ${String(fitness)}` }
    ),
    Effect.catchCause((cause) => {
      if (Cause.hasInterrupts(cause)) return Effect.interrupt
      const error = Cause.squash(cause)
      return Effect.succeed({ fitness: NaN, reason: error instanceof Error ? error.message : String(error) })
    })
  )

/** The progress report after a generation; `first` is the state this run started from. */
const progress = (
  s: SearchState,
  first: SearchState,
  runGenerations: number,
  generations: number,
  budget: Budget
): Progress => {
  const last = s.history[s.history.length - 1]
  return {
    generation: s.history.length,
    generations,
    best: last.best,
    mean: last.mean,
    population: last.population,
    elites: last.elites,
    evaluations: s.evaluations,
    cacheHits: s.cacheHits,
    failures: s.failures.length,
    seconds: s.seconds,
    etaSeconds: eta({
      done: s.strategy.generation,
      generations,
      runGenerations,
      runSeconds: s.seconds - first.seconds,
      evaluations: s.evaluations,
      runEvaluations: s.evaluations - first.evaluations,
      maxEvaluations: budget.maxEvaluations,
      seconds: s.seconds,
      maxSeconds: budget.maxSeconds
    })
  }
}

/** Checks the loop options. */
const checkOptions = (options: SearchOptions) => {
  const fail = (option: string, value: unknown, reason: string) =>
    Result.fail(new ConfigError({ option, value: String(value), reason }))
  const { generations } = options
  const concurrency = options.concurrency ?? os.availableParallelism()
  const budget = options.budget ?? {}
  if (!Number.isFinite(options.seed)) return fail("seed", options.seed, "must be a finite number")
  if (!(Number.isInteger(generations) && generations >= 1)) return fail("generations", generations, "must be an integer >= 1")
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) return fail("concurrency", concurrency, "must be an integer >= 1")
  if (budget.maxEvaluations !== undefined && !(Number.isInteger(budget.maxEvaluations) && budget.maxEvaluations >= 1)) {
    return fail("budget.maxEvaluations", budget.maxEvaluations, "must be an integer >= 1")
  }
  if (budget.maxSeconds !== undefined && !(budget.maxSeconds > 0)) {
    return fail("budget.maxSeconds", budget.maxSeconds, "must be a number > 0")
  }
  return Result.succeed({ generations, concurrency, budget })
}

/** Why to stop before starting another generation, if at all. The first generation always runs. */
export const stopReason = (
  state: SearchState,
  generations: number,
  budget: Budget,
  seconds: number
): StopReason | undefined => {
  if (state.strategy.generation >= generations) return "generations"
  if (state.strategy.generation === 0) return undefined
  if (budget.maxEvaluations !== undefined && state.evaluations >= budget.maxEvaluations) return "max-evaluations"
  if (budget.maxSeconds !== undefined && seconds >= budget.maxSeconds) return "max-seconds"
  return undefined
}

/** The result of a finished search state. */
export const toResult = (state: SearchState, stopped: StopReason): SearchResult => ({
  generations: state.history,
  best: state.strategy.best!,
  evaluations: state.evaluations,
  cache_hits: state.cacheHits,
  failures: state.failures,
  seconds: state.seconds,
  stopped
})
