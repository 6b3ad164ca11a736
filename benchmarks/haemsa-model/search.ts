/**
 * What an architecture search costs: runs `haemsa search` (the command a user runs, in a child
 * process, default `--data synthetic --population 8 --generations 5 --seed 1`, the default fidelity
 * and workers) and prints its wall time, CPU-minutes (the whole process: coordinator and worker
 * threads), evaluations, cache hits, epoch-equivalents (epochs x data fraction of the evaluations
 * run, as the search's JSON counts them, and how many of them promoted candidates continued from the
 * level below instead of training again) and CPU seconds per epoch-equivalent (per epoch-equivalent
 * trained: the levels' count less the continued ones), the evaluations idle workers started ahead of
 * the search and how many of them it used, with the winner's fitness. CPU seconds per epoch-equivalent is the figure that shows a slower training epoch; the
 * epoch-equivalents show a search that does more work.
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/search.ts [--population P] [--generations G]
 *       [--seed S] [--data D] [--record] [-- other haemsa search flags]
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { argFlag, argOption, fromSamples, machine, record, ROOT, runtime } from "../Harness"

const population = argOption("population", "8")
const generations = argOption("generations", "5")
const seed = argOption("seed", "1")
const data = argOption("data", "synthetic")
const dash = process.argv.indexOf("--")
const extra = dash >= 0 ? process.argv.slice(dash + 1) : []

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-search-bench-"))
const json = path.join(tmp, "search.json")
// a fresh checkpoint folder: the search starts from scratch (a resumed one would train nothing)
const args = [
  "--conditions=source",
  "packages/haemsa-model/src/bin.ts",
  "search",
  "--data", data,
  "--population", population,
  "--generations", generations,
  "--seed", seed,
  "--checkpoint", path.join(tmp, "checkpoint"),
  "--json", json,
  ...extra
]
const tsx = path.join(ROOT, "node_modules/.bin/tsx")
console.log(`machine: ${JSON.stringify(machine())}, ${runtime()}`)
console.log(`running: haemsa ${args.slice(2).join(" ")}`)

const started = performance.now()
const code = await new Promise<number>((resolve) => {
  const child = spawn(tsx, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] })
  child.on("exit", (c) => resolve(c ?? 1))
})
const wall = (performance.now() - started) / 1000
if (code !== 0) {
  console.error(`haemsa search exited with ${code}`)
  process.exit(code)
}
const out = JSON.parse(fs.readFileSync(json, "utf8")) as {
  readonly evaluations: number
  readonly cache_hits: number
  readonly seconds: number
  readonly cpu_seconds: number
  readonly workers: number
  readonly best: { readonly fitness: number; readonly level: number }
  readonly fidelity_cost: { readonly epoch_equivalents: number; readonly continued_epoch_equivalents: number; readonly architectures: number }
  readonly speculation?: { readonly started: number; readonly used: number }
}
fs.rmSync(tmp, { recursive: true, force: true })
const eq = out.fidelity_cost.epoch_equivalents
const continued = out.fidelity_cost.continued_epoch_equivalents
const trained = eq - continued
const minutes = (s: number) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`
console.log(
  `search: ${minutes(out.seconds)} wall (command ${minutes(wall)}), ${(out.cpu_seconds / 60).toFixed(1)} CPU-minutes, ${out.workers} workers; ` +
    `${out.evaluations} evaluations, ${out.cache_hits} cache hits, ${out.fidelity_cost.architectures} architectures, ${eq.toFixed(1)} epoch-equivalents ` +
    `(${continued.toFixed(1)} continued from the level below, ${trained.toFixed(1)} trained), ` +
    `${(out.cpu_seconds / trained).toFixed(2)} CPU s per epoch-equivalent trained` +
    (out.speculation !== undefined ? `; idle workers started ${out.speculation.started} evaluations ahead, ${out.speculation.used} used` : "") +
    `; best fitness ${out.best.fitness.toFixed(4)} (level ${out.best.level})`
)
if (argFlag("record")) {
  const m = fromSamples(`search ${data} P${population} G${generations} seed ${seed}`, [out.seconds], {
    figure: () => ({ value: out.cpu_seconds / trained, unit: "CPU s per epoch-equivalent trained" })
  })
  record("haemsa-model/search", "wasm", runtime(), [m], {
    note: `${out.evaluations} evaluations, ${out.cache_hits} cache hits, ${eq.toFixed(1)} epoch-equivalents (${continued.toFixed(1)} continued), ${(out.cpu_seconds / 60).toFixed(1)} CPU-minutes, best ${out.best.fitness.toFixed(4)}`
  })
}
