import { DatasetLoader } from "@haemsa/datasets"
import { Checkpoint, SearchState, Strategy } from "@haemsa/evo-search"
import { Effect, Layer, Option, Result } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { UsageError } from "../src/cli/Args"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import { Backend } from "../src/backends/Backend"
import * as Genome from "../src/search/Genome"
import * as Environment from "../src/Environment"
import { Progress } from "../src/cli/Progress"
import * as SearchCommand from "../src/search/SearchCommand"
import * as SearchReport from "../src/search/SearchReport"
import * as Selection from "../src/search/Selection"
import { cli, MMSA } from "./Support"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-search-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const SUBSETS = ["t", "a", "v", "t+a", "t+v", "a+v", "t+a+v"]
const LOAD = { synthetic: { seed: 2, sizes: { train: 32, valid: 12, test: 12 }, steps: 5, dims: { text: 10, audio: 3, vision: 4 } } }

const services = (lines: string[]) =>
  Layer.mergeAll(Environment.parts, DatasetLoader.DatasetLoader.layer, Backend.layerTest, Progress.layerCollect(lines))

const runJob = (options: SearchCommand.SearchJobOptions, lines: string[] = []) =>
  Effect.runPromise(SearchCommand.searchJob(options).pipe(Effect.provide(services(lines))))

describe("parseFidelity", () => {
  const levels = (value: string) => Result.getOrThrow(SearchCommand.parseFidelity(value))

  it("reads presets and EPOCHS[:FRACTION] lists", () => {
    expect(levels("low")).toEqual([{ epochs: 2, fraction: 0.25 }, { epochs: 4, fraction: 0.5 }])
    expect(levels("medium")).toEqual([{ epochs: 2, fraction: 0.25 }, { epochs: 6 }])
    expect(levels("full")).toEqual([{ epochs: 20 }])
    expect(levels("2:0.25,6:1")).toEqual([{ epochs: 2, fraction: 0.25 }, { epochs: 6 }])
    expect(levels("3")).toEqual([{ epochs: 3 }])
  })

  it("rejects bad levels with a UsageError naming the part", () => {
    const failure = (value: string) => Result.match(SearchCommand.parseFidelity(value), { onSuccess: () => undefined, onFailure: (e) => e })
    for (const bad of ["", "0", "2:0", "2:1.5", "x:0.5", "1.5", "2:0.5:1", "2,,3", "high"]) {
      expect(failure(bad), bad).toBeInstanceOf(UsageError)
    }
    expect(failure("2:0.25,6:2")?.message).toMatch(/bad level '6:2'/)
  })
})

describe("the first generation", () => {
  it("is the unseeded strategy's random one with the default architecture in front (same rng draws)", () => {
    const config = { dimension: Genome.GENE_COUNT, populationSize: 5, ...SearchCommand.OPERATORS }
    const plain = Result.getOrThrow(Strategy.make(config))
    const seed = Genome.encode(ArchitectureSpec.defaultSpec)
    const seeded = Result.getOrThrow(Strategy.make({ ...config, initialPopulation: [seed] }))
    const random = plain.ask(plain.init(7))
    const asked = seeded.ask(seeded.init(7))
    expect(asked.genomes).toEqual([seed, ...random.genomes.slice(1)])
    expect(asked.state.rng).toBe(random.state.rng)
  })
})

describe("searchJob", () => {
  const options: SearchCommand.SearchJobOptions = {
    source: "synthetic",
    loadOptions: LOAD,
    population: 4,
    generations: 2,
    seed: 11,
    checkpointDir: path.join(tmp, "job"),
    fidelity: [{ epochs: 1, fraction: 0.5 }, { epochs: 2 }],
    eta: 2,
    workers: 0,
    retrainEpochs: 1
  }

  it("runs a tiny search in process and reports generations, the best architecture, the cost and the retraining", async () => {
    const lines: string[] = []
    const output = await runJob(options, lines)

    expect(output.generations).toHaveLength(2)
    for (const g of output.generations) {
      expect(Object.values(g.modalities).reduce((a, b) => a + b, 0)).toBe(4)
      for (const name of Object.keys(g.modalities)) expect(SUBSETS).toContain(name)
      expect(g.best).toBeLessThanOrEqual(g.mean)
    }
    expect(output.generations[1].best).toBeLessThanOrEqual(output.generations[0].best)
    expect(output.best.genome).toHaveLength(Genome.GENE_COUNT)
    expect(ArchitectureSpec.decode(output.best.architecture)).toEqual(Genome.decode(output.best.genome))
    expect(output.best.fitness).toBe(output.generations[1].best)
    expect(output.evaluations).toBe(output.generations.reduce((a, g) => a + g.evaluations, 0))
    expect(output.evaluations + output.cache_hits).toBeGreaterThanOrEqual(4 + 3)
    expect(output.cpu_seconds).toBeGreaterThan(0)
    expect(output.stopped).toBe("generations")
    expect(output.retrain?.epochs).toBe(1)
    expect(output.retrain?.winner.architecture).toEqual(output.best.architecture)
    expect(output.retrain?.default.architecture).toEqual(ArchitectureSpec.defaultSpec)
    expect(output.retrain?.winner.valid).toHaveProperty("mae")
    expect(JSON.parse(JSON.stringify(output))).toMatchObject({ generations: expect.any(Array), best: expect.any(Object), seconds: expect.any(Number) })
    expect(lines.filter((l) => /^generation \d\/2 {2}best [\d.]+ {2}mean [\d.]+ {2}evaluations \d+ {2}cache hits \d+/.test(l))).toHaveLength(2)

    // the default architecture was in the first generation: its level-0 fitness is cached
    const saved = await Effect.runPromise(Checkpoint.read(Checkpoint.file(options.checkpointDir)))
    const cache = Option.getOrThrow(saved).state.cache
    expect(Object.hasOwn(cache, SearchState.cacheKey(0, Genome.canonicalKey(ArchitectureSpec.defaultSpec)))).toBe(true)

    // the search's first candidate is the default architecture, and the reported modality subsets are
    // those of the populations it evaluated (each individual's fitness is the cached one at its level)
    const history = Option.getOrThrow(saved).state.history
    expect(history).toHaveLength(2)
    expect(history[0].elites).toBe(0)
    expect(history[0].population[0].genome).toEqual(Genome.encode(ArchitectureSpec.defaultSpec))
    history.forEach((g, i) => {
      const counts: Record<string, number> = {}
      for (const individual of g.population) {
        const architecture = Genome.decode(individual.genome)
        const name = SearchReport.subsetName(architecture.modalities)
        counts[name] = (counts[name] ?? 0) + 1
        expect(cache[SearchState.cacheKey(individual.level, Genome.canonicalKey(architecture))]).toBe(individual.fitness)
      }
      expect(output.generations[i].modalities).toEqual(counts)
    })

    // rerunning the same search resumes: nothing is trained again, the result is the same
    const again: string[] = []
    const resumed = await runJob({ ...options, retrainEpochs: undefined }, again)
    expect(again[0]).toMatch(/^resuming .*checkpoint\.json: 2 generations done/)
    expect(again.some((l) => l.includes("trainings finished in this run"))).toBe(false)
    expect(resumed.generations).toEqual(output.generations)
    expect(resumed.best).toEqual(output.best)
    expect(resumed.retrain).toBeUndefined()
    // the CPU time adds up over the runs, kept in cost.json (no temp file left beside it)
    expect(resumed.cpu_seconds).toBeGreaterThan(output.cpu_seconds)
    const cost = JSON.parse(fs.readFileSync(path.join(options.checkpointDir, SearchCommand.COST_FILE), "utf8"))
    expect(cost.cpu_seconds).toBeCloseTo(resumed.cpu_seconds, 2)
    expect(fs.readdirSync(options.checkpointDir).filter((f) => f.endsWith(".tmp"))).toEqual([])
  })

  it("on two worker threads (continued trainings, idle workers starting what comes next) gives the result of a search in process", async () => {
    const halving = { ...options, population: 6, fidelity: [{ epochs: 1, fraction: 0.5 }, { epochs: 1 }, { epochs: 2 }], eta: 3, retrainEpochs: undefined }
    const local = await runJob({ ...halving, checkpointDir: path.join(tmp, "halving-local") })
    const pooled = await runJob({ ...halving, checkpointDir: path.join(tmp, "halving-pool"), workers: 2, backend: "cpu" })
    expect(pooled.generations).toEqual(local.generations)
    expect(pooled.best).toEqual(local.best)
    expect([pooled.evaluations, pooled.cache_hits]).toEqual([local.evaluations, local.cache_hits])
    // both continue the top level from the level below; only the pool speculates
    expect(local.fidelity_cost.continued_epoch_equivalents).toBeGreaterThan(0)
    expect(pooled.fidelity_cost).toEqual(local.fidelity_cost)
    expect(local.speculation).toBeUndefined()
    expect(pooled.speculation!.started).toBeGreaterThan(0)
    expect(pooled.speculation!.used).toBeLessThanOrEqual(pooled.speculation!.started)
  })

  it("with a selection, trains the best distinct architectures and the default once per seed and chooses the lowest mean validation objective", async () => {
    const lines: string[] = []
    // the finished search of the first test: it resumes, trains nothing again, and only the selection runs
    const selected = { ...options, selection: { seeds: [1, 2], finalists: 2, epochs: 2 }, retrainEpochs: 2 }
    const output = await runJob(selected, lines)
    expect(lines[0]).toMatch(/^resuming .*checkpoint\.json: 2 generations done/)
    expect(lines.some((l) => l.includes("trainings finished in this run"))).toBe(false)
    const sel = output.selection!
    expect(sel.seeds).toEqual([1, 2])
    expect(sel.epochs).toBe(2)
    // the search's two best distinct architectures, then the default one unless it is among them
    const ranked = sel.finalists.filter((f) => f.search !== undefined)
    expect(ranked.map((f) => f.search!.rank)).toEqual([1, 2])
    expect(ranked[0].architecture).toEqual(output.best.architecture)
    expect(ranked[0].search!.fitness).toBe(output.best.fitness)
    expect(Genome.canonicalKey(ranked[0].architecture)).not.toBe(Genome.canonicalKey(ranked[1].architecture))
    expect(sel.finalists.filter((f) => f.default)).toHaveLength(1)
    expect(sel.finalists).toHaveLength(ranked.some((f) => f.default) ? 2 : 3)
    const reference = sel.finalists.find((f) => f.default)!
    expect(Genome.canonicalKey(reference.architecture)).toBe(Genome.canonicalKey(ArchitectureSpec.defaultSpec))
    // (no training failed here)
    const trained = (f: Selection.Finalist) => f.runs.map((r) => (Selection.isFailed(r) ? expect.unreachable(r.failed) : r))
    for (const f of sel.finalists) {
      const [one, two] = trained(f)
      expect([one.seed, two.seed]).toEqual([1, 2])
      expect(f.mean!.valid_objective).toBeCloseTo((one.valid_objective + two.valid_objective) / 2, 12)
      expect(f.std!.valid_objective).toBeCloseTo(Math.abs(one.valid_objective - two.valid_objective) / Math.SQRT2, 12)
      // each seed trains its own model: the seed reaches the training
      expect(one.valid_objective).not.toBe(two.valid_objective)
    }
    const means = sel.finalists.map((f) => f.mean!.valid_objective)
    expect(sel.chosen).toBe(means.indexOf(Math.min(...means)))
    // the retraining is the chosen finalist's (with the search's seed)
    expect(output.retrain!.winner.architecture).toEqual(sel.finalists[sel.chosen].architecture)
    expect(output.retrain!.same).toBe(sel.finalists[sel.chosen].default)
    expect(lines.some((l) => /^selection: [23] finalists.*[46] trainings of up to 2 epochs \(seeds 1,2\)/.test(l))).toBe(true)

    // the finished trainings are kept in the folder: rerun, the selection trains nothing and gives the same result
    const kept = JSON.parse(fs.readFileSync(path.join(options.checkpointDir, Selection.FILE), "utf8"))
    expect(Object.keys(kept.runs)).toHaveLength(sel.finalists.length * 2)
    const rerun: string[] = []
    const again = await runJob({ ...selected, retrainEpochs: undefined }, rerun)
    expect(again.selection).toEqual(sel)
    expect(rerun.some((l) => l.includes(`${sel.finalists.length * 2} of them done before`))).toBe(true)
    expect(rerun.some((l) => l.includes("trainings finished"))).toBe(false)
    // a selection file that is not one is a CheckpointError naming it, not silently trained over
    fs.writeFileSync(path.join(options.checkpointDir, Selection.FILE), "{ not json")
    const error = await Effect.runPromise(Effect.flip(SearchCommand.searchJob({ ...selected, retrainEpochs: undefined })).pipe(Effect.provide(services([]))))
    expect(error._tag).toBe("CheckpointError")
    expect(error.message).toContain(path.join(options.checkpointDir, Selection.FILE))
    expect(error.message).toMatch(/remove the file to train them again/)
    fs.rmSync(path.join(options.checkpointDir, Selection.FILE))

    // a finalist's run with a seed is that seed's training, whatever else ran beside it: the same as a search of that seed retraining it
    const alone = await runJob({ ...options, seed: 2, checkpointDir: path.join(tmp, "selection-seed-2"), generations: 1, population: 3, retrainEpochs: 2 })
    const withSeed2 = trained(sel.finalists.find((f) => f.default)!)[1]
    expect(alone.retrain!.default.valid_objective).toBe(withSeed2.valid_objective)
    expect(alone.retrain!.default.test).toEqual(withSeed2.test)
  })

  it("refuses a checkpoint written by another configuration", async () => {
    const error = await Effect.runPromise(
      Effect.flip(SearchCommand.searchJob({ ...options, seed: 12, retrainEpochs: undefined })).pipe(Effect.provide(services([])))
    )
    expect(error.message).toMatch(/another configuration/)
  })
})

describe("haemsa search", () => {
  it("runs, prints the winner, and writes the JSON and the SVG report", async () => {
    const json = path.join(tmp, "cli", "search.json")
    const report = path.join(tmp, "cli", "search.svg")
    const { code, out } = await cli(
      "search", "--data", MMSA, "--workers", "0", "--population", "3", "--generations", "1", "--fidelity", "1",
      "--checkpoint", path.join(tmp, "cli", "ckpt"), "--json", json, "--report", report, "--backend", "cpu"
    )
    expect(code).toBe(0)
    expect(out.join("\n")).toMatch(/best architecture: /)
    const written = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(Object.keys(written)).toEqual(expect.arrayContaining(["generations", "best", "evaluations", "cache_hits", "seconds"]))
    expect(Object.keys(written.generations[0])).toEqual(expect.arrayContaining(["best", "mean", "evaluations"]))
    expect(Object.keys(written.best)).toEqual(expect.arrayContaining(["genome", "architecture", "fitness"]))
    expect(fs.readFileSync(report, "utf8")).toMatch(/^<svg[\s\S]*id="series-best"[\s\S]*<\/svg>$/)
  })

  it("--select-seeds prints the finalists and the winner chosen on validation, and writes them in the JSON", async () => {
    const json = path.join(tmp, "cli-select", "search.json")
    const { code, out } = await cli(
      "search", "--data", MMSA, "--workers", "0", "--population", "3", "--generations", "1", "--fidelity", "1",
      "--select-seeds", "3,4", "--finalists", "1", "--retrain-epochs", "1",
      "--checkpoint", path.join(tmp, "cli-select", "ckpt"), "--json", json, "--backend", "cpu"
    )
    expect(code).toBe(0)
    const text = out.join("\n")
    expect(text).toMatch(/selection over seeds 3,4 \(up to 1 epochs each; chosen on the mean validation objective, test not looked at\):/)
    expect(text).toMatch(/^ {2}\* \d\. \((search rank \d, fitness [\d.]+ at level \d|not among the search's best)(, the default architecture)?\) valid objective [\d.]+ ± [\d.]+ \| valid MAE [\d.]+ ± [\d.]+, Acc-7 [\d.]+ ± [\d.]+, Corr [-\d.n/a]+ ± [-\d.n/a]+ \| test MAE [\d.]+ ± [\d.]+/m)
    expect(text).toMatch(/winner: finalist \d/)
    const written = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(written.selection.seeds).toEqual([3, 4])
    expect(written.selection.finalists[0].search.rank).toBe(1)
    expect(written.selection.finalists[written.selection.chosen].runs).toHaveLength(2)
    // the folder now holds the selection's file too: the same command resumes and prints the same choice
    const again = await cli(
      "search", "--data", MMSA, "--workers", "0", "--population", "3", "--generations", "1", "--fidelity", "1",
      "--select-seeds", "3,4", "--finalists", "1", "--retrain-epochs", "1",
      "--checkpoint", path.join(tmp, "cli-select", "ckpt"), "--backend", "cpu"
    )
    expect(again.code).toBe(0)
    expect(again.out.join("\n")).toMatch(/winner: finalist \d/)
    expect(again.out.join("\n").split("\n").filter((l) => /valid objective/.test(l))).toEqual(text.split("\n").filter((l) => /valid objective/.test(l)))
  })

  it("bad usage exits with code 2 and says what is wrong", async () => {
    // a new folder: tmp itself holds other folders, which --checkpoint refuses
    const usage = path.join(tmp, "usage")
    const cases: Array<[string[], RegExp]> = [
      [["search", "--data", MMSA], /needs --checkpoint DIR/],
      [["search", "--checkpoint", usage, "--fidelity", "2:3"], /--fidelity: bad level/],
      [["search", "--checkpoint", usage, "--report", "out.png"], /--report must name a \.svg or \.html file/],
      [["search", "--checkpoint", usage, "--population", "2"], /--population must be >= 3 \(got 2\)/],
      [["search", "--checkpoint", usage, "--bogus"], /unknown option --bogus/],
      [["search", "--checkpoint", usage, "--finalists", "2"], /--finalists K goes with --select-seeds/],
      [["search", "--checkpoint", usage, "--select-seeds", "1,1"], /--select-seeds names seed 1 twice/],
      [["search", "--checkpoint", usage, "--select-seeds", "1,x"], /--select-seeds must be comma-separated integers/],
      [["search", "--checkpoint", usage, "--select-seeds", "1", "--finalists", "0"], /--finalists must be >= 1/]
    ]
    for (const [argv, message] of cases) {
      const { code, stderr } = await cli(...argv, "--backend", "cpu")
      expect(code).toBe(2)
      expect(stderr).toMatch(message)
    }
  })
})
