/**
 * The one place that chooses between a fused WGSL kernel and its composite of tfjs ops.
 *
 * Each fused op has a name, a kernel in `webgpu/` and a test of the arguments it takes (dtypes,
 * ranks, sizes, the kernel's limits). A caller states the op's math once, as the composite, and
 * `run` decides: the kernel when {@link active} (the `webgpu` backend with the internals the kernels
 * need, and the kernels not switched off with {@link setEnabled}) and the kernel takes the
 * arguments, else the composite. Both compute the same values and gradients (the webgpu/cpu
 * agreement check compares them), so layers and losses never ask which backend runs them.
 *
 * ```ts
 * const pooled = Fused.run("reluMaskedMean", [x, stepMask], () => maskedMean(tf.relu(x), stepMask))
 * ```
 *
 * @since 0.2.0
 */
import * as tf from "@tensorflow/tfjs"
import * as WebGpuKernel from "./webgpu/WebGpuKernel"
import * as WebGpuLayers from "./webgpu/WebGpuLayers"
import * as WebGpuLosses from "./webgpu/WebGpuLosses"

/** An on/off switch kept as a tfjs flag (true by default): kernels of our own that can be turned off to compare them with tfjs's. */
export interface FlagSwitch {
  readonly enabled: () => boolean
  readonly setEnabled: (enabled: boolean) => void
}

/** The switch kept in the tfjs flag `name` (registered on first use, true by default). */
export const flagSwitch = (name: string): FlagSwitch => {
  const register = () => {
    const registry = (tf.env() as unknown as { flagRegistry: Record<string, unknown> }).flagRegistry
    if (registry[name] === undefined) tf.env().registerFlag(name, () => true)
  }
  return {
    enabled: () => {
      register()
      return tf.env().getBool(name)
    },
    setEnabled: (enabled) => {
      register()
      tf.env().set(name, enabled)
    }
  }
}

/** The tfjs flag behind {@link setEnabled} (true by default). */
export const FLAG = "HAEMSA_WEBGPU_FUSED_KERNELS"

const fusedSwitch = flagSwitch(FLAG)

/**
 * Switch the fused kernels off (or back on): every op then runs its tfjs composite, as on other
 * backends (to compare the two, or to rule the kernels out).
 */
export const setEnabled = (enabled: boolean): void => fusedSwitch.setEnabled(enabled)

/**
 * Whether the fused kernels run here: the active backend is `webgpu` with the internals the kernels
 * need ({@link WebGpuKernel.supported}), and they are enabled ({@link setEnabled}).
 */
export const active = (): boolean => WebGpuKernel.supported() && fusedSwitch.enabled()

/** A fused op: its kernel, and which arguments the kernel takes. */
interface Kernel<A extends ReadonlyArray<unknown>, R> {
  readonly run: (...args: A) => R
  readonly accepts: (...args: A) => boolean
}

const kernel = <A extends ReadonlyArray<unknown>, R>(run: (...args: A) => R, accepts: (...args: A) => boolean): Kernel<A, R> => ({
  run,
  accepts
})

/** Optional (B) weights the loss kernels read: absent, or float32 of rank 1. */
const plainWeights = (weights: tf.Tensor | undefined): boolean => weights === undefined || (weights.dtype === "float32" && weights.rank === 1)

const float32 = (...tensors: ReadonlyArray<tf.Tensor>): boolean => tensors.every((t) => t.dtype === "float32")

const kernels = {
  /** `dropout(x, rate, seed)`: inverted dropout with `tf.dropout`'s noise for the seed. */
  dropout: kernel(WebGpuLayers.dropout, (x) => float32(x)),
  /** `reluMaskedMean(x, stepMask)`: `maskedMean(relu(x), stepMask)`. */
  reluMaskedMean: kernel(WebGpuLayers.reluMaskedMean, (x, stepMask) => float32(x, stepMask)),
  /** `reluDropoutResidual(a, b, skip, rate, seed)`: `dropout(relu(a + b)) + skip` (no dropout without a seed). */
  reluDropoutResidual: kernel(
    WebGpuLayers.reluDropoutResidual,
    (a, b, skip) => [a, b, skip].every((t) => t.dtype === "float32" && tf.util.arraysEqual(t.shape, skip.shape))
  ),
  /** `l1(pred, target, weights)`: the weighted mean absolute error of (B) tensors. */
  l1: kernel(WebGpuLosses.l1, (pred, _target, weights) => pred.shape[0] > 0 && plainWeights(weights)),
  /** `crossEntropy(logits, labels, weights)`: the weighted cross-entropy with int32 class ids. */
  crossEntropy: kernel(WebGpuLosses.crossEntropy, (logits, _labels, weights) => logits.shape[0] > 0 && plainWeights(weights)),
  /** `crossModalKl(teacher, students, options)`: the sum over students of the weighted mean KL. */
  crossModalKl: kernel(
    WebGpuLosses.crossModalKl,
    (teacher, students) =>
      students.length <= WebGpuLosses.MAX_STUDENTS && teacher.shape[0] > 0 && students.every((s) => plainWeights(s.weights))
  ),
  /** `linearCombination(terms, coefficients)`: `sum_k c_k t_k` of scalars. */
  linearCombination: kernel(
    WebGpuLosses.linearCombination,
    (terms) => terms.length >= 2 && terms.length <= WebGpuLosses.MAX_TERMS && terms.every((t) => t.dtype === "float32" && t.rank === 0)
  )
}

/** The names of the fused ops. */
export type Name = keyof typeof kernels

/** The arguments of the fused op `K` (what its kernel takes). */
export type Args<K extends Name> = Parameters<(typeof kernels)[K]["run"]>

/** The result of the fused op `K`. */
export type Result<K extends Name> = ReturnType<(typeof kernels)[K]["run"]>

const kernelOf = <K extends Name>(name: K): Kernel<Args<K>, Result<K>> => kernels[name] as unknown as Kernel<Args<K>, Result<K>>

/** Whether the kernel of `name` would run on these arguments here: {@link active}, and the kernel takes them. */
export const accepts = <K extends Name>(name: K, args: Args<K>): boolean => active() && kernelOf(name).accepts(...args)

/**
 * The fused op `name` on `args`: its WGSL kernel when {@link accepts}, else `composite()` (the same
 * math in tfjs ops, which runs on every backend).
 */
export const run = <K extends Name>(name: K, args: Args<K>, composite: () => Result<K>): Result<K> =>
  accepts(name, args) ? kernelOf(name).run(...args) : composite()
