/**
 * Modality-specific experts: sequence encoders `(B, T, d) -> (B, outDim)` that honour the step mask
 * (padded steps never change the output).
 *
 * Every encoder is "a first linear map, then a body". The first linear map is `x · W + b` on the
 * (B·T, d) rows; the body is everything after it. The unified expert (see `UnifiedExpert`) builds
 * the same first map as a sum of per-modality projections and reuses the very same bodies, so
 * there is one code path per encoder kind.
 *
 * @since 0.1.0
 */
import { BatchMatMul, Layers, LstmLayer, Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Result, Schema, SchemaIssue, SchemaParser } from "effect"
import { ExpertError } from "./Errors"

/** The encoder kinds, as a literal union (its `literals` list the kinds in order). */
export const ExpertKind = Schema.Literals(["meanpool", "lstm", "transformer", "tcn"])

/** One of the encoder kinds. */
export type ExpertKind = typeof ExpertKind.Type

/** The encoder kinds in order: meanpool, lstm, transformer, tcn (`ExpertKind.literals`). */
export const EXPERT_KINDS: ReadonlyArray<ExpertKind> = ExpertKind.literals

/** A number whose every failure (wrong type, missing, a failed check) reads `message`. */
const numberWith = (message: string) => Schema.Number.annotate({ message }).annotateKey({ messageMissingKey: message })

const COUNT = "must be an integer >= 1"
/** An integer >= 1 (sizes and counts). */
const Count = numberWith(COUNT).check(Schema.isInt({ message: COUNT }), Schema.isGreaterThanOrEqualTo(1, { message: COUNT }))

const RATE = "must be in [0, 1)"
/** A rate in [0, 1). */
const Rate = numberWith(RATE).check(Schema.isGreaterThanOrEqualTo(0, { message: RATE }), Schema.isLessThan(1, { message: RATE }))

const KIND = `unknown encoder kind (expected one of ${ExpertKind.literals.join(", ")})`

/**
 * What an expert is, as a plain serialisable object (a decoded genome holds these; the
 * architecture spec of `@haemsa/haemsa-model` uses this schema for its experts).
 *
 * - `meanpool`: `layers` per-step dense+ReLU layers of width `hidden`, masked mean, dense to `outDim`.
 * - `lstm`: `layers` stacked LSTMs of width `hidden` (one differentiable op per layer, see
 *   `LstmLayer` of `@haemsa/nn`); the state after the last valid step; dense to `outDim`.
 * - `transformer`: projection to `hidden` plus sinusoidal positions, `layers` post-norm encoder blocks
 *   (`heads`-head self-attention with a key padding mask, feed-forward of width 2·hidden), masked mean, dense.
 * - `tcn`: projection to `hidden`, `layers` causal temporal convolutions of width `kernel` and
 *   dilation 2^l with ReLU and a residual path, masked mean, dense to `outDim`.
 *
 * A failed check names the field and says what it must be (the reason of an {@link ExpertError}).
 */
export const ExpertSpec = Schema.Struct({
  /** The encoder kind. */
  kind: ExpertKind.annotate({ message: KIND }).annotateKey({ messageMissingKey: KIND }),
  /** Width of the encoder (>= 1). */
  hidden: Count,
  /** Number of layers / blocks (default 1). */
  layers: Schema.optional(Count),
  /** Attention heads of a transformer; must divide `hidden` (default 4 when 4 divides `hidden`, else 1). */
  heads: Schema.optional(Count),
  /** Temporal kernel width of a tcn (default 3). */
  kernel: Schema.optional(Count),
  /** Dropout rate in [0, 1) (default 0). */
  dropout: Schema.optional(Rate),
  /** Feed-forward activation of a transformer (default "relu", as PyTorch's encoder layer). */
  activation: Schema.optional(Schema.Literals(["relu", "gelu"]).annotate({ message: "must be relu or gelu" }))
}).check(
  Schema.makeFilter((spec) =>
    spec.kind === "transformer" && spec.heads !== undefined && spec.hidden % spec.heads !== 0
      ? { path: ["heads"], issue: `must divide hidden = ${spec.hidden}` }
      : undefined
  )
)

/** An expert spec (see {@link ExpertSpec}). */
export type ExpertSpec = typeof ExpertSpec.Type

/** An {@link ExpertSpec} with every default filled in. */
export type ResolvedExpertSpec = { readonly [K in keyof ExpertSpec]-?: Exclude<ExpertSpec[K], undefined> }

/**
 * The part of an encoder after its first linear map. `apply` takes the first map's output
 * `projected` (B, T, inputWidth), which already includes the bias, and the (B, T) step mask.
 */
export interface EncoderBody {
  /** Output width of the first linear map this body consumes. */
  readonly inputWidth: number
  /** Initial value of the first map's bias (an LSTM starts its forget gates at 1). */
  readonly inputBias: Float32Array
  readonly variables: ReadonlyMap<string, tf.Variable>
  apply(projected: tf.Tensor3D, stepMask: tf.Tensor2D, training: boolean): tf.Tensor2D
}

const isInt = (n: unknown, min: number): n is number => typeof n === "number" && Number.isInteger(n) && n >= min

const decodeSpec = SchemaParser.decodeUnknownResult(ExpertSpec)
const issues = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Check a spec against {@link ExpertSpec} and fill its defaults; an {@link ExpertError} names the
 * first bad field (in the schema's field order), its value and the reason.
 */
export const resolveSpec = (spec: ExpertSpec): Result.Result<ResolvedExpertSpec, ExpertError> => {
  const decoded = decodeSpec(spec)
  if (Result.isFailure(decoded)) {
    const [first] = issues(decoded.failure).issues
    const field = String(first?.path?.[0] ?? "spec")
    const value = field in Object(spec) ? (spec as unknown as Record<string, unknown>)[field] : undefined
    return Result.fail(new ExpertError({ field, value: String(value), reason: first?.message ?? "invalid spec" }))
  }
  const s = decoded.success
  return Result.succeed({
    kind: s.kind,
    hidden: s.hidden,
    layers: s.layers ?? 1,
    heads: s.heads ?? (s.hidden % 4 === 0 ? 4 : 1),
    kernel: s.kernel ?? 3,
    dropout: s.dropout ?? 0,
    activation: s.activation ?? "relu"
  })
}

/** Throw the spec's {@link ExpertError}, or return the resolved spec. */
export const resolveSpecOrThrow = (spec: ExpertSpec): ResolvedExpertSpec => {
  const resolved = resolveSpec(spec)
  if (Result.isFailure(resolved)) throw resolved.failure
  return resolved.success
}

/** Throw an {@link ExpertError} unless `n` is an integer >= 1. */
export const checkDim = (field: string, n: number): void => {
  if (!isInt(n, 1)) throw new ExpertError({ field, value: String(n), reason: "must be an integer >= 1" })
}

const zeros = (n: number) => new Float32Array(n)

// ---------------------------------------------------------------------------------------------
// meanpool

const meanPoolBody = (spec: ResolvedExpertSpec, outDim: number, seeds: Module.SeedSource): EncoderBody => {
  const h = spec.hidden
  const steps: Array<Layers.Dense> = []
  for (let l = 1; l < spec.layers; l++) steps.push(Layers.dense(h, h, seeds, { activation: "relu" }))
  const output = Layers.dense(h, outDim, seeds)
  const children: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  steps.forEach((layer, l) => (children[`step${l + 1}`] = layer.variables))
  children.output = output.variables
  return {
    inputWidth: h,
    inputBias: zeros(h),
    variables: Module.prefixed(children),
    apply: (projected, stepMask, training) =>
      tf.tidy(() => {
        const [b, t] = projected.shape
        // one layer, no dropout (the default): pooling and relu in one step (one fused kernel on webgpu)
        if (steps.length === 0 && !(training && spec.dropout > 0)) return output.apply(Layers.reluMaskedMean(projected, stepMask), training)
        let x = tf.relu(tf.reshape(projected, [b * t, h])) as tf.Tensor2D
        for (const layer of steps) x = layer.apply(Layers.dropout(x, spec.dropout, training, seeds), training)
        x = Layers.dropout(x, spec.dropout, training, seeds)
        return output.apply(Layers.maskedMean(tf.reshape(x, [b, t, h]), stepMask), training)
      })
  }
}

// ---------------------------------------------------------------------------------------------
// lstm

/** Initial gate bias: input, forget, output, candidate blocks of h; the forget gates start at 1. */
const lstmBias = (h: number): Float32Array => {
  const bias = zeros(4 * h)
  bias.fill(1, h, 2 * h)
  return bias
}

/**
 * An LSTM stack. Layer l computes its gate inputs for all steps with one matMul; each layer has a
 * recurrent kernel `lstm{l}/recurrent` (h, 4h). For layer 0 the encoder's first linear map gives the
 * gate inputs directly (width 4h) when the input is narrow; when it is wide (3·inputDim > 4h, e.g.
 * 768-d text) the first map projects to h and `lstm0/kernel` (h, 4h) follows, which is the same
 * function class at fewer FLOPs. Layers l > 0 project the states of layer l - 1
 * (`lstm{l}/kernel`, `lstm{l}/bias`). The output is the last layer's state after the last valid step.
 */
const lstmBody = (spec: ResolvedExpertSpec, outDim: number, seeds: Module.SeedSource, inputDim: number): EncoderBody => {
  const h = spec.hidden
  const factored = 3 * inputDim > 4 * h
  const recurrent: Array<tf.Variable> = []
  const gateInputs: Array<{ readonly kernel: tf.Variable; readonly bias: tf.Variable } | undefined> = []
  for (let l = 0; l < spec.layers; l++) {
    gateInputs.push(
      l > 0 || factored
        ? { kernel: Layers.glorotVariable([h, 4 * h], seeds), bias: tf.tidy(() => tf.variable(tf.tensor1d(lstmBias(h)), true)) }
        : undefined
    )
    recurrent.push(Layers.glorotVariable([h, 4 * h], seeds))
  }
  const output = Layers.dense(h, outDim, seeds)
  const variables = new Map<string, tf.Variable>()
  recurrent.forEach((kernel, l) => {
    const input = gateInputs[l]
    if (input !== undefined) {
      variables.set(`lstm${l}/kernel`, input.kernel)
      variables.set(`lstm${l}/bias`, input.bias)
    }
    variables.set(`lstm${l}/recurrent`, kernel)
  })
  for (const [path, v] of output.variables) variables.set(`output/${path}`, v)
  return {
    inputWidth: factored ? h : 4 * h,
    inputBias: factored ? zeros(h) : lstmBias(h),
    variables,
    apply: (projected, stepMask, training) =>
      tf.tidy(() => {
        const [b, t, width] = projected.shape
        const masking = LstmLayer.stepMasking(stepMask)
        let states = tf.reshape(tf.transpose(projected, [1, 0, 2]), [t * b, width]) as tf.Tensor2D
        recurrent.forEach((kernel, l) => {
          const input = gateInputs[l]
          const below = l > 0 ? Layers.dropout(states, spec.dropout, training, seeds) : states
          const gates = input === undefined ? below : Layers.linear(below, input.kernel as tf.Tensor2D, input.bias as tf.Tensor1D)
          states = LstmLayer.lstmLayer(gates, kernel as tf.Tensor2D, masking)
        })
        const last = tf.slice(states, [(t - 1) * b, 0], [b, h])
        return output.apply(Layers.dropout(last, spec.dropout, training, seeds), training)
      })
  }
}

// ---------------------------------------------------------------------------------------------
// transformer

const positionCache = new Map<string, Float32Array>()

/** Sinusoidal position encodings (T, h) as in "Attention is all you need". */
const positions = (t: number, h: number): Float32Array => {
  const key = `${t}x${h}`
  const cached = positionCache.get(key)
  if (cached !== undefined) return cached
  const out = new Float32Array(t * h)
  for (let p = 0; p < t; p++) {
    for (let i = 0; i < h; i++) {
      const angle = p / Math.pow(10000, (2 * Math.floor(i / 2)) / h)
      out[p * h + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle)
    }
  }
  positionCache.set(key, out)
  return out
}

/** The weights of one encoder block (h = hidden). */
interface EncoderBlock {
  /** (h, 3h): the queries, keys and values of every head. */
  readonly qkv: Layers.Dense
  /** (h, h): W_o, the heads' outputs back to h. */
  readonly attnOut: Layers.Dense
  readonly norm1: Layers.LayerNorm
  /** (h, 2h) and (2h, h): the feed-forward network. */
  readonly ff1: Layers.Dense
  readonly ff2: Layers.Dense
  readonly norm2: Layers.LayerNorm
}

const transformerBody = (spec: ResolvedExpertSpec, outDim: number, seeds: Module.SeedSource): EncoderBody => {
  const h = spec.hidden
  const heads = spec.heads
  const dk = h / heads
  const blocks: Array<EncoderBlock> = []
  for (let l = 0; l < spec.layers; l++) {
    blocks.push({
      qkv: Layers.dense(h, 3 * h, seeds),
      attnOut: Layers.dense(h, h, seeds),
      norm1: Layers.layerNorm(h),
      ff1: Layers.dense(h, 2 * h, seeds),
      ff2: Layers.dense(2 * h, h, seeds),
      norm2: Layers.layerNorm(h)
    })
  }
  const output = Layers.dense(h, outDim, seeds)
  const children: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  blocks.forEach((block, l) => {
    const parts: Record<keyof EncoderBlock, Module.Module<never, unknown>> = block
    for (const [name, part] of Object.entries(parts)) children[`block${l}/${name}`] = part.variables
  })
  children.output = output.variables
  const scale = 1 / Math.sqrt(dk)

  /**
   * One post-norm encoder block on the (B·T, h) rows x, as PyTorch's encoder layer:
   * `y = LN1(x + Dropout(MHA(x)))`, `x' = LN2(y + Dropout(FF(y)))` with
   * `MHA(x) = concat_i softmax(q_i k_i^T / sqrt(d_k) + keyBias) v_i · W_o` and `FF(y) = act(y W_1) W_2`.
   * `keyBias` (B, 1, 1, T) is 0 on valid keys, -1e9 on padding.
   */
  const applyBlock = (block: EncoderBlock, x: tf.Tensor2D, keyBias: tf.Tensor, b: number, t: number, training: boolean) =>
    tf.tidy(() => {
      // (B·T, 3h) -> (B, T, 3·heads, d_k) -> (B, 3·heads, T, d_k): q, k and v of every head
      const qkv = tf.transpose(tf.reshape(block.qkv.apply(x, training), [b, t, 3 * heads, dk]), [0, 2, 1, 3])
      const [q, k, v] = tf.split(qkv, 3, 1) // each (B, heads, T, d_k)
      const scores = tf.add(tf.mul(BatchMatMul.batchMatMul(q, k, true), scale), keyBias) // (B, heads, T, T)
      const attended = BatchMatMul.batchMatMul(tf.softmax(scores), v) // (B, heads, T, d_k)
      const merged = tf.reshape(tf.transpose(attended, [0, 2, 1, 3]), [b * t, h]) as tf.Tensor2D // (B·T, h)
      const a = Layers.dropout(block.attnOut.apply(merged, training), spec.dropout, training, seeds) // (B·T, h)
      const y = block.norm1.apply(tf.add(x, a), training) as tf.Tensor2D // (B·T, h)
      const hidden = Layers.activate(block.ff1.apply(y, training), spec.activation) // (B·T, 2h)
      const f = Layers.dropout(block.ff2.apply(hidden, training), spec.dropout, training, seeds) // (B·T, h)
      return block.norm2.apply(tf.add(y, f), training) as tf.Tensor2D // (B·T, h)
    })

  return {
    inputWidth: h,
    inputBias: zeros(h),
    variables: Module.prefixed(children),
    apply: (projected, stepMask, training) =>
      tf.tidy(() => {
        const [b, t] = projected.shape
        const withPositions = tf.add(projected, tf.tensor3d(positions(t, h), [1, t, h])) // (B, T, h)
        let x = Layers.dropout(tf.reshape(withPositions, [b * t, h]) as tf.Tensor2D, spec.dropout, training, seeds) // (B·T, h)
        const keyBias = tf.reshape(tf.mul(tf.sub(1, stepMask), -1e9), [b, 1, 1, t]) // (B, 1, 1, T)
        for (const block of blocks) x = applyBlock(block, x, keyBias, b, t, training) // (B·T, h)
        return output.apply(Layers.maskedMean(tf.reshape(x, [b, t, h]), stepMask), training) // (B, outDim)
      })
  }
}

// ---------------------------------------------------------------------------------------------
// tcn

const tcnBody = (spec: ResolvedExpertSpec, outDim: number, seeds: Module.SeedSource): EncoderBody => {
  const h = spec.hidden
  const k = spec.kernel
  const convs: Array<Layers.Dense> = []
  for (let l = 0; l < spec.layers; l++) convs.push(Layers.dense(k * h, h, seeds, { activation: "relu" }))
  const output = Layers.dense(h, outDim, seeds)
  const children: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  convs.forEach((conv, l) => (children[`conv${l}`] = conv.variables))
  children.output = output.variables

  /**
   * Causal dilated convolution as one dense layer over unfolded windows: the window of step t is
   * [x_{t-(k-1)·dil}, ..., x_{t-dil}, x_t] (zeros before the start), laid out as (B, T, k·h).
   */
  const unfold = (x: tf.Tensor3D, dilation: number): tf.Tensor3D => {
    if (k === 1) return x
    const [b, t] = x.shape
    const reach = (k - 1) * dilation
    const padded = tf.pad(x, [[0, 0], [reach, 0], [0, 0]])
    const windows: Array<tf.Tensor3D> = []
    for (let j = 0; j < k; j++) windows.push(tf.slice(padded, [0, j * dilation, 0], [b, t, h]))
    return tf.concat(windows, 2)
  }

  return {
    inputWidth: h,
    inputBias: zeros(h),
    variables: Module.prefixed(children),
    apply: (projected, stepMask, training) =>
      tf.tidy(() => {
        const [b, t] = projected.shape
        const mask3 = tf.expandDims(stepMask, 2)
        let x = projected
        convs.forEach((conv, l) => {
          const windows = unfold(tf.mul(x, mask3) as tf.Tensor3D, 2 ** l)
          const y = conv.apply(tf.reshape(windows, [b * t, k * h]), training)
          x = tf.add(x, tf.reshape(Layers.dropout(y, spec.dropout, training, seeds), [b, t, h]))
        })
        return output.apply(Layers.maskedMean(x, stepMask), training)
      })
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * Build the body of an encoder (everything after its first linear map) from a resolved spec, for
 * inputs of width `inputDim` (the LSTM picks its first map's width from it). Shared by
 * {@link makeExpert} and the unified expert.
 */
export const makeBody = (spec: ResolvedExpertSpec, outDim: number, seeds: Module.SeedSource, inputDim: number): EncoderBody => {
  switch (spec.kind) {
    case "meanpool":
      return meanPoolBody(spec, outDim, seeds)
    case "lstm":
      return lstmBody(spec, outDim, seeds, inputDim)
    case "transformer":
      return transformerBody(spec, outDim, seeds)
    case "tcn":
      return tcnBody(spec, outDim, seeds)
  }
}

/**
 * A modality-specific expert `(B, T, inputDim) -> (B, outDim)`. Variables: "input/kernel",
 * "input/bias" (the first linear map) and the body's. Throws {@link ExpertError} on a bad spec.
 * Dropout seeds come from `seeds`, which the module keeps and advances on each training call.
 */
export const makeExpert = (
  spec: ExpertSpec,
  inputDim: number,
  outDim: number,
  seeds: Module.SeedSource
): Module.Module<Module.SequenceInput, tf.Tensor2D> => {
  const resolved = resolveSpecOrThrow(spec)
  checkDim("inputDim", inputDim)
  checkDim("outDim", outDim)
  const body = makeBody(resolved, outDim, seeds, inputDim)
  const kernel = Layers.glorotVariable([inputDim, body.inputWidth], seeds)
  const bias = tf.tidy(() => tf.variable(tf.tensor1d(body.inputBias), true))
  return {
    variables: Module.prefixed({ input: new Map([["kernel", kernel], ["bias", bias]]), body: body.variables }),
    apply: (input, training) =>
      tf.tidy(() => {
        const { stepMask } = input
        const [b, t] = stepMask.shape
        // padded steps never reach the output: project only the valid ones (the others get the bias)
        const rows = Layers.projectInput(input, stepMask, kernel as tf.Tensor2D, bias as tf.Tensor1D)
        return body.apply(tf.reshape(rows, [b, t, body.inputWidth]), stepMask, training)
      })
  }
}
