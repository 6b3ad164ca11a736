/**
 * The compiled WebAssembly module of a kernel embedded as base64 bytes (the hand-written SIMD
 * kernels: `SimdKernels` here, the host Adam of `@haemsa/haemsa-model`), compiled once, and its
 * instance over a memory (a kernel's own, or tfjs's wasm heap), made once per memory.
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

const instances = new WeakMap<WebAssembly.Memory, Map<string, object | null>>()

/**
 * The exports of the module of `base64` instantiated over `memory` (imported as `env.memory`; one
 * instance per memory and module), or undefined where it cannot run: no WebAssembly SIMD, or a
 * memory it cannot import (the shared memory of tfjs's threaded build). Callers fall back.
 */
export const over = <E extends object>(base64: string, memory: WebAssembly.Memory): E | undefined => {
  let byModule = instances.get(memory)
  if (byModule === undefined) {
    byModule = new Map()
    instances.set(memory, byModule)
  }
  if (!byModule.has(base64)) {
    const compiledModule = compile(base64)
    let exports: object | null = null
    try {
      if (compiledModule !== null) exports = new WebAssembly.Instance(compiledModule, { env: { memory } }).exports
    } catch {
      // a memory the module cannot import
    }
    byModule.set(base64, exports)
  }
  return (byModule.get(base64) ?? undefined) as E | undefined
}
