/**
 * How well a search's cheap fidelity levels predict full fidelity, on the architectures the search
 * actually visited. Reads a finished `haemsa search --checkpoint DIR`, takes every distinct
 * architecture its generations evaluated, and trains each one twice, on one wasm thread, exactly as
 * the search's fitness trains it (`SearchEvaluator.fitness`: the search's seed, its genome decoded on
 * the same data): at the first fidelity level (the search's own first-level fitness, checked against
 * the checkpoint's cache), and for `--epochs` epochs (default 20, early stopping) on all the train
 * split, its validation objective recorded after every epoch. A training's first k epochs do not
 * depend on how many it will have, so the full training also gives every "k epochs on all the data"
 * level. Prints, for each candidate level, Spearman's rank correlation with the full-fidelity fitness,
 * how many of the 5 best architectures its best third holds, and the best architectures with their
 * rank at the search's first level and whether the search promoted them.
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/fidelity-study.ts DIR [--data synthetic]
 *       [--epochs 20] [--levels E:F,...] [--processes N] [--out FILE.jsonl] [--json FILE]
 *
 * `--levels 6:0.25,3:0.5` also trains every architecture at those candidate levels (`EPOCHS:FRACTION`,
 * as `haemsa search --fidelity` takes them; a fraction below 1 is the search's seeded subset of the
 * train split) and adds them to the table, so a cheaper first level can be judged before a search
 * uses it. Their trainings go to `OUT` with `-levels` before `.jsonl`, one line per architecture and
 * level, and are reused by a rerun.
 *
 * Trainings run in `--processes` child processes (default: the cores), one thread each, and append
 * one line per architecture to `--out` (default `DIR/fidelity-study.jsonl`): a rerun skips the
 * architectures already there. Long: every architecture is trained to full fidelity (about 20
 * minutes for a 5-generation search of the default synthetic data on 2 cores).
 */
import { DatasetLoader, Metrics } from "@haemsa/datasets"
import { Checkpoint, type Fidelity, SearchState } from "@haemsa/evo-search"
import { Backend, DataInfo, Environment, Network, Progress, SearchCommand, SearchEvaluator, SearchReport, Train } from "@haemsa/haemsa-model"
import { Effect, Option, Result } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { argOption, machine, ROOT, runtime } from "../Harness"

/** One architecture the search evaluated: its genome and the checkpoint's fitness at each level. */
interface Candidate {
  readonly key: string
  readonly genome: ReadonlyArray<number>
  /** The checkpoint's cached fitness at each level (undefined: not evaluated there). */
  readonly levels: ReadonlyArray<number | undefined>
}

/** One training: the validation objective after each epoch, the best, and the seconds it took. */
interface Run {
  readonly history: ReadonlyArray<number>
  readonly best: number
  readonly seconds: number
}

/** The two trainings of one architecture (a line of the output file). */
interface Trained {
  readonly key: string
  readonly first: Run
  readonly full: Run
}

/** A training at a candidate level of `--levels` (a line of the levels file). */
interface LevelRun extends Run {
  readonly key: string
  /** `EPOCHS:FRACTION`. */
  readonly level: string
}

const dir = process.argv[2]
if (dir === undefined || dir.startsWith("--")) {
  console.error("usage: fidelity-study.ts CHECKPOINT_DIR [--data D] [--epochs E] [--processes N] [--out FILE] [--json FILE]")
  process.exit(2)
}
const data = argOption("data", "synthetic")
const fullEpochs = Number(argOption("epochs", String(SearchEvaluator.DEFAULT_EPOCHS)))
const out = argOption("out", path.join(dir, "fidelity-study.jsonl"))
const shard = argOption("shard", "")
const levelsOut = out.replace(/(\.jsonl)?$/, "-levels.jsonl")
const levelsFlag = argOption("levels", "")
const extraLevels: ReadonlyArray<Fidelity.FidelityLevel> = levelsFlag === ""
  ? []
  : Result.getOrElse(SearchCommand.parseFidelity(levelsFlag), (error) => {
    console.error(error.reason.replace(/^--fidelity/, "--levels"))
    return process.exit(2)
  })
const levelName = (level: Fidelity.FidelityLevel): string => `${level.epochs}:${level.fraction ?? 1}`
/** The key of an architecture's training at a candidate level (`EPOCHS:FRACTION` and the architecture's key). */
const levelKey = (level: string, key: string): string => `${level} ${key}`

const checkpoint = await Effect.runPromise(Checkpoint.read(Checkpoint.file(dir)))
if (Option.isNone(checkpoint)) {
  console.error(`no search checkpoint in ${dir} (run haemsa search --checkpoint ${dir} first)`)
  process.exit(2)
}
const { config, state } = checkpoint.value
const options: SearchEvaluator.EvaluatorOptions = { source: data, seed: config.seed }
const loaded = await Effect.runPromise(SearchEvaluator.loadSearchData(options).pipe(Effect.provide(DatasetLoader.DatasetLoader.layer)))
const space = SearchEvaluator.makeSpace(DataInfo.availableModalities(loaded.tokens.info))
if (config.strategy.dimension !== space.genes) {
  console.error(
    `${Checkpoint.file(dir)}: its genomes have ${config.strategy.dimension} genes, the search space on ${data} has ${space.genes} ` +
      `(a search that chooses the text features is not supported here)`
  )
  process.exit(2)
}
const levels = config.fidelity.levels

// every distinct architecture of the finished generations, in the order the search met them
const candidates: Candidate[] = []
const seen = new Set<string>()
for (const record of state.history) {
  for (const individual of record.population) {
    const key = space.key(individual.genome)
    if (seen.has(key)) continue
    seen.add(key)
    candidates.push({ key, genome: individual.genome, levels: levels.map((_, l) => state.cache[SearchState.cacheKey(l, key)]) })
  }
}

/** The lines of a JSON Lines file written so far (none when it is missing), by `keyOf`. */
const readLines = <T>(file: string, keyOf: (line: T) => string): Map<string, T> => {
  const done = new Map<string, T>()
  if (!fs.existsSync(file)) return done
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue
    const t = JSON.parse(line) as T
    done.set(keyOf(t), t)
  }
  return done
}

/** The architectures trained so far, by key. */
const readDone = (): Map<string, Trained> => readLines<Trained>(out, (t) => t.key)

/** The candidate-level trainings done, by {@link levelKey}. */
const readLevelsDone = (): Map<string, LevelRun> => readLines<LevelRun>(levelsOut, (t) => levelKey(t.level, t.key))

if (shard !== "") {
  // a child: train its share of the candidates not done yet, one thread
  const [k, n] = shard.split("/").map(Number)
  const wasm = await import("@tensorflow/tfjs-backend-wasm")
  wasm.setThreadsCount(1)
  await Backend.setup("wasm")
  const done = readDone()
  const levelsDone = readLevelsDone()
  // trained as SearchEvaluator.fitness trains a candidate, with the validation objective of every epoch kept
  const train = (genome: ReadonlyArray<number>, fidelity: Fidelity.FidelityLevel): Promise<Run> =>
    Effect.runPromise(
      Effect.gen(function*() {
        const result = yield* Train.train(space.decode(genome), loaded.tokens.dataset, loaded.tokens.info, SearchEvaluator.trainOptions({ level: 0, ...fidelity }, options))
        Network.dispose(result.net)
        return { history: result.history.map((e) => e.objective), best: result.bestObjective, seconds: result.seconds }
      }).pipe(Effect.provide(Progress.Progress.layerSilent), Effect.provide(Environment.parts))
    )
  for (let i = k; i < candidates.length; i += n) {
    const c = candidates[i]
    for (const level of extraLevels) {
      if (levelsDone.has(levelKey(levelName(level), c.key))) continue
      const run = await train(c.genome, level)
      fs.appendFileSync(levelsOut, JSON.stringify({ key: c.key, level: levelName(level), ...run } satisfies LevelRun) + "\n")
      console.log(`[${i + 1}/${candidates.length}] level ${levelName(level)} ${run.best.toFixed(4)} (${run.seconds.toFixed(1)} s)`)
    }
    if (done.has(c.key)) continue
    const first = await train(c.genome, levels[0])
    const full = await train(c.genome, { epochs: fullEpochs })
    fs.appendFileSync(out, JSON.stringify({ key: c.key, first, full } satisfies Trained) + "\n")
    console.log(`[${i + 1}/${candidates.length}] first level ${first.best.toFixed(4)}, ${fullEpochs} epochs ${full.best.toFixed(4)} (${full.seconds.toFixed(0)} s)`)
  }
  process.exit(0)
}

// the parent: the children, then the analysis
const processes = Number(argOption("processes", String(machine().cores)))
console.log(`machine: ${JSON.stringify(machine())}, ${runtime()}`)
console.log(`${candidates.length} architectures in ${Checkpoint.file(dir)} (seed ${config.seed}, levels ${levels.map((l) => `${l.epochs}:${l.fraction ?? 1}`).join(", ")}); ` +
  `${readDone().size} already trained in ${out}`)
const self = path.relative(ROOT, new URL(import.meta.url).pathname)
const tsx = path.join(ROOT, "node_modules/.bin/tsx")
const passOn = ["--data", data, "--epochs", String(fullEpochs), "--out", out, "--levels", levelsFlag]
await Promise.all(Array.from({ length: processes }, (_, k) =>
  new Promise<void>((resolve, reject) => {
    const child = spawn(tsx, ["--conditions=source", self, dir, ...passOn, "--shard", `${k}/${processes}`], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] })
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`a study process exited with ${code}`))))
  })))

const done = readDone()
const levelsDone = readLevelsDone()
const rows = candidates
  .filter((c) => done.has(c.key) && extraLevels.every((level) => levelsDone.has(levelKey(levelName(level), c.key))))
  .map((c) => ({ ...c, trained: done.get(c.key)!, extra: extraLevels.map((level) => levelsDone.get(levelKey(levelName(level), c.key))!) }))

/** Ranks (1 = lowest), ties sharing their mean rank. */
const ranks = (xs: ReadonlyArray<number>): number[] => {
  const order = xs.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0])
  const r = new Array<number>(xs.length)
  for (let i = 0; i < order.length;) {
    let j = i
    while (j + 1 < order.length && order[j + 1][0] === order[i][0]) j++
    for (let t = i; t <= j; t++) r[order[t][1]] = (i + j) / 2 + 1
    i = j + 1
  }
  return r
}
const spearman = (x: ReadonlyArray<number>, y: ReadonlyArray<number>): number => Metrics.pearson(ranks(x), ranks(y))

// the first level as the search scored it: it must equal the checkpoint's fitness
const mismatched = rows.filter((r) => r.levels[0] !== undefined && r.levels[0] !== r.trained.first.best)
console.log(`first level trained again: ${rows.length - mismatched.length} of ${rows.length} equal the checkpoint's fitness` +
  (mismatched.length > 0 ? ` (differ: ${mismatched.map((r) => `${r.levels[0]} vs ${r.trained.first.best}`).join("; ")})` : ""))

const truth = rows.map((r) => r.trained.full.best)
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const bestOf = (history: ReadonlyArray<number>, k: number) => Math.min(...history.slice(0, k))
const proxies: Array<{ readonly name: string; readonly values: ReadonlyArray<number> }> = [
  { name: `first level (${levels[0].epochs} epochs on ${levels[0].fraction ?? 1} of the data)`, values: rows.map((r) => r.trained.first.best) },
  ...extraLevels.map((level, l) => ({
    name: `${level.epochs} epochs on ${level.fraction ?? 1} of the data (${mean(rows.map((r) => r.extra[l].seconds)).toFixed(1)} s each on average)`,
    values: rows.map((r) => r.extra[l].best)
  })),
  ...[1, 2, 3, 6].map((k) => ({ name: `${k} epoch${k > 1 ? "s" : ""} on all the data`, values: rows.map((r) => bestOf(r.trained.full.history, k)) }))
]
const third = Math.ceil(rows.length / 3)
const top5 = new Set(ranks(truth).map((rank, i) => [rank, i] as const).filter(([rank]) => rank <= 5).map(([, i]) => i))
const summary = proxies.map((p) => {
  const r = ranks(p.values)
  const kept = r.map((rank, i) => [rank, i] as const).filter(([rank]) => rank <= third).map(([, i]) => i)
  return {
    proxy: p.name,
    spearman: spearman(p.values, truth),
    top5_in_best_third: kept.filter((i) => top5.has(i)).length,
    best_full_in_best_third: Math.min(...kept.map((i) => truth[i])),
    rank_of_best: r[truth.indexOf(Math.min(...truth))]
  }
})
console.log(`\n${rows.length} architectures; full fidelity = best validation objective in ${fullEpochs} epochs on all the data (early stopping)`)
console.log(`| level | Spearman with full fidelity | of the 5 best, in its best third (${third}) | best full-fidelity fitness in its best third | rank of the best architecture |`)
console.log("| --- | --- | --- | --- | --- |")
for (const s of summary) {
  console.log(`| ${s.proxy} | ${s.spearman.toFixed(2)} | ${s.top5_in_best_third} | ${s.best_full_in_best_third.toFixed(4)} | ${s.rank_of_best} of ${rows.length} |`)
}
const firstRank = ranks(rows.map((r) => r.trained.first.best))
const order = truth.map((t, i) => [t, i] as const).sort((a, b) => a[0] - b[0]).map(([, i]) => i)
console.log(`\nthe 8 best at full fidelity | first-level rank | reached level (of ${levels.length}) | architecture`)
for (const i of order.slice(0, 8)) {
  const r = rows[i]
  const reached = r.levels.reduce((top, f, l) => (f !== undefined ? l + 1 : top), 0)
  console.log(`${truth[i].toFixed(4)} | ${firstRank[i]} | ${reached} | ${SearchReport.describeArchitecture(space.decode(r.genome))}`)
}
const jsonFile = argOption("json", "")
if (jsonFile !== "") fs.writeFileSync(jsonFile, JSON.stringify({ architectures: rows.length, epochs: fullEpochs, levels, proxies: summary, machine: machine(), date: new Date().toISOString() }, null, 2) + "\n")
