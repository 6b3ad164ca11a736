/**
 * Leak checks: a call leaves no tensor behind (the number of live tensors is the same before and after).
 */
import * as tf from "@tensorflow/tfjs"
import { expect } from "vitest"

/** `call`, run inside `tf.tidy`, leaves no tensor behind. */
export const expectTidyLeavesNoTensors = (call: () => unknown, label?: string): void => {
  const before = tf.memory().numTensors
  tf.tidy(() => {
    call()
  })
  expect(tf.memory().numTensors, label).toBe(before)
}

/**
 * Each call leaves no tensor behind: inside `tf.tidy`, and when its result is disposed (the number of
 * live tensors is the same before and after).
 */
export const expectNoLeaks = (calls: ReadonlyArray<() => tf.TensorContainer>): void => {
  calls.forEach((call, i) => {
    const before = tf.memory().numTensors
    expectTidyLeavesNoTensors(call, `call ${i} in tidy`)
    tf.dispose(call())
    expect(tf.memory().numTensors, `call ${i} disposed`).toBe(before)
  })
}
