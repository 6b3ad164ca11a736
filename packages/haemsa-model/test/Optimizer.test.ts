import { Fused } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import * as path from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import * as Backend from "../src/backends/Backend"
import * as AdamKernel from "../src/model/AdamKernel"
import * as Optimizer from "../src/model/Optimizer"
// @ts-expect-error: a plain .mjs script without types
import { assemble } from "../../../scripts/assemble-wat.mjs"

beforeAll(async () => {
  await Backend.setup("cpu")
})

const run = async (optimizer: tf.Optimizer, steps: number): Promise<Float32Array[]> => {
  const w = tf.variable(tf.tensor2d([[0.5, -1], [2, 0.25]]))
  const b = tf.variable(tf.tensor1d([0.1, -0.2]))
  const x = tf.tensor2d([[1, 2], [3, -1], [0.5, 0.5]])
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(() => tf.sum(tf.square(tf.add(tf.matMul(x, w), b))) as tf.Scalar, false, [w, b])
  }
  const out = [Float32Array.from(await w.data()), Float32Array.from(await b.data())]
  tf.dispose([w, b, x])
  optimizer.dispose()
  return out
}

describe("Optimizer.adam", () => {
  it("is tfjs's Adam off webgpu: same weights after several steps", async () => {
    const fused = await run(Optimizer.adam(0.05), 5)
    const plain = await run(tf.train.adam(0.05), 5)
    expect(fused).toEqual(plain)
    // and it moved the weights
    expect(fused[0][0]).not.toBeCloseTo(0.5, 3)
  })

  it("uses the fused kernel only on webgpu", () => {
    expect(tf.getBackend()).toBe("cpu")
    expect(Fused.active()).toBe(false)
  })

  it("keeps tfjs's optimizer state: iterations and moments in getWeights", async () => {
    const optimizer = Optimizer.adam(0.01)
    const w = tf.variable(tf.tensor1d([1, 2, 3]))
    for (let i = 0; i < 3; i++) optimizer.minimize(() => tf.sum(tf.square(w)) as tf.Scalar, false, [w])
    expect(optimizer.iterations).toBe(3)
    const weights = await optimizer.getWeights()
    expect(weights.map((x) => x.name)).toEqual(["iter", `${w.name}/m`, `${w.name}/v`])
    tf.dispose([w, ...weights.map((x) => x.tensor)])
    optimizer.dispose()
  })
})

describe("Optimizer.hostAdamStep (Adam on the host, for the training replicas)", () => {
  /** Weights and gradients of several shapes, seeded, with gradients of very different sizes. */
  const shapes = [[3, 4], [4], [1]] as const
  const seeded = (n: number, seed: number, scale: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.fround(scale * Math.sin(seed * 12.9898 + i * 78.233) * (i % 3 === 0 ? 1e-4 : 1)))
  const sizes = shapes.map((s) => s.reduce((a: number, b: number) => a * b, 1))
  const total = sizes.reduce((a, b) => a + b, 0)
  const ALL = Uint8Array.from(shapes, () => 1)

  /**
   * The weights after `steps` updates by tfjs's Adam (the optimizer's kernels), decay as Train.step
   * applies it; the weights where `present` is 0 get no gradient.
   */
  const byTfjs = async (steps: number, weightDecay: number, lr: number, present: Uint8Array = ALL) => {
    const optimizer = Optimizer.adam(lr)
    const start = seeded(total, 1, 1)
    let offset = 0
    const vars = shapes.map((shape, i) => {
      const v = tf.variable(tf.tensor(start.slice(offset, offset + sizes[i]), [...shape]))
      offset += sizes[i]
      return v
    })
    for (let k = 0; k < steps; k++) {
      const g = seeded(total, k + 2, 0.3)
      let o = 0
      const grads: tf.NamedTensorMap = {}
      vars.forEach((v, i) => {
        if (present[i] === 1) grads[v.name] = tf.tensor(g.slice(o, o + sizes[i]), [...shapes[i]])
        o += sizes[i]
      })
      optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0])
      tf.dispose(grads)
      if (weightDecay > 0) tf.tidy(() => vars.forEach((v) => v.assign(tf.mul(v, 1 - lr * weightDecay))))
    }
    const weights = new Float32Array(total)
    let o = 0
    for (const v of vars) {
      weights.set(await v.data() as Float32Array, o)
      o += v.size
    }
    const state = await optimizer.readState()
    tf.dispose(vars)
    optimizer.dispose()
    return { weights, state }
  }

  for (const weightDecay of [0, 0.01]) {
    it(`gives tfjs's Adam's weights and state bit for bit (weight decay ${weightDecay})`, async () => {
      const expected = await byTfjs(6, weightDecay, 0.05)
      const optimizer = Optimizer.adam(0.05)
      const adam = Optimizer.hostAdam(optimizer, await optimizer.readState(), seeded(total, 1, 1), shapes, ALL, weightDecay)!
      for (let k = 0; k < 6; k++) Optimizer.hostAdamStep(adam, seeded(total, k + 2, 0.3))
      optimizer.dispose()
      expect(Array.from(adam.weights)).toEqual(Array.from(expected.weights))
      const state = Optimizer.hostAdamState(adam)
      expect(state.iterations).toBe(expected.state.iterations)
      expect(state.accBeta1).toBe(expected.state.accBeta1)
      expect(state.accBeta2).toBe(expected.state.accBeta2)
      expect(state.moments.map((x) => Array.from(x.m))).toEqual(expected.state.moments.map((x) => Array.from(x.m)))
      expect(state.moments.map((x) => Array.from(x.v))).toEqual(expected.state.moments.map((x) => Array.from(x.v)))
    })
  }

  it("continues an optimizer's state, and hands it back", async () => {
    // three steps by tfjs, then three on the host from its state: the six-step weights
    const expected = await byTfjs(6, 0, 0.05)
    const first = await byTfjs(3, 0, 0.05)
    const optimizer = Optimizer.adam(0.05)
    const adam = Optimizer.hostAdam(optimizer, first.state, first.weights, shapes, ALL, 0)!
    for (let k = 3; k < 6; k++) Optimizer.hostAdamStep(adam, seeded(total, k + 2, 0.3))
    expect(Array.from(adam.weights)).toEqual(Array.from(expected.weights))
    optimizer.restoreState(Optimizer.hostAdamState(adam))
    const back = await optimizer.readState()
    expect(back.iterations).toBe(6)
    expect(back.moments.map((x) => Array.from(x.m))).toEqual(expected.state.moments.map((x) => Array.from(x.m)))
    optimizer.dispose()
  })

  it("leaves a weight without gradients alone, as tfjs does (no moments for it in the state)", async () => {
    const present = Uint8Array.from([1, 0, 1])
    const expected = await byTfjs(4, 0.01, 0.05, present)
    const optimizer = Optimizer.adam(0.05)
    const adam = Optimizer.hostAdam(optimizer, await optimizer.readState(), seeded(total, 1, 1), shapes, present, 0.01)!
    for (let k = 0; k < 4; k++) Optimizer.hostAdamStep(adam, seeded(total, k + 2, 0.3))
    optimizer.dispose()
    expect(Array.from(adam.weights)).toEqual(Array.from(expected.weights))
    expect(Optimizer.hostAdamState(adam).moments.map((x) => x.shape)).toEqual(expected.state.moments.map((x) => x.shape))
  })

  it("runs on the WebAssembly kernel, whose results are the JavaScript loop's, bit for bit (any sizes, tails of 1-3 weights)", async () => {
    const optimizer = Optimizer.adam(0.05)
    const state = await optimizer.readState()
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 23 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
        fc.constantFrom(0, 0.01),
        fc.integer({ min: 1, max: 1000 }),
        (sizes, gets, decay, seed) => {
          const shapes = sizes.map((n) => [n])
          const n = sizes.reduce((a, b) => a + b, 0)
          const present = Uint8Array.from(sizes, (_, i) => (gets[i] ? 1 : 0))
          const onKernel = Optimizer.hostAdam(optimizer, state, seeded(n, seed, 1), shapes, present, decay)!
          expect(onKernel.kernel).toBeDefined()
          const { kernel: _kernel, ...rest } = onKernel
          const inJs: Optimizer.HostAdam = { ...rest, weights: Float32Array.from(onKernel.weights), m: new Float32Array(n), v: new Float32Array(n) }
          for (let k = 0; k < 3; k++) {
            const gradient = seeded(n, seed + k + 1, 0.3)
            Optimizer.hostAdamStep(onKernel, gradient)
            Optimizer.hostAdamStep(inJs, gradient)
          }
          expect(Array.from(onKernel.weights)).toEqual(Array.from(inJs.weights))
          expect(Array.from(onKernel.m)).toEqual(Array.from(inJs.m))
          expect(Array.from(onKernel.v)).toEqual(Array.from(inJs.v))
          expect([onKernel.accBeta1, onKernel.accBeta2, onKernel.iterations]).toEqual([inJs.accBeta1, inJs.accBeta2, inJs.iterations])
        }
      ),
      { numRuns: 60, seed: 5 }
    )
    optimizer.dispose()
  })

  it("embeds AdamKernel.wat assembled (the kernel's source and its bytes agree)", async () => {
    expect(AdamKernel.BYTES).toBe(await assemble(path.join(__dirname, "..", "src", "model", "AdamKernel.wat")))
  })

  it("refuses a state whose moments do not map onto the weights", async () => {
    const first = await byTfjs(1, 0, 0.05)
    const optimizer = Optimizer.adam(0.05)
    expect(Optimizer.hostAdam(optimizer, { ...first.state, moments: first.state.moments.slice(1) }, first.weights, shapes, ALL, 0)).toBeUndefined()
    optimizer.dispose()
  })
})
