/**
 * One fusion level `g`: a dense layer over the concatenation of its inputs, a nonlinearity,
 * dropout, and a residual path: `g([x_0; x_1; ...]) = dropout(act(sum_p x_p · W_p + b)) + r(x_0)`.
 * The concatenation is never built: `[a; b] · W` is computed as `a · W_a + b · W_b`. The residual
 * `r` carries the first input (in the hierarchy, `h^(i-1)` of the same stream): the identity when
 * its width equals the output width, else a learned linear projection ("residual/kernel").
 *
 * @since 0.1.0
 */
import { Layers } from "@haemsa/nn"
import type { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { checkActivation, checkInt, checkRate, FusionError } from "./Errors"

/** Options of a fusion level. */
export interface FusionLevelOptions {
  /** Dropout rate in [0, 1) after the nonlinearity. */
  readonly dropout: number
  /** Nonlinearity after the dense layer. */
  readonly activation: Layers.Activation
}

/**
 * A fusion level over inputs of widths `inDims` -> (B, outDim). Variables "part{p}/kernel" (one
 * per input), "bias", and "residual/kernel" when `inDims[0] !== outDim`. Throws
 * {@link FusionError} on bad sizes or options. Dropout seeds come from `seeds`, which the module
 * keeps and advances on each training call.
 */
export const makeFusionLevel = (
  inDims: ReadonlyArray<number>,
  outDim: number,
  seeds: Module.SeedSource,
  options: FusionLevelOptions
): Module.Module<ReadonlyArray<tf.Tensor2D>, tf.Tensor2D> => {
  if (inDims.length === 0) throw new FusionError({ field: "inDims", value: "[]", reason: "no input" })
  inDims.forEach((d, p) => checkInt(`inDims[${p}]`, d, 1))
  checkInt("outDim", outDim, 1)
  checkRate("dropout", options.dropout)
  checkActivation("activation", options.activation)
  const kernels = inDims.map((d) => Layers.glorotVariable([d, outDim], seeds))
  const bias = Layers.constantVariable([outDim], 0)
  const residual = inDims[0] === outDim ? undefined : Layers.glorotVariable([inDims[0], outDim], seeds)
  const variables = new Map<string, tf.Variable>()
  kernels.forEach((kernel, p) => variables.set(`part${p}/kernel`, kernel))
  variables.set("bias", bias)
  if (residual !== undefined) variables.set("residual/kernel", residual)
  return {
    variables,
    apply: (inputs, training) =>
      tf.tidy(() => {
        if (inputs.length !== kernels.length) {
          throw new FusionError({
            field: "inputs",
            value: String(inputs.length),
            reason: `this level takes ${kernels.length} inputs`
          })
        }
        const parts = inputs.map((x, p) => Layers.linear(x, kernels[p] as tf.Tensor2D, p === 0 ? (bias as tf.Tensor1D) : undefined))
        const skip = residual === undefined ? inputs[0] : Layers.linear(inputs[0], residual as tf.Tensor2D)
        return Layers.residualEpilogue(parts, skip, options.activation, options.dropout, training, seeds)
      })
  }
}
