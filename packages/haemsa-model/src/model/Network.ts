/**
 * The networks: HAEMSA (modality experts, unified expert, hierarchical fusion, task attention, towers,
 * unimodal heads for the auxiliary tasks and the cross-modal KL, optional learned modality gates) and
 * the two baselines built from the same parts (early fusion: one encoder over the joint input; late
 * fusion: unimodal models averaged).
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
  /** The error of the part that could not be built, if any. */
  cause: Schema.optional(Schema.Union([ExpertErrors.ExpertError, FusionErrors.FusionError]))
}) {
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
}

const MODALITY_INDEX: Record<Dataset.Modality, number> = { text: 0, audio: 1, vision: 2 }

/** (B, 3) -> (B, k) columns of the used modalities (the mask itself when all three are used). */
const maskColumns = (mask: tf.Tensor2D, modalities: ReadonlyArray<Dataset.Modality>): tf.Tensor2D =>
  modalities.length === D.MODALITIES.length
    ? mask
    : tf.tidy(() => tf.gather(mask, modalities.map((m) => MODALITY_INDEX[m]), 1) as tf.Tensor2D)

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
  return {
    dim,
    variables: new Map(table ? [["table", table]] : []) as ReadonlyMap<string, tf.Variable>,
    /** (B, T, dim) */
    apply: (batch: BatchTensors): tf.Tensor3D =>
      tf.tidy(() => {
        const feats = batch.x.text
        if (!table || !batch.tokens) return feats!
        const [b, t] = batch.tokens.shape
        const oneHot = tf.oneHot(tf.reshape(batch.tokens, [b * t]) as tf.Tensor1D, vocab) as tf.Tensor2D
        const emb = tf.reshape(Layers.project(tf.cast(oneHot, "float32"), table as tf.Tensor2D), [b, t, spec.embedding]) as tf.Tensor3D
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

const buildSync = (
  spec: ArchitectureSpec,
  info: DataInfo,
  seed: number,
  modalities: ReadonlyArray<Dataset.Modality>,
  experts: Experts,
  fusion: Fusion
): Network => {
  const seeds = Module.seedSource(seed)
  const d = spec.hidden
  const emotions = info.task === "emotions" ? info.emotions ?? [] : []
  const kdClasses = info.task === "emotions" ? 2 * emotions.length : SENTIMENT_CLASSES
  const tasks = info.task === "emotions" ? [...emotions] : ["regression", "classification"]
  const taskOut = (task: string) => (info.task === "emotions" ? 2 : task === "regression" ? 1 : SENTIMENT_CLASSES)
  const text = modalities.includes("text") ? makeTextInput(info, spec, seeds) : undefined
  const dims = inputDims(info, spec, modalities, text?.dim ?? 0)
  const towerOptions = (outDim: number) => ({ depth: spec.tower.depth, width: spec.tower.width, outDim, dropout: spec.dropout, activation: "relu" as const })
  const vars: Record<string, ReadonlyMap<string, tf.Variable>> = {}
  if (text && text.variables.size > 0) vars["embedding"] = text.variables

  const inputsOf = (batch: BatchTensors) => {
    const out: Record<string, Module.SequenceInput> = {}
    for (const m of modalities) out[m] = { x: m === "text" ? text!.apply(batch) : batch.x[m]!, stepMask: batch.stepMask[m]! }
    return out
  }

  // Sentiment tasks read (B,1) and (B,7); emotion tasks (B,2) each: assemble the task outputs.
  const taskOutputs = (heads: Record<string, tf.Tensor2D>): Pick<Outputs, "regression" | "classLogits" | "emotionLogits"> =>
    info.task === "emotions"
      ? { emotionLogits: tf.stack(emotions.map((e) => heads[e]), 1) as tf.Tensor3D }
      : { regression: tf.reshape(heads["regression"], [-1]) as tf.Tensor1D, classLogits: heads["classification"] }

  const kdHead = (name: string) => {
    // unimodal head: [regression | C KD logits] in one dense layer (sentiment), or C logits (emotions)
    const out = info.task === "emotions" ? kdClasses : 1 + kdClasses
    const head = Layers.dense(d, out, seeds)
    vars[name] = head.variables
    return (h: tf.Tensor2D) => {
      const y = head.apply(h, false)
      return info.task === "emotions"
        ? { logits: y }
        : { regression: tf.reshape(tf.slice(y, [0, 0], [-1, 1]), [-1]) as tf.Tensor1D, logits: tf.slice(y, [0, 1], [-1, kdClasses]) as tf.Tensor2D }
    }
  }

  if (spec.model === "early-fusion") {
    const encoder = experts.makeUnified(spec.experts.unified, dims, d, seeds)
    const towers = Object.fromEntries(tasks.map((k) => [k, fusion.tower(towerOptions(taskOut(k)), d, seeds)]))
    vars["unified"] = encoder.variables
    for (const k of tasks) vars[`tower/${k}`] = towers[k].variables
    return network(spec, info, modalities, tasks, [], kdClasses, vars, (batch, training) => {
      const h = encoder.apply({ inputs: inputsOf(batch), modalityMask: maskColumns(batch.modalityMask, modalities), order: modalities }, training)
      return { ...taskOutputs(Object.fromEntries(tasks.map((k) => [k, towers[k].apply(h, training)]))), unimodal: {} }
    })
  }

  if (spec.model === "late-fusion") {
    const encoders = Object.fromEntries(modalities.map((m) => [m, experts.make(spec.experts[m], dims[m], d, seeds)]))
    const towers = Object.fromEntries(
      modalities.flatMap((m) => tasks.map((k) => [`${m}/${k}`, fusion.tower(towerOptions(taskOut(k)), d, seeds)]))
    )
    for (const m of modalities) vars[m] = encoders[m].variables
    for (const [k, t] of Object.entries(towers)) vars[`tower/${k}`] = t.variables
    return network(spec, info, modalities, tasks, [], kdClasses, vars, (batch, training) => {
      const inputs = inputsOf(batch)
      const mask = maskColumns(batch.modalityMask, modalities) // (B, M)
      const count = tf.maximum(tf.sum(mask, 1, true), 1) // (B, 1)
      const heads: Record<string, tf.Tensor2D> = {}
      const hs = modalities.map((m) => encoders[m].apply(inputs[m], training))
      for (const k of tasks) {
        // masked average over the present modalities of each unimodal model's output
        const outs = modalities.map((m, j) => tf.mul(towers[`${m}/${k}`].apply(hs[j], training), tf.slice(mask, [0, j], [-1, 1])))
        heads[k] = tf.div(tf.addN(outs), count) as tf.Tensor2D
      }
      return { ...taskOutputs(heads), unimodal: {} }
    })
  }

  // HAEMSA
  const local = Object.fromEntries(modalities.map((m) => [m, experts.make(spec.experts[m], dims[m], d, seeds)]))
  const unified = experts.makeUnified(spec.experts.unified, dims, d, seeds)
  const gates = makeModalityGates(spec, modalities)
  const hierarchy = fusion.hierarchy({ depth: spec.fusion.depth, width: d, pool: spec.fusion.pool, sharedMode: spec.fusion.sharedMode, dropout: spec.dropout }, seeds)
  const expertNames = [...modalities, "unified", ...Array.from({ length: spec.fusion.depth }, (_, i) => `level${i + 1}`)]
  const attention = fusion.attention({ tasks, dim: d, enabled: spec.attention }, seeds)
  const towers = Object.fromEntries(tasks.map((k) => [k, fusion.tower(towerOptions(taskOut(k)), d, seeds)]))
  for (const m of modalities) vars[`expert/${m}`] = local[m].variables
  vars["unified"] = unified.variables
  if (gates) vars["gate"] = gates.variables
  vars["hierarchy"] = hierarchy.variables
  vars["attention"] = attention.variables
  for (const k of tasks) vars[`tower/${k}`] = towers[k].variables
  const uniHeads = Object.fromEntries(modalities.map((m) => [m, kdHead(`head/${m}`)]))
  const teacherHead = Layers.dense(d, kdClasses, seeds)
  vars["head/unified"] = teacherHead.variables

  return network(spec, info, modalities, tasks, expertNames, kdClasses, vars, (batch, training) => {
    const inputs = inputsOf(batch)
    const mask = maskColumns(batch.modalityMask, modalities) // (B, M)
    const hs = modalities.map((m) => local[m].apply(inputs[m], training))
    // (1, M) modality gates: they scale the unified expert's projections and weight the local experts
    // in the pool and in the attention (the unified expert and the levels have gate 1)
    const g = gates?.values()
    const gated = g ? { gates: g } : {}
    const shared = unified.apply({ inputs, modalityMask: mask, order: modalities, ...gated }, training)
    const levels = hierarchy.apply({ local: hs, localMask: mask, shared, ...(g ? { localGates: g } : {}) }, training)
    const ones = tf.ones([batch.size, 1 + spec.fusion.depth])
    const attentionGates = g ? { gates: tf.concat([g, tf.ones([1, 1 + spec.fusion.depth])], 1) as tf.Tensor2D } : {}
    const { z, weights } = attention.apply({ experts: [...hs, shared, ...levels.local], mask: tf.concat([mask, ones], 1) as tf.Tensor2D, ...attentionGates }, training)
    const heads = Object.fromEntries(tasks.map((k) => [k, towers[k].apply(z[k], training)]))
    return {
      ...taskOutputs(heads),
      unimodal: Object.fromEntries(modalities.map((m, j) => [m, uniHeads[m](hs[j])])),
      teacherLogits: teacherHead.apply(shared, false),
      attention: weights
    }
  })
}

const network = (
  spec: ArchitectureSpec,
  info: DataInfo,
  modalities: ReadonlyArray<Dataset.Modality>,
  tasks: ReadonlyArray<string>,
  experts: ReadonlyArray<string>,
  kdClasses: number,
  vars: Record<string, ReadonlyMap<string, tf.Variable>>,
  forward: (batch: BatchTensors, training: boolean) => Outputs
): Network => ({
  spec,
  info,
  modalities,
  tasks,
  experts,
  kdClasses,
  variables: Module.prefixed(vars),
  apply: (batch, training) => tf.tidy(() => forward(batch, training) as unknown as tf.TensorContainer) as unknown as Outputs
})

/** Free the network's weights. */
export const dispose = (net: Network): void => {
  for (const v of net.variables.values()) v.dispose()
}
