/**
 * Products of small float32 matrices as a WebAssembly SIMD kernel that works in tfjs's wasm heap
 * (it imports the backend's memory, so it reads and writes the tensors where they are). Its source
 * is `SimdKernels.wat` beside this file; `BYTES` is that source assembled
 * (`node scripts/assemble-wat.mjs packages/nn/src/wasm/SimdKernels.wat` writes it; a test checks the
 * two agree). Used by `BatchMatMul` (the batched products of attention), `WasmLstm` (the recurrent
 * products), `WasmMatMul` (plain 2-D products), `WasmSum` (sums over leading axes: bias and broadcast gradients)
 * and `WasmMaskedMean` (the masked means over steps).
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"
import * as WasmModule from "./WasmModule"

/** `SimdKernels.wat` assembled (wabt 1.0.39, SIMD enabled), base64. */
export const BYTES =
  "AGFzbQEAAAABUglgCH9/f39/f39/AGAGf39/f39/AGAEf39/fwBgAXsBe2AJf39/f39/f39/AGAFf39/f38AYAR/e3t/AGANf39/f39/f39/f39/fwBgAn9/AX0CDwEDZW52Bm1lbW9yeQIAAQMNDAABAgMCBAUGBwgAAAdDBwJubgAAAm50AAEGY29sc3VtAAIHbHN0bWFjdAAEBGdlbW0ACAptYXNrZWRtZWFuAAoObWFza2VkbWVhbmdyYWQACwrWIQzZBAMJfwV7AX0gAkECdCEPIAdBAnQhEAJAA0AgCCAFTw0BIAAgCCABbEECdGohCyAEIAggEGxqIQ5BACEJAkADQCAJQRBqIAdLDQH9DAAAAAAAAAAAAAAAAAAAAAAhEv0MAAAAAAAAAAAAAAAAAAAAACET/QwAAAAAAAAAAAAAAAAAAAAAIRT9DAAAAAAAAAAAAAAAAAAAAAAhFSALIQwgAyAJQQJ0aiENQQAhCgJAA0AgCiAGTw0BIAwqAgD9EyERIBIgESAN/QAEAP3mAf3kASESIBMgESAN/QAEEP3mAf3kASETIBQgESAN/QAEIP3mAf3kASEUIBUgESAN/QAEMP3mAf3kASEVIAwgD2ohDCANIBBqIQ0gCkEBaiEKDAALCyAOIBL9CwQAIA4gE/0LBBAgDiAU/QsEICAOIBX9CwQwIA5BwABqIQ4gCUEQaiEJDAALCwJAA0AgCUEEaiAHSw0B/QwAAAAAAAAAAAAAAAAAAAAAIRIgCyEMIAMgCUECdGohDUEAIQoCQANAIAogBk8NASASIAwqAgD9EyAN/QAEAP3mAf3kASESIAwgD2ohDCANIBBqIQ0gCkEBaiEKDAALCyAOIBL9CwQAIA5BEGohDiAJQQRqIQkMAAsLAkADQCAJIAdPDQFDAAAAACEWIAshDCADIAlBAnRqIQ1BACEKAkADQCAKIAZPDQEgFiAMKgIAIA0qAgCUkiEWIAwgD2ohDCANIBBqIQ0gCkEBaiEKDAALCyAOIBY4AgAgDkEEaiEOIAlBAWohCQwACwsgCEEBaiEIDAALCwuIAgMIfwF7AX0gBEECdCENIARBfHEhCSACIQwCQANAIAYgA08NASAAIAYgDWxqIQogASELQQAhBwJAA0AgByAFTw0B/QwAAAAAAAAAAAAAAAAAAAAAIQ5BACEIAkADQCAIIAlPDQEgDiAKIAhBAnRq/QAEACALIAhBAnRq/QAEAP3mAf3kASEOIAhBBGohCAwACwsgDv0fACAO/R8BkiAO/R8CIA79HwOSkiEPAkADQCAIIARPDQEgDyAKIAhBAnRqKgIAIAsgCEECdGoqAgCUkiEPIAhBAWohCAwACwsgDCAPOAIAIAxBBGohDCALIA1qIQsgB0EBaiEHDAALCyAGQQFqIQYMAAsLC9MBAQZ/IANBfHEhBiADQQJ0IQcgASEJAkADQCAFIANPDQEgCUMAAAAAOAIAIAlBBGohCSAFQQFqIQUMAAsLIAAhCAJAA0AgBCACTw0BQQAhBQJAA0AgBSAGTw0BIAEgBUECdGohCSAJIAn9AAQAIAggBUECdGr9AAQA/eQB/QsEACAFQQRqIQUMAAsLAkADQCAFIANPDQEgASAFQQJ0aiEJIAkgCSoCACAIIAVBAnRqKgIAkjgCACAFQQFqIQUMAAsLIAggB2ohCCAEQQFqIQQMAAsLC/QBAQN7IABDpcCwwv0T/ekBQ6XAsEL9E/3oASEAIABDO6q4P/0T/eYBQwAAAD/9E/3kAf1oIQEgACABQwCAMT/9E/3mAf3lASABQ4OAXrn9E/3mAf3lASECQ2dpUDn9EyEDIAMgAv3mAUPOQ7c6/RP95AEhAyADIAL95gFDCIkIPP0T/eQBIQMgAyAC/eYBQ8GpKj39E/3kASEDIAMgAv3mAUOqqio+/RP95AEhAyADIAL95gFDAAAAP/0T/eQBIQMgAyACIAL95gH95gEgAv3kAUMAAIA//RP95AEhAyADIAH9+AFB/wD9Ef2uAUEX/asB/eYBC/gBAwR/AnsCfyADQQxsIQogA0EEdCELAkADQCAEIAJPDQEgACAEIAtsaiEGIAEgBCADQRRsbGohB0EAIQUCQANAIAUgCk8NASAHIAVqQwAAgD/9E0MAAIA//RMgBiAFav0ABAD94QEQA/3kAf3nAf0LBAAgBUEQaiEFDAALCwJAA0AgBSALTw0BIAYgBWr9AAQAIQggCP3gAUMAAADA/RP95gEQAyEJIAcgBWpDAACAP/0TIAn95QFDAACAP/0TIAn95AH95wEgCP0MAAAAgAAAAIAAAACAAAAAgP1O/VD9CwQAIAVBEGohBQwACwsgBEEBaiEEDAALCwuhAgEFf0EAIQoCQANAIApBCE8NASAHIApqIQsgCCAKQQJ0aiAEIAsgBklxBH0gAyALQQJ0aioCAAVDAAAAAAs4AgAgCkEBaiEKDAALCyAIQSBqIQggAUECdCENIAAgByACbEECdGohDCACQQFGIAdBCGogBk1xBEACQANAIAkgBU8NASAIIAz9AAQA/QsEACAIIAz9AAQQ/QsEECAIQSBqIQggDCANaiEMIAlBAWohCQwACwsPCwJAA0AgCSAFTw0BQQAhCgJAA0AgCkEITw0BIAcgCmohCyAIIApBAnRqIAsgBkkEfSAMIAogAmxBAnRqKgIABUMAAAAACzgCACAKQQFqIQoMAAsLIAhBIGohCCAMIA1qIQwgCUEBaiEJDAALCwvZAwIEfwh7IAFBAnQhBiACQQJ0IQggAkEBRwRAIAAhBwJAA0AgBSADTw0BIAQgB/0ABAD9CwQAIAcgCGohByAEQRBqIQQgBUEBaiEFDAALCw8LAkADQCAFQQRqIANLDQEgACAFQQJ0aiEHIAf9AAQAIQkgByAGav0ABAAhCiAHIAZBAXRq/QAEACELIAcgBkEDbGr9AAQAIQwgCSAK/Q0AAQIDEBESEwQFBgcUFRYXIQ0gCyAM/Q0AAQIDEBESEwQFBgcUFRYXIQ4gCSAK/Q0ICQoLGBkaGwwNDg8cHR4fIQ8gCyAM/Q0ICQoLGBkaGwwNDg8cHR4fIRAgBCANIA79DQABAgMEBQYHEBESExQVFhf9CwQAIAQgDSAO/Q0ICQoLDA0ODxgZGhscHR4f/QsEECAEIA8gEP0NAAECAwQFBgcQERITFBUWF/0LBCAgBCAPIBD9DQgJCgsMDQ4PGBkaGxwdHh/9CwQwIARBwABqIQQgBUEEaiEFDAALCwJAA0AgBSADTw0BIAAgBUECdGohByAEIAcqAgA4AgAgBCAHIAZqKgIAOAIEIAQgByAGQQF0aioCADgCCCAEIAcgBkEDbGoqAgA4AgwgBEEQaiEEIAVBAWohBQwACwsLcwAgA0EIRgRAIAAgAf0LBAAgACAC/QsEEA8LIANBBE8EQCAAIAH9CwQAIANBBGshAyAAQRBqIQAgAiEBCyADQQBLBEAgACAB/R8AOAIACyADQQFLBEAgACAB/R8BOAIECyADQQJLBEAgACAB/R8COAIICwu+BgMNfwt7BX8gC0EHakEDdiEPIApBAWpBBXQhFSABQQJ0IRYgAkECdCEXIAtBAnQhGCACQQFGBEAgFiEnIBZBAXQhKCAWQQNsISlBBCEmBUEEISdBCCEoQQwhKUEQISYLIAwgDyAVbGohGQJAA0AgDiAPTw0BIAMgBCAFIAYgByAKIAsgDkEDdCAMIA4gFWxqEAUgDkEBaiEODAALCwJAA0AgDUEEaiAJSw0BIAAgDSAWbGohJSACQQFHBEAgJSABIAIgCiAZEAYgGSElC0EAIQ4CQANAIA4gD08NASAMIA4gFWxqIRMgE/0ABAAhHSAT/QAEECEeIB0hHyAeISAgHSEhIB4hIiAdISMgHiEkIBNBIGohEyAlIRJBACEQAkADQCAQIApPDQEgE/0ABAAhGiAT/QAEECEbIBL9CQIAIRwgHSAcIBr95gH95AEhHSAeIBwgG/3mAf3kASEeIBIgJ2r9CQIAIRwgHyAcIBr95gH95AEhHyAgIBwgG/3mAf3kASEgIBIgKGr9CQIAIRwgISAcIBr95gH95AEhISAiIBwgG/3mAf3kASEiIBIgKWr9CQIAIRwgIyAcIBr95gH95AEhIyAkIBwgG/3mAf3kASEkIBIgJmohEiATQSBqIRMgEEEBaiEQDAALCyALIA5BA3RrIREgEUEISwRAQQghEQsgCCANIBhsIA5BBXRqaiEUIBQgHSAeIBEQByAUIBhqIRQgFCAfICAgERAHIBQgGGohFCAUICEgIiAREAcgFCAYaiEUIBQgIyAkIBEQByAOQQFqIQ4MAAsLIA1BBGohDQwACwsCQANAIA0gCU8NAUEAIQ4CQANAIA4gD08NASAMIA4gFWxqIRMgE/0ABAAhHSAT/QAEECEeIBNBIGohEyAAIA0gFmxqIRJBACEQAkADQCAQIApPDQEgEv0JAgAhHCAdIBwgE/0ABAD95gH95AEhHSAeIBwgE/0ABBD95gH95AEhHiASIBdqIRIgE0EgaiETIBBBAWohEAwACwsgCyAOQQN0ayERIBFBCEsEQEEIIRELIAggDSAYbCAOQQV0amogHSAeIBEQByAOQQFqIQ4MAAsLIA1BAWohDQwACwsLNAIBfQF/AkADQCADIAFPDQEgAiAAIANBAnRqKgIAkiECIANBAWohAwwACwsgAkMAAIA/lwulBAQKfwF9A3sDfSAFQQJ0IRACQANAIAggA08NASABIAggBGxBAnRqIQ0gDSAEEAkhEkEAIQkCQANAIAlBBGogBUsNAf0MAAAAAAAAAAAAAAAAAAAAACETQQAhCwJAA0AgCyAETw0BIAsgBmohDCAMIARLBEAgBCEMC/0MAAAAAAAAAAAAAAAAAAAAACEUIAshCiANIApBAnRqIQ8gACAIIARsIApqIAVsIAlqQQJ0aiEOAkADQCAKIAxPDQEgDv0ABAAhFSAHBEAgFf0MAAAAAAAAAAAAAAAAAAAAAP3pASEVCyAUIA/9CQIAIBX95gH95AEhFCAPQQRqIQ8gDiAQaiEOIApBAWohCgwACwsgEyAU/eQBIRMgDCELDAALCyACIAggBWwgCWpBAnRqIBMgEv0T/ecB/QsEACAJQQRqIQkMAAsLAkADQCAJIAVPDQFDAAAAACEWQQAhCwJAA0AgCyAETw0BIAsgBmohDCAMIARLBEAgBCEMC0MAAAAAIRcgCyEKIA0gCkECdGohDyAAIAggBGwgCmogBWwgCWpBAnRqIQ4CQANAIAogDE8NASAOKgIAIRggBwRAIBhDAAAAAJchGAsgFyAPKgIAIBiUkiEXIA9BBGohDyAOIBBqIQ4gCkEBaiEKDAALCyAWIBeSIRYgDCELDAALCyACIAggBWwgCWpBAnRqIBYgEpU4AgAgCUEBaiEJDAALCyAIQQFqIQgMAAsLC5sDBAd/AX0CewJ9IAZBAnQhDQJAA0AgCCAETw0BIAEgCCAFbEECdGohCyALIAUQCSEPIAIgCCAGbEECdGohDkEAIQkCQANAIAlBBGogBksNASAOIAlBAnRq/QAEACAP/RP95wEhECAIIAVsIAZsIAlqQQJ0IQxBACEKAkADQCAKIAVPDQEgCyAKQQJ0av0JAgAgEP3mASERIAcEQCARIAAgDGr9AAQA/QwAAAAAAAAAAAAAAAAAAAAA/UT9DAAAgD8AAIA/AACAPwAAgD/9Tv3mASERCyADIAxqIBH9CwQAIAwgDWohDCAKQQFqIQoMAAsLIAlBBGohCQwACwsCQANAIAkgBk8NASAOIAlBAnRqKgIAIA+VIRIgCCAFbCAGbCAJakECdCEMQQAhCgJAA0AgCiAFTw0BIAsgCkECdGoqAgAgEpQhEyAHBEAgE0MAAIA/QwAAAAAgACAMaioCAEMAAAAAXhuUIRMLIAMgDGogEzgCACAMIA1qIQwgCkEBaiEKDAALCyAJQQFqIQkMAAsLIAhBAWohCAwACwsL"

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
   * y (b x d) = the masked mean over the t steps of x (b x t x d) with the mask m (b x t), of relu(x)
   * when `relu` is 1, as the composite of `Layers.maskedMean` computes it, the steps summed in
   * blocks of `block` (`WasmMaskedMean`).
   */
  readonly maskedmean: (x: number, m: number, y: number, b: number, t: number, d: number, block: number, relu: number) => void
  /** dx (b x t x d) = the gradient of {@link Exports.maskedmean} for dy (b x d), as the composite's. */
  readonly maskedmeangrad: (x: number, m: number, dy: number, dx: number, b: number, t: number, d: number, relu: number) => void
  /**
   * C (m x n, row-major) = bias + A · B as XNNPACK computes it (sums over p in order from the bias,
   * or from 0 when `hasBias` is 0), A(i, p) at a + 4·(i·asi + p·asp) (asp = 1, or asi = 1 for A
   * stored transposed) and B(p, j) at b + 4·(p·bsp + j·bsj) (either layout); `w` is scratch for
   * ceil(n / 8)·(k + 1)·8 + 4·k floats (`WasmMatMul`).
   */
  readonly gemm: (
    a: number, asi: number, asp: number, b: number, bsp: number, bsj: number,
    bias: number, hasBias: number, c: number, m: number, k: number, n: number, w: number
  ) => void
}

/** The slice of tfjs-backend-wasm's backend the kernels use. */
export interface WasmBackend {
  readonly wasm: {
    readonly asm: { readonly memory: WebAssembly.Memory }
    _malloc(bytes: number): number
    _free(at: number): void
  }
  makeOutput(shape: Array<number>, dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array
  getMemoryOffset(dataId: object): number
}

/**
 * The kernels working in `memory` (one instance per memory), or undefined where they cannot run (no
 * WebAssembly SIMD, or a memory they cannot import).
 */
export const over = (memory: WebAssembly.Memory): Exports | undefined => WasmModule.over<Exports>(BYTES, memory)

/** The heap of a wasm backend (the memory its tensors live in), or undefined for another backend. */
export const heap = (backend: unknown): WebAssembly.Memory | undefined => {
  const memory = (backend as Partial<WasmBackend>).wasm?.asm?.memory
  return memory instanceof WebAssembly.Memory ? memory : undefined
}

/** The kernels working in a wasm backend's heap, or undefined (another backend, no WebAssembly SIMD). */
export const of = (backend: unknown): Exports | undefined => {
  const memory = heap(backend)
  return memory === undefined ? undefined : over(memory)
}

/** Whether the kernels can run on the current backend: wasm, with WebAssembly SIMD and a memory they can import. */
export const here = (): boolean => tf.getBackend() === "wasm" && of(tf.backend()) !== undefined

/** The byte offset of a tensor's buffer in the wasm backend's heap. */
export const address = (backend: WasmBackend, info: tf.TensorInfo): number => backend.getMemoryOffset(info.dataId) >>> 0
