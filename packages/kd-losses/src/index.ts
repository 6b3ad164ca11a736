/**
 * @haemsa/kd-losses: cross-modal knowledge distillation and task losses on TensorFlow.js.
 *
 * @since 0.1.0
 * @module @haemsa/kd-losses
 */

/** Temperature KL from logits (teacher = unified expert, students = modality experts), and the `Distillation` service. */
export * as Distillation from "./Distillation"

/** Typed errors of this package. */
export * as Errors from "./Errors"

/** `stopGradient`, which TensorFlow.js lacks. */
export * as Gradient from "./Gradient"

/** The losses as one op of the tape on the wasm backend (the same numbers, fewer kernels): its switch and counts. */
export * as OneOp from "./OneOp"

/** Weighted means that exclude samples with weight 0. */
export * as Reduction from "./Reduction"

/** L1, MSE, cross-entropy, binary cross-entropy on logits, sentiment classes, and the `TaskLosses` service. */
export * as TaskLosses from "./TaskLosses"
