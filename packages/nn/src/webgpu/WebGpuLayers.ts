/**
 * Layer pieces as fused WGSL kernels on the `webgpu` backend (see {@link WebGpuKernel}):
 *
 * - {@link dropout}: tfjs's inverted dropout, `x · floor(u + keep) / keep` with the same uniform
 *   noise `u` as `tf.dropout` draws for the seed (so the same mask), in one kernel each way
 *   instead of four forward and one backward;
 * - {@link reluMaskedMean}: the mean-pool expert's `maskedMean(relu(x), stepMask)`, one kernel
 *   each way instead of five (relu, the weighted-sum matMul, the count, its clamp, the division)
 *   and about as many backward;
 * - {@link reluDropoutResidual}: a fusion level's epilogue `dropout(relu(a + b)) + skip`, one
 *   kernel each way instead of four forward and three backward.
 *
 * `Layers.dropout`, `Layers.reluMaskedMean` and `Layers.residualEpilogue` run these through
 * `Fused.run`, which picks them on webgpu and the tfjs composites elsewhere; the webgpu/cpu
 * agreement check compares the two.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import { customOp } from "../CustomOp"
import * as WebGpuKernel from "./WebGpuKernel"

/** The uniform struct of the elementwise kernels (dropout, the epilogue): the keep probability and the element count. */
const ELEMENTWISE_UNIFORM = "keep: f32, n: u32"

const elementwiseUniforms = ([x]: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>): ReadonlyArray<WebGpuKernel.Uniform> => [
  { type: "float32", data: [attrs.keep as number] },
  { type: "uint32", data: [tf.util.sizeFromShape(x.shape)] }
]

/**
 * An elementwise kernel over its first input: one float32 output of that shape, one thread per
 * element, uniforms {@link ELEMENTWISE_UNIFORM} (`keep` from the attributes).
 */
const elementwiseKernel = (name: string, code: WebGpuKernel.KernelDefinition["code"]) =>
  WebGpuKernel.define({
    name,
    code,
    outputs: ([x]) => [{ shape: x.shape, dtype: "float32" }],
    uniforms: elementwiseUniforms,
    workgroups: ([x]) => WebGpuKernel.workgroupsFor(tf.util.sizeFromShape(x.shape))
  })

const DROPOUT_WGSL = /* wgsl */ `
${WebGpuKernel.bindings(["x: array<f32>", "noise: array<f32>"], ["y: array<f32>"], ELEMENTWISE_UNIFORM)}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = id.x; i < u.n; i = i + groups.x * 64u) {
    y[i] = x[i] * (floor(noise[i] + u.keep) / u.keep);
  }
}`

/** `x · floor(noise + keep) / keep`: the dropout forward, and (applied to dy) its backward. */
const dropoutKernel = elementwiseKernel("HaemsaDropout", DROPOUT_WGSL)

/** Inverted dropout with `tf.dropout`'s noise for `seed` (rate in (0, 1)), fused on webgpu. */
export const dropout = <T extends tf.Tensor>(x: T, rate: number, seed: number): T => {
  const keep = 1 - rate
  const noise = tf.randomUniform(x.shape, 0, 1, "float32", seed)
  const op = customOp(([input], save) => {
    save([noise])
    return {
      value: dropoutKernel([input, noise], { keep })[0],
      gradFunc: (dy, [savedNoise]) => dropoutKernel([dy, savedNoise], { keep })[0]
    }
  })
  const y = op(x) as T
  noise.dispose()
  return y
}

/** The uniform struct of the pooling kernels: batch, steps, width. */
const POOL_UNIFORM = "b: u32, t: u32, h: u32, pad: u32"

const POOL_WGSL = /* wgsl */ `
${WebGpuKernel.bindings(["x: array<f32>", "mask: array<f32>"], ["out: array<f32>"], POOL_UNIFORM)}

// out[b, j] = sum_t mask[b, t] relu(x[b, t, j]) / max(sum_t mask[b, t], 1)
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var o = id.x; o < u.b * u.h; o = o + groups.x * 64u) {
    let b = o / u.h;
    let j = o % u.h;
    var acc = 0.0;
    var count = 0.0;
    for (var s = 0u; s < u.t; s = s + 1u) {
      let m = mask[b * u.t + s];
      count = count + m;
      if (m != 0.0) { acc = acc + m * max(x[(b * u.t + s) * u.h + j], 0.0); }
    }
    out[o] = acc / max(count, 1.0);
  }
}`

const POOL_GRAD_WGSL = /* wgsl */ `
${WebGpuKernel.bindings(["x: array<f32>", "mask: array<f32>", "dy: array<f32>"], ["dx: array<f32>"], POOL_UNIFORM)}

// dx[b, s, j] = dy[b, j] mask[b, s] [x > 0] / max(sum_t mask[b, t], 1)
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var e = id.x; e < u.b * u.t * u.h; e = e + groups.x * 64u) {
    let j = e % u.h;
    let row = e / u.h;
    let b = row / u.t;
    var count = 0.0;
    for (var s = 0u; s < u.t; s = s + 1u) { count = count + mask[b * u.t + s]; }
    let m = mask[row];
    dx[e] = select(0.0, dy[b * u.h + j] * m / max(count, 1.0), m != 0.0 && x[e] > 0.0);
  }
}`

const poolUniforms = ([x]: ReadonlyArray<tf.TensorInfo>): ReadonlyArray<WebGpuKernel.Uniform> => [
  { type: "uint32", data: [x.shape[0]] },
  { type: "uint32", data: [x.shape[1]] },
  { type: "uint32", data: [x.shape[2]] },
  { type: "uint32", data: [0] }
]

const poolKernel = WebGpuKernel.define({
  name: "HaemsaReluMaskedMean",
  code: POOL_WGSL,
  outputs: ([x]) => [{ shape: [x.shape[0], x.shape[2]], dtype: "float32" }],
  uniforms: poolUniforms,
  workgroups: ([x]) => WebGpuKernel.workgroupsFor(x.shape[0] * x.shape[2])
})

const poolGradKernel = WebGpuKernel.define({
  name: "HaemsaReluMaskedMeanGrad",
  code: POOL_GRAD_WGSL,
  outputs: ([x]) => [{ shape: x.shape, dtype: "float32" }],
  uniforms: poolUniforms,
  workgroups: ([x]) => WebGpuKernel.workgroupsFor(tf.util.sizeFromShape(x.shape))
})

/** `maskedMean(relu(x), stepMask)` of (B, T, d) with a float32 (B, T) mask -> (B, d), fused on webgpu. */
export const reluMaskedMean = (x: tf.Tensor3D, stepMask: tf.Tensor2D): tf.Tensor2D => {
  const op = customOp(([input], save) => {
    save([input, stepMask])
    return {
      value: poolKernel([input, stepMask])[0],
      gradFunc: (dy, [sx, sm]) => poolGradKernel([sx, sm, dy])[0]
    }
  })
  return op(x) as tf.Tensor2D
}

const epilogueCode = (dropout: boolean, backward: boolean): string => {
  const inputs = ["a", "b", ...(backward ? [] : ["skip"]), ...(dropout ? ["noise"] : []), ...(backward ? ["dy"] : [])]
  const mask = dropout ? "(floor(noise[i] + u.keep) / u.keep)" : "1.0"
  return `${WebGpuKernel.bindings(inputs.map((name) => `${name}: array<f32>`), ["out: array<f32>"], ELEMENTWISE_UNIFORM)}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  for (var i = id.x; i < u.n; i = i + groups.x * 64u) {
    let pre = a[i] + b[i];
    ${backward ? `out[i] = select(0.0, dy[i] * ${mask}, pre > 0.0);` : `out[i] = max(pre, 0.0) * ${mask} + skip[i];`}
  }
}`
}

/** The epilogue kernel forward and backward: one output of `a`'s shape, one thread per element. */
const epilogueKernel = elementwiseKernel("HaemsaReluDropoutResidual", (attrs) => epilogueCode(attrs.dropout === true, false))
const epilogueGradKernel = elementwiseKernel("HaemsaReluDropoutResidualGrad", (attrs) => epilogueCode(attrs.dropout === true, true))

/**
 * `dropout(relu(a + b)) + skip` of equal-shape float32 tensors, fused on webgpu; `seed` undefined
 * means no dropout. The dropout noise is `tf.dropout`'s for the seed (the same mask).
 */
export const reluDropoutResidual = <T extends tf.Tensor>(a: T, b: T, skip: T, rate: number, seed: number | undefined): T => {
  const dropout = seed !== undefined && rate > 0
  const keep = dropout ? 1 - rate : 1
  const noise = dropout ? [tf.randomUniform(a.shape, 0, 1, "float32", seed)] : []
  const attrs = { dropout, keep }
  const op = customOp(([x, y, s], save) => {
    save([x, y, ...noise])
    return {
      value: epilogueKernel([x, y, s, ...noise], attrs)[0],
      gradFunc: (dy, saved) => {
        const g = epilogueGradKernel([...saved, dy], attrs)[0]
        return [g, tf.clone(g), dy]
      }
    }
  })
  const out = op(a, b, skip) as T
  tf.dispose(noise)
  return out
}
