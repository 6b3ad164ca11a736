/**
 * Fused: the one choice between a WGSL kernel and its tfjs composite. Off webgpu every op runs its
 * composite; on webgpu (here a stand-in backend named "webgpu" with the internals the kernels
 * check for, no GPU) each op takes exactly the arguments its kernel handles, and `setEnabled(false)`
 * turns every kernel off.
 */
import * as tf from "@tensorflow/tfjs"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Fused from "../src/Fused"
import * as WebGpuKernel from "../src/webgpu/WebGpuKernel"
import { useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

describe("off webgpu", () => {
  it("is not active, and run gives the composite's result", () => {
    expect(Fused.active()).toBe(false)
    const x = tf.tensor2d([[1, -2], [3, 4]])
    const y = Fused.run("dropout", [x, 0.5, 7], () => tf.dropout(x, 0.5, undefined, 7))
    expect(y.arraySync()).toEqual(tf.dropout(x, 0.5, undefined, 7).arraySync())
    expect(Fused.accepts("dropout", [x, 0.5, 7])).toBe(false)
  })

  it("runs nothing but the composite (the composite's tensor comes back)", () => {
    const a = tf.scalar(2)
    const b = tf.scalar(3)
    const composite = tf.scalar(42)
    expect(Fused.run("linearCombination", [[a, b], [1, 1]], () => composite)).toBe(composite)
  })
})

describe("on a backend named webgpu with the kernels' internals", () => {
  const internals = () => ({
    device: {},
    tensorMap: new Map(),
    commandQueueOwnedIds: new Set(),
    makeTensorInfo: () => undefined,
    uploadToGPU: () => undefined,
    ensureCommandEncoderReady: () => undefined,
    endComputePassEncoder: () => undefined,
    submitQueue: () => undefined,
    makeUniforms: () => undefined,
    dispose: () => undefined
  })

  // tensors made on cpu; only their dtype, rank and shape are read
  const x = tf.ones([2, 3, 4]) as tf.Tensor3D
  const mask = tf.ones([2, 3]) as tf.Tensor2D
  const ints = tf.ones([2, 3, 4], "int32") as tf.Tensor3D
  const a = tf.ones([4, 2]) as tf.Tensor2D
  const wide = tf.ones([4, 3]) as tf.Tensor2D
  const pred = tf.ones([4]) as tf.Tensor1D
  const none = tf.ones([0]) as tf.Tensor1D
  const labels = tf.ones([4], "int32") as tf.Tensor1D
  const weights = tf.ones([4]) as tf.Tensor1D
  const intWeights = tf.ones([4], "int32") as tf.Tensor1D
  const terms = [1, 2, 3, 4, 5, 6, 7, 8].map((v) => tf.scalar(v))
  const klOptions = { temperature: 2, scale: 4, teacherGradient: false }
  const composite = tf.scalar(0)
  const students = (n: number, w?: tf.Tensor1D) => Array.from({ length: n }, () => ({ logits: a, weights: w }))

  beforeAll(async () => {
    tf.registerBackend("webgpu", () => Object.assign(Object.create(tf.KernelBackend.prototype), internals()))
    await tf.setBackend("webgpu")
  })

  afterAll(async () => {
    Fused.setEnabled(true)
    await tf.setBackend("cpu")
    tf.removeBackend("webgpu")
  })

  it("is active", () => {
    expect(WebGpuKernel.supported()).toBe(true)
    expect(Fused.active()).toBe(true)
  })

  it("takes float32 dropout and pooling, equal-shape float32 epilogues", () => {
    expect(Fused.accepts("dropout", [x, 0.1, 1])).toBe(true)
    expect(Fused.accepts("dropout", [ints, 0.1, 1])).toBe(false)
    expect(Fused.accepts("reluMaskedMean", [x, mask])).toBe(true)
    expect(Fused.accepts("reluMaskedMean", [ints, mask])).toBe(false)
    expect(Fused.accepts("reluDropoutResidual", [a, a, a, 0.1, 1])).toBe(true)
    expect(Fused.accepts("reluDropoutResidual", [a, a, a, 0.1, undefined])).toBe(true)
    expect(Fused.accepts("reluDropoutResidual", [a, wide, a, 0.1, 1])).toBe(false)
  })

  it("takes losses with rows and float32 (B) weights, at most 4 students and 2 to 7 terms", () => {
    expect(Fused.accepts("l1", [pred, pred, undefined])).toBe(true)
    expect(Fused.accepts("l1", [pred, pred, weights])).toBe(true)
    expect(Fused.accepts("l1", [pred, pred, intWeights])).toBe(false)
    expect(Fused.accepts("l1", [none, none, undefined])).toBe(false)
    expect(Fused.accepts("crossEntropy", [wide, labels, weights])).toBe(true)
    expect(Fused.accepts("crossEntropy", [wide, labels, intWeights])).toBe(false)
    expect(Fused.accepts("crossModalKl", [a, students(4, weights), klOptions])).toBe(true)
    expect(Fused.accepts("crossModalKl", [a, students(5), klOptions])).toBe(false)
    expect(Fused.accepts("crossModalKl", [a, students(2, intWeights), klOptions])).toBe(false)
    expect(Fused.accepts("linearCombination", [terms.slice(0, 1), [1]])).toBe(false)
    expect(Fused.accepts("linearCombination", [terms.slice(0, 2), [1, 2]])).toBe(true)
    expect(Fused.accepts("linearCombination", [terms.slice(0, 7), [1, 2, 3, 4, 5, 6, 7]])).toBe(true)
    expect(Fused.accepts("linearCombination", [terms, [1, 2, 3, 4, 5, 6, 7, 8]])).toBe(false)
  })

  it("setEnabled(false) turns every kernel off, setEnabled(true) back on", () => {
    Fused.setEnabled(false)
    expect(Fused.active()).toBe(false)
    expect(Fused.accepts("dropout", [x, 0.1, 1])).toBe(false)
    expect(Fused.run("linearCombination", [terms.slice(0, 2), [1, 2]], () => composite)).toBe(composite)
    Fused.setEnabled(true)
    expect(Fused.active()).toBe(true)
  })
})
