/**
 * The HAEMSA search space: a genome in [0, 1]^{@link GENE_COUNT} decodes to an architecture spec.
 * Every gene picks one value of a short list (sizes and rates on log-like grids), so nearby genomes
 * decode to the same architecture and the search's fitness cache, keyed by {@link canonicalKey},
 * trains each architecture once.
 *
 * | gene  | field                                   | values                                            |
 * | ----- | --------------------------------------- | ------------------------------------------------- |
 * | 0-2   | modalities: text, audio, vision         | in the subset when the gene is >= 0.5 (see below) |
 * | 3, 4  | experts.text kind, hidden               | meanpool lstm transformer tcn; 16 32 64 128       |
 * | 5, 6  | experts.audio kind, hidden              | as above                                          |
 * | 7, 8  | experts.vision kind, hidden             | as above                                          |
 * | 9, 10 | experts.unified kind, hidden            | as above                                          |
 * | 11    | layers of every expert                  | 1 2                                               |
 * | 12    | heads of the transformer experts        | 1 2 4                                             |
 * | 13    | hidden (d_h: expert outputs and fusion) | 16 32 64 128                                      |
 * | 14    | fusion.depth (hierarchy levels)         | 1 2 3 4                                           |
 * | 15    | fusion.pool                             | mean gate                                         |
 * | 16    | attention                               | off on                                            |
 * | 17    | tower.depth                             | 0 1 2 3                                           |
 * | 18    | tower.width                             | 16 32 64 128                                      |
 * | 19    | dropout                                 | 0 0.05 ... 0.5                                    |
 * | 20    | learningRate (log scale)                | 1e-4 2e-4 3e-4 5e-4 1e-3 2e-3 3e-3 5e-3 1e-2       |
 * | 21    | gamma (KL weight)                       | 0 0.03 0.1 0.3 1                                  |
 * | 22    | lambdas.classification (and .teacher)   | 0 0.1 0.2 0.5 1                                   |
 * | 23    | lambdas.unimodal                        | 0 0.1 0.2 0.5 1                                   |
 * | 24    | text features (only with `textFeatures`) | tokens vectors                                   |
 *
 * Gene 24 exists only in a search that may choose the text features (`DecodeOptions.textFeatures`:
 * data with raw transcripts and word vectors, `haemsa search --text-features glove|PATH`): its genome
 * has {@link TEXT_GENE_COUNT} genes, {@link decodeText} reads the choice. Every other search keeps
 * the {@link GENE_COUNT} genes it always had, so a seed gives the search it always gave.
 *
 * A gene `g` picks entry `min(n - 1, floor(g n))` of a list of `n` values. The modality subset is
 * never empty: when no modality gene reaches 0.5, the modality with the largest gene is used. With
 * `options.modalities` (the ones the data has) only those can be chosen. The teacher's weight
 * follows the classification gene as in a spec written without one (`lambdas.teacher =
 * max(lambdas.classification, 0.1)`, see `ArchitectureSpec.Lambdas`), so a genome decodes to the
 * objective it always did. Everything else (the model family, embedding size, shared-state mode,
 * weight decay, temperature, teacher gradient, modality dropout, the regression and emotion weights,
 * tcn kernels, transformer activations) comes from the base spec.
 *
 * @since 0.1.0
 */
import type { Dataset } from "@haemsa/datasets"
import { Dataset as D } from "@haemsa/datasets"
import { Checkpoint } from "@haemsa/evo-search"
import { Expert } from "@haemsa/experts"
import { Schema } from "effect"
import type { ArchitectureSpec, ExpertSpec, Lambdas } from "../model/ArchitectureSpec"
import { defaultSpec, GATE_SCALE, legacyTeacherLambda } from "../model/ArchitectureSpec"

/** A genome that cannot be decoded: wrong length, or a gene that is not a number in [0, 1]. */
export class GenomeError extends Schema.TaggedError<GenomeError>()("GenomeError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `genome: ${this.reason}`
  }
}

/** Encoder kinds a gene chooses from: the kinds of `@haemsa/experts`, in their order. */
export const KINDS: ReadonlyArray<Expert.ExpertKind> = Expert.ExpertKind.literals
/** Encoder widths. */
export const EXPERT_HIDDEN = [16, 32, 64, 128] as const
/** Layers of every expert. */
export const LAYERS = [1, 2] as const
/** Heads of transformer experts (each divides every width in {@link EXPERT_HIDDEN}). */
export const HEADS = [1, 2, 4] as const
/** d_h: the size of every expert output and fusion level. */
export const FUSION_WIDTH = [16, 32, 64, 128] as const
/** Hierarchy depth n. */
export const DEPTH = [1, 2, 3, 4] as const
/** Pooling of the local experts into the first fusion level. */
export const POOL = ["mean", "gate"] as const
/** Task attention off / on. */
export const ATTENTION = [false, true] as const
/** Tower depth. */
export const TOWER_DEPTH = [0, 1, 2, 3] as const
/** Tower width. */
export const TOWER_WIDTH = [16, 32, 64, 128] as const
/** Dropout rates. */
export const DROPOUT = [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5] as const
/** Learning rates, log-spaced (a 1-2-3-5 series). */
export const LEARNING_RATE = [1e-4, 2e-4, 3e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3, 1e-2] as const
/** gamma: the weight of the cross-modal KL terms. */
export const GAMMA = [0, 0.03, 0.1, 0.3, 1] as const
/** Weights of the classification and unimodal tasks (the regression weight stays the base's). */
export const LAMBDA = [0, 0.1, 0.2, 0.5, 1] as const

/** The expert slots in gene order. */
const EXPERTS = ["text", "audio", "vision", "unified"] as const

/** Gene positions. */
export const GENES = {
  modalities: 0,
  /** Kind of expert `e` is gene `experts + 2 e`, its hidden size the next one (e in text, audio, vision, unified). */
  experts: 3,
  layers: 11,
  heads: 12,
  hidden: 13,
  depth: 14,
  pool: 15,
  attention: 16,
  towerDepth: 17,
  towerWidth: 18,
  dropout: 19,
  learningRate: 20,
  gamma: 21,
  classification: 22,
  unimodal: 23
} as const

/** The number of genes of a HAEMSA genome. */
export const GENE_COUNT = 24

/** The gene of the text features, after the architecture's genes (only in a genome of {@link TEXT_GENE_COUNT} genes). */
export const TEXT_GENE = GENE_COUNT

/** The number of genes of a genome that also chooses the text features. */
export const TEXT_GENE_COUNT = GENE_COUNT + 1

/** What the text gene chooses between: the tokens, or the search's word vectors (`TextFeatures.Choice`). */
export const TEXT_FEATURES = ["tokens", "vectors"] as const

/** A text-features gene's choice. */
export type TextGene = (typeof TEXT_FEATURES)[number]

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** The modalities the subset may use (those the data has); default all three. Must be non-empty. */
  readonly modalities?: ReadonlyArray<Dataset.Modality>
  /** The genome carries the text-features gene ({@link TEXT_GENE}): {@link TEXT_GENE_COUNT} genes (default false). */
  readonly textFeatures?: boolean
}

/** The number of genes of a genome decoded with `options`. */
export const geneCount = (options: DecodeOptions = {}): number => (options.textFeatures === true ? TEXT_GENE_COUNT : GENE_COUNT)

/** The entry of `values` a gene picks. */
export const pick = <A>(values: ReadonlyArray<A>, gene: number): A => values[Math.min(values.length - 1, Math.floor(gene * values.length))]

/** Throws a {@link GenomeError} unless `genome` has `count` genes (default {@link GENE_COUNT}), each a number in [0, 1]. */
export const check = (genome: ReadonlyArray<number>, count: number = GENE_COUNT): void => {
  if (genome.length !== count) throw new GenomeError({ reason: `expected ${count} genes, got ${genome.length}` })
  for (let i = 0; i < genome.length; i++) {
    const g = genome[i]
    if (!(typeof g === "number" && g >= 0 && g <= 1)) throw new GenomeError({ reason: `gene ${i} is ${String(g)}, not a number in [0, 1]` })
  }
}

/** The modality subset of a genome: genes >= 0.5 among `allowed`; never empty (the largest gene wins). */
export const decodeModalities = (
  genome: ReadonlyArray<number>,
  allowed: ReadonlyArray<Dataset.Modality> = D.MODALITIES
): [Dataset.Modality, ...Array<Dataset.Modality>] => {
  const candidates = D.MODALITIES.filter((m) => allowed.includes(m))
  if (candidates.length === 0) throw new GenomeError({ reason: "options.modalities is empty: no modality to choose from" })
  const gene = (m: Dataset.Modality) => genome[GENES.modalities + D.MODALITIES.indexOf(m)]
  const chosen = candidates.filter((m) => gene(m) >= 0.5)
  if (chosen.length > 0) return chosen as [Dataset.Modality, ...Array<Dataset.Modality>]
  return [candidates.reduce((best, m) => (gene(m) > gene(best) ? m : best))]
}

/**
 * Decodes a genome into an architecture spec (see the gene table above); fields no gene controls
 * come from `base` (default: the default architecture). Throws a {@link GenomeError} for a genome of
 * the wrong length or with a gene outside [0, 1] (NaN included).
 */
export const decode = (
  genome: ReadonlyArray<number>,
  base: ArchitectureSpec = defaultSpec,
  options: DecodeOptions = {}
): ArchitectureSpec => {
  check(genome, geneCount(options))
  const g = (i: number) => genome[i]
  const layers = pick(LAYERS, g(GENES.layers))
  const heads = pick(HEADS, g(GENES.heads))
  const classification = pick(LAMBDA, g(GENES.classification))
  const expert = (slot: number): ExpertSpec => {
    const kind = pick(KINDS, g(GENES.experts + 2 * slot))
    const hidden = pick(EXPERT_HIDDEN, g(GENES.experts + 2 * slot + 1))
    const previous = base.experts[EXPERTS[slot]]
    return {
      kind,
      hidden,
      ...(layers > 1 ? { layers } : {}),
      ...(kind === "transformer" ? { heads } : {}),
      ...(kind === "tcn" && previous.kernel !== undefined ? { kernel: previous.kernel } : {}),
      ...(kind === "transformer" && previous.activation !== undefined ? { activation: previous.activation } : {}),
      ...(previous.dropout !== undefined ? { dropout: previous.dropout } : {})
    }
  }
  return {
    ...base,
    modalities: decodeModalities(genome, options.modalities),
    hidden: pick(FUSION_WIDTH, g(GENES.hidden)),
    experts: { text: expert(0), audio: expert(1), vision: expert(2), unified: expert(3) },
    fusion: { ...base.fusion, depth: pick(DEPTH, g(GENES.depth)), pool: pick(POOL, g(GENES.pool)) },
    attention: pick(ATTENTION, g(GENES.attention)),
    tower: { depth: pick(TOWER_DEPTH, g(GENES.towerDepth)), width: pick(TOWER_WIDTH, g(GENES.towerWidth)) },
    dropout: pick(DROPOUT, g(GENES.dropout)),
    learningRate: pick(LEARNING_RATE, g(GENES.learningRate)),
    gamma: pick(GAMMA, g(GENES.gamma)),
    lambdas: {
      ...base.lambdas,
      classification,
      unimodal: pick(LAMBDA, g(GENES.unimodal)),
      teacher: legacyTeacherLambda(classification)
    }
  }
}

/**
 * The text features a genome of {@link TEXT_GENE_COUNT} genes chooses (its gene {@link TEXT_GENE}).
 * Throws a {@link GenomeError} for a genome of another length or with a gene outside [0, 1].
 */
export const decodeText = (genome: ReadonlyArray<number>): TextGene => {
  check(genome, TEXT_GENE_COUNT)
  return pick(TEXT_FEATURES, genome[TEXT_GENE])
}

/** The gene at the centre of the entry of `values` nearest to `value` (so it decodes back to that entry). */
export const geneOf = (values: ReadonlyArray<number | string | boolean>, value: number | string | boolean): number => {
  let best = 0
  for (let i = 1; i < values.length; i++) {
    const v = values[i]
    const b = values[best]
    const closer = typeof v === "number" && typeof value === "number" && typeof b === "number"
      ? Math.abs(Math.log(v + 1e-6) - Math.log(value + 1e-6)) < Math.abs(Math.log(b + 1e-6) - Math.log(value + 1e-6))
      : v === value && b !== value
    if (closer) best = i
  }
  return (best + 0.5) / values.length
}

/**
 * A genome that decodes to `spec`, or to the nearest architecture of the search space (best effort:
 * sizes and rates go to the nearest grid value on a log scale, `layers`/`heads` to those of the first
 * expert that sets them). Seeds a search with a known architecture, e.g. the default one:
 * `decode(encode(defaultSpec))` equals `defaultSpec`. With `text`, the genome also carries the text
 * gene choosing it ({@link TEXT_GENE_COUNT} genes; `decodeText` gives `text` back).
 */
export const encode = (spec: ArchitectureSpec, text?: TextGene): number[] => {
  const genome = new Array<number>(text === undefined ? GENE_COUNT : TEXT_GENE_COUNT).fill(0.5)
  if (text !== undefined) genome[TEXT_GENE] = geneOf(TEXT_FEATURES, text)
  D.MODALITIES.forEach((m, i) => {
    genome[GENES.modalities + i] = spec.modalities.includes(m) ? 0.75 : 0.25
  })
  EXPERTS.forEach((name, slot) => {
    genome[GENES.experts + 2 * slot] = geneOf(KINDS, spec.experts[name].kind)
    genome[GENES.experts + 2 * slot + 1] = geneOf(EXPERT_HIDDEN, spec.experts[name].hidden)
  })
  const experts = EXPERTS.map((name) => spec.experts[name])
  genome[GENES.layers] = geneOf(LAYERS, experts.find((e) => e.layers !== undefined)?.layers ?? 1)
  genome[GENES.heads] = geneOf(HEADS, experts.find((e) => e.kind === "transformer" && e.heads !== undefined)?.heads ?? 4)
  genome[GENES.hidden] = geneOf(FUSION_WIDTH, spec.hidden)
  genome[GENES.depth] = geneOf(DEPTH, spec.fusion.depth)
  genome[GENES.pool] = geneOf(POOL, spec.fusion.pool)
  genome[GENES.attention] = geneOf(ATTENTION, spec.attention)
  genome[GENES.towerDepth] = geneOf(TOWER_DEPTH, spec.tower.depth)
  genome[GENES.towerWidth] = geneOf(TOWER_WIDTH, spec.tower.width)
  genome[GENES.dropout] = geneOfLinear(DROPOUT, spec.dropout)
  genome[GENES.learningRate] = geneOf(LEARNING_RATE, spec.learningRate)
  genome[GENES.gamma] = geneOfLinear(GAMMA, spec.gamma)
  genome[GENES.classification] = geneOfLinear(LAMBDA, spec.lambdas.classification)
  genome[GENES.unimodal] = geneOfLinear(LAMBDA, spec.lambdas.unimodal)
  return genome
}

/** Like {@link geneOf} on a linear scale (for lists that hold 0). */
const geneOfLinear = (values: ReadonlyArray<number>, value: number): number => {
  let best = 0
  for (let i = 1; i < values.length; i++) if (Math.abs(values[i] - value) < Math.abs(values[best] - value)) best = i
  return (best + 0.5) / values.length
}

/** The experts a model family uses: HAEMSA all, early fusion the unified one, late fusion the modality ones. */
const usedExperts = (spec: ArchitectureSpec): ReadonlyArray<(typeof EXPERTS)[number]> =>
  spec.model === "early-fusion"
    ? ["unified"]
    : spec.model === "late-fusion"
    ? D.MODALITIES.filter((m) => spec.modalities.includes(m))
    : [...D.MODALITIES.filter((m) => spec.modalities.includes(m)), "unified"]

/**
 * An expert spec with its defaults filled in and the fields its kind ignores dropped; a transformer's
 * activation appears only when it is not the default relu (so keys made before the field existed hold).
 */
const canonicalExpert = (e: ExpertSpec) => ({
  kind: e.kind,
  hidden: e.hidden,
  layers: e.layers ?? 1,
  dropout: e.dropout ?? 0,
  ...(e.kind === "transformer" ? { heads: e.heads ?? (e.hidden % 4 === 0 ? 4 : 1) } : {}),
  ...(e.kind === "transformer" && e.activation !== undefined && e.activation !== "relu" ? { activation: e.activation } : {}),
  ...(e.kind === "tcn" ? { kernel: e.kernel ?? 3 } : {})
})

/**
 * The lambdas, the emotion and teacher weights left out where they equal the weights a spec without
 * them decodes to (so keys made before those fields existed hold).
 */
const canonicalLambdas = ({ emotion, teacher, ...rest }: Lambdas) => ({
  ...rest,
  ...(emotion !== rest.regression ? { emotion } : {}),
  ...(teacher !== legacyTeacherLambda(rest.classification) ? { teacher } : {})
})

/**
 * The canonical JSON of an architecture: the fitness-cache key of a search. Two specs that build the
 * same model get the same key: keys are sorted, modalities are in text-audio-vision order, experts
 * the model does not use are left out, and expert defaults are filled in (fields a kind ignores,
 * like the heads of a mean-pool expert, are dropped); modality gates are left out where the network
 * has none (a baseline, one modality, or no anchor) and their scale default is filled in; the
 * emotion and teacher lambdas are left out where they equal the weights of a spec written without them.
 */
export const canonicalKey = (spec: ArchitectureSpec): string => {
  const used = usedExperts(spec)
  const experts = Object.fromEntries(used.map((name) => [name, canonicalExpert(spec.experts[name])]))
  const gates = spec.modalityGates
  // gates only exist in a HAEMSA network that uses their anchor and at least one other modality
  const gated = gates !== undefined && spec.model === "haemsa" && spec.modalities.includes(gates.anchor) &&
    new Set(spec.modalities).size > 1
  const modalityGates = gated ? { ...gates, scale: gates.scale ?? GATE_SCALE } : undefined
  return Checkpoint.canonicalJson({
    ...spec,
    modalities: D.MODALITIES.filter((m) => spec.modalities.includes(m)),
    experts,
    modalityGates,
    lambdas: canonicalLambdas(spec.lambdas)
  })
}
