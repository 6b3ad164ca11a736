import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
await tf.setBackend("wasm"); await tf.ready()
for (const [m,k,n] of [[1024,1024,1024],[1600,768,64],[1600,768,128],[1600,768,256],[768,1600,64],[64,1600,768]]) {
const a = tf.randomNormal([m,k]) as tf.Tensor2D
const b = tf.randomNormal([k,n]) as tf.Tensor2D
for (let i = 0; i < 3; i++) tf.matMul(a, b).dispose()
const t = performance.now(); const N=10
for (let i = 0; i < N; i++) tf.matMul(a, b).dispose()
const ms = (performance.now() - t) / N
console.log(m,k,n, ms.toFixed(2), "ms", (2*m*k*n/ms/1e6).toFixed(1), "GFLOP/s")
}
