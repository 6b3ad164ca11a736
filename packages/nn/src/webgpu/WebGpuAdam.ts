/**
 * Adam's update of one weight as a fused WGSL kernel on the `webgpu` backend.
 *
 * tfjs's `AdamOptimizer` updates each weight with about fourteen element-wise kernels (the two
 * moments, the bias corrections, the square root, the step). On a GPU each kernel costs a dispatch
 * (~85 µs of host time under Deno), so for the default HAEMSA network (50 weight tensors) the
 * optimizer alone was about 650 of the ~1300 dispatches of a training step. {@link update} does the
 * same arithmetic in one kernel per weight that reads the gradient, the weight and both moments and
 * writes the three new tensors. `Optimizer.adam` of `@haemsa/haemsa-model` runs it when
 * `Fused.active()`, and tfjs's Adam otherwise.
 *
 * The update, as tfjs computes it: `m = b1·m + (1-b1)·g`, `v = b2·v + (1-b2)·g²`,
 * `w = w - lr · (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)`.
 *
 * @since 0.2.0
 */
import * as tf from "@tensorflow/tfjs"
import * as WebGpuKernel from "./WebGpuKernel"

/**
 * The WGSL of the fused update; one invocation per element, grid-stride for large weights. The bias
 * corrections `[1 - beta1^t, 1 - beta2^t]` come in a small tensor shared by every weight of a step
 * (the uniforms stay the same from step to step, so their slots and bind groups are reused).
 */
export const ADAM_WGSL = /* wgsl */ `
${WebGpuKernel.bindings(
  ["grad: array<f32>", "weight: array<f32>", "m: array<f32>", "v: array<f32>", "corrections: array<f32>"],
  ["newWeight: array<f32>", "newM: array<f32>", "newV: array<f32>"],
  "lr: f32, beta1: f32, beta2: f32, eps: f32, n: u32, pad: u32"
)}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let stride = groups.x * 64u;
  let c1 = corrections[0];
  let c2 = corrections[1];
  for (var i = id.x; i < u.n; i = i + stride) {
    let g = grad[i];
    let m1 = m[i] * u.beta1 + g * (1.0 - u.beta1);
    let v1 = v[i] * u.beta2 + (g * g) * (1.0 - u.beta2);
    newM[i] = m1;
    newV[i] = v1;
    newWeight[i] = ((m1 / c1) / (sqrt(v1 / c2) + u.eps)) * (-u.lr) + weight[i];
  }
}`

/** The fused update as a webgpu kernel: inputs grad, weight, m, v, corrections; outputs weight, m, v. */
const adamKernel = WebGpuKernel.define({
  name: "HaemsaFusedAdam",
  code: ADAM_WGSL,
  outputs: ([, weight]) => [0, 1, 2].map(() => ({ shape: weight.shape, dtype: "float32" as const })),
  uniforms: ([, weight], attrs) => [
    ...(["lr", "beta1", "beta2", "epsilon"] as const).map((k) => ({ type: "float32" as const, data: [attrs[k] as number] })),
    { type: "uint32", data: [tf.util.sizeFromShape(weight.shape)] },
    { type: "uint32", data: [0] }
  ],
  workgroups: ([, weight]) => WebGpuKernel.workgroupsFor(tf.util.sizeFromShape(weight.shape))
})

/** Hyper-parameters of an update. */
export interface AdamStep {
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

/**
 * One fused Adam update of a weight on the webgpu backend (one dispatch); `corrections` is the (2)
 * tensor `[1 - beta1^t, 1 - beta2^t]`. Returns the new weight and moments as fresh tensors (the inputs
 * are not changed). Needs `Fused.active()`.
 */
export const update = (
  grad: tf.Tensor,
  weight: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  corrections: tf.Tensor1D,
  step: AdamStep
): { weight: tf.Tensor; m: tf.Tensor; v: tf.Tensor } => {
  const [w, m1, v1] = adamKernel([grad, weight, m, v, corrections], { ...step })
  return { weight: w, m: m1, v: v1 }
}
