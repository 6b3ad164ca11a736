/**
 * The architecture spec: a plain, serialisable, Schema-validated object that fully describes a model
 * (the evolutionary search produces these; checkpoints store them).
 *
 * @since 0.1.0
 */
import { Expert } from "@haemsa/experts"
import { Schema, SchemaGetter } from "effect"

const between = (minimum: number, maximum: number) => Schema.isBetween({ minimum, maximum })
const PositiveInt = (max: number) => Schema.Int.check(between(1, max))
const Unit = Schema.Finite.check(between(0, 1))

/** A sequence encoder (modality-specific or unified expert): the schema of `@haemsa/experts`. */
export const ExpertSpec = Expert.ExpertSpec
/** A sequence encoder spec. */
export type ExpertSpec = Expert.ExpertSpec

/** The model families: HAEMSA and the two baselines built from the same parts. */
export const ModelKind = Schema.Literals(["haemsa", "early-fusion", "late-fusion"])
/** haemsa, early-fusion or late-fusion. */
export type ModelKind = typeof ModelKind.Type

/** A modality name. */
export const ModalityName = Schema.Literals(["text", "audio", "vision"])

/** The default multiplier of a modality gate's logit. */
export const GATE_SCALE = 10

/**
 * Learned modality gates *(design)*: one scalar gate per used modality other than the anchor,
 * `g_m = sigmoid(scale · a_m)` with `a_m` a trained variable (`gate/<modality>`) that starts at
 * `g_m = init`, while the anchor's gate is fixed at 1. A gate scales its modality's projection in the
 * unified expert and is a prior weight of its local expert in the pool of `h_l^(0)` and in the task
 * attention (`w_j ∝ g_j · exp(score_j)`), so a gate near 0 switches that modality out of the fusion
 * (the modality's own expert keeps its auxiliary head and KL term). A small `init` is a Flamingo-style
 * near-closed start: a modality enters the fusion only as far as training opens its gate. `scale`
 * multiplies the gate's logit (with Adam, a learning-rate multiplier for the gate). Without the anchor
 * among the used modalities the network has no gates.
 */
export const ModalityGates = Schema.Struct({
  /** The modality whose gate is fixed at 1 (text: the dominant modality of sentiment analysis). */
  anchor: ModalityName,
  /** The initial gate of every other modality, in (0, 1). */
  init: Schema.Finite.check(between(1e-4, 0.9999)),
  /** Multiplier of the gate logit (default {@link GATE_SCALE}). */
  scale: Schema.optional(Schema.Finite.check(between(0.1, 100)))
})
/** Modality gate settings. */
export type ModalityGates = typeof ModalityGates.Type

/** The weight of the teacher term in a spec written without one: `max(lambdas.classification, 0.1)`. */
export const legacyTeacherLambda = (classification: number): number => Math.max(classification, 0.1)

const LambdaFields = {
  /** lambda_reg: sentiment regression, L1 (sentiment data). */
  regression: Unit,
  /** lambda_cls: 7-class sentiment classification, cross-entropy (sentiment data). */
  classification: Unit,
  /** lambda_uni: each modality expert's auxiliary head (L1 on sentiment, cross-entropy on emotions). */
  unimodal: Unit
}

/**
 * The lambdas of the joint objective `L = sum_k lambda_k L_k + gamma sum_m KL(p_s || p_m)` (see
 * `Objective`): one per task term, and one for the teacher's own classification loss. `emotion` and
 * `teacher` came later: a spec written without them (older spec files and checkpoints) decodes with
 * the weights those terms had then, `emotion = regression` and `teacher = max(classification, 0.1)`.
 */
export const Lambdas = Schema.Struct({
  ...LambdaFields,
  emotion: Schema.optional(Unit),
  teacher: Schema.optional(Unit)
}).pipe(
  Schema.decodeTo(
    Schema.Struct({
      ...LambdaFields,
      /** lambda_emo: the per-emotion 2-class cross-entropies (emotion data). */
      emotion: Unit,
      /** lambda_teacher: cross-entropy of the unified expert's head p_s, which makes it a teacher (HAEMSA). */
      teacher: Unit
    }),
    {
      decode: SchemaGetter.transform((l) => ({
        ...l,
        emotion: l.emotion ?? l.regression,
        teacher: l.teacher ?? legacyTeacherLambda(l.classification)
      })),
      encode: SchemaGetter.transform((l) => l)
    }
  )
)
/** The lambdas of a spec. */
export type Lambdas = typeof Lambdas.Type

/** The full architecture (and the optimisation settings that go with it). */
export const ArchitectureSpec = Schema.Struct({
  model: ModelKind,
  /** The modality subset the model uses (non-empty). */
  modalities: Schema.NonEmptyArray(ModalityName),
  /** d_h: the size of every expert output and fusion level. */
  hidden: PositiveInt(1024),
  experts: Schema.Struct({
    text: ExpertSpec,
    audio: ExpertSpec,
    vision: ExpertSpec,
    unified: ExpertSpec
  }),
  /** Size of the trainable token embedding used when the dataset has raw text. */
  embedding: PositiveInt(1024),
  fusion: Schema.Struct({
    depth: Schema.Int.check(between(1, 4)),
    pool: Schema.Literals(["mean", "gate"]),
    sharedMode: Schema.Literals(["evolve", "fixed"])
  }),
  attention: Schema.Boolean,
  /** Learned modality gates (absent: none, every present modality enters the fusion fully). */
  modalityGates: Schema.optional(ModalityGates),
  tower: Schema.Struct({ depth: Schema.Int.check(between(0, 3)), width: PositiveInt(2048) }),
  dropout: Schema.Finite.check(between(0, 0.9)),
  /** Probability of masking each present modality of a training sample (at least one is kept). */
  modalityDropout: Schema.Finite.check(between(0, 0.9)),
  learningRate: Schema.Finite.check(between(1e-6, 1)),
  weightDecay: Schema.Finite.check(between(0, 1)),
  /** gamma: weight of the cross-modal KL terms. */
  gamma: Schema.Finite.check(between(0, 10)),
  temperature: Schema.Finite.check(between(0.05, 20)),
  /** Whether the unified expert (teacher) receives gradient from the KL terms. */
  teacherGradient: Schema.Boolean,
  /** The weight of each term of the joint objective but the KL terms' (gamma). */
  lambdas: Lambdas
})
/** The architecture spec type. */
export type ArchitectureSpec = typeof ArchitectureSpec.Type

/** Validate an unknown value (e.g. parsed JSON) as a spec; throws a SchemaError naming the bad field. */
export const decode = Schema.decodeUnknownSync(ArchitectureSpec)

/**
 * The hand-set default HAEMSA architecture. Its modality gates (text anchored, the others starting at
 * 0.1) were chosen on the validation split: on mosi-real, whose audio carries almost no sentiment, they
 * cut HAEMSA's validation MAE from 1.047 to 1.010 (seeds 1-3); see docs/results.md.
 */
export const defaultSpec: ArchitectureSpec = {
  model: "haemsa",
  modalities: ["text", "audio", "vision"],
  hidden: 64,
  experts: {
    text: { kind: "meanpool", hidden: 64 },
    audio: { kind: "meanpool", hidden: 32 },
    vision: { kind: "meanpool", hidden: 32 },
    unified: { kind: "meanpool", hidden: 64 }
  },
  embedding: 64,
  fusion: { depth: 2, pool: "mean", sharedMode: "evolve" },
  attention: true,
  modalityGates: { anchor: "text", init: 0.1 },
  tower: { depth: 1, width: 64 },
  dropout: 0.1,
  modalityDropout: 0.1,
  learningRate: 1e-3,
  weightDecay: 0,
  gamma: 0.1,
  temperature: 2,
  teacherGradient: false,
  lambdas: { regression: 1, classification: 0.2, unimodal: 0.2, emotion: 1, teacher: 0.2 }
}

/** The default spec for a model family (baselines share the experts' settings). */
export const defaultFor = (model: ModelKind): ArchitectureSpec => ({ ...defaultSpec, model })
