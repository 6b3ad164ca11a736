/**
 * The queue flags of `haemsa search` and `haemsa worker` at the command line: where the URL comes
 * from, bad usage, and `--status` / `--cancel` on a real Redis, never printing the password.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cli } from "./Support"
import * as Redis from "./queue/Redis"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-queue-cli-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("queue usage errors", () => {
  it("--status and --cancel need a queue; --retrain is refused with one; bad URLs exit 2 without the password", async () => {
    const status = await cli("search", "--checkpoint", path.join(tmp, "a"), "--status")
    expect(status.code).toBe(2)
    expect(status.stderr).toContain("--status and --cancel need the search's queue")
    const retrain = await cli("search", "--checkpoint", path.join(tmp, "b"), "--queue", "redis://127.0.0.1:1", "--retrain")
    expect(retrain.code).toBe(2)
    expect(retrain.stderr).toContain("--retrain runs on this machine")
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
})
