/**
 * Train HAEMSA on a user's MMSA feature file (`aligned_50.pkl` / `unaligned_50.pkl` for MOSI, MOSEI or
 * SIMS, as the MMSA toolkit ships them), save a checkpoint, evaluate it with every modality subset.
 *
 *   npx -y pnpm@12.4.2 tsx --conditions=source examples/train-mmsa/index.ts --data path/to/aligned_50.pkl [--out runs/mmsa] [--epochs N]
 *
 * Without --data it runs on the small MMSA-format fixture in packages/datasets/test/fixtures (a format
 * demo, not a result; run it from the repository root).
 */
import { ArchitectureSpec, Environment, Experiment } from "@haemsa/haemsa-model"
import { Effect } from "effect"

const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}
const data = option("data", "packages/datasets/test/fixtures/mmsa_aligned.pkl")
const out = option("out", "runs/mmsa")
const epochs = Number(option("epochs", "20"))

const program = Effect.gen(function*() {
  const report = yield* Experiment.trainJob({ source: data, spec: ArchitectureSpec.defaultSpec, out, train: { epochs, seed: 1, batchSize: 32 } })
  console.log(`trained on ${data}: test`, report.test)
  const evaluated = yield* Experiment.evalJob({ checkpoint: out, source: data })
  console.log("missing-modality table (test):")
  for (const row of evaluated.missing_modalities) console.log(row.modalities.join("+").padEnd(20), JSON.stringify(row.metrics))
})

Effect.runPromise(program.pipe(Effect.provide(Environment.make("wasm")))).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
