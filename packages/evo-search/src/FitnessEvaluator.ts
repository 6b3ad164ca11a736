/**
 * The service the search asks for fitness. The search knows nothing about models: another package
 * provides a layer that decodes the genome, trains briefly at the given fidelity and returns the
 * validation loss.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer } from "effect"
import { EvaluationError } from "./Errors"
import type { Fidelity } from "./Fidelity"
import type { Genome } from "./Genome"

/** Evaluates a genome at a fidelity: lower is better; NaN (or an {@link EvaluationError}) = failed. */
export class FitnessEvaluator extends Context.Service<FitnessEvaluator, {
  evaluate(genome: Genome, fidelity: Fidelity): Effect.Effect<number, EvaluationError>
}>()("@haemsa/evo-search/FitnessEvaluator") {
  /** A layer from a plain function (a toy fitness, a benchmark function); a throw becomes an {@link EvaluationError}. */
  static readonly fromFunction = (f: (genome: Genome, fidelity: Fidelity) => number): Layer.Layer<FitnessEvaluator> =>
    Layer.succeed(this, {
      evaluate: (genome, fidelity) =>
        Effect.try({
          try: () => f(genome, fidelity),
          catch: (error) => new EvaluationError({ reason: error instanceof Error ? error.message : String(error) })
        })
    })
}
