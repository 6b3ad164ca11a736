/**
 * Analytic gradients of a module's variables, and the check that every one of them is there, of the
 * right shape and finite.
 */
import * as tf from "@tensorflow/tfjs"
import { expect } from "vitest"

/** Gradients of `loss` for every variable of a module, by path. */
export const gradientsByPath = (
  variables: ReadonlyMap<string, tf.Variable>,
  loss: () => tf.Scalar
): { readonly value: number; readonly grads: Map<string, tf.Tensor> } => {
  const { value, grads } = tf.variableGrads(loss, [...variables.values()])
  const out = new Map<string, tf.Tensor>()
  for (const [path, v] of variables) out.set(path, grads[v.name])
  const loss0 = value.dataSync()[0]
  value.dispose()
  return { value: loss0, grads: out }
}

/** Every variable has a gradient, of its shape, all finite, and at least one is non-zero. */
export const expectFiniteGradients = (variables: ReadonlyMap<string, tf.Variable>, loss: () => tf.Scalar): void => {
  const { grads } = gradientsByPath(variables, loss)
  let nonZero = 0
  for (const [path, v] of variables) {
    const g = grads.get(path)
    expect(g, `gradient for ${path}`).toBeDefined()
    expect(g!.shape, path).toEqual(v.shape)
    const values = g!.dataSync()
    expect(values.every(Number.isFinite), `finite gradient for ${path}`).toBe(true)
    if (values.some((x) => x !== 0)) nonZero++
  }
  expect(nonZero).toBeGreaterThan(0)
  tf.dispose([...grads.values()])
}

/** A fixed random projection of an output to a scalar loss (so every output unit matters). */
export const projectionLoss = (shape: ReadonlyArray<number>, seed: number) => {
  const weights = tf.randomNormal([...shape], 0, 1, "float32", seed)
  return (out: tf.Tensor): tf.Scalar => tf.sum(tf.mul(out, weights)) as tf.Scalar
}
