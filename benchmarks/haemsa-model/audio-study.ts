/**
 * Does the audio of mosi-real help HAEMSA? Trains HAEMSA (text + audio) and its text-only variant
 * over many seeds, for a few hyperparameter settings, and scores validation and test. For the gated
 * (text + audio) models it also scores the trained network with the audio gate scaled down at
 * inference (s = 0.5, and s = 0: audio out of the fusion), to show how much the learned audio
 * contribution costs or gains on each split. Prints a table, and with --json writes every run.
 *
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/audio-study.ts [--seeds 1,...,10] [--epochs 30] [--settings default,dropout-0.3,lr-3e-4] [--data PATH] [--json FILE]
 *
 * Selection is by validation, as everywhere in this project; the test columns are reported, not
 * chosen on.
 */
import { ArchitectureSpec, Environment, Evaluate, Experiment, Network } from "@haemsa/haemsa-model"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as fs from "node:fs"
import { argOption, machine, MOSI_REAL } from "../Harness"

const seeds = argOption("seeds", "1,2,3,4,5,6,7,8,9,10").split(",").map(Number)
const epochs = Number(argOption("epochs", "30"))
const data = argOption("data", MOSI_REAL)
const json = argOption("json", "")

/** The hyperparameter settings the study can run; each is trained with text + audio and text only. */
const SETTINGS: Record<string, Partial<ArchitectureSpec.ArchitectureSpec>> = {
  default: {},
  "dropout-0.3": { dropout: 0.3 },
  "lr-3e-4": { learningRate: 3e-4 }
}
const settings = argOption("settings", "default,dropout-0.3,lr-3e-4").split(",")
for (const s of settings) {
  if (!(s in SETTINGS)) throw new Error(`unknown setting "${s}" (known: ${Object.keys(SETTINGS).join(", ")})`)
}

/** Inference-time multipliers of the learned audio gate. */
const SCALES = [1, 0.5, 0] as const
const KEYS = ["acc2_non0", "mae", "corr"] as const
type Scores = Record<(typeof KEYS)[number], number>
interface Run {
  readonly setting: string
  readonly modalities: string
  readonly seed: number
  readonly gate?: number
  readonly scale: number
  readonly bestEpoch: number
  readonly valid: Scores
  readonly test: Scores
}

const pick = (m: Evaluate.SplitMetrics): Scores => Object.fromEntries(KEYS.map((k) => [k, (m as unknown as Record<string, number>)[k]])) as Scores

/** Set the audio gate variable so that the gate reads `g` (the gates are sigmoid(scale · a)). */
const setGate = (v: tf.Variable, g: number, scale: number) => {
  const clamped = Math.min(Math.max(g, 1e-30), 1 - 1e-7)
  tf.tidy(() => v.assign(tf.scalar(Math.log(clamped / (1 - clamped)) / scale)))
}

const program = Effect.gen(function*() {
  const started = Date.now()
  const loaded = yield* Experiment.loadNormalized(data)
  const runs: Run[] = []
  for (const setting of settings) {
    for (const modalities of [["text", "audio"], ["text"]] as const) {
      const spec: ArchitectureSpec.ArchitectureSpec = { ...ArchitectureSpec.defaultSpec, ...SETTINGS[setting], modalities: [...modalities] }
      for (const seed of seeds) {
        const label = `${setting} ${modalities.join("+")} seed ${seed}`
        const { result } = yield* Experiment.trainOn(spec, loaded, { epochs, seed, label })
        const net = result.net
        const gate = net.variables.get("gate/audio")
        const gateScale = spec.modalityGates?.scale ?? Network.GATE_SCALE
        const learned = gate ? 1 / (1 + Math.exp(-gate.dataSync()[0] * gateScale)) : undefined
        for (const scale of gate ? SCALES : [1]) {
          if (gate && learned !== undefined) setGate(gate, scale * learned, gateScale)
          const valid = pick(yield* Effect.promise(() => Evaluate.evaluate(net, loaded.dataset.splits.valid)))
          const test = pick(yield* Effect.promise(() => Evaluate.evaluate(net, loaded.dataset.splits.test)))
          runs.push({ setting, modalities: modalities.join("+"), seed, ...(learned !== undefined ? { gate: learned } : {}), scale, bestEpoch: result.bestEpoch, valid, test })
        }
        Network.dispose(net)
      }
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
  const rows: string[] = []
  for (const setting of settings) {
    for (const [modalities, scale, name] of [
      ["text+audio", 1, "text + audio"],
      ["text+audio", 0.5, "text + audio, audio gate x0.5 at inference"],
      ["text+audio", 0, "text + audio, audio gate x0 at inference"],
      ["text", 1, "text only"]
    ] as const) {
      const rs = runs.filter((r) => r.setting === setting && r.modalities === modalities && r.scale === scale)
      const cell = (split: "valid" | "test") => KEYS.map((k) => mean(rs.map((r) => r[split][k])).toFixed(3)).join(" | ")
      const gates = rs.filter((r) => r.gate !== undefined).map((r) => r.gate!)
      const gateText = gates.length ? `${Math.min(...gates).toFixed(2)}-${Math.max(...gates).toFixed(2)}` : "-"
      rows.push(`| ${setting} | ${name} | ${cell("valid")} | ${cell("test")} | ${mean(rs.map((r) => r.bestEpoch)).toFixed(1)} | ${scale === 1 ? gateText : ""} |`)
    }
  }
  const mach = machine()
  const table = [
    `mosi-real, mean over seeds ${seeds.join(",")}, up to ${epochs} epochs; ${mach.cores}x ${mach.cpu}, wasm, ${mach.node}; ${((Date.now() - started) / 60000).toFixed(1)} minutes`,
    "",
    "| setting | model | valid Acc-2 non0 | valid MAE | valid Corr | test Acc-2 non0 | test MAE | test Corr | best epoch | learned audio gate |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows
  ].join("\n")
  console.log(`\n${table}`)
  if (json) fs.writeFileSync(json, JSON.stringify({ seeds, epochs, machine: mach, runs }, null, 1))
})

Effect.runPromise(program.pipe(Effect.provide(Environment.make("wasm")))).catch((e) => {
  console.error(e)
  process.exit(1)
})
