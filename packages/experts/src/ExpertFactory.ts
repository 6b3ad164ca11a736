/**
 * The `ExpertFactory` service: how a model builder gets its experts. The default layer builds the
 * encoders of `Expert` and `UnifiedExpert`; a user swaps them with
 * `Layer.succeed(ExpertFactory, { make, makeUnified })`.
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

/** What an expert factory provides. Both constructors throw `ExpertError` on a bad spec. */
export interface ExpertFactoryShape {
  /** A modality-specific expert `(B, T, inputDim) -> (B, outDim)`. */
  readonly make: (
    spec: ExpertSpec,
    inputDim: number,
    outDim: number,
    seeds: Module.SeedSource
  ) => Module.Module<Module.SequenceInput, tf.Tensor2D>
  /** The unified expert over the modalities of `inputDims` -> (B, outDim). */
  readonly makeUnified: (
    spec: ExpertSpec,
    inputDims: Readonly<Record<string, number>>,
    outDim: number,
    seeds: Module.SeedSource
  ) => Module.Module<UnifiedInput, tf.Tensor2D>
}

/** Builds experts from specs. `ExpertFactory.layer` provides the built-in encoders. */
export class ExpertFactory extends Context.Service<ExpertFactory, ExpertFactoryShape>()("@haemsa/experts/ExpertFactory") {
  /** The built-in encoders (mean-pool MLP, LSTM, Transformer, temporal convolution). */
  static readonly layer = Layer.succeed(ExpertFactory, { make: makeExpert, makeUnified: makeUnifiedExpert })
}
