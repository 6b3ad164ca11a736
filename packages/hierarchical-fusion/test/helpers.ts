/**
 * Test helpers of the fusion tests: seeded tensors, gradient and finite-difference checks.
 */
import type { Module } from "@haemsa/experts"
import * as tf from "@tensorflow/tfjs"
import { expect } from "vitest"

/** Seeded normal (B, d) tensor. */
export const normal = (shape: ReadonlyArray<number>, seed: number): tf.Tensor =>
  tf.randomNormal([...shape], 0, 1, "float32", seed)

/** Largest absolute difference of two same-shape tensors. */
export const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

/** A fixed random projection of an output to a scalar loss. */
export const projectionLoss = (shape: ReadonlyArray<number>, seed: number) => {
  const weights = normal(shape, seed)
  return (out: tf.Tensor): tf.Scalar => tf.sum(tf.mul(out, weights)) as tf.Scalar
}

/** Gradients of `loss` for every variable, by path. */
export const gradientsByPath = (variables: ReadonlyMap<string, tf.Variable>, loss: () => tf.Scalar): Map<string, tf.Tensor> => {
  const { value, grads } = tf.variableGrads(loss, [...variables.values()])
  value.dispose()
  return new Map([...variables].map(([path, v]) => [path, grads[v.name]]))
}

/** Every variable has a finite gradient of its shape, and some gradient is non-zero. */
export const expectFiniteGradients = (variables: ReadonlyMap<string, tf.Variable>, loss: () => tf.Scalar): void => {
  const grads = gradientsByPath(variables, loss)
  let nonZero = 0
  for (const [path, v] of variables) {
    const g = grads.get(path)
    expect(g, path).toBeDefined()
    expect(g!.shape, path).toEqual(v.shape)
    const values = g!.dataSync()
    expect(values.every(Number.isFinite), path).toBe(true)
    if (values.some((x) => x !== 0)) nonZero++
  }
  expect(nonZero).toBeGreaterThan(0)
}

/**
 * Analytic gradients against finite differences for a few entries of every variable (float32:
 * loose tolerance; near a ReLU kink the analytic value must lie between the one-sided differences).
 */
export const expectGradientsMatchFiniteDifferences = (
  module: Module.Module<unknown, unknown>,
  loss: () => tf.Scalar,
  perVariable = 3,
  epsilon = 2e-3
): void => {
  const grads = gradientsByPath(module.variables, loss)
  const lossValue = () => tf.tidy(() => loss().dataSync()[0])
  for (const [path, v] of module.variables) {
    const original = v.dataSync().slice()
    const analytic = grads.get(path)!.dataSync()
    for (let k = 0; k < perVariable; k++) {
      const index = Math.floor(((k + 0.5) / perVariable) * original.length)
      const probe = (delta: number) => {
        const changed = original.slice()
        changed[index] += delta
        tf.tidy(() => v.assign(tf.tensor(changed, v.shape)))
        return lossValue()
      }
      const [below, at, above] = [probe(-epsilon), probe(0), probe(epsilon)]
      tf.tidy(() => v.assign(tf.tensor(original, v.shape)))
      const left = (at - below) / epsilon
      const right = (above - at) / epsilon
      const central = (above - below) / (2 * epsilon)
      const tolerance = 2e-2 * Math.max(1, Math.abs(central))
      const label = `${path}[${index}]: analytic ${analytic[index]} vs numeric ${left} / ${right}`
      if (Math.abs(left - right) <= tolerance) {
        expect(Math.abs(analytic[index] - central), label).toBeLessThan(tolerance)
      } else {
        expect(analytic[index], label).toBeGreaterThanOrEqual(Math.min(left, right) - tolerance)
        expect(analytic[index], label).toBeLessThanOrEqual(Math.max(left, right) + tolerance)
      }
    }
  }
}

/** The error thrown by `f`, which must be an instance of `E`. */
export const thrown = <E>(f: () => unknown, type: new(...args: Array<any>) => E): E => {
  try {
    f()
  } catch (e) {
    if (e instanceof type) return e
    throw e
  }
  throw new Error("expected an error")
}
