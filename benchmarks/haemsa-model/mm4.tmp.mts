import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { Layers } from "@haemsa/experts"
await tf.setBackend("wasm"); await tf.ready()
const B = 32, T = 50, D = 64
const x = tf.variable(tf.randomNormal([B * T, D]))
const mask = tf.cast(tf.greater(tf.randomUniform([B, T]), 0.3), "float32") as tf.Tensor2D
const blockData = new Float32Array(B * B * T); const md = mask.dataSync()
for (let b = 0; b < B; b++) { let n = 0; for (let t = 0; t < T; t++) n += md[b*T+t]; for (let t = 0; t < T; t++) blockData[b * B * T + b * T + t] = md[b*T+t] / Math.max(n, 1) }
const block = tf.tensor2d(blockData, [B, B * T])
const variants: Record<string, () => tf.Tensor> = {
  weightedSum: () => Layers.maskedMean(tf.reshape(x, [B, T, D]) as tf.Tensor3D, mask),
  mulSum: () => tf.div(tf.sum(tf.mul(tf.reshape(x, [B, T, D]), tf.expandDims(mask, 2)), 1), Layers.validCount(mask)),
  blockProject: () => Layers.project(block, x as unknown as tf.Tensor2D),
  blockLinear: () => Layers.linear(block, x as unknown as tf.Tensor2D),
  blockMatMul: () => tf.matMul(block, x as unknown as tf.Tensor2D),
}
const run = (f: () => tf.Tensor) => { const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(f())) as tf.Scalar, [x]); value.dataSync(); tf.dispose([value, ...Object.values(grads)]) }
for (const f of Object.values(variants)) for (let i = 0; i < 5; i++) run(f)
const ts: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map(k => [k, []]))
for (let r = 0; r < 200; r++) for (const [k, f] of Object.entries(variants)) { const t = performance.now(); run(f); ts[k].push(performance.now() - t) }
for (const [k, t] of Object.entries(ts)) { t.sort((a,b)=>a-b); console.log(k.padEnd(14), "median", t[100].toFixed(3), "min", t[0].toFixed(3)) }
