/**
 * Replacing one of tfjs's registered kernels on a backend by a wrapper of it, reversibly: the
 * wasm backend's `Identity` without the copy (`WasmIdentity`) and its `Sum` over leading axes on a
 * SIMD kernel (`WasmSum`) are made with it. And registering this package's own kernels, once
 * ({@link registerNew}).
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"

/** A replacement kernel function, with the kernel it replaced. */
type Replacement = tf.KernelFunc & { readonly original: tf.KernelConfig }

const isReplacement = (f: tf.KernelFunc): f is Replacement => "original" in f

/** Install, uninstall and query a kernel replacement. */
export interface KernelOverride {
  /** Replace the kernel (idempotent; a no-op when the backend's kernel is not registered: its package not imported). */
  readonly install: () => void
  /** Put the backend's own kernel back (for comparisons); a no-op unless installed. */
  readonly uninstall: () => void
  /** Whether the replacement is the registered kernel now. */
  readonly installed: () => boolean
}

/** The override of `kernelName` on `backendName` by `wrap(original kernel function)`. */
export const make = (kernelName: string, backendName: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc): KernelOverride => {
  const installed = () => {
    const current = tf.getKernel(kernelName, backendName)
    return current !== undefined && isReplacement(current.kernelFunc)
  }
  return {
    install: () => {
      const current = tf.getKernel(kernelName, backendName)
      if (current === undefined || isReplacement(current.kernelFunc)) return
      const kernelFunc: Replacement = Object.assign(wrap(current.kernelFunc), { original: current })
      tf.unregisterKernel(kernelName, backendName)
      tf.registerKernel({ ...current, kernelFunc })
    },
    uninstall: () => {
      const current = tf.getKernel(kernelName, backendName)
      if (current === undefined || !isReplacement(current.kernelFunc)) return
      tf.unregisterKernel(kernelName, backendName)
      tf.registerKernel(current.kernelFunc.original)
    },
    installed
  }
}

/**
 * Register this package's own kernels on `backendName` under their names, each unless a kernel of
 * that name is there already (the module loaded twice, as the ESM and the CJS build side by side).
 */
export const registerNew = (backendName: string, kernels: Readonly<Record<string, tf.KernelFunc>>): void => {
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    if (tf.getKernel(kernelName, backendName) === undefined) tf.registerKernel({ kernelName, backendName, kernelFunc })
  }
}
