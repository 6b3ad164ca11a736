/**
 * Products of small float32 matrices as a WebAssembly SIMD kernel that works in tfjs's wasm heap
 * (it imports the backend's memory, so it reads and writes the tensors where they are). Its source
 * is `SimdKernels.wat` beside this file; `BYTES` is that source assembled
 * (`node scripts/assemble-wat.mjs packages/nn/src/wasm/SimdKernels.wat` writes it; a test checks the
 * two agree). Used by `BatchMatMul` (the batched products of attention), `WasmLstm` (the recurrent
 * products) and `WasmSum` (sums over leading axes: bias and broadcast gradients).
 *
 * @since 0.3.0
 */
import type * as tf from "@tensorflow/tfjs"
import { compile } from "./WasmModule"

/** `SimdKernels.wat` assembled (wabt 1.0.39, SIMD enabled), base64. */
export const BYTES =
  "AGFzbQEAAAABHANgCH9/f39/f39/AGAGf39/f39/AGAEf39/fwACDwEDZW52Bm1lbW9yeQIAAQMEAwABAgcUAwJubgAAAm50AAEGY29sc3VtAAIKuwgD2QQDCX8FewF9IAJBAnQhDyAHQQJ0IRACQANAIAggBU8NASAAIAggAWxBAnRqIQsgBCAIIBBsaiEOQQAhCQJAA0AgCUEQaiAHSw0B/QwAAAAAAAAAAAAAAAAAAAAAIRL9DAAAAAAAAAAAAAAAAAAAAAAhE/0MAAAAAAAAAAAAAAAAAAAAACEU/QwAAAAAAAAAAAAAAAAAAAAAIRUgCyEMIAMgCUECdGohDUEAIQoCQANAIAogBk8NASAMKgIA/RMhESASIBEgDf0ABAD95gH95AEhEiATIBEgDf0ABBD95gH95AEhEyAUIBEgDf0ABCD95gH95AEhFCAVIBEgDf0ABDD95gH95AEhFSAMIA9qIQwgDSAQaiENIApBAWohCgwACwsgDiAS/QsEACAOIBP9CwQQIA4gFP0LBCAgDiAV/QsEMCAOQcAAaiEOIAlBEGohCQwACwsCQANAIAlBBGogB0sNAf0MAAAAAAAAAAAAAAAAAAAAACESIAshDCADIAlBAnRqIQ1BACEKAkADQCAKIAZPDQEgEiAMKgIA/RMgDf0ABAD95gH95AEhEiAMIA9qIQwgDSAQaiENIApBAWohCgwACwsgDiAS/QsEACAOQRBqIQ4gCUEEaiEJDAALCwJAA0AgCSAHTw0BQwAAAAAhFiALIQwgAyAJQQJ0aiENQQAhCgJAA0AgCiAGTw0BIBYgDCoCACANKgIAlJIhFiAMIA9qIQwgDSAQaiENIApBAWohCgwACwsgDiAWOAIAIA5BBGohDiAJQQFqIQkMAAsLIAhBAWohCAwACwsLiAIDCH8BewF9IARBAnQhDSAEQXxxIQkgAiEMAkADQCAGIANPDQEgACAGIA1saiEKIAEhC0EAIQcCQANAIAcgBU8NAf0MAAAAAAAAAAAAAAAAAAAAACEOQQAhCAJAA0AgCCAJTw0BIA4gCiAIQQJ0av0ABAAgCyAIQQJ0av0ABAD95gH95AEhDiAIQQRqIQgMAAsLIA79HwAgDv0fAZIgDv0fAiAO/R8DkpIhDwJAA0AgCCAETw0BIA8gCiAIQQJ0aioCACALIAhBAnRqKgIAlJIhDyAIQQFqIQgMAAsLIAwgDzgCACAMQQRqIQwgCyANaiELIAdBAWohBwwACwsgBkEBaiEGDAALCwvTAQEGfyADQXxxIQYgA0ECdCEHIAEhCQJAA0AgBSADTw0BIAlDAAAAADgCACAJQQRqIQkgBUEBaiEFDAALCyAAIQgCQANAIAQgAk8NAUEAIQUCQANAIAUgBk8NASABIAVBAnRqIQkgCSAJ/QAEACAIIAVBAnRq/QAEAP3kAf0LBAAgBUEEaiEFDAALCwJAA0AgBSADTw0BIAEgBUECdGohCSAJIAkqAgAgCCAFQQJ0aioCAJI4AgAgBUEBaiEFDAALCyAIIAdqIQggBEEBaiEEDAALCws="

/** The kernel's exports (byte offsets into the imported memory; strides in floats). */
export interface Exports {
  /** C (m x n) = A · B, A(i, p) at a + 4·(i·asi + p·asp), B (k x n) and C row-major. */
  readonly nn: (a: number, asi: number, asp: number, b: number, c: number, m: number, k: number, n: number) => void
  /** C (m x n) = A · Bᵀ, A (m x k) and B (n x k) row-major. */
  readonly nt: (a: number, b: number, c: number, m: number, k: number, n: number) => void
  /** out (n) = the column sums of X (rows x n, row-major), each column summed in row order from 0. */
  readonly colsum: (x: number, out: number, rows: number, n: number) => void
}

/** The slice of tfjs-backend-wasm's backend the kernels use. */
export interface WasmBackend {
  readonly wasm: { readonly asm: { readonly memory: WebAssembly.Memory } }
  makeOutput(shape: Array<number>, dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array
}

const instances = new WeakMap<WebAssembly.Memory, Exports | null>()

/**
 * The kernels working in `memory` (one instance per memory), or undefined where they cannot run (no
 * WebAssembly SIMD, or a memory they cannot import).
 */
export const over = (memory: WebAssembly.Memory): Exports | undefined => {
  if (instances.has(memory)) return instances.get(memory) ?? undefined
  const compiledModule = compile(BYTES)
  let exports: Exports | null = null
  try {
    if (compiledModule !== null) exports = new WebAssembly.Instance(compiledModule, { env: { memory } }).exports as unknown as Exports
  } catch {
    // a memory the kernels cannot import (the shared memory of tfjs's threaded build): the callers fall back
  }
  instances.set(memory, exports)
  return exports ?? undefined
}

/** The kernels working in a wasm backend's heap, or undefined (another backend, no WebAssembly SIMD). */
export const of = (backend: unknown): Exports | undefined => {
  const memory = (backend as Partial<WasmBackend>).wasm?.asm?.memory
  return memory instanceof WebAssembly.Memory ? over(memory) : undefined
}

/** The byte offset of a tensor's buffer in the wasm backend's heap. */
export const address = (backend: WasmBackend, info: tf.TensorInfo): number => backend.typedArrayFromHeap(info).byteOffset
