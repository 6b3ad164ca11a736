/**
 * @haemsa/nn: the tensor layer every HAEMSA package builds on. The module convention, seeded layers,
 * the masked LSTM and custom ops, and fused WGSL kernels for tfjs's `webgpu` backend, chosen over
 * their tfjs composites in one place (`Fused`).
 *
 * @since 0.2.0
 * @module @haemsa/nn
 */

/** `customOp`: `tf.customGrad` with typed inputs and save function. */
export * as CustomOp from "./CustomOp"
/** The choice between a fused WGSL kernel and its tfjs composite, in one place. */
export * as Fused from "./Fused"
/** Dense, layer norm, dropout, masked pooling, masked softmax. */
export * as Layers from "./Layers"
/** The masked LSTM layer with its own backward pass. */
export * as LstmLayer from "./LstmLayer"
/** The module convention: trainable variables by path and a pure `apply`. */
export * as Module from "./Module"
/** Adam's update of one weight as a fused WGSL kernel. */
export * as WebGpuAdam from "./webgpu/WebGpuAdam"
/** The registry of hand-written WGSL kernels on the webgpu backend. */
export * as WebGpuKernel from "./webgpu/WebGpuKernel"
/** Dropout, relu + masked-mean pooling and the fusion-level epilogue as fused WGSL kernels. */
export * as WebGpuLayers from "./webgpu/WebGpuLayers"
/** The losses (L1, cross-entropy, cross-modal KL, weighted sums) as fused WGSL kernels. */
export * as WebGpuLosses from "./webgpu/WebGpuLosses"
/** The wasm backend's `Identity` kernel without the copy (tensors are immutable; buffers are reference counted). */
export * as WasmIdentity from "./wasm/WasmIdentity"
/** Rows of a 2-D tensor by a host index, one memory move per run of rows on wasm and cpu. */
export * as RowGather from "./RowGather"
/** Tensors saved for the backward pass share their buffers (wasm, cpu): no kernel call and tape node per save. */
export * as BackwardSaves from "./BackwardSaves"
/** Batched matrix products (attention) with a WebAssembly SIMD kernel on the wasm backend, differentiable. */
export * as BatchMatMul from "./BatchMatMul"
/** The WebAssembly SIMD kernels in tfjs's wasm heap: batched products, the GEMM of `WasmMatMul`, column sums, LSTM gates, masked means (source: `SimdKernels.wat`). */
export * as SimdKernels from "./wasm/SimdKernels"
/** Embedded WebAssembly kernels compiled once, and instantiated once per memory. */
export * as WasmModule from "./wasm/WasmModule"
/** The wasm backend's `Sum` over leading axes on the column-sum kernel, bit for bit its own. */
export * as WasmSum from "./wasm/WasmSum"
/** The wasm backend's plain 2-D matMuls on a SIMD GEMM kernel, bit for bit XNNPACK's. */
export * as WasmMatMul from "./wasm/WasmMatMul"
/** The masked mean over steps (the experts' pooling) as one wasm kernel each way, the composite's numbers bit for bit. */
export * as WasmMaskedMean from "./wasm/WasmMaskedMean"
/** The weighted mean of the losses (`weightedMean` of `@haemsa/kd-losses`) as one kernel each way on the wasm backend, bit for bit the composite's numbers. */
export * as WasmWeightedMean from "./wasm/WasmWeightedMean"
/** Replacing a registered tfjs kernel by a wrapper of it, reversibly, and registering this package's own kernels once. */
export * as KernelOverride from "./wasm/KernelOverride"
/** An LSTM layer's forward and backward passes as two kernels of the wasm backend (used by `LstmLayer`). */
export * as WasmLstm from "./wasm/WasmLstm"
