/**
 * The check of analytic gradients against finite differences of the loss.
 */
import * as tf from "@tensorflow/tfjs"
import { expect } from "vitest"
import { gradientsByPath } from "./Gradients"

/**
 * Compare analytic gradients with finite differences for `perVariable` entries of every variable of
 * a module (anything with `variables` by path, like `@haemsa/nn`'s `Module`).
 * float32 arithmetic, so the tolerance is loose but far below the size of a wrong gradient. Where a
 * ReLU kink lies within `epsilon` (the one-sided differences disagree), the analytic gradient must
 * lie between the two one-sided differences instead.
 */
export const expectGradientsMatchFiniteDifferences = (
  module: { readonly variables: ReadonlyMap<string, tf.Variable> },
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
