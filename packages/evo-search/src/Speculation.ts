/**
 * Which evaluations a search will ask for next, so that an idle worker can start them early.
 *
 * Successive halving leaves workers idle: the last candidates of a level run while the others wait
 * for the promotion, and the one candidate of the top level trains alone before the strategy can
 * ask for the next generation. {@link guesses} runs the search's own pure steps forward from its
 * state (`SearchState.finishLevel`, `Strategy.tell`, `Strategy.ask`) with the results known so far
 * (finished evaluations, also those of earlier guesses) and, for the evaluations still running, a
 * placeholder that ranks them last (`Infinity`: not promoted, and behind the incumbent). The
 * evaluations that path asks for are the guesses, the likeliest first: the next level's promotion
 * when the running candidates do not change it, then the next generation when its new best does not
 * beat the incumbent (in the first generation the top level's result cannot change the next one).
 *
 * A guess is only ever an evaluation the search may ask for: the search takes its result when the
 * real run asks for the same candidate and level (an evaluation gives the same fitness whenever it
 * runs), and drops it otherwise. So speculation changes when evaluations run, never the result, the
 * counters or the checkpoint of a search.
 *
 * @since 0.3.0
 */
import { Result } from "effect"
import type { FidelityConfig } from "./Fidelity"
import { promotedCount } from "./Fidelity"
import type { Genome } from "./Genome"
import type { SearchState } from "./SearchState"
import * as State from "./SearchState"
import type { Strategy } from "./Strategy"

/** An evaluation the search will likely ask for: a candidate's genome at a fidelity level. */
export interface Guess {
  readonly level: number
  /** The search's key of the genome. */
  readonly key: string
  readonly genome: Genome
  /** Whether it runs already (a guess started earlier): it is still likely, so it should go on. */
  readonly running: boolean
}

/** What {@link guesses} needs besides the state. */
export interface Context {
  readonly strategy: Strategy
  readonly fidelity: FidelityConfig
  readonly key: (genome: Genome) => string
  /** Whether the search goes on to another generation after `state`'s (generations and budget left). */
  readonly continues: (state: SearchState) => boolean
  /** The result of an evaluation not in the state's cache yet (a finished guess), by `SearchState.cacheKey`. */
  readonly known: (cacheKey: string) => number | undefined
  /** Whether an evaluation is running now (asked for by the search, or a guess), by `SearchState.cacheKey`. */
  readonly running: (cacheKey: string) => boolean
  /** Stop after this many guesses (default 16). */
  readonly limit?: number
}

/** The placeholder result of an evaluation still running: ranked after every finished one. */
const PLACEHOLDER = Infinity

/**
 * The evaluations the search will likely ask for after those of the current level, likeliest first,
 * whose result is not known: those already running (earlier guesses, still likely) and those to
 * start. Empty while the current level has evaluations that have not started (the search's own work
 * comes first) and when the search ends with the running evaluations.
 */
export const guesses = (state: SearchState, context: Context): Array<Guess> => {
  const limit = context.limit ?? 16
  const out: Array<Guess> = []
  let sim = state
  // a bounded walk: each step finishes a level or starts a generation
  for (let step = 0; step < 4 * (context.fidelity.levels.length + 1) && out.length < limit; step++) {
    if (sim.round === null) {
      if (!context.continues(sim)) break
      sim = State.startGeneration(sim, context.strategy, context.key)
    }
    const round = sim.round!
    const genomes = State.candidates(sim)
    // the level the search is running now: its evaluations are the search's own to start
    const current = step === 0 && state.round !== null
    let waiting = false
    const unknown = new Set<string>()
    for (const i of State.toEvaluate(sim)) {
      const cacheKey = State.cacheKey(round.level, round.keys[i])
      const value = context.known(cacheKey)
      if (value === undefined) {
        unknown.add(round.keys[i])
        const running = context.running(cacheKey)
        if (!running && current) return []
        waiting ||= !running
        // (a running one is listed too: it is still on the path, so it goes on)
        if (!current && out.length < limit) out.push({ level: round.level, key: round.keys[i], genome: genomes[i], running })
      }
      sim = State.record(sim, i, value ?? PLACEHOLDER)
    }
    // a level with evaluations nobody runs yet: what follows it is not known well enough to guess
    if (waiting) break
    // a promotion is guessed only when enough of the level's results are known to fill it (else
    // placeholders would choose); the generation's end is always followed (its new best is assumed
    // not to beat the incumbent)
    if (round.level + 1 < context.fidelity.levels.length) {
      const known = round.active.filter((i) => !unknown.has(round.keys[i])).length
      if (known < promotedCount(round.active.length, context.fidelity.eta)) break
    }
    const next = State.finishLevel(sim, context.strategy, context.fidelity, context.key)
    if (Result.isFailure(next)) break
    sim = next.success
  }
  return out
}
