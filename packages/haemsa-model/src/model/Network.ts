/**
 * The networks: HAEMSA (modality experts, unified expert, hierarchical fusion, task attention, towers,
 * unimodal heads for the auxiliary tasks and the cross-modal KL, optional learned modality gates) and
 * the two baselines built from the same parts (early fusion: one encoder over the joint input; late
 * fusion: unimodal models averaged), one builder per family (`haemsa`, `earlyFusion`, `lateFusion`
 * below), each reading as its equations with the shapes in comments (B batch, T_m steps, d_m features
 * of modality m, M used modalities, d_h the spec's `hidden`, K tasks, J experts, C KD classes).
 * A network is a `Module<BatchTensors, Outputs>`; the parts come from the ExpertFactory and
 * FusionFactory services, so a user swaps any of them with a layer.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D } from "@haemsa/datasets"
import { Errors as ExpertErrors, ExpertFactory } from "@haemsa/experts"
import { Errors as FusionErrors, FusionFactory } from "@haemsa/hierarchical-fusion"
import { Layers, Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Effect, Schema } from "effect"
import type { ArchitectureSpec } from "./ArchitectureSpec"
import { GATE_SCALE as DEFAULT_GATE_SCALE } from "./ArchitectureSpec"
import type { BatchTensors } from "./BatchTensors"
import type { DataInfo } from "./DataInfo"
import { availableModalities } from "./DataInfo"

/** The number of sentiment classes of the classification task (Acc-7). */
export const SENTIMENT_CLASSES = 7

/**
 * A spec does not fit the data (e.g. it asks for a modality the dataset does not have), or a part
 * could not be built from it: then `cause` is the part's own error (an expert's or a fusion
 * module's, naming the field and the value), and `reason` its message.
 */
export class ModelError extends Schema.TaggedError<ModelError>()("ModelError", {
  reason: Schema.String,
  /** The error of the part that could not be built, if any (typed below). */
  cause: Schema.optional(Schema.Defect())
}) {
  /**
   * The error of the part that could not be built, if any. The schema field is a `Defect` because
   * the inferred type of a union of error classes names an internal symbol of Effect that the
   * published declarations (.d.ts) cannot refer to.
   */
  declare readonly cause?: ExpertErrors.ExpertError | FusionErrors.FusionError

  override get message(): string {
    return this.reason
  }
}

/** Everything a forward pass returns. */
export interface Outputs {
  /** (B) sentiment prediction (sentiment task). */
  readonly regression?: tf.Tensor1D
  /** (B, 7) sentiment class logits (sentiment task). */
  readonly classLogits?: tf.Tensor2D
  /** (B, E, 2) emotion logits (emotions task). */
  readonly emotionLogits?: tf.Tensor3D
  /** Per used modality: the auxiliary head's regression (sentiment) and KD logits (B, C). */
  readonly unimodal: Partial<Record<Dataset.Modality, { readonly regression?: tf.Tensor1D; readonly logits: tf.Tensor2D }>>
  /** (B, C) the unified expert's KD logits (the teacher), HAEMSA only. */
  readonly teacherLogits?: tf.Tensor2D
  /** (B, K, J) task attention weights over the experts, HAEMSA only. */
  readonly attention?: tf.Tensor3D
}

/** A built network with the names of its tasks and experts (for reading attention weights). */
export interface Network extends Module.Module<BatchTensors, Outputs> {
  readonly spec: ArchitectureSpec
  readonly info: DataInfo
  /** The modalities the network reads (spec ∩ data). */
  readonly modalities: ReadonlyArray<Dataset.Modality>
  /** Task names, the K axis of `attention`. */
  readonly tasks: ReadonlyArray<string>
  /** Expert names, the J axis of `attention`. */
  readonly experts: ReadonlyArray<string>
  /** KD classes C: 7 for sentiment, 2 x emotions for emotions. */
  readonly kdClasses: number
  /** The seed source its modules draw dropout masks from (a training's state keeps its position). */
  readonly seeds: Module.ResumableSeedSource
  /** The (1, M) learned modality gates g_m in the order of `modalities` (HAEMSA with gates only). */
  readonly gates?: () => tf.Tensor2D
}

/** (B, 3) -> (B, M) columns of the used modalities (the mask itself when all three are used). */
const maskColumns = (mask: tf.Tensor2D, modalities: ReadonlyArray<Dataset.Modality>): tf.Tensor2D =>
  modalities.length === D.MODALITIES.length
    ? mask
    : tf.tidy(() => tf.gather(mask, modalities.map((m) => D.MODALITY_INDEX[m]), 1) as tf.Tensor2D)

/**
 * The text input: a token embedding (one-hot x table: trains on wasm; `project` gives the table its
 * gradient without a transposed-operand matMul) next to any dense text features.
 */
const makeTextInput = (info: DataInfo, spec: ArchitectureSpec, seeds: Module.SeedSource) => {
  if (info.tokens && info.features.text && info.tokens.steps !== info.features.text.steps) {
    throw new ModelError({
      reason: `text tokens have ${info.tokens.steps} steps but the dense text features ${info.features.text.steps}: they are joined step by step and must match`
    })
  }
  const vocab = info.tokens?.vocabulary.length ?? 0
  const table = info.tokens ? Layers.glorotVariable([vocab, spec.embedding], seeds) : undefined
  const featureDim = info.features.text?.dim ?? 0
  const dim = (table ? spec.embedding : 0) + featureDim
  /** Whether the text of `batch` goes through the token embedding (then it is not plain data). */
  const embeds = (batch: BatchTensors): boolean => table !== undefined && batch.tokens !== undefined
  return {
    dim,
    variables: new Map(table ? [["table", table]] : []) as ReadonlyMap<string, tf.Variable>,
    embeds,
    /** (B, T, dim) */
    apply: (batch: BatchTensors): tf.Tensor3D =>
      tf.tidy(() => {
        const feats = batch.x.text
        if (!embeds(batch)) return feats!
        const [b, t] = batch.tokens!.shape
        const oneHot = tf.oneHot(tf.reshape(batch.tokens!, [b * t]) as tf.Tensor1D, vocab) as tf.Tensor2D
        // the one-hot rows are data: the table's gradient only
        const emb = tf.reshape(Layers.project(tf.cast(oneHot, "float32"), table as tf.Tensor2D, undefined, undefined, true), [b, t, spec.embedding]) as tf.Tensor3D
        return feats ? (tf.concat([emb, feats], 2) as tf.Tensor3D) : emb
      })
  }
}

/** The default multiplier of a modality gate's logit (see `ArchitectureSpec.ModalityGates`). */
export const GATE_SCALE: number = DEFAULT_GATE_SCALE

/**
 * The learned modality gates of a spec (see `ArchitectureSpec.ModalityGates`): a variable per used
 * modality other than the anchor, and `values()` the (1, M) gates in the order of `modalities` (the
 * anchor's column is 1). Undefined when the spec has no gates or its anchor is not used.
 */
export const makeModalityGates = (
  spec: ArchitectureSpec,
  modalities: ReadonlyArray<Dataset.Modality>
): { readonly variables: ReadonlyMap<string, tf.Variable>; readonly values: () => tf.Tensor2D } | undefined => {
  const gates = spec.modalityGates
  if (gates === undefined || !modalities.includes(gates.anchor) || modalities.length < 2) return undefined
  const scale = gates.scale ?? GATE_SCALE
  const logit = Math.log(gates.init / (1 - gates.init)) / scale
  const variables = new Map(modalities.filter((m) => m !== gates.anchor).map((m) => [m, tf.variable(tf.scalar(logit), true)] as const))
  return {
    variables,
    values: () =>
      tf.tidy(() =>
        tf.reshape(tf.stack(modalities.map((m) => (m === gates.anchor ? tf.scalar(1) : tf.sigmoid(tf.mul(variables.get(m)!, scale))))), [1, -1]) as tf.Tensor2D
      )
  }
}

const inputDims = (info: DataInfo, spec: ArchitectureSpec, modalities: ReadonlyArray<Dataset.Modality>, textDim: number) =>
  Object.fromEntries(modalities.map((m) => [m, m === "text" ? textDim : info.features[m]!.dim])) as Record<string, number>

/** Build a network for `spec` on data described by `info`. Same seed, same initial weights. */
export const build = (
  spec: ArchitectureSpec,
  info: DataInfo,
  seed: number
): Effect.Effect<Network, ModelError, ExpertFactory.ExpertFactory | FusionFactory.FusionFactory> =>
  Effect.gen(function*() {
    const experts = yield* ExpertFactory.ExpertFactory
    const fusion = yield* FusionFactory.FusionFactory
    const available = availableModalities(info)
    const modalities = D.MODALITIES.filter((m) => spec.modalities.includes(m) && available.includes(m))
    if (modalities.length === 0) {
      return yield* new ModelError({
        reason: `the spec uses modalities [${spec.modalities.join(", ")}] but the data has [${available.join(", ")}]`
      })
    }
    // a spec a part refuses is a ModelError with the part's error as its cause; anything else is a bug (a defect)
    return yield* Effect.try({
      try: () => buildSync(spec, info, seed, modalities, experts, fusion),
      catch: (e) => e
    }).pipe(Effect.catch((e) => {
      if (e instanceof ModelError) return Effect.fail(e)
      if (e instanceof ExpertErrors.ExpertError || e instanceof FusionErrors.FusionError) {
        return Effect.fail(new ModelError({ reason: e.message, cause: e }))
      }
      return Effect.die(e)
    }))
  })

type Experts = typeof ExpertFactory.ExpertFactory.Service
type Fusion = typeof FusionFactory.FusionFactory.Service

/**
 * What every family's builder starts from: the spec, the data, the parts, the seeds (modules are
 * built, and their dropout seeds drawn, in a fixed order: same seed, same network) and the pieces
 * the families share. `add` names a module's variables in the network (in the order of the calls).
 */
interface Builder {
  readonly spec: ArchitectureSpec
  readonly info: DataInfo
  /** The modalities the network reads, M of them, in text-audio-vision order. */
  readonly modalities: ReadonlyArray<Dataset.Modality>
  readonly experts: Experts
  readonly fusion: Fusion
  readonly seeds: Module.ResumableSeedSource
  /** d_h: the size of every expert output, fusion level and task input. */
  readonly d: number
  /** The tasks k: regression and classification (sentiment), or one per emotion. */
  readonly tasks: ReadonlyArray<string>
  /** KD classes C: 7 for sentiment, 2 x emotions for emotions. */
  readonly kdClasses: number
  /** Feature size of each used modality's input (text: embedding and dense features joined). */
  readonly dims: Readonly<Record<string, number>>
  /** Register a module's variables under `name`; returns the module. */
  readonly add: <M extends { readonly variables: ReadonlyMap<string, tf.Variable> }>(name: string, module: M) => M
  /** A tower for task k: (B, d_h) -> (B, 1) regression, (B, 7) classes or (B, 2) an emotion. */
  readonly tower: (task: string) => Module.Module<tf.Tensor2D, tf.Tensor2D>
  /** The inputs x_m (B, T_m, d_m) with their step masks (B, T_m), by modality, and a wide modality's valid rows packed once (`Layers.packRows`; transposed too when training). */
  readonly inputsOf: (batch: BatchTensors, training: boolean) => Record<string, Module.SequenceInput>
  /** The task outputs from each task's head: (B) regression and (B, 7) class logits, or (B, E, 2) emotion logits. */
  readonly taskOutputs: (heads: Readonly<Record<string, tf.Tensor2D>>) => Pick<Outputs, "regression" | "classLogits" | "emotionLogits">
  /** The network: the variables added so far, and its forward pass. */
  readonly network: (
    experts: ReadonlyArray<string>,
    forward: (batch: BatchTensors, training: boolean) => Outputs,
    gates?: () => tf.Tensor2D
  ) => Network
}

const buildSync = (
  spec: ArchitectureSpec,
  info: DataInfo,
  seed: number,
  modalities: ReadonlyArray<Dataset.Modality>,
  experts: Experts,
  fusion: Fusion
): Network => {
  const builder = makeBuilder(spec, info, seed, modalities, experts, fusion)
  switch (spec.model) {
    case "haemsa":
      return haemsa(builder)
    case "early-fusion":
      return earlyFusion(builder)
    case "late-fusion":
      return lateFusion(builder)
  }
}

const makeBuilder = (
  spec: ArchitectureSpec,
  info: DataInfo,
  seed: number,
  modalities: ReadonlyArray<Dataset.Modality>,
  experts: Experts,
  fusion: Fusion
): Builder => {
  const seeds = Module.seedSource(seed)
  const emotions = info.task === "emotions" ? info.emotions ?? [] : []
  const kdClasses = info.task === "emotions" ? 2 * emotions.length : SENTIMENT_CLASSES
  const tasks = info.task === "emotions" ? [...emotions] : ["regression", "classification"]
  const taskOut = (task: string) => (info.task === "emotions" ? 2 : task === "regression" ? 1 : SENTIMENT_CLASSES)
  const vars: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  const add = <M extends { readonly variables: ReadonlyMap<string, tf.Variable> }>(name: string, module: M): M => {
    if (module.variables.size > 0) vars[name] = module.variables
    return module
  }
  const text = modalities.includes("text") ? add("embedding", makeTextInput(info, spec, seeds)) : undefined
  return {
    spec,
    info,
    modalities,
    experts,
    fusion,
    seeds,
    d: spec.hidden,
    tasks,
    kdClasses,
    dims: inputDims(info, spec, modalities, text?.dim ?? 0),
    add,
    tower: (task) =>
      fusion.tower({ depth: spec.tower.depth, width: spec.tower.width, outDim: taskOut(task), dropout: spec.dropout, activation: "relu" }, spec.hidden, seeds),
    inputsOf: (batch, training) =>
      Object.fromEntries(modalities.map((m) => {
        const stepMask = batch.stepMask[m]! // (B, T)
        const fromData = batch.packed?.[m]
        if (fromData !== undefined) {
          // the valid steps' rows, gathered from the data with the batch; x is made only if an expert reads it
          const input: Module.SequenceInput = { get x() { return batch.x[m]! }, stepMask, packed: Layers.packed(fromData.selection, fromData.rows, training), data: true }
          return [m, input]
        }
        const embedded = m === "text" && text!.embeds(batch)
        const x = m === "text" ? text!.apply(batch) : batch.x[m]! // (B, T, d)
        const [n, t, dim] = x.shape
        // a wide modality's valid steps, gathered once for its expert and the unified expert
        const packed = Layers.packRows(tf.reshape(x, [n * t, dim]), tf.reshape(stepMask, [n * t]), training)
        // the batch's own features are data; the token embedding is not (its table gets gradients)
        return [m, { x, stepMask, ...(packed === undefined ? {} : { packed }), data: !embedded }]
      })),
    taskOutputs: (heads) =>
      info.task === "emotions"
        ? { emotionLogits: tf.stack(emotions.map((e) => heads[e]), 1) as tf.Tensor3D }
        : { regression: tf.reshape(heads["regression"], [-1]) as tf.Tensor1D, classLogits: heads["classification"] },
    network: (expertNames, forward, gates) => network(spec, info, modalities, tasks, expertNames, kdClasses, seeds, vars, forward, gates)
  }
}

/** `f(k)` for every task k, by task. */
const perTask = <A>(tasks: ReadonlyArray<string>, f: (task: string) => A): Record<string, A> =>
  Object.fromEntries(tasks.map((k) => [k, f(k)]))

/**
 * HAEMSA (spec part 1): modality experts `h_m = f_m(x_m)`, the unified expert
 * `h_s = f_s([x_t; x_a; x_v])`, the hierarchy `h_l^(1..n)`, task attention over
 * `E = {h_t, h_a, h_v, h_s, h_l^(1..n)}`, a tower per task; the auxiliary heads on each `h_m` (the
 * unimodal tasks and the students p_m) and the teacher head p_s on `h_s`. With learned modality
 * gates, a gate g_m scales modality m's projection in the unified expert and weighs `h_m` in the
 * pool and the attention.
 */
const haemsa = (b: Builder): Network => {
  const { d, modalities, spec, tasks, seeds } = b
  const local = Object.fromEntries(
    modalities.map((m) => [m, b.add(`expert/${m}`, b.experts.make({ modality: m, spec: spec.experts[m], inputDim: b.dims[m], outDim: d, seeds }))])
  )
  const unified = b.add("unified", b.experts.makeUnified({ spec: spec.experts.unified, inputDims: b.dims, outDim: d, seeds }))
  const gates = makeModalityGates(spec, modalities)
  if (gates) b.add("gate", gates)
  const { depth, pool, sharedMode } = spec.fusion
  const hierarchy = b.add("hierarchy", b.fusion.hierarchy({ depth, width: d, pool, sharedMode, dropout: spec.dropout }, seeds))
  const attention = b.add("attention", b.fusion.attention({ tasks, dim: d, enabled: spec.attention }, seeds))
  const towers = perTask(tasks, (k) => b.add(`tower/${k}`, b.tower(k)))
  const heads = Object.fromEntries(modalities.map((m) => [m, b.add(`head/${m}`, unimodalHead(b))]))
  const teacher = b.add("head/unified", Layers.dense(d, b.kdClasses, seeds))
  const expertNames = [...modalities, "unified", ...Array.from({ length: depth }, (_, i) => `level${i + 1}`)]

  return b.network(expertNames, (batch, training) => {
    const x = b.inputsOf(batch, training) // x_m: (B, T_m, d_m)
    const mask = maskColumns(batch.modalityMask, modalities) // (B, M)
    const h = modalities.map((m) => local[m].apply(x[m], training)) // h_m = f_m(x_m): M x (B, d_h)
    const g = gates?.values() // (1, M) modality gates g_m, or none
    const hs = unified.apply({ inputs: x, modalityMask: mask, order: modalities, ...(g ? { gates: g } : {}) }, training) // h_s: (B, d_h)
    const levels = hierarchy.apply({ local: h, localMask: mask, shared: hs, ...(g ? { localGates: g } : {}) }, training) // h_l^(1..n): n x (B, d_h)
    const E = [...h, hs, ...levels.local] // J = M + 1 + n experts, each (B, d_h)
    const present = tf.concat([mask, tf.ones([batch.size, 1 + depth])], 1) as tf.Tensor2D // (B, J): h_s and the levels are always there
    const prior = g ? { gates: tf.concat([g, tf.ones([1, 1 + depth])], 1) as tf.Tensor2D } : {} // (1, J): g_m, 1 for h_s and the levels
    const { weights, z } = attention.apply({ experts: E, mask: present, ...prior }, training) // z_k: (B, d_h); alpha: (B, K, J)
    const y = perTask(tasks, (k) => towers[k].apply(z[k], training)) // y_k = tower_k(z_k)
    return {
      ...b.taskOutputs(y),
      unimodal: Object.fromEntries(modalities.map((m, j) => [m, heads[m](h[j])])), // aux. prediction and logits of p_m
      teacherLogits: teacher.apply(hs, false), // (B, C): logits of p_s
      attention: weights
    }
  }, gates?.values)
}

/**
 * A modality's auxiliary head on h_m (B, d_h): on sentiment one dense layer to [regression | C KD
 * logits], (B) and (B, C); on emotions the C logits.
 */
const unimodalHead = (b: Builder) => {
  const emotions = b.info.task === "emotions"
  const head = Layers.dense(b.d, emotions ? b.kdClasses : 1 + b.kdClasses, b.seeds)
  const apply = (h: tf.Tensor2D): { readonly regression?: tf.Tensor1D; readonly logits: tf.Tensor2D } => {
    const y = head.apply(h, false)
    return emotions
      ? { logits: y }
      : { regression: tf.reshape(tf.slice(y, [0, 0], [-1, 1]), [-1]) as tf.Tensor1D, logits: tf.slice(y, [0, 1], [-1, b.kdClasses]) as tf.Tensor2D }
  }
  return Object.assign(apply, { variables: head.variables })
}

/** Early fusion: one encoder over the joint input, `h = f_s([x_t; x_a; x_v])`, and `y_k = tower_k(h)`. */
const earlyFusion = (b: Builder): Network => {
  const { d, modalities, spec, tasks, seeds } = b
  const encoder = b.add("unified", b.experts.makeUnified({ spec: spec.experts.unified, inputDims: b.dims, outDim: d, seeds }))
  const towers = perTask(tasks, (k) => b.add(`tower/${k}`, b.tower(k)))

  return b.network([], (batch, training) => {
    const mask = maskColumns(batch.modalityMask, modalities) // (B, M)
    const h = encoder.apply({ inputs: b.inputsOf(batch, training), modalityMask: mask, order: modalities }, training) // (B, d_h)
    return { ...b.taskOutputs(perTask(tasks, (k) => towers[k].apply(h, training))), unimodal: {} } // y_k = tower_k(h)
  })
}

/**
 * Late fusion: a unimodal model per modality, `y_k^m = tower_k^m(f_m(x_m))`, and for each task the
 * mean of `y_k^m` over the modalities the sample has.
 */
const lateFusion = (b: Builder): Network => {
  const { d, modalities, spec, tasks, seeds } = b
  const encoders = Object.fromEntries(
    modalities.map((m) => [m, b.add(m, b.experts.make({ modality: m, spec: spec.experts[m], inputDim: b.dims[m], outDim: d, seeds }))])
  )
  const towers = Object.fromEntries(modalities.map((m) => [m, perTask(tasks, (k) => b.add(`tower/${m}/${k}`, b.tower(k)))]))

  return b.network([], (batch, training) => {
    const x = b.inputsOf(batch, training) // x_m: (B, T_m, d_m)
    const mask = maskColumns(batch.modalityMask, modalities) // (B, M)
    const count = tf.maximum(tf.sum(mask, 1, true), 1) // (B, 1): modalities present
    const h = modalities.map((m) => encoders[m].apply(x[m], training)) // h_m = f_m(x_m): M x (B, d_h)
    const y = perTask(tasks, (k) => {
      const present = modalities.map((m, j) => tf.mul(towers[m][k].apply(h[j], training), tf.slice(mask, [0, j], [-1, 1]))) // M x (B, out_k)
      return tf.div(tf.addN(present), count) as tf.Tensor2D // y_k: (B, out_k)
    })
    return { ...b.taskOutputs(y), unimodal: {} }
  })
}

const network = (
  spec: ArchitectureSpec,
  info: DataInfo,
  modalities: ReadonlyArray<Dataset.Modality>,
  tasks: ReadonlyArray<string>,
  experts: ReadonlyArray<string>,
  kdClasses: number,
  seeds: Module.ResumableSeedSource,
  vars: Record<string, ReadonlyMap<string, tf.Variable>>,
  forward: (batch: BatchTensors, training: boolean) => Outputs,
  gates?: () => tf.Tensor2D
): Network => ({
  spec,
  info,
  modalities,
  tasks,
  experts,
  kdClasses,
  seeds,
  ...(gates !== undefined ? { gates } : {}),
  variables: Module.prefixed(vars),
  apply: (batch, training) => tf.tidy(() => forward(batch, training) as unknown as tf.TensorContainer) as unknown as Outputs
})

/** Free the network's weights. */
export const dispose = (net: Network): void => {
  for (const v of net.variables.values()) v.dispose()
}
