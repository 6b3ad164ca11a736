/**
 * Adam with a fused update on the `webgpu` backend.
 *
 * tfjs's `AdamOptimizer` updates each weight with about fourteen element-wise kernels (the two
 * moments, the bias corrections, the square root, the step). On a GPU each kernel costs a dispatch
 * (~85 µs of host time under Deno), so for the default HAEMSA network (50 weight tensors) the
 * optimizer alone was about 650 of the ~1300 dispatches of a training step. {@link FusedAdam} does
 * the same arithmetic in one WGSL kernel per weight (`WebGpuAdam.update` of `@haemsa/nn`) that reads
 * the gradient, the weight and both moments and writes the three new tensors. Whenever the fused
 * kernels do not run (`Fused.active()` of `@haemsa/nn` is false: another backend, a webgpu backend
 * without the internals they rely on, or the kernels switched off) it is tfjs's Adam, unchanged.
 *
 * The update, as tfjs computes it: `m = b1·m + (1-b1)·g`, `v = b2·v + (1-b2)·g²`,
 * `w = w - lr · (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)`.
 *
 * @since 0.1.0
 */
import { Fused, WebGpuAdam } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"

/**
 * tfjs's Adam whose update is one fused kernel per weight on the webgpu backend (see the module
 * comment); elsewhere it is `tf.AdamOptimizer` itself. Moments, iterations and `getWeights` /
 * `setWeights` behave as tfjs's.
 */
export class FusedAdam extends tf.AdamOptimizer {
  /** beta1^t and beta2^t on the host, kept in step with `accBeta1` / `accBeta2`. */
  private hostAcc: { b1: number; b2: number } | undefined

  override applyGradients(variableGradients: VariableGradients): void {
    // the whole step is fused or tfjs's: the fused path keeps beta1^t and beta2^t on the host
    if (!Fused.active()) {
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
    const step: WebGpuAdam.AdamStep = { lr: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon }
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
      const next = WebGpuAdam.update(gradient, value, m, v, corrections, step)
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

  /**
   * Everything the next update depends on, read exactly (for a training's state): the step counter,
   * beta1^t and beta2^t as the device holds them (float32) and as the fused path holds them (float64,
   * when it runs), and both moments of each weight, in the order of the weights. `getWeights` is not
   * enough: `setWeights` recomputes beta^t as a power, which differs in the last bits from the
   * product the updates accumulate.
   */
  async readState(): Promise<AdamState> {
    const self = this as unknown as AdamInternals
    const read = async (t: tf.Tensor) => new Float32Array((await t.data()) as Float32Array)
    return {
      iterations: this.iterations,
      accBeta1: (await self.accBeta1.data())[0],
      accBeta2: (await self.accBeta2.data())[0],
      ...(this.hostAcc !== undefined ? { hostAcc: { ...this.hostAcc } } : {}),
      moments: await Promise.all(self.accumulatedFirstMoment.map(async (m, i) => ({
        shape: [...m.variable.shape],
        m: await read(m.variable),
        v: await read(self.accumulatedSecondMoment[i].variable)
      })))
    }
  }

  /** Continue from a {@link readState} of an optimizer of the same weights (before any step of this one). */
  restoreState(state: AdamState): void {
    const self = this as unknown as AdamInternals & { iterations_: number }
    for (const slot of [...self.accumulatedFirstMoment, ...self.accumulatedSecondMoment]) slot?.variable.dispose()
    const slot = (values: Float32Array, shape: ReadonlyArray<number>, name: string) => ({
      originalName: name,
      variable: tf.tidy(() => tf.tensor(values, [...shape], "float32").variable(false))
    })
    self.accumulatedFirstMoment = state.moments.map((w, i) => slot(w.m, w.shape, `slot${i}/m`))
    self.accumulatedSecondMoment = state.moments.map((w, i) => slot(w.v, w.shape, `slot${i}/v`))
    tf.tidy(() => {
      self.accBeta1.assign(tf.scalar(state.accBeta1))
      self.accBeta2.assign(tf.scalar(state.accBeta2))
    })
    self.iterations_ = state.iterations
    this.hostAcc = state.hostAcc !== undefined ? { ...state.hostAcc } : undefined
  }
}

/** An Adam optimizer's state, exactly ({@link FusedAdam.readState}). */
export interface AdamState {
  readonly iterations: number
  /** beta1^t as the device holds it (float32). */
  readonly accBeta1: number
  /** beta2^t as the device holds it (float32). */
  readonly accBeta2: number
  /** beta1^t and beta2^t as the fused webgpu path holds them (float64), when it has run. */
  readonly hostAcc?: { readonly b1: number; readonly b2: number }
  /** The first and second moment of each weight, in the order of the weights. */
  readonly moments: ReadonlyArray<{ readonly shape: ReadonlyArray<number>; readonly m: Float32Array; readonly v: Float32Array }>
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
