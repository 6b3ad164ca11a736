/**
 * The host Adam's update as a WebAssembly SIMD kernel: four weights per instruction, each operation
 * rounded to float32 like tfjs's Adam kernels (so the results are those of the JavaScript loop in
 * `Optimizer.hostAdamStep`, bit for bit, about 15x faster: 0.18 ms instead of 2.7 ms for 194k
 * weights). Its source is `AdamKernel.wat` beside this file; `BYTES` is that source assembled
 * (`node scripts/assemble-wat.mjs packages/haemsa-model/src/model/AdamKernel.wat` writes it; a test checks
 * the two agree).
 *
 * @since 0.3.0
 */
import { WasmModule } from "@haemsa/nn"

/** `AdamKernel.wat` assembled (wabt 1.0.39, SIMD enabled), base64. */
export const BYTES =
  "AGFzbQEAAAABFwJgDX9/f39/fX19fX19fX0AYAN/f30AAg8BA2VudgZtZW1vcnkCAAEDAwIAAQcQAgRhZGFtAAAFc2NhbGUAAQq3AwLJAgMDfwN7A30gBEECdCEPIA9BcHEhDgJAA0AgDSAOTw0BIAMgDWr9AAQAIRAgASANav0ABAAgBf0T/eYBIBAgB/0T/eYB/eQBIREgAiANav0ABAAgBv0T/eYBIBAgEP3mASAI/RP95gH95AEhEiABIA1qIBH9CwQAIAIgDWogEv0LBAAgACANaiARIAn9E/3nASASIAr9E/3nAf3jASAL/RP95AH95wEgDP0T/eYBIAAgDWr9AAQA/eQB/QsEACANQRBqIQ0MAAsLAkADQCANIA9PDQEgAyANaioCACETIAEgDWoqAgAgBZQgEyAHlJIhFCACIA1qKgIAIAaUIBMgE5QgCJSSIRUgASANaiAUOAIAIAIgDWogFTgCACAAIA1qIBQgCZUgFSAKlZEgC5KVIAyUIAAgDWoqAgCSOAIAIA1BBGohDQwACwsLagEDfyABQQJ0IQUgBUFwcSEEAkADQCADIARPDQEgACADaiAAIANq/QAEACAC/RP95gH9CwQAIANBEGohAwwACwsCQANAIAMgBU8NASAAIANqIAAgA2oqAgAgApQ4AgAgA0EEaiEDDAALCws="

/** The kernel's exports. */
export interface Exports {
  /** Adam on n weights at byte offsets w, m, v, g of its memory, with β1, β2, 1-β1, 1-β2, 1-β1ᵗ, 1-β2ᵗ, ε, -lr (float32). */
  readonly adam: (
    w: number, m: number, v: number, g: number, n: number,
    b1: number, b2: number, ob1: number, ob2: number, oa1: number, oa2: number, eps: number, mlr: number
  ) => void
  /** w ← w · keep on n weights at byte offset w. */
  readonly scale: (w: number, n: number, keep: number) => void
}

/** A kernel instance with room for `n` weights: the weights, both moments and the gradient as views of its memory. */
export interface AdamKernel {
  readonly exports: Exports
  readonly memory: WebAssembly.Memory
  readonly weights: Float32Array
  readonly m: Float32Array
  readonly v: Float32Array
  readonly gradient: Float32Array
}

/** A kernel instance for `n` weights, or undefined where WebAssembly SIMD is not available. */
export const make = (n: number): AdamKernel | undefined => {
  const bytes = 4 * n * Float32Array.BYTES_PER_ELEMENT
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) })
  const exports = over(memory)
  if (exports === undefined) return undefined
  const view = (k: number) => new Float32Array(memory.buffer, k * n * Float32Array.BYTES_PER_ELEMENT, n)
  return { exports, memory, weights: view(0), m: view(1), v: view(2), gradient: view(3) }
}

/**
 * The kernel working in `memory` (one instance per memory: its own, or the heap of tfjs's wasm
 * backend), or undefined where WebAssembly SIMD is not available or the memory cannot be imported.
 */
export const over = (memory: WebAssembly.Memory): Exports | undefined => WasmModule.over<Exports>(BYTES, memory)
