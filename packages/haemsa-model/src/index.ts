/**
 * @haemsa/haemsa-model: the HAEMSA model, training, evaluation, checkpoints and the `haemsa` command.
 *
 * @since 0.1.0
 */

/** Command-line parsing. */
export * as Args from "./Args"
/** The `haemsa` command. */
export * as Cli from "./Cli"
