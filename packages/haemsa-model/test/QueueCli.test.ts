/**
 * The queue flags of `haemsa search` and `haemsa worker` at the command line: where the URL comes
 * from, bad usage, and `--status` / `--cancel` on a real Redis, never printing the password.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { DatasetLoader } from "@haemsa/datasets"
import { Effect, Layer, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Backend } from "../src/backends/Backend"
import { Progress } from "../src/cli/Progress"
import * as Environment from "../src/Environment"
import * as Bull from "../src/search/queue/Bull"
import * as QueueEvaluator from "../src/search/queue/QueueEvaluator"
import * as QueueUrl from "../src/search/queue/QueueUrl"
import * as SearchCommand from "../src/search/SearchCommand"
import { cli } from "./Support"
import * as Redis from "./queue/Redis"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-queue-cli-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("queue usage errors", () => {
  it("--status and --cancel need a queue; bad URLs exit 2 without the password", async () => {
    const status = await cli("search", "--checkpoint", path.join(tmp, "a"), "--status")
    expect(status.code).toBe(2)
    expect(status.stderr).toContain("--status and --cancel need the search's queue")
    const bad = await cli("search", "--checkpoint", path.join(tmp, "c"), "--queue", "http://u:hunter2@h:1")
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("unsupported scheme")
    expect(bad.stderr).not.toContain("hunter2")
    const worker = await cli("worker")
    expect(worker.code).toBe(2)
    expect(worker.stderr).toContain("haemsa worker needs --queue URL")
  })

  it("the usage lists haemsa worker", async () => {
    const { out } = await cli("--help")
    expect(out.join("\n")).toMatch(/haemsa worker .*--queue/)
  })
})

describe.skipIf(!Redis.available)("haemsa search --status and --cancel on a real Redis", () => {
  let redis: Redis.Redis
  beforeAll(async () => {
    redis = await Redis.start("pw-cli-5d3a")
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it("shows an empty queue and cancels it, with the URL from --queue-file and the password as ***", async () => {
    const file = path.join(tmp, "queue-url")
    fs.writeFileSync(file, `${redis.url}\n`)
    const dir = path.join(tmp, "search")
    const status = await cli("search", "--checkpoint", dir, "--queue-file", file, "--status")
    expect(status.code).toBe(0)
    const text = status.out.join("\n")
    expect(text).toMatch(/0 waiting, 0 active, 0 done, 0 failed/)
    expect(text).toContain(":***@127.0.0.1")
    const cancel = await cli("search", "--checkpoint", dir, "--queue-file", file, "--cancel")
    expect(cancel.code).toBe(0)
    expect(cancel.out.join("\n")).toContain("cancelled")
    for (const r of [status, cancel]) expect([...r.out, ...r.err].join("\n")).not.toContain("pw-cli-5d3a")
  })

  it("--cancel stops a running coordinator with a QueueError", async () => {
    const url = Result.getOrThrow(QueueUrl.parse(redis.url))
    const options: SearchCommand.SearchJobOptions = {
      source: "synthetic",
      loadOptions: { synthetic: { seed: 2, sizes: { train: 16, valid: 8, test: 8 }, steps: 4, dims: { text: 6, audio: 3, vision: 4 } } },
      population: 4,
      generations: 1,
      seed: 1,
      checkpointDir: path.join(tmp, "cancelled"),
      fidelity: [{ epochs: 1 }]
    }
    const name = SearchCommand.searchQueueName(options)
    const services = Layer.mergeAll(Environment.parts, DatasetLoader.DatasetLoader.layer, Backend.layerTest, Progress.layerSilent)
    // no worker: the coordinator waits for its jobs until the search is cancelled
    const search = Effect.runPromise(Effect.flip(SearchCommand.searchJob({ ...options, queue: { url, name } }).pipe(Effect.provide(services))))
    const probe = await Effect.runPromise(Bull.load)
    const queue = new probe.Queue(name, { connection: QueueUrl.connectionOptions(url) })
    try {
      while ((await (await queue.client).hexists(Bull.REGISTRY, name)) !== 1) await new Promise((resolve) => setTimeout(resolve, 50))
      await Effect.runPromise(QueueEvaluator.cancel(url, name))
      const error = await search
      expect(error._tag).toBe("QueueError")
      expect(error.message).toContain("the search was cancelled")
    } finally {
      await queue.close()
    }
  }, 60_000)
})
