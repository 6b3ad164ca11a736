/**
 * Small building blocks shared by every tensor module: seeded variables, the 2-D matMul with a fast
 * backward pass (`linear`, `project`), dense layers, layer norm, dropout, masked pooling, a masked
 * softmax and time-step splitting. Plain functions of tensors, written for speed on the wasm
 * backend (2-D matMuls, fused bias, explicit transposes, few slices).
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import { customOp } from "./CustomOp"
import * as Fused from "./Fused"
import { gatherRows } from "./RowGather"
import type { Module, PackedRows, RowSelection, SeedSource, SequenceInput } from "./Module"
import * as WasmMaskedMean from "./wasm/WasmMaskedMean"
import * as WasmMatMul from "./wasm/WasmMatMul"

/** The nonlinearities a dense layer can end with. */
export type Activation = "relu" | "gelu" | "tanh" | "linear"

/** Options of {@link dense}. */
export interface DenseOptions {
  /** Nonlinearity after the affine map (default "linear"). */
  readonly activation?: Activation
  /** Add a learned bias (default true). */
  readonly useBias?: boolean
}

/** A dense layer: `activation(x · kernel + bias)` on (N, inDim) rows. Variables "kernel" and "bias". */
export interface Dense extends Module<tf.Tensor2D, tf.Tensor2D> {
  readonly inDim: number
  readonly outDim: number
  readonly kernel: tf.Variable
  readonly bias: tf.Variable | undefined
  readonly activation: Activation
}

/** A layer norm over the last axis with learned scale "gamma" and shift "beta". */
export interface LayerNorm extends Module<tf.Tensor, tf.Tensor> {
  readonly dim: number
}

/** A trainable variable initialised with seeded Glorot-uniform values (the same seed gives the same weights). */
export const glorotVariable = (shape: ReadonlyArray<number>, seeds: SeedSource): tf.Variable =>
  tf.tidy(() => tf.variable(tf.initializers.glorotUniform({ seed: seeds.nextSeed() }).apply([...shape]), true))

/** A trainable variable filled with a constant (biases, layer-norm scale and shift). */
export const constantVariable = (shape: ReadonlyArray<number>, value: number): tf.Variable =>
  tf.tidy(() => tf.variable(tf.fill([...shape], value), true))

/** GELU with the exact erf form: `0.5 x (1 + erf(x / sqrt 2))` (trains on cpu and wasm). */
export const gelu = <T extends tf.Tensor>(x: T): T =>
  tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)) as T)

/** Apply a named activation. */
export const activate = <T extends tf.Tensor>(x: T, activation: Activation): T => {
  switch (activation) {
    case "relu":
      return tf.relu(x)
    case "gelu":
      return gelu(x)
    case "tanh":
      return tf.tanh(x)
    case "linear":
      return x
  }
}

/**
 * `a (N, k) · w (k, m) [+ bias (m)]` whose backward pass multiplies by transposed operands the
 * fast way for the backend: by matMul's transpose flags on webgpu (there a transpose costs a
 * dispatch and the flag nothing) and on wasm with `WasmMatMul` installed (its kernel reads the
 * operand in place, with the sums of a transposed copy), by explicit transposes elsewhere (the wasm
 * backend's own kernels run a flagged product about 10x slower than a transpose and a plain
 * matMul). This is the 2-D matMul every module uses. Gradients for `a`, `w` and `bias` are all computed (use {@link project} when
 * `a` is input data that may need no gradient).
 */
export const linear = (a: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D =>
  (bias === undefined ? linearNoBias(a, w) : linearWithBias(a, w, bias)) as tf.Tensor2D

/**
 * Whether a matMul takes its operands transposed by flag: on webgpu the flag is free (the shader
 * reads the operand transposed) while a Transpose is one more dispatch; on wasm when `WasmMatMul`
 * runs the products; elsewhere see {@link linear}.
 */
const transposeByFlag = (): boolean => {
  const backend = tf.getBackend()
  return backend === "webgpu" || (backend === "wasm" && WasmMatMul.installed())
}

/** Whether this is the webgpu backend: rows are not packed there (packing reads the mask on the host). */
const onWebGpu = (): boolean => tf.getBackend() === "webgpu"

/** `dy · wᵀ` and `aᵀ · dy`: matMul's flags where they are fast ({@link transposeByFlag}), else explicit transposes. */
const inputGrad = (dy: tf.Tensor, w: tf.Tensor) =>
  transposeByFlag() ? tf.matMul(dy as tf.Tensor2D, w as tf.Tensor2D, false, true) : tf.matMul(dy as tf.Tensor2D, tf.transpose(w as tf.Tensor2D))
const weightGrad = (a: tf.Tensor, dy: tf.Tensor) =>
  transposeByFlag() ? tf.matMul(a as tf.Tensor2D, dy as tf.Tensor2D, true, false) : tf.matMul(tf.transpose(a as tf.Tensor2D), dy as tf.Tensor2D)

const linearNoBias = customOp(([a, w], save) => {
  save([a, w])
  return {
    value: tf.matMul(a as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, [sa, sw]) => [inputGrad(dy, sw), weightGrad(sa, dy)]
  }
})

const linearWithBias = customOp(([a, w, bias], save) => {
  save([a, w])
  return {
    value: tf.fused.matMul({ a: a as tf.Tensor2D, b: w as tf.Tensor2D, bias }),
    gradFunc: (dy, [sa, sw]) => [inputGrad(dy, sw), weightGrad(sa, dy), tf.sum(dy, 0)]
  }
})

/**
 * {@link linear} for a module's input rows `x`, which are often plain data: the gradient for `x`
 * is computed only when `x` itself depends on the variables being differentiated (for example an
 * upstream embedding), never otherwise. It is carried by a zero-valued term added to the product:
 * tfjs prunes that term's backward pass when `x` is off the gradient path. `xT`, when given, is x
 * transposed (d, N): the weight gradient uses it instead of transposing x. `data`: x depends on no
 * variable (a data set's features), so no input path is built at all: one op of the tape instead of
 * three (the same product; only the sign of an exact zero can differ, -0 where the sum with the
 * zero term gave +0).
 */
export const project = (x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D, xT?: tf.Tensor2D, data = false): tf.Tensor2D => {
  const weightsOnly = data && dataProjection
  const weightPath = customOp((params, save) => {
    // with x's transpose at hand (`PackedRows.rowsT`) the weight gradient is one plain matMul
    save([xT ?? x])
    const dw = (saved: tf.Tensor, dy: tf.Tensor) => (xT === undefined ? weightGrad(saved, dy) : tf.matMul(saved as tf.Tensor2D, dy as tf.Tensor2D))
    return {
      value: bias === undefined ? tf.matMul(x, w) : tf.fused.matMul({ a: x, b: w, bias }),
      gradFunc: (dy, [saved]) => (bias === undefined ? dw(saved, dy) : [dw(saved, dy), tf.sum(dy, 0)])
    }
  })
  const product = (bias === undefined ? weightPath(w) : weightPath(w, bias)) as tf.Tensor2D
  if (weightsOnly) return product
  const inputPath = customOp((_, save) => {
    save([w])
    // tf.fill runs on the backend (tf.zeros would build the zeros in JS and upload them)
    return { value: tf.fill([x.shape[0], w.shape[1]], 0), gradFunc: (dy, [sw]) => inputGrad(dy, sw) }
  })
  return tf.add(product, inputPath(x)) as tf.Tensor2D
}

let dataProjection = true

/**
 * Whether {@link project} of data (`data` true) builds the weight path alone (the default) or the
 * zero-valued input path and its sum too, as for any input (for comparisons in the benchmarks).
 */
export const setDataProjection = (enabled: boolean): void => {
  dataProjection = enabled
}

/**
 * Rows `kept.rows` (K) of x (N, d) -> (K, d), as `tf.gather` with its own backward pass: the
 * gradient goes back to the kept rows, zeros elsewhere. (tfjs's gather gradient needs
 * `UnsortedSegmentSum`, which the wasm backend does not have.)
 */
export const takeRows = (x: tf.Tensor2D, kept: RowSelection): tf.Tensor2D =>
  customOp(([input]) => ({
    value: gatherRows(input as tf.Tensor2D, kept.rows),
    gradFunc: (dy) => placeRows(dy as tf.Tensor2D, tf.zeros([1, input.shape[1] as number]), kept)
  }))(x) as tf.Tensor2D

/** Kept rows y (K, m) at their places among N rows, `fill` (1, m) in every other row (no gradient). */
const placeRows = (y: tf.Tensor2D, fill: tf.Tensor, kept: RowSelection): tf.Tensor2D =>
  gatherRows(tf.concat([y, fill as tf.Tensor2D], 0), kept.places)

/**
 * The inverse of {@link takeRows}: kept rows y (K, m) back at their places among N rows, `fill`
 * (1, m) in every other row. The gradient for y is the upstream gradient's kept rows (each kept row
 * lands in exactly one place); for `fill`, its sum over the other rows.
 */
export const expandRows = (y: tf.Tensor2D, fill: tf.Tensor2D, kept: RowSelection): tf.Tensor2D =>
  customOp(([rows, filler]) => ({
    value: placeRows(rows as tf.Tensor2D, filler, kept),
    gradFunc: (dy) => [gatherRows(dy as tf.Tensor2D, kept.rows), tf.sum(gatherRows(dy as tf.Tensor2D, kept.dropped), 0, true)]
  }))(y, fill) as tf.Tensor2D

/** The {@link RowSelection} of the nonzero entries of `mask` (length N). */
export const rowSelection = (mask: ArrayLike<number>): RowSelection => {
  const n = mask.length
  let count = 0
  for (let i = 0; i < n; i++) if (mask[i] !== 0) count++
  const rows = new Int32Array(count)
  const dropped = new Int32Array(n - count)
  const places = new Int32Array(n)
  for (let i = 0, k = 0, o = 0; i < n; i++) {
    if (mask[i] !== 0) {
      rows[k] = i
      places[i] = k++
    } else {
      dropped[o++] = i
      places[i] = count
    }
  }
  return { n, rows, dropped, places }
}

/** The fewest dropped rows, as a fraction of all, for which rows are packed ({@link projectKept}, {@link packRows}). */
export const PACK_FRACTION = 0.1

/** The smallest `d · m` of a projection that {@link projectKept} packs (narrow inputs cost less than the gathers). */
export const PACK_WIDTH = 4096

/** The narrowest input whose rows {@link packRows} packs for all its projections (64: PACK_WIDTH at 64 units). */
export const PACK_DIM = 64

/** Whether packing the rows of `selection` pays: at least {@link PACK_FRACTION} of them dropped. */
const worthPacking = (selection: RowSelection): boolean => selection.dropped.length >= PACK_FRACTION * selection.n

/**
 * The rows of x (N, d) where `rowMask` (N) is nonzero, gathered once for several projections of
 * them ({@link projectKept} with `packed`), with their transpose when `training` and the backend
 * transposes explicitly (every projection's weight gradient then needs no transpose of its own). Undefined when packing does not pay: on
 * webgpu, for inputs narrower than {@link PACK_DIM}, with fewer than {@link PACK_FRACTION} of the
 * rows dropped, or none kept.
 */
export const packRows = (x: tf.Tensor2D, rowMask: tf.Tensor, training: boolean): PackedRows | undefined => {
  const selection = packSelection(x.shape[1], rowMask.dataSync())
  return selection === undefined ? undefined : packed(selection, takeRows(x, selection), training)
}

/**
 * The rows {@link packRows} would keep of a (N, `dim`) input with the row mask `mask` (N, on the
 * host), or undefined where it would not pack: on webgpu, `dim` below {@link PACK_DIM}, fewer than
 * {@link PACK_FRACTION} of the rows dropped, or none kept. Lets a caller that holds the input's data
 * on the host (a batch of a data set) gather those rows itself.
 */
export const packSelection = (dim: number, mask: ArrayLike<number>): RowSelection | undefined => {
  if (onWebGpu() || dim < PACK_DIM) return undefined
  const selection = rowSelection(mask)
  return worthPacking(selection) && selection.rows.length > 0 ? selection : undefined
}

/** Kept rows (K, d) of `selection` as {@link PackedRows}, with their transpose when `training` needs it (see {@link packRows}). */
export const packed = (selection: RowSelection, rows: tf.Tensor2D, training: boolean): PackedRows => ({
  selection,
  rows,
  ...(training && !transposeByFlag() ? { rowsT: tf.transpose(rows) } : {})
})

/** What {@link project} gives a zero row (1, m): the bias, or zeros. */
const zeroRow = (m: number, bias?: tf.Tensor1D): tf.Tensor2D => (bias === undefined ? tf.zeros([1, m]) : tf.reshape(bias, [1, m])) as tf.Tensor2D

/**
 * {@link project} of the rows of x (N, d) where `rowMask` (N) is nonzero; every other row of the
 * result is what a zero row gives (`bias`, or zeros). For a caller whose later steps ignore those
 * rows (padded time steps, absent modalities) this is the same function at a fraction of the FLOPs:
 * the kept rows are gathered, projected and put back in place (gradients included). `packed`, rows
 * of x already gathered by {@link packRows} for a mask that keeps at least the rows `rowMask` keeps,
 * are used as they are (the rows it keeps beyond `rowMask` get their projection, which the caller
 * ignores). Without it, it packs only off webgpu (it reads the mask on the host), when
 * `d · m >= PACK_WIDTH` and at least `PACK_FRACTION` of the rows are dropped; otherwise it is
 * `project` itself.
 */
export const projectKept = (x: tf.Tensor2D, rowMask: tf.Tensor, w: tf.Tensor2D, bias?: tf.Tensor1D, packed?: PackedRows, data = false): tf.Tensor2D =>
  tf.tidy(() => {
    const d = x.shape[1]
    const m = w.shape[1]
    if (packed !== undefined) return projectPacked(packed, w, bias, data)
    if (onWebGpu() || d * m < PACK_WIDTH) return project(x, w, bias, undefined, data)
    const selection = rowSelection(rowMask.dataSync())
    if (!worthPacking(selection)) return project(x, w, bias, undefined, data)
    // nothing kept (rare): zero gradients for w and bias, as project would give them, not none
    if (selection.rows.length === 0) return tf.add(tf.mul(project(x, w, bias, undefined, data), 0), zeroRow(m, bias)) as tf.Tensor2D
    return projectPacked({ selection, rows: takeRows(x, selection) }, w, bias, data)
  })

/**
 * {@link projectKept} of rows already packed (`packed.selection.n` rows in all): the kept rows
 * projected and put back in place, every other row what a zero row gives (`bias`, or zeros).
 */
export const projectPacked = (packed: PackedRows, w: tf.Tensor2D, bias?: tf.Tensor1D, data = false): tf.Tensor2D =>
  tf.tidy(() => expandRows(project(packed.rows, w, bias, packed.rowsT, data), zeroRow(w.shape[1], bias), packed.selection))

/**
 * The first projection of a module's input (B, T, d) -> (B·T, m): {@link projectKept} of the steps
 * `rowMask` (B, T) keeps. Rows packed already (`input.packed`, for a mask that keeps at least those
 * steps) are projected as they are, without reading `input.x` (a batch may make x only when read);
 * an input marked as data (`input.data`) gets no input-gradient path ({@link project}).
 */
export const projectInput = (input: SequenceInput, rowMask: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D => {
  const data = input.data === true
  if (input.packed !== undefined) return projectPacked(input.packed, w, bias, data)
  const [b, t, d] = input.x.shape
  return tf.tidy(() => projectKept(tf.reshape(input.x, [b * t, d]), tf.reshape(rowMask, [b * t]), w, bias, undefined, data))
}

/**
 * A seeded dense layer `(N, inDim) -> (N, outDim)`: one {@link linear} (fused bias), then the
 * activation.
 */
export const dense = (inDim: number, outDim: number, seeds: SeedSource, options: DenseOptions = {}): Dense => {
  const activation = options.activation ?? "linear"
  const kernel = glorotVariable([inDim, outDim], seeds)
  const bias = options.useBias === false ? undefined : constantVariable([outDim], 0)
  const variables = new Map<string, tf.Variable>([["kernel", kernel]])
  if (bias !== undefined) variables.set("bias", bias)
  return {
    inDim,
    outDim,
    kernel,
    bias,
    activation,
    variables,
    apply: (x) => activate(linear(x, kernel as tf.Tensor2D, bias as tf.Tensor1D | undefined), activation)
  }
}

/** Apply a row-wise 2-D module to every step of a (B, T, d) tensor through a (B·T, d) reshape. */
export const applyDense3d = (layer: Module<tf.Tensor2D, tf.Tensor2D>, x: tf.Tensor3D, training = false): tf.Tensor3D =>
  tf.tidy(() => {
    const [b, t, d] = x.shape
    const y = layer.apply(tf.reshape(x, [b * t, d]), training)
    return tf.reshape(y, [b, t, y.shape[1]])
  })

/** A layer norm over the last axis: `(x - mean) / sqrt(var + epsilon) · gamma + beta`. */
export const layerNorm = (dim: number, epsilon = 1e-5): LayerNorm => {
  const gamma = constantVariable([dim], 1)
  const beta = constantVariable([dim], 0)
  return {
    dim,
    variables: new Map([["gamma", gamma], ["beta", beta]]),
    apply: (x) =>
      tf.tidy(() => {
        const { mean, variance } = tf.moments(x, -1, true)
        const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, epsilon)))
        return tf.add(tf.mul(normed, gamma), beta)
      })
  }
}

/**
 * Inverted dropout, only when `training` and `rate > 0`. Each call draws its mask seed from
 * `seeds`: a module keeps the seed source it was built with, so successive training steps get
 * fresh masks, and the same seed and call sequence replay the same masks.
 */
export const dropout = <T extends tf.Tensor>(x: T, rate: number, training: boolean, seeds: SeedSource): T =>
  !training || rate <= 0 ? x : seededDropout(x, rate, seeds.nextSeed())

/** `tf.dropout` with the mask of `seed` (rate in (0, 1)): the fused op "dropout" (see {@link Fused}). */
const seededDropout = <T extends tf.Tensor>(x: T, rate: number, seed: number): T =>
  Fused.run("dropout", [x, rate, seed], () => tf.dropout(x, rate, undefined, seed)) as T

/**
 * Split time-major rows (T·B, w) into T tensors (B, w), by halving. A slice on the wasm backend
 * copies its whole input, so slicing T times costs O(T²·B·w); halving costs O(T·log T·B·w).
 * The gradient is a concat per split (cheap on every backend).
 */
export const splitSteps = <T extends tf.Tensor2D>(rows: T, steps: number): Array<T> => {
  if (steps === 1) return [rows]
  const b = rows.shape[0] / steps
  const left = Math.ceil(steps / 2)
  const [first, second] = tf.split(rows, [left * b, (steps - left) * b], 0) as [T, T]
  return [...splitSteps(first, left), ...splitSteps(second, steps - left)]
}

/** (B, T) step mask -> (B, 1) count of valid steps, at least 1. */
export const validCount = (stepMask: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => tf.maximum(tf.sum(stepMask, 1, true), 1) as tf.Tensor2D)

/**
 * `sum_j weights[b, j] · x[b, j, :]`: (B, J, d) with (B, J) weights -> (B, d), as one batched
 * matMul `(B, 1, J) x (B, J, d)`. A zero weight contributes exactly nothing (values must be finite).
 */
export const weightedSum = (x: tf.Tensor3D, weights: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const [b, , d] = x.shape
    return tf.reshape(weightedSumOp(tf.expandDims(weights, 1), x), [b, d])
  })

/** `w (B, 1, J)` transposed times `dy (B, 1, d)`: the (B, J, d) outer products, as a broadcast multiply. */
const outerProducts = (w: tf.Tensor, dy: tf.Tensor): tf.Tensor => tf.mul(tf.reshape(w, [w.shape[0], w.shape[2] as number, 1]), dy)

/**
 * `w (B, 1, J) · x (B, J, d)` -> (B, 1, d) with a hand-written backward pass: the gradient for x is
 * {@link outerProducts} (tfjs's matMul gradient would take w transposed by flag, the wasm backend's
 * slow path, 3x slower here); for w it is tfjs's own `dy · xᵀ` (B, 1, J).
 */
const weightedSumOp = customOp(([w, x], save) => {
  save([w, x])
  return {
    value: tf.matMul(w as tf.Tensor3D, x as tf.Tensor3D),
    gradFunc: (dy, [sw, sx]) => [tf.matMul(dy as tf.Tensor3D, sx as tf.Tensor3D, false, true), outerProducts(sw, dy)]
  }
})

/**
 * {@link weightedSum} for weights that are data (a step mask), never differentiated: only the
 * gradient for x is computed.
 */
const dataWeightedSum = (x: tf.Tensor3D, weights: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    const [b, , d] = x.shape
    const w = tf.expandDims(weights, 1) // (B, 1, J)
    const op = customOp(([input], save) => {
      save([w])
      return { value: tf.matMul(w, input as tf.Tensor3D), gradFunc: (dy, [sw]) => outerProducts(sw, dy) }
    })
    return tf.reshape(op(x), [b, d])
  })

/**
 * Mean of `x` (B, T, d) over the valid steps of `stepMask` (B, T) -> (B, d): a
 * {@link weightedSum} divided by `max(len, 1)`. A sample with no valid step gives zeros (the
 * caller masks it). Padded values must be finite (they are multiplied by 0). On the wasm backend one
 * kernel each way (`WasmMaskedMean`, the same numbers).
 */
export const maskedMean = (x: tf.Tensor3D, stepMask: tf.Tensor2D): tf.Tensor2D =>
  WasmMaskedMean.accepts(x, stepMask)
    ? WasmMaskedMean.maskedMean(x, stepMask, false)
    : tf.tidy(() => tf.div(dataWeightedSum(x, stepMask), validCount(stepMask)) as tf.Tensor2D)

/**
 * A fusion level's epilogue: `dropout(activation(sum of parts)) + skip` for (N, d) tensors. With
 * relu and two parts it is the fused op "reluDropoutResidual" (see {@link Fused}): one kernel each
 * way on webgpu, with the same dropout noise as {@link dropout} for the seed.
 */
export const residualEpilogue = (
  parts: ReadonlyArray<tf.Tensor2D>,
  skip: tf.Tensor2D,
  activation: Activation,
  rate: number,
  training: boolean,
  seeds: SeedSource
): tf.Tensor2D => {
  const seed = training && rate > 0 ? seeds.nextSeed() : undefined
  const composite = () => {
    let sum = parts[0]
    for (let p = 1; p < parts.length; p++) sum = tf.add(sum, parts[p])
    const activated = activate(sum, activation)
    return tf.add(seed === undefined ? activated : seededDropout(activated, rate, seed), skip) as tf.Tensor2D
  }
  return activation === "relu" && parts.length === 2
    ? (Fused.run("reluDropoutResidual", [parts[0], parts[1], skip, rate, seed], composite) as tf.Tensor2D)
    : composite()
}

/**
 * `maskedMean(relu(x), stepMask)`, the mean-pool expert's pooling: (B, T, d) -> (B, d). The fused op
 * "reluMaskedMean" (see {@link Fused}): on webgpu one kernel each way, where padded steps are
 * skipped rather than multiplied by 0; on wasm one kernel each way too (`WasmMaskedMean`).
 */
export const reluMaskedMean = (x: tf.Tensor3D, stepMask: tf.Tensor2D): tf.Tensor2D =>
  Fused.run(
    "reluMaskedMean",
    [x, stepMask],
    () => WasmMaskedMean.accepts(x, stepMask) ? WasmMaskedMean.maskedMean(x, stepMask, true) : maskedMean(tf.relu(x), stepMask)
  )

/**
 * Softmax over the last axis restricted to `mask` = 1 entries: masked entries get weight exactly 0
 * whatever their logit (selected out with `where`, so even huge or garbage logits are harmless).
 * A row with no available entry gets all-zero weights.
 */
export const maskedSoftmax = <T extends tf.Tensor>(logits: T, mask: tf.Tensor): T =>
  tf.tidy(() => {
    const filled = tf.where(tf.greater(mask, 0), logits as tf.Tensor, tf.scalar(-1e9))
    return tf.mul(tf.softmax(filled), mask) as T
  })

/** The smallest gate value {@link gatedSoftmax} and {@link gatedWeights} use (a gate of 0 is clamped to it). */
export const MIN_GATE = 1e-6

/**
 * {@link maskedSoftmax} with a prior weight per entry: `w_j ∝ g_j · exp(logit_j)` over the entries
 * with `mask` = 1, i.e. the softmax of `logit_j + log g_j`. `gates` (broadcastable to `logits`) are in
 * (0, 1] (clamped below at {@link MIN_GATE}); all-ones gates give the masked softmax's weights, and
 * no gates give exactly {@link maskedSoftmax} (the same ops). The mask stays a hard 0/1 (no gradient);
 * the gates may be learned and receive gradient.
 */
export const gatedSoftmax = <T extends tf.Tensor>(logits: T, mask: tf.Tensor, gates?: tf.Tensor): T =>
  gates === undefined
    ? maskedSoftmax(logits, mask)
    : tf.tidy(() => maskedSoftmax(tf.add(logits, tf.log(tf.maximum(gates, MIN_GATE))) as T, mask))

/**
 * Weights `m_j g_j / sum_j m_j g_j` over the last axis of a (B, J) `mask`: the masked mean's weights
 * with a prior weight per entry (gates broadcastable to `mask`, clamped below at {@link MIN_GATE}). No
 * gates give exactly the masked mean's weights `m_j / max(sum_j m_j, 1)` (see {@link validCount}). A
 * row with no available entry gets all-zero weights.
 */
export const gatedWeights = (mask: tf.Tensor2D, gates?: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    if (gates === undefined) return tf.div(mask, validCount(mask)) as tf.Tensor2D
    const w = tf.mul(mask, tf.maximum(gates, MIN_GATE))
    return tf.div(w, tf.maximum(tf.sum(w, -1, true), MIN_GATE * MIN_GATE)) as tf.Tensor2D
  })
