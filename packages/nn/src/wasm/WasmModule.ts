/**
 * The compiled WebAssembly module of a kernel embedded as base64 bytes (the hand-written SIMD
 * kernels: `SimdKernels` here, the host Adam of `@haemsa/haemsa-model`), compiled once.
 *
 * @since 0.3.0
 */

const decode = (base64: string): Uint8Array<ArrayBuffer> => {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

const compiled = new Map<string, WebAssembly.Module | null>()

/** The module of `base64` (compiled on first use), or null where it cannot compile (no WebAssembly SIMD): callers fall back. */
export const compile = (base64: string): WebAssembly.Module | null => {
  let module = compiled.get(base64)
  if (module === undefined) {
    try {
      module = new WebAssembly.Module(decode(base64))
    } catch {
      module = null
    }
    compiled.set(base64, module)
  }
  return module
}
