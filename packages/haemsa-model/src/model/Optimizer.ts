/**
 * Adam with a fused update on the `webgpu` backend.
 *
 * tfjs's `AdamOptimizer` updates each weight with about fourteen element-wise kernels (the two
 * moments, the bias corrections, the square root, the step). On a GPU each kernel costs a dispatch
 * (~85 µs of host time under Deno), so for the default HAEMSA network (50 weight tensors) the
 * optimizer alone was about 650 of the ~1300 dispatches of a training step. {@link FusedAdam} does
 * the same arithmetic in one WGSL kernel per weight that reads the gradient, the weight and both
 * moments and writes the three new tensors. On every other backend (and when the webgpu backend
 * lacks the internals this relies on) it is tfjs's Adam, unchanged.
 *
 * The update, as tfjs computes it: `m = b1·m + (1-b1)·g`, `v = b2·v + (1-b2)·g²`,
 * `w = w - lr · (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)`.
 *
 * @since 0.1.0
 */
import { WebGpuKernel } from "@haemsa/experts"
import * as tf from "@tensorflow/tfjs"

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
 * are not changed). Needs `WebGpuKernel.available()`.
 */
export const fusedAdamUpdate = (
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

/**
 * tfjs's Adam whose update is one fused kernel per weight on the webgpu backend (see the module
 * comment); elsewhere it is `tf.AdamOptimizer` itself. Moments, iterations and `getWeights` /
 * `setWeights` behave as tfjs's.
 */
export class FusedAdam extends tf.AdamOptimizer {
  /** beta1^t and beta2^t on the host, kept in step with `accBeta1` / `accBeta2`. */
  private hostAcc: { b1: number; b2: number } | undefined

  override applyGradients(variableGradients: VariableGradients): void {
    if (!WebGpuKernel.available()) {
      this.hostAcc = undefined
      super.applyGradients(variableGradients)
      return
    }
    const self = this as unknown as AdamInternals
    if (this.hostAcc === undefined) {
      // accBeta1/2 live on the device; read them once (setWeights or the tfjs path may have moved them)
      this.hostAcc = { b1: readScalar(self.accBeta1), b2: readScalar(self.accBeta2) }
    }
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients)
    const step: AdamStep = { lr: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon }
    const corrections = tf.tensor1d([1 - this.hostAcc.b1, 1 - this.hostAcc.b2])
    names.forEach((name, i) => {
      const value = tf.engine().registeredVariables[name]
      if (self.accumulatedFirstMoment[i] == null) {
        self.accumulatedFirstMoment[i] = { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) }
      }
      if (self.accumulatedSecondMoment[i] == null) {
        self.accumulatedSecondMoment[i] = { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) }
      }
      const gradient: tf.Tensor | undefined = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name]
      if (gradient == null) return
      const m = self.accumulatedFirstMoment[i].variable
      const v = self.accumulatedSecondMoment[i].variable
      const next = fusedAdamUpdate(gradient, value, m, v, corrections, step)
      m.assign(next.m)
      v.assign(next.v)
      value.assign(next.weight)
      next.m.dispose()
      next.v.dispose()
      next.weight.dispose()
    })
    corrections.dispose()
    this.hostAcc = { b1: this.hostAcc.b1 * this.beta1, b2: this.hostAcc.b2 * this.beta2 }
    // host copies, no dispatch: the variables stay right for getWeights / a switch back to tfjs's path
    tf.tidy(() => {
      self.accBeta1.assign(tf.scalar(this.hostAcc!.b1))
      self.accBeta2.assign(tf.scalar(this.hostAcc!.b2))
    })
    this.incrementIterations()
  }

  override async setWeights(weightValues: Parameters<tf.AdamOptimizer["setWeights"]>[0]): Promise<void> {
    this.hostAcc = undefined
    await super.setWeights(weightValues)
  }
}

/** What `applyGradients` takes: gradients by variable name, or a list of named gradients. */
export type VariableGradients = Parameters<tf.AdamOptimizer["applyGradients"]>[0]

/** The protected parts of `tf.AdamOptimizer` the fused path maintains. */
interface AdamInternals {
  accBeta1: tf.Variable
  accBeta2: tf.Variable
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable }>
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable }>
}

const readScalar = (t: tf.Tensor): number => {
  try {
    return t.dataSync()[0]
  } catch {
    throw new Error("FusedAdam: the optimizer's beta powers are GPU data and cannot be read synchronously here")
  }
}

/** Adam for training (the fused one; see {@link FusedAdam}). */
export const adam = (learningRate: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): FusedAdam =>
  new FusedAdam(learningRate, beta1, beta2, epsilon ?? tf.backend().epsilon())
