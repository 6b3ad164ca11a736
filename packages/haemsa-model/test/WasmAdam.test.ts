/**
 * Adam on the wasm backend as one in-place kernel call per weight (WasmAdam, run by FusedAdam): the
 * weights, moments, beta powers and step counter of tfjs's own Adam, bit for bit, over several steps,
 * with weights of sizes that are not multiples of four, a weight without a gradient in some steps,
 * a weight whose buffer a live clone shares (the clone keeps its values) and a moment whose buffer a
 * live clone shares (that update by tfjs's operations); and it frees what it makes.
 */
import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Backend from "../src/backends/Backend"
import * as Optimizer from "../src/model/Optimizer"
import * as WasmAdam from "../src/model/WasmAdam"
import { useCpu } from "./Support"

beforeAll(async () => {
  await Backend.setup("wasm")
})
afterAll(async () => {
  WasmAdam.setEnabled(true)
  await useCpu()
})

const SHAPES = [[3, 5], [7], [1], [16, 4]] as const

/** A seeded float32 array of n values (sin hash), some of them tiny. */
const seeded = (n: number, seed: number, scale: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.fround(scale * Math.sin(seed * 12.9898 + i * 78.233) * (i % 3 === 0 ? 1e-4 : 1)))

/**
 * Six steps of `Optimizer.adam` on fresh weights (the kernel on or off); the second weight gets no
 * gradient in the odd steps; with `share` a clone of the first weight stays alive throughout, and one
 * of the third weight's first moment from the first step on. Returns the weights, the optimizer's
 * state, and the weight's clone's values at the end.
 */
const train = async (kernel: boolean, share: boolean) => {
  WasmAdam.setEnabled(kernel)
  // (in a tidy: the initial tensors go, so each weight's buffer is its own)
  const vars = SHAPES.map((shape, i) => tf.tidy(() => tf.variable(tf.tensor(seeded(tf.util.sizeFromShape([...shape]), i + 1, 1), [...shape]))))
  const clone = share ? tf.clone(vars[0]) : undefined
  let momentClone: tf.Tensor | undefined
  const optimizer = Optimizer.adam(0.05)
  for (let step = 0; step < 6; step++) {
    // (a null gradient, as tfjs's Adam takes it: the weight keeps its place in the list and its moments)
    const grads: Record<string, tf.Tensor | null> = {}
    vars.forEach((v, i) => {
      grads[v.name] = i === 1 && step % 2 === 1 ? null : tf.tensor(seeded(v.size, 10 * step + i, 0.3), v.shape)
    })
    optimizer.applyGradients(grads as unknown as Parameters<typeof optimizer.applyGradients>[0])
    tf.dispose(Object.values(grads).filter((g): g is tf.Tensor => g !== null))
    if (share && step === 0) {
      const slots = (optimizer as unknown as { accumulatedFirstMoment: Array<{ variable: tf.Variable }> }).accumulatedFirstMoment
      momentClone = tf.clone(slots[2].variable)
    }
  }
  const weights = await Promise.all(vars.map(async (v) => Array.from(await v.data())))
  const state = await optimizer.readState()
  const cloned = clone === undefined ? undefined : Array.from(await clone.data())
  tf.dispose([...vars, ...(clone ? [clone] : []), ...(momentClone ? [momentClone] : [])])
  optimizer.dispose()
  WasmAdam.setEnabled(true)
  return { weights, state, cloned }
}

describe("WasmAdam (Adam's update on wasm, one kernel call per weight)", () => {
  it("runs on wasm while enabled, and not otherwise", () => {
    expect(WasmAdam.kernel()).toBeDefined()
    WasmAdam.setEnabled(false)
    expect(WasmAdam.kernel()).toBeUndefined()
    WasmAdam.setEnabled(true)
  })

  for (const share of [false, true]) {
    it(`gives tfjs's Adam's weights and state bit for bit${share ? " (live clones share a weight's and a moment's buffers)" : ""}`, async () => {
      const expected = await train(false, share)
      const before = { ...WasmAdam.stats }
      const actual = await train(true, share)
      // 6 steps of 4 weights, the second without a gradient in 3 of them: 21 updates; with the shared
      // moment, its next update by tfjs's operations (which give it a buffer of its own)
      expect(WasmAdam.stats.onKernel - before.onKernel).toBe(share ? 20 : 21)
      expect(WasmAdam.stats.byOps - before.byOps).toBe(share ? 1 : 0)
      expect(actual.weights).toEqual(expected.weights)
      expect(actual.state).toEqual(expected.state)
      // something moved: the weights are not the starting ones
      expect(actual.weights[0]).not.toEqual(Array.from(seeded(15, 1, 1)))
      // the clone keeps the first weight's starting values
      if (share) expect(actual.cloned).toEqual(Array.from(seeded(15, 1, 1)))
    })
  }

  it("leaves no tensor or buffer behind", () => {
    const vars = SHAPES.map((shape, i) => tf.variable(tf.tensor(seeded(tf.util.sizeFromShape([...shape]), i + 1, 1), [...shape])))
    const grads: tf.NamedTensorMap = Object.fromEntries(vars.map((v, i) => [v.name, tf.tensor(seeded(v.size, i, 0.3), v.shape)]))
    const optimizer = Optimizer.adam(0.05)
    optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0])
    const tensors = tf.memory().numTensors
    const buffers = tf.backend().numDataIds()
    for (let k = 0; k < 3; k++) optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0])
    expect(tf.memory().numTensors).toBe(tensors)
    expect(tf.backend().numDataIds()).toBe(buffers)
    tf.dispose([...vars, ...Object.values(grads)])
    optimizer.dispose()
  })
})
