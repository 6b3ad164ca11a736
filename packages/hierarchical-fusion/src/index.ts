/**
 * @haemsa/hierarchical-fusion: fusion levels, task-driven attention over experts, and per-task towers.
 *
 * @since 0.1.0
 * @module @haemsa/hierarchical-fusion
 */

/** Typed errors. */
export * as Errors from "./Errors"
/** The FusionFactory service (swap the fusion with a layer). */
export * as FusionFactory from "./FusionFactory"
/** One fusion level g: dense + nonlinearity + dropout + residual. */
export * as FusionLevel from "./FusionLevel"
/** The hierarchy of local and shared fusion levels. */
export * as Hierarchy from "./Hierarchy"
/** Task-driven attention over expert outputs. */
export * as TaskAttention from "./TaskAttention"
/** Adaptive per-task MLP towers. */
export * as Tower from "./Tower"
