/**
 * Products of small float32 matrices as a WebAssembly SIMD kernel that works in tfjs's wasm heap
 * (it imports the backend's memory, so it reads and writes the tensors where they are). Its source
 * is `MatMulKernel.wat` beside this file; `BYTES` is that source assembled
 * (`node scripts/assemble-wat.mjs packages/nn/src/wasm/MatMulKernel.wat` writes it; a test checks the
 * two agree). Used by `BatchMatMul` for the batched products of attention.
 *
 * @since 0.3.0
 */
import { compile } from "./WasmModule"

/** `MatMulKernel.wat` assembled (wabt 1.0.39, SIMD enabled), base64. */
export const BYTES =
  "AGFzbQEAAAABFQJgCH9/f39/f39/AGAGf39/f39/AAIPAQNlbnYGbWVtb3J5AgABAwMCAAEHCwICbm4AAAJudAABCuYGAtkEAwl/BXsBfSACQQJ0IQ8gB0ECdCEQAkADQCAIIAVPDQEgACAIIAFsQQJ0aiELIAQgCCAQbGohDkEAIQkCQANAIAlBEGogB0sNAf0MAAAAAAAAAAAAAAAAAAAAACES/QwAAAAAAAAAAAAAAAAAAAAAIRP9DAAAAAAAAAAAAAAAAAAAAAAhFP0MAAAAAAAAAAAAAAAAAAAAACEVIAshDCADIAlBAnRqIQ1BACEKAkADQCAKIAZPDQEgDCoCAP0TIREgEiARIA39AAQA/eYB/eQBIRIgEyARIA39AAQQ/eYB/eQBIRMgFCARIA39AAQg/eYB/eQBIRQgFSARIA39AAQw/eYB/eQBIRUgDCAPaiEMIA0gEGohDSAKQQFqIQoMAAsLIA4gEv0LBAAgDiAT/QsEECAOIBT9CwQgIA4gFf0LBDAgDkHAAGohDiAJQRBqIQkMAAsLAkADQCAJQQRqIAdLDQH9DAAAAAAAAAAAAAAAAAAAAAAhEiALIQwgAyAJQQJ0aiENQQAhCgJAA0AgCiAGTw0BIBIgDCoCAP0TIA39AAQA/eYB/eQBIRIgDCAPaiEMIA0gEGohDSAKQQFqIQoMAAsLIA4gEv0LBAAgDkEQaiEOIAlBBGohCQwACwsCQANAIAkgB08NAUMAAAAAIRYgCyEMIAMgCUECdGohDUEAIQoCQANAIAogBk8NASAWIAwqAgAgDSoCAJSSIRYgDCAPaiEMIA0gEGohDSAKQQFqIQoMAAsLIA4gFjgCACAOQQRqIQ4gCUEBaiEJDAALCyAIQQFqIQgMAAsLC4gCAwh/AXsBfSAEQQJ0IQ0gBEF8cSEJIAIhDAJAA0AgBiADTw0BIAAgBiANbGohCiABIQtBACEHAkADQCAHIAVPDQH9DAAAAAAAAAAAAAAAAAAAAAAhDkEAIQgCQANAIAggCU8NASAOIAogCEECdGr9AAQAIAsgCEECdGr9AAQA/eYB/eQBIQ4gCEEEaiEIDAALCyAO/R8AIA79HwGSIA79HwIgDv0fA5KSIQ8CQANAIAggBE8NASAPIAogCEECdGoqAgAgCyAIQQJ0aioCAJSSIQ8gCEEBaiEIDAALCyAMIA84AgAgDEEEaiEMIAsgDWohCyAHQQFqIQcMAAsLIAZBAWohBgwACwsL"

/** The kernel's exports (byte offsets into the imported memory; strides in floats). */
export interface Exports {
  /** C (m x n) = A · B, A(i, p) at a + 4·(i·asi + p·asp), B (k x n) and C row-major. */
  readonly nn: (a: number, asi: number, asp: number, b: number, c: number, m: number, k: number, n: number) => void
  /** C (m x n) = A · Bᵀ, A (m x k) and B (n x k) row-major. */
  readonly nt: (a: number, b: number, c: number, m: number, k: number, n: number) => void
}

const instances = new WeakMap<WebAssembly.Memory, Exports>()

/** The kernel working in `memory` (one instance per memory), or undefined where WebAssembly SIMD is not available. */
export const over = (memory: WebAssembly.Memory): Exports | undefined => {
  const known = instances.get(memory)
  if (known !== undefined) return known
  const compiledModule = compile(BYTES)
  if (compiledModule === null) return undefined
  const exports = new WebAssembly.Instance(compiledModule, { env: { memory } }).exports as unknown as Exports
  instances.set(memory, exports)
  return exports
}
