/**
 * The `ExpertFactory` service: how a model builder gets its experts. The default layer builds the
 * encoders of `Expert` and `UnifiedExpert` ({@link builtIn}); a user swaps them with
 * `Layer.succeed(ExpertFactory, { ...builtIn, make })`. A modality expert is asked for by modality,
 * so a factory can choose its encoder per modality.
 *
 * @since 0.1.0
 */
import type { Module } from "@haemsa/nn"
import type * as tf from "@tensorflow/tfjs"
import { Context, Layer } from "effect"
import { makeExpert } from "./Expert"
import type { ExpertSpec } from "./Expert"
import { makeUnifiedExpert } from "./UnifiedExpert"
import type { UnifiedInput } from "./UnifiedExpert"

/** What a model builder asks of {@link ExpertFactoryShape.make}: one modality's expert. */
export interface ExpertRequest {
  /** The modality the expert encodes (HAEMSA's are "text", "audio" and "vision"). */
  readonly modality: string
  /** The spec the architecture gives this modality's expert. */
  readonly spec: ExpertSpec
  /** Feature size d of the input (B, T, d). */
  readonly inputDim: number
  /** Output size of the expert (B, outDim). */
  readonly outDim: number
  /** Where the expert's initialisers and dropout masks draw their seeds. */
  readonly seeds: Module.SeedSource
}

/** What a model builder asks of {@link ExpertFactoryShape.makeUnified}: the unified expert. */
export interface UnifiedRequest {
  /** The spec the architecture gives the unified expert. */
  readonly spec: ExpertSpec
  /** Feature size of each modality the expert reads, by name, in the order of its input projections. */
  readonly inputDims: Readonly<Record<string, number>>
  /** Output size of the expert (B, outDim). */
  readonly outDim: number
  /** Where the expert's initialisers and dropout masks draw their seeds. */
  readonly seeds: Module.SeedSource
}

/** What an expert factory provides. Both constructors throw `ExpertError` on a bad spec. */
export interface ExpertFactoryShape {
  /** The expert of one modality: `(B, T, inputDim) -> (B, outDim)`. */
  readonly make: (request: ExpertRequest) => Module.Module<Module.SequenceInput, tf.Tensor2D>
  /** The unified expert over the modalities of `inputDims` -> (B, outDim). */
  readonly makeUnified: (request: UnifiedRequest) => Module.Module<UnifiedInput, tf.Tensor2D>
}

/**
 * The built-in encoders (mean-pool MLP, LSTM, Transformer, temporal convolution) for every modality,
 * and the built-in unified expert: spread it into your own factory to replace only a part.
 */
export const builtIn: ExpertFactoryShape = {
  make: ({ inputDim, outDim, seeds, spec }) => makeExpert(spec, inputDim, outDim, seeds),
  makeUnified: ({ inputDims, outDim, seeds, spec }) => makeUnifiedExpert(spec, inputDims, outDim, seeds)
}

/** Builds experts from specs. `ExpertFactory.layer` provides the built-in encoders. */
export class ExpertFactory extends Context.Service<ExpertFactory, ExpertFactoryShape>()("@haemsa/experts/ExpertFactory") {
  /** The built-in encoders ({@link builtIn}). */
  static readonly layer = Layer.succeed(ExpertFactory, builtIn)
}
