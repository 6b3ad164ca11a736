/**
 * Products of small float32 matrices as a WebAssembly SIMD kernel that works in tfjs's wasm heap
 * (it imports the backend's memory, so it reads and writes the tensors where they are). Its source
 * is `SimdKernels.wat` beside this file; `BYTES` is that source assembled
 * (`node scripts/assemble-wat.mjs packages/nn/src/wasm/SimdKernels.wat` writes it; a test checks the
 * two agree). Used by `BatchMatMul` (the batched products of attention), `WasmLstm` (the recurrent
 * products), `WasmMatMul` (plain 2-D products) and `WasmSum` (sums over leading axes: bias and broadcast gradients).
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"
import { compile } from "./WasmModule"

/** `SimdKernels.wat` assembled (wabt 1.0.39, SIMD enabled), base64. */
export const BYTES =
  "AGFzbQEAAAABPgdgCH9/f39/f39/AGAGf39/f39/AGAEf39/fwBgAXsBe2AHf39/f39/fwBgBH97e38AYAl/f39/f39/f38AAg8BA2VudgZtZW1vcnkCAAEDCQgAAQIDAgQFBgclBQJubgAAAm50AAEGY29sc3VtAAIHbHN0bWFjdAAEBGdlbW0ABwqmFQjZBAMJfwV7AX0gAkECdCEPIAdBAnQhEAJAA0AgCCAFTw0BIAAgCCABbEECdGohCyAEIAggEGxqIQ5BACEJAkADQCAJQRBqIAdLDQH9DAAAAAAAAAAAAAAAAAAAAAAhEv0MAAAAAAAAAAAAAAAAAAAAACET/QwAAAAAAAAAAAAAAAAAAAAAIRT9DAAAAAAAAAAAAAAAAAAAAAAhFSALIQwgAyAJQQJ0aiENQQAhCgJAA0AgCiAGTw0BIAwqAgD9EyERIBIgESAN/QAEAP3mAf3kASESIBMgESAN/QAEEP3mAf3kASETIBQgESAN/QAEIP3mAf3kASEUIBUgESAN/QAEMP3mAf3kASEVIAwgD2ohDCANIBBqIQ0gCkEBaiEKDAALCyAOIBL9CwQAIA4gE/0LBBAgDiAU/QsEICAOIBX9CwQwIA5BwABqIQ4gCUEQaiEJDAALCwJAA0AgCUEEaiAHSw0B/QwAAAAAAAAAAAAAAAAAAAAAIRIgCyEMIAMgCUECdGohDUEAIQoCQANAIAogBk8NASASIAwqAgD9EyAN/QAEAP3mAf3kASESIAwgD2ohDCANIBBqIQ0gCkEBaiEKDAALCyAOIBL9CwQAIA5BEGohDiAJQQRqIQkMAAsLAkADQCAJIAdPDQFDAAAAACEWIAshDCADIAlBAnRqIQ1BACEKAkADQCAKIAZPDQEgFiAMKgIAIA0qAgCUkiEWIAwgD2ohDCANIBBqIQ0gCkEBaiEKDAALCyAOIBY4AgAgDkEEaiEOIAlBAWohCQwACwsgCEEBaiEIDAALCwuIAgMIfwF7AX0gBEECdCENIARBfHEhCSACIQwCQANAIAYgA08NASAAIAYgDWxqIQogASELQQAhBwJAA0AgByAFTw0B/QwAAAAAAAAAAAAAAAAAAAAAIQ5BACEIAkADQCAIIAlPDQEgDiAKIAhBAnRq/QAEACALIAhBAnRq/QAEAP3mAf3kASEOIAhBBGohCAwACwsgDv0fACAO/R8BkiAO/R8CIA79HwOSkiEPAkADQCAIIARPDQEgDyAKIAhBAnRqKgIAIAsgCEECdGoqAgCUkiEPIAhBAWohCAwACwsgDCAPOAIAIAxBBGohDCALIA1qIQsgB0EBaiEHDAALCyAGQQFqIQYMAAsLC9MBAQZ/IANBfHEhBiADQQJ0IQcgASEJAkADQCAFIANPDQEgCUMAAAAAOAIAIAlBBGohCSAFQQFqIQUMAAsLIAAhCAJAA0AgBCACTw0BQQAhBQJAA0AgBSAGTw0BIAEgBUECdGohCSAJIAn9AAQAIAggBUECdGr9AAQA/eQB/QsEACAFQQRqIQUMAAsLAkADQCAFIANPDQEgASAFQQJ0aiEJIAkgCSoCACAIIAVBAnRqKgIAkjgCACAFQQFqIQUMAAsLIAggB2ohCCAEQQFqIQQMAAsLC/QBAQN7IABDpcCwwv0T/ekBQ6XAsEL9E/3oASEAIABDO6q4P/0T/eYBQwAAAD/9E/3kAf1oIQEgACABQwCAMT/9E/3mAf3lASABQ4OAXrn9E/3mAf3lASECQ2dpUDn9EyEDIAMgAv3mAUPOQ7c6/RP95AEhAyADIAL95gFDCIkIPP0T/eQBIQMgAyAC/eYBQ8GpKj39E/3kASEDIAMgAv3mAUOqqio+/RP95AEhAyADIAL95gFDAAAAP/0T/eQBIQMgAyACIAL95gH95gEgAv3kAUMAAIA//RP95AEhAyADIAH9+AFB/wD9Ef2uAUEX/asB/eYBC/gBAwR/AnsCfyADQQxsIQogA0EEdCELAkADQCAEIAJPDQEgACAEIAtsaiEGIAEgBCADQRRsbGohB0EAIQUCQANAIAUgCk8NASAHIAVqQwAAgD/9E0MAAIA//RMgBiAFav0ABAD94QEQA/3kAf3nAf0LBAAgBUEQaiEFDAALCwJAA0AgBSALTw0BIAYgBWr9AAQAIQggCP3gAUMAAADA/RP95gEQAyEJIAcgBWpDAACAP/0TIAn95QFDAACAP/0TIAn95AH95wEgCP0MAAAAgAAAAIAAAACAAAAAgP1O/VD9CwQAIAVBEGohBQwACwsgBEEBaiEEDAALCwuVAgEFf0EAIQgCQANAIAhBCE8NASAFIAhqIQkgBiAIQQJ0aiACIAkgBElxBH0gASAJQQJ0aioCAAVDAAAAAAs4AgAgCEEBaiEIDAALCyAGQSBqIQYgBEECdCELIAAgBUECdGohCiAFQQhqIARNBEACQANAIAcgA08NASAGIAr9AAQA/QsEACAGIAr9AAQQ/QsEECAGQSBqIQYgCiALaiEKIAdBAWohBwwACwsPCwJAA0AgByADTw0BQQAhCAJAA0AgCEEITw0BIAUgCGohCSAGIAhBAnRqIAkgBEkEfSAKIAhBAnRqKgIABUMAAAAACzgCACAIQQFqIQgMAAsLIAZBIGohBiAKIAtqIQogB0EBaiEHDAALCwtzACADQQhGBEAgACAB/QsEACAAIAL9CwQQDwsgA0EETwRAIAAgAf0LBAAgA0EEayEDIABBEGohACACIQELIANBAEsEQCAAIAH9HwA4AgALIANBAUsEQCAAIAH9HwE4AgQLIANBAksEQCAAIAH9HwI4AggLC+4FAg5/C3sgB0EHakEDdiELIAZBAWpBBXQhESAGQQJ0IRIgB0ECdCETIBIhFCASQQF0IRUgEkEDbCEWAkADQCAKIAtPDQEgASACIAMgBiAHIApBA3QgCCAKIBFsahAFIApBAWohCgwACwsCQANAIAlBBGogBUsNAUEAIQoCQANAIAogC08NASAIIAogEWxqIQ8gD/0ABAAhGiAP/QAEECEbIBohHCAbIR0gGiEeIBshHyAaISAgGyEhIA9BIGohDyAAIAkgEmxqIQ5BACEMAkADQCAMIAZPDQEgD/0ABAAhFyAP/QAEECEYIA79CQIAIRkgGiAZIBf95gH95AEhGiAbIBkgGP3mAf3kASEbIA4gFGr9CQIAIRkgHCAZIBf95gH95AEhHCAdIBkgGP3mAf3kASEdIA4gFWr9CQIAIRkgHiAZIBf95gH95AEhHiAfIBkgGP3mAf3kASEfIA4gFmr9CQIAIRkgICAZIBf95gH95AEhICAhIBkgGP3mAf3kASEhIA5BBGohDiAPQSBqIQ8gDEEBaiEMDAALCyAHIApBA3RrIQ0gDUEISwRAQQghDQsgBCAJIBNsIApBBXRqaiEQIBAgGiAbIA0QBiAQIBNqIRAgECAcIB0gDRAGIBAgE2ohECAQIB4gHyANEAYgECATaiEQIBAgICAhIA0QBiAKQQFqIQoMAAsLIAlBBGohCQwACwsCQANAIAkgBU8NAUEAIQoCQANAIAogC08NASAIIAogEWxqIQ8gD/0ABAAhGiAP/QAEECEbIA9BIGohDyAAIAkgEmxqIQ5BACEMAkADQCAMIAZPDQEgDv0JAgAhGSAaIBkgD/0ABAD95gH95AEhGiAbIBkgD/0ABBD95gH95AEhGyAOQQRqIQ4gD0EgaiEPIAxBAWohDAwACwsgByAKQQN0ayENIA1BCEsEQEEIIQ0LIAQgCSATbCAKQQV0amogGiAbIA0QBiAKQQFqIQoMAAsLIAlBAWohCQwACwsL"

/** The kernel's exports (byte offsets into the imported memory; strides in floats). */
export interface Exports {
  /** C (m x n) = A · B, A(i, p) at a + 4·(i·asi + p·asp), B (k x n) and C row-major. */
  readonly nn: (a: number, asi: number, asp: number, b: number, c: number, m: number, k: number, n: number) => void
  /** C (m x n) = A · Bᵀ, A (m x k) and B (n x k) row-major. */
  readonly nt: (a: number, b: number, c: number, m: number, k: number, n: number) => void
  /** out (n) = the column sums of X (rows x n, row-major), each column summed in row order from 0. */
  readonly colsum: (x: number, out: number, rows: number, n: number) => void
  /** LSTM gate activations of `rows` rows: z (row stride 4h) -> acts (row stride 5h): sigmoid of 3h, tanh of h (h a multiple of 4). */
  readonly lstmact: (z: number, acts: number, rows: number, h: number) => void
  /**
   * C (m x n) = bias + A (m x k) · B (k x n), all row-major, as XNNPACK computes it (sums over p in
   * order from the bias, or from 0 when `hasBias` is 0); `w` is scratch for ceil(n / 8)·(k + 1)·8
   * floats (`WasmMatMul`).
   */
  readonly gemm: (a: number, b: number, bias: number, hasBias: number, c: number, m: number, k: number, n: number, w: number) => void
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

/** Whether the kernels can run on the current backend: wasm, with WebAssembly SIMD and a memory they can import. */
export const here = (): boolean => tf.getBackend() === "wasm" && of(tf.backend()) !== undefined

/** The byte offset of a tensor's buffer in the wasm backend's heap. */
export const address = (backend: WasmBackend, info: tf.TensorInfo): number => backend.typedArrayFromHeap(info).byteOffset
