/**
 * Seeded test inputs (features, padding masks) and the comparison of two tensors.
 */
import * as tf from "@tensorflow/tfjs"

/** A (B, T) float mask with `lengths[i]` leading valid steps. */
export const lengthMask = (lengths: ReadonlyArray<number>, t: number): tf.Tensor2D =>
  tf.tensor2d(lengths.flatMap((l) => Array.from({ length: t }, (_, s) => (s < l ? 1 : 0))), [lengths.length, t])

/** Seeded (B, T, d) normal features. */
export const features = (b: number, t: number, d: number, seed: number): tf.Tensor3D =>
  tf.randomNormal([b, t, d], 0, 1, "float32", seed) as tf.Tensor3D

/** A seeded normal tensor of any shape. */
export const normal = (shape: ReadonlyArray<number>, seed: number): tf.Tensor =>
  tf.randomNormal([...shape], 0, 1, "float32", seed)

/** `x` where `stepMask` is 1, `other` elsewhere (padded values replaced). */
export const replacePadding = (x: tf.Tensor3D, stepMask: tf.Tensor2D, other: tf.Tensor3D): tf.Tensor3D =>
  tf.tidy(() => tf.where(tf.greater(tf.expandDims(stepMask, 2), 0), x, other) as tf.Tensor3D)

/** Largest absolute difference of two same-shape tensors. */
export const maxAbsDiff = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

/** Whether two tensors have the same shape and the same values bit for bit (`Object.is`: -0 and +0 differ, NaN equals NaN). */
export const identical = (a: tf.Tensor, b: tf.Tensor): boolean => {
  const [x, y] = [a.dataSync(), b.dataSync()]
  return a.shape.join() === b.shape.join() && x.every((v, i) => Object.is(v, y[i]))
}
