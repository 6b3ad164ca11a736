/**
 * HAEMSA's evolutionary architecture search on the real CMU-MOSI subset (text + audio), then the
 * winner retrained at full fidelity next to the default architecture, same seed and epochs.
 *
 *   npx tsx --conditions=source examples/evo-search/index.ts --data mosi-real
 *     [--population 8] [--generations 5] [--seed 1] [--fidelity 3:0.5,10] [--workers N] [--epochs 30] [--out runs/evo-search]
 *     [--seeds 1,2,3]   (then the search's best and the default trained with each seed: the winner chosen on validation, test means printed)
 *
 * `--data mosi-real` (the default) is the `@haemsa/mosi-real` data package (`packages/mosi-real/data`
 * here), or `$HAEMSA_MOSI_REAL` when set; a folder path laid out the same way works too.
 * Kill it and run the same command again: the search resumes from `<out>/checkpoint`.
 */
import { DataSource, Environment, SearchCommand, SearchReport } from "@haemsa/haemsa-model"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback
}

const data = option("data", "mosi-real")
const out = option("out", "runs/evo-search")
const epochs = Number(option("epochs", "30"))
const seeds = option("seeds", "").split(",").filter(Boolean).map(Number)

const program = Effect.gen(function*() {
  const source = yield* DataSource.resolveDataSource(data)
  const result = yield* SearchCommand.searchJob({
    source,
    population: Number(option("population", "8")),
    generations: Number(option("generations", "5")),
    seed: Number(option("seed", "1")),
    checkpointDir: path.join(out, "checkpoint"),
    // mosi-real is small: 3 epochs on half the train split, then 10 full epochs for the best third
    fidelity: yield* Effect.fromResult(SearchCommand.parseFidelity(option("fidelity", "3:0.5,10"))),
    workers: Number(option("workers", String(os.availableParallelism()))),
    retrainEpochs: epochs,
    // the search's best and the default architecture, each trained once per seed; the lower mean validation MAE wins
    ...(seeds.length > 0 ? { selection: { seeds, finalists: 1, epochs } } : {})
  })
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, "search.json"), JSON.stringify(result, null, 2) + "\n")
  fs.writeFileSync(path.join(out, "report.html"), SearchReport.html(result))

  console.log(`\n${result.generations.length} generations, ${result.evaluations} evaluations, ${result.cache_hits} cache hits, ` +
    `${Math.round(result.seconds)} s, ${(result.cpu_seconds / 60).toFixed(1)} CPU-minutes`)
  // with --seeds the winner is the selection's choice, else the search's best
  const winner = result.selection !== undefined ? result.selection.finalists[result.selection.chosen].architecture : result.best.architecture
  console.log(`winner: ${SearchReport.describeArchitecture(winner)}`)
  const retrain = result.retrain!
  type Row = { readonly acc2_non0: number; readonly mae: number; readonly corr: number }
  const row = (label: string, m: object) => {
    const r = m as Row
    return `${label.padEnd(16)}${r.acc2_non0.toFixed(3).padStart(10)}${r.mae.toFixed(3).padStart(8)}${r.corr.toFixed(3).padStart(8)}`
  }
  console.log(`\nretrained for up to ${retrain.epochs} epochs (seed ${result.seed})${retrain.same ? ": the winner is the default architecture" : ""}`)
  console.log(`${"".padEnd(16)}${"Acc-2 non0".padStart(10)}${"MAE".padStart(8)}${"Corr".padStart(8)}`)
  console.log(row("winner valid", retrain.winner.valid))
  console.log(row("default valid", retrain.default.valid))
  console.log(row("winner test", retrain.winner.test))
  console.log(row("default test", retrain.default.test))
  console.log(`\nreport: ${path.join(out, "report.html")}, results: ${path.join(out, "search.json")}`)

  if (result.selection !== undefined) {
    const sel = result.selection
    console.log(`\nmean of seeds ${sel.seeds.join(", ")} (up to ${sel.epochs} epochs each); the winner (*) has the lower validation MAE`)
    console.log(`${"".padEnd(16)}${"valid MAE".padStart(10)}${"Acc-2 non0".padStart(11)}${"MAE".padStart(8)}${"Corr".padStart(8)}  (test)`)
    sel.finalists.forEach((f, i) => {
      const name = `${i === sel.chosen ? "* " : "  "}${f.default ? "default" : "searched"}`
      if (f.mean === undefined) return console.log(`${name.padEnd(16)} out: ${f.failed}`)
      const t = f.mean.test as Row
      console.log(`${name.padEnd(16)}${f.mean.valid_objective.toFixed(3).padStart(10)}${t.acc2_non0.toFixed(3).padStart(11)}${t.mae.toFixed(3).padStart(8)}${t.corr.toFixed(3).padStart(8)}`)
    })
  }
})

Effect.runPromise(program.pipe(Effect.provide(Environment.make("wasm")))).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
