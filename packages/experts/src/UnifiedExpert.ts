/**
 * The unified (global) expert `h_s = f_s([x_t; x_a; x_v])`: one encoder over the concatenation of
 * the active modalities, computed without materialising the concatenation. Its first linear map is
 * `sum_m (x_m · W_m) · keep_m + b`, where `keep_m` (B, T_m) is the modality's step mask times its
 * column of the modality mask: a missing modality, or a padded step of one, contributes nothing,
 * exactly as a zero block of the concatenated features would. The encoder body after that map is
 * the one of `Expert` (same code path).
 *
 * @since 0.1.0
 */
import { Layers, Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { ExpertError } from "./Errors"
import { checkDim, makeBody, resolveSpecOrThrow } from "./Expert"
import type { ExpertSpec } from "./Expert"

/** Input of the unified expert. */
export interface UnifiedInput {
  /** Every modality the expert was built for, by name (extra modalities are ignored). */
  readonly inputs: Readonly<Record<string, Module.SequenceInput>>
  /** (B, M) 1 where the modality is present for the sample. */
  readonly modalityMask: tf.Tensor2D
  /** Modality names of the mask columns, e.g. ["text", "audio", "vision"]. */
  readonly order: ReadonlyArray<string>
  /**
   * Optional (B, M) or (1, M) gates in [0, 1] with the mask's columns (e.g. learned modality gates):
   * modality m's projection is scaled by `g_m`, so a gate of 0 removes it from the expert's input as a
   * mask of 0 would (its steps still count as present). Absent: all ones.
   */
  readonly gates?: tf.Tensor2D
}

/**
 * The common time length of the modalities: every one must have the same T, or T = 1 (a
 * per-utterance vector broadcast over time). Throws {@link ExpertError} otherwise.
 */
export const commonSteps = (steps: Readonly<Record<string, number>>): number => {
  const longest = Math.max(...Object.values(steps))
  for (const [name, t] of Object.entries(steps)) {
    if (t !== longest && t !== 1) {
      throw new ExpertError({
        field: "T",
        value: `${name}: ${t}`,
        reason: `all modalities must have the same number of steps (${longest}) or 1`
      })
    }
  }
  return longest
}

/**
 * The unified expert over the modalities of `inputDims` (name -> feature size), in that key order.
 * Variables: "input/<modality>/kernel", "input/bias" and the body's ("body/..."). Throws
 * {@link ExpertError} on a bad spec or dimension, and from `apply` when a modality is missing from
 * `inputs` or `order`, or the step counts do not match.
 */
export const makeUnifiedExpert = (
  spec: ExpertSpec,
  inputDims: Readonly<Record<string, number>>,
  outDim: number,
  seeds: Module.SeedSource
): Module.Module<UnifiedInput, tf.Tensor2D> => {
  const resolved = resolveSpecOrThrow(spec)
  const names = Object.keys(inputDims)
  if (names.length === 0) throw new ExpertError({ field: "inputDims", value: "{}", reason: "no modality" })
  for (const name of names) checkDim(`inputDims.${name}`, inputDims[name])
  checkDim("outDim", outDim)
  const body = makeBody(resolved, outDim, seeds, names.reduce((sum, name) => sum + inputDims[name], 0))
  const kernels = new Map(names.map((name) => [name, Layers.glorotVariable([inputDims[name], body.inputWidth], seeds)]))
  const bias = tf.tidy(() => tf.variable(tf.tensor1d(body.inputBias), true))
  const inputVariables = new Map<string, tf.Variable>()
  for (const [name, kernel] of kernels) inputVariables.set(`${name}/kernel`, kernel)
  inputVariables.set("bias", bias)

  return {
    variables: Module.prefixed({ input: inputVariables, body: body.variables }),
    apply: ({ gates, inputs, modalityMask, order }, training) => {
      const columns = names.map((name) => {
        if (inputs[name] === undefined) {
          throw new ExpertError({ field: "inputs", value: name, reason: "modality missing from the inputs" })
        }
        const column = order.indexOf(name)
        if (column < 0) {
          throw new ExpertError({ field: "order", value: name, reason: "modality missing from the mask order" })
        }
        return column
      })
      commonSteps(Object.fromEntries(names.map((name) => [name, inputs[name].stepMask.shape[1]])))
      return tf.tidy(() => {
        const b = modalityMask.shape[0]
        let sum: tf.Tensor3D | undefined
        let stepMask: tf.Tensor2D | undefined
        names.forEach((name, i) => {
          const steps = inputs[name].stepMask
          const tm = steps.shape[1]
          const keep = tf.mul(steps, tf.slice(modalityMask, [0, columns[i]], [b, 1])) as tf.Tensor2D
          // rows with keep = 0 are multiplied by 0 below: project only the others (or the valid steps
          // packed for every expert, a superset of them)
          const rows = Layers.projectInput(inputs[name], keep, kernels.get(name) as tf.Tensor2D)
          const scale = gates === undefined ? keep : tf.mul(keep, tf.slice(gates, [0, columns[i]], [-1, 1]))
          const part = tf.mul(tf.reshape(rows, [b, tm, body.inputWidth]), tf.expandDims(scale, 2)) as tf.Tensor3D
          sum = sum === undefined ? part : tf.add(sum, part)
          stepMask = stepMask === undefined ? keep : tf.maximum(stepMask, keep)
        })
        // Broadcasting over time already gave every sum and mask T = t steps.
        const projected = tf.add(sum as tf.Tensor3D, bias) as tf.Tensor3D
        return body.apply(projected, stepMask as tf.Tensor2D, training)
      })
    }
  }
}
