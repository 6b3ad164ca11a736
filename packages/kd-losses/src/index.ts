/**
 * @haemsa/kd-losses: cross-modal knowledge distillation and task losses on TensorFlow.js.
 *
 * @since 0.1.0
 * @module @haemsa/kd-losses
 */

/** Temperature KL from logits (teacher = unified expert, students = modality experts). */
export * as Distillation from "./Distillation"

/** Typed errors of this package. */
export * as Errors from "./Errors"

/** `stopGradient`, which TensorFlow.js lacks. */
export * as Gradient from "./Gradient"

/** Weighted means that exclude samples with weight 0. */
export * as Reduction from "./Reduction"

/** The losses as Effect services (`Distillation`, `TaskLosses`) with default layers. */
export * as Services from "./Services"

/** L1, MSE, cross-entropy, binary cross-entropy on logits, sentiment classes. */
export * as TaskLosses from "./TaskLosses"
/** The losses as fused WGSL kernels on the webgpu backend. */
export * as WebGpuLosses from "./WebGpuLosses"
