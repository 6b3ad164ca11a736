/**
 * A custom mixture of experts: HAEMSA with an expert this example defines itself (a gated max-pool
 * encoder), swapped in for the audio and vision experts by providing a different ExpertFactory layer.
 * Nothing in the library changes; only the layer does.
 *
 *   npx -y pnpm@12.4.2 tsx --conditions=source examples/custom-moe/index.ts [--epochs N] [--seed S]
 */
import { ExpertFactory } from "@haemsa/experts"
import { ArchitectureSpec, Environment, Experiment } from "@haemsa/haemsa-model"
import { Layers as L, Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"

/**
 * Gated max-pool expert: per step `g = sigmoid(x Wg)`, `h = relu(x Wh)`, then the maximum over the
 * valid steps of `g * h`, then a linear map to the output size. Padded steps are pushed to -1e9
 * before the max, so they never win.
 */
const gatedMaxPool = (inputDim: number, hidden: number, outDim: number, seeds: Module.SeedSource): Module.Module<Module.SequenceInput, tf.Tensor2D> => {
  const gate = L.dense(inputDim, hidden, seeds)
  const value = L.dense(inputDim, hidden, seeds, { activation: "relu" })
  const out = L.dense(hidden, outDim, seeds)
  return {
    variables: Module.prefixed({ gate: gate.variables, value: value.variables, out: out.variables }),
    apply: ({ x, stepMask }, training) =>
      tf.tidy(() => {
        const [b, t, d] = x.shape
        const rows = tf.reshape(x, [b * t, d]) as tf.Tensor2D
        const gated = tf.mul(tf.sigmoid(gate.apply(rows, training)), value.apply(rows, training)) // (B*T, H)
        const steps = tf.reshape(gated, [b, t, hidden])
        const pad = tf.mul(tf.sub(1, tf.expandDims(stepMask, 2)), -1e9) // (B, T, 1)
        const pooled = tf.max(tf.add(steps, pad), 1) as tf.Tensor2D // (B, H)
        // a sample with no valid step (missing modality) gets zeros, not -1e9
        const any = tf.cast(tf.greater(tf.sum(stepMask, 1, true), 0), "float32")
        return out.apply(tf.mul(pooled, any) as tf.Tensor2D, training)
      })
  }
}

/**
 * Our factory: the gated max-pool expert for audio and vision (the factory is told which modality it
 * builds for), the built-in constructors for text and the unified expert.
 */
const customFactory = Layer.succeed(ExpertFactory.ExpertFactory, {
  ...ExpertFactory.builtIn,
  make: (request) =>
    request.modality === "audio" || request.modality === "vision"
      ? gatedMaxPool(request.inputDim, request.spec.hidden, request.outDim, request.seeds)
      : ExpertFactory.builtIn.make(request)
})

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const program = Effect.gen(function*() {
  const epochs = arg("epochs", 10)
  const seed = arg("seed", 0)
  const run = (label: string, layer: Layer.Layer<Environment.JobServices, unknown>) =>
    Experiment.trainJob({ source: "synthetic", spec: ArchitectureSpec.defaultSpec, train: { epochs, seed, label } }).pipe(Effect.provide(layer))
  const builtIn = yield* run("built-in experts", Environment.make("wasm"))
  // merge order: the later layer wins, so our factory replaces the default one
  const custom = yield* run("custom experts", Layer.merge(Environment.make("wasm"), customFactory))
  console.log(`\n                      test MAE   test Acc-7   test Corr`)
  for (const [name, r] of [["built-in experts", builtIn], ["gated max-pool a/v", custom]] as const) {
    const t = r.test as { mae: number; acc7: number; corr: number }
    console.log(`${name.padEnd(22)}${t.mae.toFixed(4).padStart(8)}${t.acc7.toFixed(4).padStart(13)}${t.corr.toFixed(4).padStart(12)}`)
  }
})

Effect.runPromise(program).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
