import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
await tf.setBackend("wasm"); await tf.ready()
const x = tf.randomNormal([1600, 768]) as tf.Tensor2D
const dy = tf.randomNormal([1600, 64]) as tf.Tensor2D
const xT = tf.transpose(x)
const time = (name: string, f: () => tf.Tensor, n = 20) => {
  for (let i = 0; i < 3; i++) f().dispose()
  const ts: number[] = []
  for (let i = 0; i < n; i++) { const t = performance.now(); f().dispose(); ts.push(performance.now() - t) }
  ts.sort((a, b) => a - b)
  console.log(name.padEnd(50), ts[Math.floor(n / 2)].toFixed(2), "ms median", ts[0].toFixed(2), "min")
}
time("xT·dy", () => tf.matMul(xT, dy))
for (const c of [2, 4, 8]) {
  const xs = tf.split(x, c, 0).map((p) => tf.transpose(p))
  const ds = tf.split(dy, c, 0)
  time(`chunked ${c} (matmuls + addN only)`, () => tf.tidy(() => tf.addN(xs.map((p, i) => tf.matMul(p, ds[i])))))
  time(`chunked ${c} incl split+transpose`, () => tf.tidy(() => { const xs = tf.split(x, c, 0); const ds = tf.split(dy, c, 0); return tf.addN(xs.map((p, i) => tf.matMul(tf.transpose(p), ds[i]))) }))
}
time("dyT·x", () => tf.tidy(() => tf.matMul(tf.transpose(dy), x)))
time("x·W fwd", () => tf.matMul(x, tf.randomNormal([768,64])))
const W = tf.randomNormal([768,64]) as tf.Tensor2D
for (const c of [2,4]) {
  const xs = tf.split(x, c, 0)
  time(`fwd chunked ${c} (matmul + concat)`, () => tf.tidy(() => tf.concat(xs.map((p) => tf.matMul(p, W)), 0)))
}
const W2 = tf.randomNormal([768,128]) as tf.Tensor2D
time("x·W128 fwd", () => tf.matMul(x, W2))
for (const k of [192, 384, 768]) { const xk = tf.randomNormal([1600, k]) as tf.Tensor2D; const Wk = tf.randomNormal([k, 64]) as tf.Tensor2D; time(`x[1600,${k}]·W[${k},64]`, () => tf.matMul(xk, Wk)) }
