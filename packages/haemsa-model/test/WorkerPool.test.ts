import { describe, expect, it } from "@effect/vitest"
import { Errors as SearchErrors } from "@haemsa/evo-search"
import { Effect, Fiber } from "effect"
import { Worker } from "node:worker_threads"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import type { WorkerJob } from "../src/search/SearchEvaluator"
import * as WorkerPool from "../src/search/internal/workerPool"

/**
 * A stand-in fitness worker: ready at once; a fitness job answers its epochs, except epochs 0 (the
 * thread exits with code 3), -1 (it throws: a crash) and -2 (it says "busy" and never answers).
 */
const FAKE = `
const { parentPort, workerData } = require("node:worker_threads")
if (workerData.fatal) parentPort.postMessage({ type: "fatal", reason: "cannot start (fake data)" })
else parentPort.postMessage({ type: "ready", modalities: ["text", "audio"], backend: "fake" })
parentPort.on("message", (job) => {
  const epochs = job.fidelity.epochs
  if (epochs === 0) process.exit(3)
  if (epochs === -1) throw new Error("boom")
  if (epochs === -2) return parentPort.postMessage({ type: "busy" })
  parentPort.postMessage({ type: "fitness", id: job.id, outcome: { fitness: epochs, continued: 0 } })
})
`

/** Spawns stand-in workers and keeps them, their exits and their "busy" messages. */
const fakes = (options: { readonly fatal?: boolean } = {}) => {
  const spawned: Array<Worker> = []
  const exited: Array<Promise<number>> = []
  let busy = 0
  const spawn = () => {
    const worker = new Worker(FAKE, { eval: true, workerData: { fatal: options.fatal === true } })
    worker.on("message", (m: { readonly type: string }) => {
      if (m.type === "busy") busy++
    })
    spawned.push(worker)
    exited.push(new Promise((resolve) => worker.once("exit", resolve)))
    return worker
  }
  return { spawn, spawned, exited, busy: () => busy }
}

const job = (epochs: number): WorkerJob => ({
  type: "fitness",
  spec: ArchitectureSpec.defaultSpec,
  fidelity: { level: 0, epochs }
})

const fitness = (pool: WorkerPool.WorkerPool, epochs: number) =>
  Effect.map(pool.run(job(epochs)), (reply) => (reply.type === "fitness" ? reply.outcome.fitness : NaN))

/** Polls (without a clock) until `done` holds. */
const until = (done: () => boolean): Effect.Effect<void> =>
  Effect.suspend(() => (done() ? Effect.void : Effect.andThen(Effect.promise(() => new Promise((r) => setImmediate(r))), until(done))))

describe("WorkerPool", () => {
  it.live("a worker that crashes or exits during a job fails that job, and a fresh worker replaces it", () =>
    Effect.gen(function*() {
      const workers = fakes()
      const results = yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* WorkerPool.make(2, workers.spawn)
        expect(pool.modalities).toEqual(["text", "audio"])
        // each lost worker is replaced at once, before any other job asks for one
        const exited = yield* Effect.flip(pool.run(job(0)))
        yield* until(() => workers.spawned.length === 3)
        const crashed = yield* Effect.flip(pool.run(job(-1)))
        yield* until(() => workers.spawned.length === 4)
        expect(exited).toBeInstanceOf(SearchErrors.EvaluationError)
        expect(exited.reason).toBe("the fitness worker exited with code 3")
        expect(crashed).toBeInstanceOf(SearchErrors.EvaluationError)
        expect(crashed.reason).toBe("the fitness worker crashed: boom")
        // the pool is back to two workers and runs jobs on them
        return yield* Effect.forEach([1, 2, 3, 4, 5], (e) => fitness(pool, e), { concurrency: "unbounded" })
      }))
      expect(results).toEqual([1, 2, 3, 4, 5])
      expect(workers.spawned).toHaveLength(4)
      // closing the scope terminated every worker
      yield* Effect.promise(() => Promise.all(workers.exited))
    }))

  it.live("a worker gone while idle is replaced before a job runs on it", () =>
    Effect.gen(function*() {
      const workers = fakes()
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* WorkerPool.make(1, workers.spawn)
        yield* Effect.promise(() => workers.spawned[0].terminate())
        return yield* fitness(pool, 7)
      }))
      expect(result).toBe(7)
      expect(workers.spawned).toHaveLength(2)
      yield* Effect.promise(() => Promise.all(workers.exited))
    }))

  it.live("runs as many jobs at a time as it has workers; an interrupted job's worker is replaced", () =>
    Effect.gen(function*() {
      const workers = fakes()
      yield* Effect.scoped(Effect.gen(function*() {
        const pool = yield* WorkerPool.make(2, workers.spawn)
        const hung = [yield* Effect.forkChild(pool.run(job(-2))), yield* Effect.forkChild(pool.run(job(-2)))]
        yield* until(() => workers.busy() === 2)
        // both workers are busy: a third job waits, and no worker is added for it
        const third = yield* Effect.forkChild(fitness(pool, 9))
        yield* Effect.yieldNow
        expect(third.pollUnsafe()).toBeUndefined()
        expect(workers.spawned).toHaveLength(2)
        // interrupting the hung jobs replaces their workers; the third job runs on a fresh one
        yield* Effect.forEach(hung, Fiber.interrupt, { discard: true })
        expect(yield* Fiber.join(third)).toBe(9)
        yield* Effect.promise(() => Promise.all(workers.exited.slice(0, 2)))
        expect(workers.spawned).toHaveLength(4)
      }))
      yield* Effect.promise(() => Promise.all(workers.exited))
    }))

  it.live("fails to start with a WorkerPoolError giving the worker's reason, and terminates what it started", () =>
    Effect.gen(function*() {
      const workers = fakes({ fatal: true })
      const error = yield* Effect.flip(Effect.scoped(WorkerPool.make(2, workers.spawn)))
      expect(error).toBeInstanceOf(WorkerPool.WorkerPoolError)
      expect(error.message).toBe("fitness workers: cannot start (fake data)")
      yield* Effect.promise(() => Promise.all(workers.exited))
    }))
})
