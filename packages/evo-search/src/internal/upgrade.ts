/**
 * Rebuilds what an older checkpoint lacks. A version 1 checkpoint has no populations in its
 * history, but it holds every finished evaluation in its fitness cache, and the search is
 * deterministic given its fitness values: replaying the finished generations from the seed with
 * the cached values (no evaluation) gives exactly the populations they had. The replay must end in
 * the saved strategy state, or the checkpoint was made another way (another key function, a first
 * generation that was not the strategy's) and is refused.
 *
 * @internal
 */
import { Result } from "effect"
import type { Checkpoint } from "../Checkpoint"
import { canonicalJson } from "../Checkpoint"
import type { FidelityConfig } from "../Fidelity"
import type { Genome } from "../Genome"
import type { SearchState } from "../SearchState"
import * as State from "../SearchState"
import type { Strategy } from "../Strategy"

/** The checkpoint's state with every history entry's population and elites filled in, or why not. */
export const upgrade = (
  checkpoint: Checkpoint,
  strategy: Strategy,
  fidelity: FidelityConfig,
  key: (genome: Genome) => string
): Result.Result<SearchState, string> => {
  const saved = checkpoint.state
  let s: SearchState = { ...State.initial(strategy.init(checkpoint.config.seed)), cache: saved.cache }
  for (let g = 0; g < saved.history.length; g++) {
    s = State.startGeneration(s, strategy, key)
    while (s.round !== null) {
      if (State.toEvaluate(s).length > 0) return Result.fail(`the fitness cache lacks an evaluation of generation ${g}`)
      const next = State.finishLevel(s, strategy, fidelity, key)
      if (Result.isFailure(next)) return Result.fail(next.failure.message)
      s = next.success
    }
  }
  const replayed = saved.round === null ? s : State.startGeneration(s, strategy, key)
  const same = canonicalJson(replayed.strategy) === canonicalJson(saved.strategy) &&
    (saved.round === null || canonicalJson(replayed.round?.keys) === canonicalJson(saved.round.keys))
  if (!same) {
    return Result.fail(
      "replaying its generations from the fitness cache does not reproduce its population " +
        "(was it written with another key function, or a first generation set by hand?)"
    )
  }
  return Result.succeed({
    ...saved,
    history: saved.history.map((stats, g) => ({ ...stats, population: s.history[g].population, elites: s.history[g].elites }))
  })
}
