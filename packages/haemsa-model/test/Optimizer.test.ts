import { Fused } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import * as Backend from "../src/backends/Backend"
import * as Optimizer from "../src/model/Optimizer"

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
