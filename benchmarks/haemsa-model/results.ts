/**
 * The accuracy results of docs/results.md: HAEMSA against the early- and late-fusion baselines (and,
 * on mosi-real, HAEMSA's own text-only variant and the ridge anchor), mean and spread over seeds, plus
 * the missing-modality table of HAEMSA. Writes docs/results.md and a JSON file with every run.
 * A rerun replaces only its generated blocks of docs/results.md (the header, and each data set's
 * targets and tables: `Harness.block`), so the hand-written text between and after them stays.
 *
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/results.ts [--seeds 1,2,3] [--epochs 30] [--datasets synthetic,mosi-real] [--backend wasm]
 */
import type { Dataset } from "@haemsa/datasets"
import { ArchitectureSpec, Environment, Evaluate, Experiment, Network, SeedStats } from "@haemsa/haemsa-model"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { argOption, block, machine, MOSI_REAL, replaceBlocks, ROOT } from "../Harness"

const seeds = argOption("seeds", "1,2,3").split(",").map(Number)
const epochs = Number(argOption("epochs", "30"))
const backend = argOption("backend", "wasm")
const datasets = argOption("datasets", "synthetic,mosi-real").split(",")
const out = argOption("json", path.join(ROOT, "docs/results.json"))

/** docs/results.md from this line on is hand-written: a rerun that writes the whole file keeps it. */
const NOTES_MARKER = "<!-- notes: hand-written below this line; results.ts keeps them -->"

const KEYS = ["acc2_has0", "acc2_non0", "f1_has0", "f1_non0", "acc5", "acc7", "mae", "corr"] as const
type Row = Record<(typeof KEYS)[number], number>

interface Variant {
  readonly name: string
  readonly spec: ArchitectureSpec.ArchitectureSpec
}

const variantsFor = (source: string): Variant[] => {
  const base: Variant[] = [
    { name: "HAEMSA", spec: ArchitectureSpec.defaultSpec },
    { name: "early fusion", spec: ArchitectureSpec.defaultFor("early-fusion") },
    { name: "late fusion", spec: ArchitectureSpec.defaultFor("late-fusion") }
  ]
  if (source === "mosi-real") base.splice(1, 0, { name: "HAEMSA text only", spec: { ...ArchitectureSpec.defaultSpec, modalities: ["text"] } })
  return base
}

const table = (rows: ReadonlyArray<{ name: string; runs: Row[] }>) => {
  const head = `| model | ${KEYS.join(" | ")} |\n| --- |${KEYS.map(() => " --- |").join("")}`
  const lines = rows.map(({ name, runs }) =>
    `| ${name} | ${KEYS.map((k) => {
      const { mean, std } = SeedStats.meanStd(runs.map((r) => r[k]))
      return runs.length > 1 ? `${mean.toFixed(3)} ± ${std.toFixed(3)}` : mean.toFixed(3)
    }).join(" | ")} |`
  )
  return [head, ...lines].join("\n")
}

const program = Effect.gen(function*() {
  const started = Date.now()
  const all: Record<string, unknown> = {}
  // the generated blocks, by name: "header", and "targets-NAME" and "tables-NAME" per data set
  const blocks: Record<string, string> = {}
  for (const name of datasets) {
    const targets: string[] = []
    const source = name === "mosi-real" ? MOSI_REAL : name
    const loaded = yield* Experiment.loadNormalized(source)
    const results: Array<{ name: string; runs: Row[]; valid: Row[] }> = []
    let missing: Array<{ modalities: ReadonlyArray<Dataset.Modality>; runs: Row[] }> = []
    for (const variant of variantsFor(name)) {
      const runs: Row[] = []
      const valid: Row[] = []
      for (const seed of seeds) {
        const { result, test, valid: v } = yield* Experiment.trainOn(variant.spec, loaded, { epochs, seed, label: `${name} ${variant.name} seed ${seed}` })
        runs.push(test as Row)
        valid.push(v as Row)
        if (variant.name === "HAEMSA") {
          const t = yield* Effect.promise(() => Evaluate.missingModalityTable(result.net, loaded.dataset.splits.test))
          if (missing.length === 0) missing = t.map((r) => ({ modalities: r.modalities, runs: [] }))
          t.forEach((r, i) => missing[i].runs.push(r.metrics as Row))
        }
        Network.dispose(result.net)
      }
      results.push({ name: variant.name, runs, valid })
    }
    all[name] = { results, missing }
    const mean = (variant: string, key: (typeof KEYS)[number]) => SeedStats.meanStd(results.find((r) => r.name === variant)!.runs.map((r) => r[key])).mean
    const verdict = (ok: boolean) => (ok ? "met" : "**not met**")
    if (name === "synthetic") {
      const ok = (k: "mae" | "acc7", better: (a: number, b: number) => boolean) =>
        better(mean("HAEMSA", k), mean("early fusion", k)) && better(mean("HAEMSA", k), mean("late fusion", k))
      targets.push(
        `- synthetic, HAEMSA beats both baselines on MAE (${mean("HAEMSA", "mae").toFixed(3)} vs ${mean("early fusion", "mae").toFixed(3)} / ${mean("late fusion", "mae").toFixed(3)}) ` +
          `and Acc-7 (${mean("HAEMSA", "acc7").toFixed(3)} vs ${mean("early fusion", "acc7").toFixed(3)} / ${mean("late fusion", "acc7").toFixed(3)}): ` +
          verdict(ok("mae", (a, b) => a < b) && ok("acc7", (a, b) => a > b))
      )
    }
    if (name === "mosi-real") {
      const [acc, mae, corr] = [mean("HAEMSA", "acc2_non0"), mean("HAEMSA", "mae"), mean("HAEMSA", "corr")]
      targets.push(
        `- mosi-real, HAEMSA beats the ridge anchor on Acc-2 non0 (${acc.toFixed(3)} vs 0.695), MAE (${mae.toFixed(3)} vs 1.158) and Corr (${corr.toFixed(3)} vs 0.531): ` +
          verdict(acc > 0.695 && mae < 1.158 && corr > 0.531)
      )
      const [tAcc, tMae, tCorr] = [mean("HAEMSA text only", "acc2_non0"), mean("HAEMSA text only", "mae"), mean("HAEMSA text only", "corr")]
      targets.push(
        `- mosi-real, HAEMSA (text + audio) no worse than its text-only variant: Acc-2 non0 ${acc.toFixed(3)} vs ${tAcc.toFixed(3)}, ` +
          `MAE ${mae.toFixed(3)} vs ${tMae.toFixed(3)}, Corr ${corr.toFixed(3)} vs ${tCorr.toFixed(3)}: ${verdict(acc >= tAcc && mae <= tMae && corr >= tCorr)}`
      )
    }
    const anchor = name === "mosi-real"
      ? "\n| ridge anchor (data README): text | 0.682 | 0.695 | - | 0.694 | - | 0.239 | 1.158 | 0.531 |\n"
      : ""
    blocks[`targets-${name}`] = targets.join("\n")
    blocks[`tables-${name}`] = `## ${name}: test split, mean ± std over seeds ${seeds.join(", ")}\n\n${table(results)}${anchor}\n\n` +
      `### ${name}: HAEMSA with modalities missing at test time (others masked)\n\n` +
      table(missing.map((r) => ({ name: r.modalities.join(" + "), runs: r.runs })))
  }
  const minutes = ((Date.now() - started) / 60000).toFixed(1)
  const mach = machine()
  blocks.header = `Measured by \`npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/results.ts --seeds ${seeds.join(",")} --epochs ${epochs}\`
on ${new Date().toISOString().slice(0, 10)}, ${mach.cores}x ${mach.cpu}, backend ${backend}, ${mach.node}; ${minutes} minutes in all.
Each run trains for at most ${epochs} epochs with early stopping on validation MAE (patience 6) and
reports the test split of the best validation epoch. Metrics are MMSA's (see docs/datasets.md).
The default architecture is \`ArchitectureSpec.defaultSpec\`; the baselines share its experts' settings.`
  const doc = `# Results

${block("header", blocks.header)}

## Targets (means over the seeds)

${datasets.map((name) => block(`targets-${name}`, blocks[`targets-${name}`])).join("\n")}

${datasets.map((name) => block(`tables-${name}`, blocks[`tables-${name}`])).join("\n\n")}
`
  // a rerun rewrites its blocks in place; without them the whole file is written, and the
  // hand-written notes after the marker survive
  const file = path.join(ROOT, "docs/results.md")
  const previous = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : ""
  const merged = replaceBlocks(previous, blocks)
  const at = previous.indexOf(NOTES_MARKER)
  fs.writeFileSync(file, merged ?? (at >= 0 ? `${doc}\n${previous.slice(at)}` : doc))
  // the JSON keeps the data sets this run did not train, as the page keeps their blocks
  const kept: Record<string, unknown> = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, "utf8")) : {}
  fs.writeFileSync(out, JSON.stringify({ ...kept, ...all }, null, 1))
  console.log(doc)
})

Effect.runPromise(program.pipe(Effect.provide(Environment.make(backend)))).catch((e) => {
  console.error(String(e))
  process.exitCode = 1
})
