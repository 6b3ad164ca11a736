/**
 * `haemsa worker`'s refusals on a real Redis: a job with an invalid architecture, from a coordinator
 * of another haemsa version, or with data whose hash differs from the worker's copy fails at once
 * with the reason recorded on the job, and is not retried.
 */
import { Queue } from "bullmq"
import { Effect, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { defaultSpec } from "../src/model/ArchitectureSpec"
import * as Bull from "../src/search/queue/Bull"
import * as QueueJob from "../src/search/queue/QueueJob"
import * as QueueUrl from "../src/search/queue/QueueUrl"
import * as QueueWorker from "../src/search/queue/QueueWorker"
import * as Redis from "./queue/Redis"

if (!Redis.available) console.log(`QueueWorker.test.ts: ${Redis.SKIP_REASON}`)

const LOAD = { synthetic: { seed: 2, sizes: { train: 16, valid: 8, test: 8 }, steps: 4, dims: { text: 6, audio: 3, vision: 4 } } }

describe.skipIf(!Redis.available)("haemsa worker refuses jobs", () => {
  let redis: Redis.Redis
  beforeAll(async () => {
    redis = await Redis.start()
  })
  afterAll(async () => {
    await redis?.stop()
  })

  it("records why on the job and does not retry it", async () => {
    const url = Result.getOrThrow(QueueUrl.parse(redis.url))
    const connection = QueueUrl.connectionOptions(url)
    const name = "haemsa-refusals"
    const queue = new Queue(name, { connection })
    try {
      await (await queue.client).hset(Bull.REGISTRY, { [name]: Date.now() })
      const versions = QueueJob.localVersions()
      const good: QueueJob.JobPayload = {
        versions,
        key: "k",
        spec: defaultSpec,
        fidelity: { level: 0, epochs: 1, fraction: 0.5 },
        seed: 0,
        data: { source: "synthetic", loadOptions: LOAD, hash: "0".repeat(64) },
        backend: "wasm",
        threads: 1
      }
      const options = { attempts: 3, removeOnComplete: false, removeOnFail: false }
      await queue.add("evaluate", { ...good, spec: { ...defaultSpec, hidden: -1 } }, { ...options, jobId: "bad-spec" })
      await queue.add("evaluate", { ...good, versions: { ...versions, haemsa: "0.0.0-other" } }, { ...options, jobId: "other-version" })
      await queue.add("evaluate", { ...good, versions: { ...versions, tfjs: "3.0.0" } }, { ...options, jobId: "other-tfjs" })
      await queue.add("evaluate", good, { ...options, jobId: "other-data" })

      const lines: string[] = []
      let stop: () => void = () => undefined
      const stopped = new Promise<void>((resolve) => (stop = resolve))
      const worker = Effect.runPromise(QueueWorker.run({ url, discoverMs: 100, log: (l) => void lines.push(l), stop: stopped }))
      while ((await queue.getJobCounts("failed")).failed < 4) await new Promise((resolve) => setTimeout(resolve, 100))
      stop()
      await worker

      const reason = async (id: string) => {
        const job = await queue.getJob(id)
        expect(job?.attemptsMade).toBe(1)
        return job?.failedReason ?? ""
      }
      expect(await reason("bad-spec")).toContain("invalid payload")
      expect(await reason("other-version")).toContain("haemsa 0.0.0-other")
      expect(await reason("other-tfjs")).toContain("tfjs 3.0.0")
      expect(await reason("other-data")).toContain("differs from the coordinator's")
      expect(lines.some((l) => l.includes("refused"))).toBe(true)
      expect((await queue.getJobCounts("completed", "waiting", "delayed")).completed).toBe(0)
    } finally {
      await queue.obliterate({ force: true })
      await queue.close()
    }
  }, 120_000)
})
