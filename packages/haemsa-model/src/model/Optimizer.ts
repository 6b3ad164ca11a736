/**
 * Adam with a fused update on the `webgpu` backend, and one kernel call per weight on `wasm`.
 *
 * tfjs's `AdamOptimizer` updates each weight with about fourteen element-wise kernels (the two
 * moments, the bias corrections, the square root, the step). On a GPU each kernel costs a dispatch
 * (~85 µs of host time under Deno), so for the default HAEMSA network (50 weight tensors) the
 * optimizer alone was about 650 of the ~1300 dispatches of a training step. {@link FusedAdam} does
 * the same arithmetic in one WGSL kernel per weight (`WebGpuAdam.update` of `@haemsa/nn`) that reads
 * the gradient, the weight and both moments and writes the three new tensors. Whenever the fused
 * kernels do not run (`Fused.active()` of `@haemsa/nn` is false: another backend, a webgpu backend
 * without the internals they rely on, or the kernels switched off) it is tfjs's Adam, unchanged,
 * except on `wasm`, where each weight's update is one `WasmAdam` kernel call with tfjs's arithmetic
 * (the same numbers, bit for bit; `WasmAdam.setEnabled(false)` gives tfjs's kernels).
 *
 * The update, as tfjs computes it: `m = b1·m + (1-b1)·g`, `v = b2·v + (1-b2)·g²`,
 * `w = w - lr · (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)`.
 *
 * @since 0.1.0
 */
import { Fused, WebGpuAdam } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import * as AdamKernel from "./AdamKernel"
import * as WasmAdam from "./WasmAdam"

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
      const kernel = WasmAdam.kernel()
      if (kernel !== undefined) this.applyOnWasm(kernel, variableGradients)
      else super.applyGradients(variableGradients)
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
      const { value, m, v } = this.slots(name, i)
      const gradient: tf.Tensor | undefined = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name]
      if (gradient == null) return
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

  /** The variable `name` and its moments (slot `i`), the moments made as tfjs's Adam makes them (zeros) on first use. */
  private slots(name: string, i: number): { readonly value: tf.Variable; readonly m: tf.Variable; readonly v: tf.Variable } {
    const self = this as unknown as AdamInternals
    const value = tf.engine().registeredVariables[name]
    const zeros = (suffix: string) => ({ originalName: `${name}/${suffix}`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) })
    self.accumulatedFirstMoment[i] ??= zeros("m")
    self.accumulatedSecondMoment[i] ??= zeros("v")
    return { value, m: self.accumulatedFirstMoment[i].variable, v: self.accumulatedSecondMoment[i].variable }
  }

  /**
   * tfjs's `applyGradients` with each weight's update as one `WasmAdam` kernel call (the same
   * numbers): the same moment slots, beta powers and step counter.
   */
  private applyOnWasm(kernel: AdamKernel.Exports, variableGradients: VariableGradients): void {
    const self = this as unknown as AdamInternals
    const names = Array.isArray(variableGradients) ? variableGradients.map((v) => v.name) : Object.keys(variableGradients)
    const c = WasmAdam.constants(this.learningRate, this.beta1, this.beta2, this.epsilon, readScalar(self.accBeta1), readScalar(self.accBeta2))
    tf.tidy(() => {
      names.forEach((name, i) => {
        const { value, m, v } = this.slots(name, i)
        const gradient: tf.Tensor | undefined = Array.isArray(variableGradients) ? variableGradients[i].tensor : variableGradients[name]
        if (gradient == null) return
        WasmAdam.update(kernel, value, m, v, gradient, c)
      })
      self.accBeta1.assign(tf.mul(self.accBeta1, this.beta1))
      self.accBeta2.assign(tf.mul(self.accBeta2, this.beta2))
    })
    this.incrementIterations()
  }

  /** The update's constants: learning rate, beta1, beta2 and epsilon. */
  settings(): { readonly learningRate: number; readonly beta1: number; readonly beta2: number; readonly epsilon: number } {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon }
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

/**
 * Adam on the host: the state of an Adam optimizer over a list of weights, flattened in the list's
 * order (the weights themselves, both moments, beta^t as float32), for an update computed in
 * JavaScript rather than by ~14 kernels per weight. Data-parallel training (`Replicas`) updates
 * its weights this way once per step, on the main thread, and every replica takes the new weights.
 * `present[i]` is 0 for a weight that gets no gradient: like tfjs's Adam, which keeps moments only
 * for the weights that get one, it is never updated and has no moments in the state.
 */
export interface HostAdam {
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
  /** Decoupled weight decay applied after the update (`w · (1 - lr · decay)`), 0 for none. */
  readonly weightDecay: number
  /** The weights, flattened. */
  readonly weights: Float32Array
  readonly m: Float32Array
  readonly v: Float32Array
  /** The shapes of the weights, in order. */
  readonly shapes: ReadonlyArray<ReadonlyArray<number>>
  /** 1 where a weight gets gradients (the others keep their values and have no moments). */
  readonly present: Uint8Array
  accBeta1: number
  accBeta2: number
  iterations: number
  /** The WebAssembly SIMD kernel that runs the update (holding `m` and `v`), absent where WebAssembly SIMD is not. */
  readonly kernel?: AdamKernel.AdamKernel
}

const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

/**
 * The host Adam continuing `optimizer` (its {@link FusedAdam.readState} `state`) on `weights`
 * (flattened, of `shapes`) for the weights `present` marks, or undefined when the state's moments
 * do not map one to one onto those weights.
 */
export const hostAdam = (
  optimizer: FusedAdam,
  state: AdamState,
  weights: Float32Array,
  shapes: ReadonlyArray<ReadonlyArray<number>>,
  present: Uint8Array,
  weightDecay: number
): HostAdam | undefined => {
  const kept = shapes.flatMap((shape, i) => (present[i] === 1 ? [i] : []))
  if (state.moments.length !== 0 && state.moments.length !== kept.length) return undefined
  const offsets = shapes.map((_, i) => shapes.slice(0, i).reduce((n, s) => n + sizeOf(s), 0))
  const kernel = AdamKernel.make(weights.length)
  const m = kernel?.m ?? new Float32Array(weights.length)
  const v = kernel?.v ?? new Float32Array(weights.length)
  for (let k = 0; k < state.moments.length; k++) {
    const i = kept[k]
    if (state.moments[k].shape.join(",") !== shapes[i].join(",")) return undefined
    m.set(state.moments[k].m, offsets[i])
    v.set(state.moments[k].v, offsets[i])
  }
  return {
    ...optimizer.settings(),
    weightDecay,
    weights,
    m,
    v,
    shapes,
    present: new Uint8Array(present),
    accBeta1: state.accBeta1,
    accBeta2: state.accBeta2,
    iterations: state.iterations,
    ...(kernel === undefined ? {} : { kernel })
  }
}

/**
 * One Adam update of `adam.weights` with `gradient` (flattened like the weights), then the weight
 * decay: the arithmetic of tfjs's `AdamOptimizer.applyGradients` element by element, each operation
 * rounded to float32 as its kernels round it, so the result is the one tfjs computes, bit for bit:
 *
 *     m = b1·m + (1-b1)·g;  v = b2·v + (1-b2)·g²
 *     w = (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps) · (-lr) + w;  b1^t *= b1;  b2^t *= b2
 *
 * The weight decay, as `Train.step` applies it, scales every weight, with or without a gradient.
 */
export const hostAdamStep = (adam: HostAdam, gradient: Float32Array): void => {
  const fr = Math.fround
  const constants = WasmAdam.constants(adam.learningRate, adam.beta1, adam.beta2, adam.epsilon, adam.accBeta1, adam.accBeta2)
  const keep = adam.weightDecay > 0 ? fr(1 - adam.learningRate * adam.weightDecay) : undefined
  if (adam.kernel !== undefined) kernelUpdate(adam, adam.kernel, gradient, constants, keep)
  else loopUpdate(adam, gradient, constants, keep)
  adam.accBeta1 = fr(adam.accBeta1 * constants.b1)
  adam.accBeta2 = fr(adam.accBeta2 * constants.b2)
  adam.iterations++
}

/** Each weight that gets gradients, as its offset and size in the flattened list. */
const presentRanges = (adam: HostAdam): Array<readonly [number, number]> => {
  const out: Array<readonly [number, number]> = []
  let offset = 0
  adam.shapes.forEach((shape, i) => {
    const size = sizeOf(shape)
    if (adam.present[i] === 1) out.push([offset, size])
    offset += size
  })
  return out
}

/** The update and the decay (`keep`, when decaying) in JavaScript, every operation rounded to float32. */
const loopUpdate = (adam: HostAdam, gradient: Float32Array, c: WasmAdam.Constants, keep: number | undefined): void => {
  const fr = Math.fround
  const { m, v, weights: w } = adam
  for (const [offset, size] of presentRanges(adam)) {
    for (let j = offset; j < offset + size; j++) {
      const g = gradient[j]
      const m1 = fr(fr(m[j] * c.b1) + fr(g * c.oneMinusB1))
      const v1 = fr(fr(v[j] * c.b2) + fr(fr(g * g) * c.oneMinusB2))
      m[j] = m1
      v[j] = v1
      const denominator = fr(fr(Math.sqrt(fr(v1 / c.oneMinusAcc2))) + c.eps)
      w[j] = fr(fr(fr(fr(m1 / c.oneMinusAcc1) / denominator) * c.minusLr) + w[j])
    }
  }
  if (keep !== undefined) for (let j = 0; j < w.length; j++) w[j] = fr(w[j] * keep)
}

/** The same update and decay on the WebAssembly kernel (the same float32 operations, four weights at a time). */
const kernelUpdate = (adam: HostAdam, kernel: AdamKernel.AdamKernel, gradient: Float32Array, c: WasmAdam.Constants, keep: number | undefined): void => {
  const n = adam.weights.length
  const bytes = Float32Array.BYTES_PER_ELEMENT
  kernel.weights.set(adam.weights)
  kernel.gradient.set(gradient)
  for (const [offset, size] of presentRanges(adam)) {
    const at = (k: number) => (k * n + offset) * bytes // weights, m, v, gradient: the kernel memory's 4 arrays
    kernel.exports.adam(at(0), at(1), at(2), at(3), size, c.b1, c.b2, c.oneMinusB1, c.oneMinusB2, c.oneMinusAcc1, c.oneMinusAcc2, c.eps, c.minusLr)
  }
  if (keep !== undefined) kernel.exports.scale(0, n, keep)
  adam.weights.set(kernel.weights)
}

/** The host Adam's state as {@link FusedAdam.readState} gives it (for a training's state, or to hand back to the optimizer). */
export const hostAdamState = (adam: HostAdam): AdamState => {
  const moments: Array<AdamState["moments"][number]> = []
  let offset = 0
  adam.shapes.forEach((shape, i) => {
    const size = sizeOf(shape)
    if (adam.present[i] === 1) moments.push({ shape, m: adam.m.slice(offset, offset + size), v: adam.v.slice(offset, offset + size) })
    offset += size
  })
  return { iterations: adam.iterations, accBeta1: adam.accBeta1, accBeta2: adam.accBeta2, moments }
}
