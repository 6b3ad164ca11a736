/**
 * @haemsa/experts: sequence encoders used as HAEMSA's modality-specific and unified experts.
 *
 * @since 0.1.0
 * @module @haemsa/experts
 */

/** `customOp`: `tf.customGrad` with typed inputs and save function. */
export * as CustomOp from "./CustomOp"
/** Typed errors. */
export * as Errors from "./Errors"
/** Encoder specs and the modality-specific expert. */
export * as Expert from "./Expert"
/** The ExpertFactory service (swap experts with a layer). */
export * as ExpertFactory from "./ExpertFactory"
/** Dense, layer norm, dropout, masked pooling. */
export * as Layers from "./Layers"
/** The masked LSTM layer with its own backward pass. */
export * as LstmLayer from "./LstmLayer"
/** The module convention. */
export * as Module from "./Module"
/** Dropout and mean pooling as fused WGSL kernels on webgpu. */
export * as WebGpuLayers from "./WebGpuLayers"
/** Hand-written WGSL kernels on the webgpu backend (fused hot paths). */
export * as WebGpuKernel from "./WebGpuKernel"
/** The unified expert over the (never materialised) concatenation of modalities. */
export * as UnifiedExpert from "./UnifiedExpert"
