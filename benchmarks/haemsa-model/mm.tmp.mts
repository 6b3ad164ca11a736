import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
await tf.setBackend("wasm"); await tf.ready()
const a = tf.randomNormal([1600, 768]) as tf.Tensor2D
const w = tf.randomNormal([768, 64]) as tf.Tensor2D
const w2 = tf.randomNormal([768, 128]) as tf.Tensor2D
const dy = tf.randomNormal([1600, 64]) as tf.Tensor2D
const aT = tf.transpose(a)
const bias = tf.zeros([64]) as tf.Tensor1D
const time = (name: string, f: () => tf.Tensor, n = 20) => {
  for (let i = 0; i < 3; i++) f().dispose()
  const t = performance.now()
  for (let i = 0; i < n; i++) f().dispose()
  const ms = (performance.now() - t) / n
  console.log(name.padEnd(40), ms.toFixed(2), "ms")
}
time("a·w", () => tf.matMul(a, w))
time("a·w (fresh w each)", () => tf.tidy(() => tf.matMul(a, tf.add(w, 0))))
time("fused a·w+b", () => tf.fused.matMul({ a, b: w, bias }))
time("a·w2 (128)", () => tf.matMul(a, w2))
time("transpose a", () => tf.transpose(a))
time("aT·dy", () => tf.matMul(aT, dy))
time("matMul(a,dy,transA)", () => tf.matMul(a, dy, true, false))
time("dyT·a (64x1600 x 1600x768)", () => tf.tidy(() => tf.matMul(tf.transpose(dy), a)))
time("clone a", () => tf.clone(a))
time("reshape3d a", () => tf.reshape(a, [32,50,768]))
const m = tf.randomNormal([32, 50]) 
const x3 = tf.randomNormal([32, 50, 64])
time("bmm (32,1,50)x(32,50,64)", () => tf.matMul(tf.reshape(m, [32,1,50]) as tf.Tensor3D, x3 as tf.Tensor3D))
const block = tf.randomNormal([32, 1600]) as tf.Tensor2D
const x2 = tf.reshape(x3, [1600, 64]) as tf.Tensor2D
time("block (32,1600)x(1600,64)", () => tf.matMul(block, x2))
time("mul+sum", () => tf.tidy(() => tf.sum(tf.mul(x3, tf.expandDims(m, 2)), 1)))
time("small op add [32,64]", () => tf.add(tf.ones([32,64]), 1), 200)
