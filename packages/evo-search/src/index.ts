/**
 * @haemsa/evo-search: seeded evolutionary search over genomes in [0, 1]^D. Pure operators and an
 * ask/tell strategy at the core; an Effect search loop with concurrent evaluation, a fitness cache,
 * successive halving, a budget, and checkpoints that resume exactly. No TensorFlow.js: the search
 * asks a {@link FitnessEvaluator} service and knows nothing about models.
 *
 * @since 0.1.0
 * @module @haemsa/evo-search
 */

/** Search checkpoints: atomic JSON files, typed errors for corrupt ones. */
export * as Checkpoint from "./Checkpoint"
/** Typed errors. */
export * as Errors from "./Errors"
/** Fidelity levels and successive halving. */
export * as Fidelity from "./Fidelity"
/** The FitnessEvaluator service. */
export * as FitnessEvaluator from "./FitnessEvaluator"
/** Genomes: vectors in [0, 1]^D. */
export * as Genome from "./Genome"
/** The operator interface and parameter helpers. */
export * as Operator from "./Operator"
/** Progress reports and the ETA estimate. */
export * as Progress from "./Progress"
/** The operator registry. */
export * as Registry from "./Registry"
/** Seeded randomness with a resumable state. */
export * as Rng from "./Rng"
/** The search loop. */
export * as Search from "./Search"
/** The search state and its pure steps. */
export * as SearchState from "./SearchState"
/** Which evaluations a search will ask for next, for idle workers to start early (the same result). */
export * as Speculation from "./Speculation"
/** The ask/tell genetic strategy. */
export * as Strategy from "./Strategy"

/** Blend crossover (the paper's operator). */
export * as BlendCrossover from "./operators/BlendCrossover"
/** Gaussian mutation (the paper's operator). */
export * as GaussianMutation from "./operators/GaussianMutation"
/** Tournament selection (the paper's operator). */
export * as TournamentSelection from "./operators/TournamentSelection"
/** Uniform crossover (the worked example of docs/contributing-operators.md). */
export * as UniformCrossover from "./operators/UniformCrossover"

export { blendCrossover } from "./operators/BlendCrossover"
export { gaussianMutation } from "./operators/GaussianMutation"
export { tournamentSelection } from "./operators/TournamentSelection"
export { uniformCrossover } from "./operators/UniformCrossover"
export { makeRng } from "./Rng"
