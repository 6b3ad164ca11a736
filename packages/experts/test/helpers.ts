/**
 * Test helpers shared by the experts tests (and, through their imports, the nn, hierarchical-fusion
 * and kd-losses tests): seeded inputs with padding, gradient and finite-difference checks, the error
 * a call throws.
 */
import * as tf from "@tensorflow/tfjs"
import { expect } from "vitest"
import type { Module } from "@haemsa/nn"

/** A (B, T) float mask with `lengths[i]` leading valid steps. */
export const lengthMask = (lengths: ReadonlyArray<number>, t: number): tf.Tensor2D =>
  tf.tensor2d(lengths.flatMap((l) => Array.from({ length: t }, (_, s) => (s < l ? 1 : 0))), [lengths.length, t])

/** Seeded (B, T, d) normal features. */
export const features = (b: number, t: number, d: number, seed: number): tf.Tensor3D =>
  tf.randomNormal([b, t, d], 0, 1, "float32", seed) as tf.Tensor3D

/** `x` where `stepMask` is 1, `other` elsewhere (padded values replaced). */
export const replacePadding = (x: tf.Tensor3D, stepMask: tf.Tensor2D, other: tf.Tensor3D): tf.Tensor3D =>
  tf.tidy(() => tf.where(tf.greater(tf.expandDims(stepMask, 2), 0), x, other) as tf.Tensor3D)

/** Largest absolute difference of two same-shape tensors. */
export const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

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

/**
 * Compare analytic gradients with finite differences for `perVariable` entries of every variable.
 * float32 arithmetic, so the tolerance is loose but far below the size of a wrong gradient. Where a
 * ReLU kink lies within `epsilon` (the one-sided differences disagree), the analytic gradient must
 * lie between the two one-sided differences instead.
 */
export const expectGradientsMatchFiniteDifferences = (
  module: Module.Module<unknown, unknown>,
  loss: () => tf.Scalar,
  perVariable = 3,
  epsilon = 2e-3
): void => {
  const { grads } = gradientsByPath(module.variables, loss)
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
  tf.dispose([...grads.values()])
}

/**
 * Run `f`, expect it to throw an instance of `type`, and return that error for further checks (what
 * else it throws is rethrown; nothing thrown fails).
 */
export const thrown = <E>(type: abstract new(...args: never[]) => E, f: () => unknown): E => {
  try {
    f()
  } catch (e) {
    if (e instanceof type) return e
    throw e
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`)
}
