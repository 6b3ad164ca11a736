/**
 * Gradient smoke tests on the wasm backend (the fast backend without libtensorflow): every encoder
 * kind and the unified expert train there, with the same values and gradients as on cpu.
 */
import { Module } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import "@tensorflow/tfjs-backend-wasm"
import { describe, expect, it } from "vitest"
import { EXPERT_KINDS, makeExpert } from "../src/Expert"
import type { ExpertKind, ExpertSpec } from "../src/Expert"
import { makeUnifiedExpert } from "../src/UnifiedExpert"
import { features, gradientsByPath, lengthMask, maxAbsDiff, projectionLoss } from "@haemsa/test-helpers"

const specs: Record<ExpertKind, ExpertSpec> = {
  meanpool: { kind: "meanpool", hidden: 8, layers: 2, dropout: 0.1 },
  lstm: { kind: "lstm", hidden: 6, layers: 2, dropout: 0.1 },
  transformer: { kind: "transformer", hidden: 8, heads: 2, activation: "gelu", dropout: 0.1 },
  tcn: { kind: "tcn", hidden: 8, layers: 2, kernel: 3, dropout: 0.1 }
}

/** Loss value, output and gradients of a module on one backend. */
const run = async <I>(backend: string, module: Module.Module<I, tf.Tensor2D>, input: () => I, training: boolean) => {
  expect(await tf.setBackend(backend)).toBe(true)
  const loss = projectionLoss([3, 2], 5)
  const output = tf.tidy(() => module.apply(input(), false))
  const { value, grads } = gradientsByPath(module.variables, () => loss(module.apply(input(), training)))
  return { value, output, grads }
}

const compare = async <I>(module: Module.Module<I, tf.Tensor2D>, input: () => I) => {
  const wasm = await run("wasm", module, input, true)
  for (const [path, g] of wasm.grads) {
    expect(Array.from(g.dataSync()).every(Number.isFinite), `finite ${path}`).toBe(true)
  }
  expect([...wasm.grads.values()].some((g) => g.dataSync().some((v) => v !== 0))).toBe(true)
  // Without dropout the two backends agree.
  const wasmEval = await run("wasm", module, input, false)
  const cpuEval = await run("cpu", module, input, false)
  expect(maxAbsDiff(wasmEval.output, cpuEval.output)).toBeLessThan(1e-4)
  for (const [path, g] of cpuEval.grads) expect(maxAbsDiff(g, wasmEval.grads.get(path)!), path).toBeLessThan(1e-3)
}

describe("wasm backend", () => {
  it.each(EXPERT_KINDS)("trains a %s expert with the gradients of cpu", async (kind) => {
    await tf.setBackend("wasm")
    const expert = makeExpert(specs[kind], 4, 2, Module.seedSource(1))
    await compare(expert, () => ({ x: features(3, 6, 4, 2), stepMask: lengthMask([6, 3, 1], 6) }))
  })

  it("trains a unified expert", async () => {
    await tf.setBackend("wasm")
    // hidden 4 with 7 input features: the factored first map (3·7 > 4·4).
    const unified = makeUnifiedExpert({ ...specs.lstm, hidden: 4 }, { text: 4, audio: 3 }, 2, Module.seedSource(3))
    await compare(unified, () => ({
      inputs: {
        text: { x: features(3, 5, 4, 4), stepMask: lengthMask([5, 2, 4], 5) },
        audio: { x: features(3, 5, 3, 5), stepMask: lengthMask([5, 5, 0], 5) }
      },
      modalityMask: tf.tensor2d([[1, 1], [1, 0], [0, 1]]),
      order: ["text", "audio"]
    }))
  })
})
