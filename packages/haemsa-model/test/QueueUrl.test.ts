import { Result } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as QueueUrl from "../src/search/queue/QueueUrl"

const ok = (text: string) => {
  const r = QueueUrl.parse(text)
  if (Result.isFailure(r)) throw new Error(r.failure.message)
  return r.success
}
const error = (text: string) => {
  const r = QueueUrl.parse(text)
  if (Result.isSuccess(r)) throw new Error(`parsed ${text}`)
  return r.failure.message
}

describe("QueueUrl.parse", () => {
  it("reads host, port, database, user and password", () => {
    expect(ok("redis://alice:s3cr%40t@queue.example:6380/2")).toEqual({
      tls: false,
      host: "queue.example",
      port: 6380,
      db: 2,
      username: "alice",
      password: "s3cr@t"
    })
    expect(ok("redis://127.0.0.1")).toEqual({ tls: false, host: "127.0.0.1", port: 6379, db: 0 })
    expect(ok("redis://:pw@h:1/")).toEqual({ tls: false, host: "h", port: 1, db: 0, password: "pw" })
  })

  it("accepts rediss:// (TLS)", () => {
    expect(ok("rediss://h:6390").tls).toBe(true)
  })

  it("refuses other schemes, bad databases and ports, never echoing the password", () => {
    expect(error("http://u:topsecret@h:1")).toContain("unsupported scheme")
    expect(error("redis://u:topsecret@h:1/x")).toContain("bad database")
    expect(error("redis://u:topsecret@h:99999")).not.toContain("topsecret")
    expect(error("not a url topsecret")).not.toContain("topsecret")
    for (const bad of ["http://u:topsecret@h:1", "redis://u:topsecret@h:1/x", "redis://u:topsecret@h:1?a=1"]) {
      expect(error(bad)).not.toContain("topsecret")
    }
  })
})

describe("QueueUrl.redact", () => {
  it("writes the password as ***", () => {
    expect(QueueUrl.redact(ok("redis://alice:topsecret@h:6380/3"))).toBe("redis://alice:***@h:6380/3")
    expect(QueueUrl.redact(ok("rediss://:topsecret@h:6380"))).toBe("rediss://:***@h:6380/0")
    expect(QueueUrl.redact(ok("redis://h:6380"))).toBe("redis://h:6380/0")
  })

  it("removes the password (raw and URL-encoded) from any text", () => {
    const url = ok("redis://u:p%40ss@h:1")
    expect(QueueUrl.redactText("failed: p@ss and p%40ss", url)).toBe("failed: *** and ***")
    expect(QueueUrl.redactText("nothing", ok("redis://h:1"))).toBe("nothing")
  })
})

describe("QueueUrl.resolve", () => {
  it("takes --queue, then --queue-file, then HAEMSA_QUEUE; none runs locally", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-queue-url-"))
    try {
      const file = path.join(dir, "queue")
      fs.writeFileSync(file, "# the queue\n\nredis://:fromfile@h:2\n")
      const env = { [QueueUrl.ENV_VAR]: "redis://:fromenv@h:3" }
      expect(Result.getOrThrow(QueueUrl.resolve({ flag: "redis://h:1", env }))?.port).toBe(1)
      expect(Result.getOrThrow(QueueUrl.resolve({ file, env }))?.password).toBe("fromfile")
      expect(Result.getOrThrow(QueueUrl.resolve({ env }))?.password).toBe("fromenv")
      expect(Result.getOrThrow(QueueUrl.resolve({ env: {} }))).toBeUndefined()
      expect(Result.isFailure(QueueUrl.resolve({ flag: "redis://h:1", file }))).toBe(true)
      expect(Result.isFailure(QueueUrl.resolve({ file: path.join(dir, "missing") }))).toBe(true)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("QueueUrl.connectionOptions", () => {
  it("gives ioredis TLS for rediss:// and retries forever", () => {
    const options = QueueUrl.connectionOptions(ok("rediss://u:p@h:7/1"))
    expect(options).toMatchObject({ host: "h", port: 7, db: 1, username: "u", password: "p", tls: { servername: "h" }, maxRetriesPerRequest: null })
    expect("tls" in QueueUrl.connectionOptions(ok("redis://h:7"))).toBe(false)
  })
})
