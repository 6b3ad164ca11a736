/**
 * A search on the job queue (BullMQ on Redis) against the same search on this machine's worker
 * threads: a local search with one worker thread, then the queue with 1 and with 2 `haemsa worker`
 * processes (one thread each), all on the same small synthetic data, seed and wasm backend. Prints
 * the wall time, evaluations per minute, and the queue's overhead per evaluation (queue with one
 * worker minus local with one thread, over the evaluations); checks the three give the same best
 * fitness. Needs Debian's `redis-server` (it starts its own on a free loopback port and stops it).
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/queue.ts [--population P] [--generations G] [--record]
 */
import { DatasetLoader } from "@haemsa/datasets"
import { Backend, Environment, Progress, SearchCommand } from "@haemsa/haemsa-model"
import { Effect, Layer, Result } from "effect"
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fromSamples, type Measurement, record, ROOT } from "../Harness"
import * as Redis from "../../packages/haemsa-model/test/queue/Redis"
import * as QueueUrl from "../../packages/haemsa-model/src/search/queue/QueueUrl"

const option = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const population = option("population", 6)
const generations = option("generations", 2)
const WORKER = path.join(ROOT, "packages/haemsa-model/test/queue/worker.ts")
const LOAD = { synthetic: { seed: 1, sizes: { train: 384, valid: 96, test: 96 }, steps: 20, dims: { text: 32, audio: 5, vision: 20 } } }

if (!Redis.available || spawnSync("redis-server", ["--version"]).status !== 0) {
  console.log(`queue benchmark: ${Redis.SKIP_REASON}`)
  process.exit(0)
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-queue-bench-"))
const redis = await Redis.start("bench-password")
const url = Result.getOrThrow(QueueUrl.parse(redis.url))
const services = Layer.mergeAll(Environment.parts, DatasetLoader.DatasetLoader.layer, Backend.Backend.layerTest, Progress.Progress.layerSilent)

const options = (name: string): SearchCommand.SearchJobOptions => ({
  source: "synthetic",
  loadOptions: LOAD,
  population,
  generations,
  seed: 11,
  checkpointDir: path.join(tmp, name),
  fidelity: [{ epochs: 2, fraction: 0.5 }, { epochs: 4 }],
  backend: "wasm"
})

const timed = async (job: SearchCommand.SearchJobOptions) => {
  const start = performance.now()
  const output = await Effect.runPromise(SearchCommand.searchJob(job).pipe(Effect.provide(services)))
  return { seconds: (performance.now() - start) / 1000, output }
}

const startWorkers = async (n: number): Promise<ChildProcess[]> => {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, ["--import", "tsx", "--conditions=source", WORKER, redis.url, "10000"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] }))
  await Promise.all(children.map((child) =>
    new Promise<void>((resolve) => {
      let out = ""
      child.stdout!.on("data", (c: Buffer) => {
        out += c.toString()
        if (out.includes("waiting for jobs")) resolve()
      })
    })
  ))
  return children
}
const stopWorkers = (children: ChildProcess[]) =>
  Promise.all(children.map((child) => new Promise<void>((resolve) => {
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })))

try {
  const local = await timed({ ...options("local"), workers: 1 })
  const runs: Array<{ name: string; seconds: number; evaluations: number; best: number }> = [
    { name: "local, 1 worker thread", seconds: local.seconds, evaluations: local.output.evaluations, best: local.output.best.fitness }
  ]
  for (const n of [1, 2]) {
    const workers = await startWorkers(n)
    const job = options(`queue-${n}`)
    const run = await timed({ ...job, queue: { url, name: SearchCommand.searchQueueName(job) } })
    await stopWorkers(workers)
    runs.push({ name: `queue, ${n} worker process${n > 1 ? "es" : ""}`, seconds: run.seconds, evaluations: run.output.evaluations, best: run.output.best.fitness })
  }
  const measurements: Measurement[] = runs.map((r) => ({
    ...fromSamples(`search P ${population} G ${generations}: ${r.name}`, [r.seconds]),
    figure: { value: (r.evaluations / r.seconds) * 60, unit: "evaluations/min" }
  }))
  const overhead = (runs[1].seconds - runs[0].seconds) / runs[1].evaluations
  measurements.push({ ...fromSamples("queue overhead per evaluation (1 worker process vs 1 thread)", [overhead]) })
  for (const r of runs) console.log(`${r.name}: ${r.seconds.toFixed(2)} s, ${r.evaluations} evaluations, ${((r.evaluations / r.seconds) * 60).toFixed(1)}/min, best ${r.best}`)
  console.log(`queue overhead per evaluation: ${(overhead * 1000).toFixed(0)} ms`)
  const same = runs.every((r) => r.best === runs[0].best)
  console.log(same ? "same best fitness on the queue as on this machine" : "DIFFERENT best fitness on the queue")
  if (!same) process.exitCode = 1
  if (process.argv.includes("--record")) {
    const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim()
    record("haemsa-model/queue", "wasm", `node ${process.version}, bullmq, redis-server`, measurements, {
      note: `commit ${commit}; synthetic 384/96/96, T 20; fidelity 2:0.5,4:1; one run each; coordinator, Redis and workers on this machine`
    })
  }
} finally {
  await redis.stop()
  fs.rmSync(tmp, { recursive: true, force: true })
}
