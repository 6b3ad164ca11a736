/**
 * Tensor helpers shared by the tfjs benchmarks: seeded inputs, and a forward+backward step whose
 * result is read back asynchronously (the webgpu backend cannot read GPU data synchronously outside a
 * browser), so a timed run includes all the work it queued.
 */
import * as tf from "@tensorflow/tfjs"

/** Deterministic pseudo-random floats in [-1, 1) (a 32-bit LCG): inputs without tfjs's own RNG. */
export const uniform = (n: number, seed: number): Float32Array => {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

/** A (B, T) step mask with valid lengths spread over [T/2, T] (the padding the datasets have). */
export const stepMask = (b: number, t: number): tf.Tensor2D => {
  const out = new Float32Array(b * t)
  for (let i = 0; i < b; i++) out.fill(1, i * t, i * t + Math.ceil(t / 2 + ((t / 2) * i) / Math.max(1, b - 1)))
  return tf.tensor2d(out, [b, t])
}

/**
 * Gradients of `loss` for `vars`, the loss read back with `await data()` (which waits for every
 * kernel queued before it, the backward pass included), everything freed. Returns the loss value.
 */
export const gradientStep = async (vars: ReadonlyArray<tf.Variable>, loss: () => tf.Scalar): Promise<number> => {
  const { value, grads } = tf.variableGrads(loss, [...vars])
  try {
    return (await value.data())[0]
  } finally {
    value.dispose()
    tf.dispose(Object.values(grads))
  }
}

/** A forward pass's output read back (same waiting rule as {@link gradientStep}), everything freed. */
export const forwardRead = async (f: () => tf.Tensor): Promise<number> => {
  const out = tf.tidy(f)
  try {
    return (await out.data())[0]
  } finally {
    out.dispose()
  }
}
