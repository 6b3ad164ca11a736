/**
 * A search across processes on a real Redis: a coordinator and two `haemsa worker` processes on
 * small synthetic data. One worker and then the coordinator are SIGKILLed mid-search; the restarted
 * coordinator resumes from its checkpoint and from the queue. The result equals the single-machine
 * search with the same seed and backend, no evaluation is counted twice, the selection over seeds and
 * the retraining run on the workers as they do on a local worker thread, and the queue's password
 * appears in no output.
 */
import { DatasetLoader } from "@haemsa/datasets"
import { Effect, Layer, Result } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Backend } from "../src/backends/Backend"
import { Progress } from "../src/cli/Progress"
import * as Environment from "../src/Environment"
import * as QueueEvaluator from "../src/search/queue/QueueEvaluator"
import * as QueueUrl from "../src/search/queue/QueueUrl"
import * as SearchCommand from "../src/search/SearchCommand"
import * as Redis from "./queue/Redis"

const PASSWORD = "pw-7c1e9f0a2b"
const LOAD = { synthetic: { seed: 2, sizes: { train: 32, valid: 12, test: 12 }, steps: 5, dims: { text: 10, audio: 3, vision: 4 } } }
const here = path.dirname(new URL(import.meta.url).pathname)
const root = path.resolve(here, "..")

if (!Redis.available) console.log(`QueueSearch.test.ts: ${Redis.SKIP_REASON}`)

interface Proc {
  readonly child: ChildProcess
  output: string
  readonly exited: Promise<number | null>
}

const tsx = (script: string, args: ReadonlyArray<string>): Proc => {
  const child = spawn(process.execPath, ["--import", "tsx", "--conditions=source", path.join(here, "queue", script), ...args], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"]
  })
  const proc: Proc = { child, output: "", exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) }
  child.stdout!.on("data", (c: Buffer) => (proc.output += c.toString()))
  child.stderr!.on("data", (c: Buffer) => (proc.output += c.toString()))
  return proc
}

const waitFor = async (proc: Proc, pattern: RegExp): Promise<void> => {
  while (!pattern.test(proc.output)) {
    if (proc.child.exitCode !== null) throw new Error(`exited before ${pattern}: ${proc.output}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const readAll = (dir: string): string =>
  fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name), "latin1"))
    .join("\n")

describe.skipIf(!Redis.available)("a search on the job queue", () => {
  let redis: Redis.Redis
  let tmp: string
  const procs: Proc[] = []
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-queue-"))
    redis = await Redis.start(PASSWORD)
  })
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL")
    await Promise.all(procs.map((p) => p.exited))
    await redis?.stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it("survives a killed worker and a killed coordinator, and equals the single-machine search", async () => {
    const options: SearchCommand.SearchJobOptions = {
      source: "synthetic",
      loadOptions: LOAD,
      population: 4,
      generations: 2,
      seed: 5,
      checkpointDir: path.join(tmp, "queue-search"),
      // (locally the last level continues the training of the one before; the queue's jobs train from the start)
      fidelity: [{ epochs: 1, fraction: 0.5 }, { epochs: 1 }, { epochs: 2 }],
      backend: "wasm"
    }
    // the single-machine search: one worker thread, wasm
    const services = Layer.mergeAll(Environment.parts, DatasetLoader.DatasetLoader.layer, Backend.layerTest, Progress.layerSilent)
    // after the search: the winner chosen among the search's best and the default architecture over
    // two seeds, then retrained
    const selection = { seeds: [3, 4], epochs: 1, finalists: 1 }
    const local = await Effect.runPromise(
      SearchCommand.searchJob({ ...options, checkpointDir: path.join(tmp, "local-search"), workers: 1, retrainEpochs: 1, selection }).pipe(Effect.provide(services))
    )

    const workerA = tsx("worker.ts", [redis.url, "2000"])
    const workerB = tsx("worker.ts", [redis.url, "2000"])
    procs.push(workerA, workerB)
    const out = path.join(tmp, "out.json")
    const coordinatorArgs = [JSON.stringify({ url: redis.url, out, options: { ...options, retrainEpochs: 1, selection } })]
    const first = tsx("coordinator.ts", coordinatorArgs)
    procs.push(first)
    // a worker dies as it trains a candidate: its job goes to the other worker once its lock expires
    await waitFor(workerA, /\(attempt 1\): candidate/)
    workerA.child.kill("SIGKILL")
    await workerA.exited
    // the job it held when killed (if it had not finished it) was trained by the other worker
    const held = [...workerA.output.matchAll(/job (\S+) \(attempt/g)].map((m) => m[1]).at(-1)!
    // the coordinator dies after the first generation was checkpointed
    await waitFor(first, /generation 1\/2 {2}best/)
    first.child.kill("SIGKILL")
    await first.exited
    expect(fs.existsSync(out)).toBe(false)

    const second = tsx("coordinator.ts", coordinatorArgs)
    procs.push(second)
    expect(await second.exited).toBe(0)
    expect(second.output).toMatch(/resuming/)
    const queued = JSON.parse(fs.readFileSync(out, "utf8")) as SearchCommand.SearchOutput

    expect(queued.best.genome).toEqual(local.best.genome)
    expect(queued.best.fitness).toBe(local.best.fitness)
    expect(queued.generations.map((g) => [g.best, g.mean])).toEqual(local.generations.map((g) => [g.best, g.mean]))
    // counted once: as many evaluations and cache hits as the single-machine search
    expect(queued.evaluations).toBe(local.evaluations)
    expect(queued.cache_hits).toBe(local.cache_hits)
    expect(queued.failures).toBe(0)
    expect(local.fidelity_cost.continued_epoch_equivalents).toBeGreaterThan(0)
    expect(queued.fidelity_cost.continued_epoch_equivalents).toBe(0)

    // --select-seeds and --retrain on the queue: the workers train the finalists once per seed, then
    // the chosen one and the default architecture, exactly as the local search's worker thread does
    const withoutSeconds = (sel: SearchCommand.SearchOutput["selection"]) =>
      sel && { ...sel, finalists: sel.finalists.map((f) => ({ ...f, runs: f.runs.map((r) => ({ ...r, seconds: 0 })) })) }
    const sel = queued.selection!
    expect(sel.seeds).toEqual([3, 4])
    expect(sel.finalists[0].architecture).toEqual(queued.best.architecture)
    expect(sel.finalists.some((f) => f.default)).toBe(true)
    expect(withoutSeconds(sel)).toEqual(withoutSeconds(local.selection))
    expect(fs.existsSync(path.join(options.checkpointDir, "selection.json"))).toBe(true)
    expect(queued.retrain?.epochs).toBe(1)
    expect(queued.retrain?.winner.architecture).toEqual(sel.finalists[sel.chosen].architecture)
    for (const which of ["winner", "default"] as const) {
      expect(queued.retrain?.[which].valid).toEqual(local.retrain?.[which].valid)
      expect(queued.retrain?.[which].test).toEqual(local.retrain?.[which].test)
    }
    // (the selection's runs differ from one another: the seeds reached the workers)
    expect(sel.finalists[0].runs[0]).not.toEqual(sel.finalists[0].runs[1])

    // one finished job per evaluation and per full training: none trained twice to completion, none left behind
    const url = Result.getOrThrow(QueueUrl.parse(redis.url))
    const status = await Effect.runPromise(QueueEvaluator.status(url, SearchCommand.searchQueueName(options)))
    const trainings = sel.finalists.length * sel.seeds.length + (queued.retrain!.same ? 1 : 2)
    expect(status.done).toBe(local.evaluations + trainings)
    expect(status.failed).toBe(0)
    expect(status.waiting + status.active).toBe(0)

    if (!workerA.output.includes(`job ${held}: fitness`)) expect(workerB.output).toContain(`job ${held} (attempt`)
    workerB.child.kill("SIGTERM")
    expect(await workerB.exited).toBe(0)
    expect(workerB.output).toMatch(/stopped/)
    // a worker prints each job's candidate and its epochs
    expect(workerB.output).toMatch(/job \S+ \(attempt \d\): candidate /)
    expect(workerB.output).toMatch(/job \S+: .*epoch 1\//)
    // the full trainings came after the killed worker: the other one trained them all
    for (const seed of [3, 4]) expect(workerB.output).toMatch(new RegExp(`job r-\\S+ \\(attempt \\d\\): candidate .* trained for up to 1 epochs on all the train split \\(seed ${seed}\\)`))
    expect(workerB.output).toMatch(/job r-\S+: valid objective [\d.]+ after 1 epochs/)

    // --cancel removes the queue and its jobs
    await Effect.runPromise(QueueEvaluator.cancel(url, SearchCommand.searchQueueName(options)))
    const after = await Effect.runPromise(QueueEvaluator.status(url, SearchCommand.searchQueueName(options)))
    expect(after.done + after.waiting + after.active + after.failed).toBe(0)

    // the password is in no output: processes, JSON, checkpoint folder
    for (const text of [workerA.output, workerB.output, first.output, second.output, readAll(tmp)]) {
      expect(text).not.toContain(PASSWORD)
    }
    expect(queued.queue?.url).toContain(":***@")
  }, 300_000)
})
