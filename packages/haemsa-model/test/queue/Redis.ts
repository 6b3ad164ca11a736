/**
 * A throwaway Redis for tests and the benchmark: Debian's `redis-server` on a free loopback port, no
 * persistence, optionally with a password; `stop` ends it. `available` is false (with the reason)
 * when `redis-server` is not installed.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as net from "node:net"

/** Whether `redis-server` can be run here. */
export const available: boolean = spawnSync("redis-server", ["--version"], { encoding: "utf8" }).status === 0

/** Why the queue tests are skipped. */
export const SKIP_REASON = "redis-server is not installed (apt-get install -y redis-server): the job queue tests are skipped"

/** A free TCP port on 127.0.0.1. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A started Redis. */
export interface Redis {
  readonly port: number
  /** `redis://[:PASSWORD@]127.0.0.1:PORT`. */
  readonly url: string
  readonly stop: () => Promise<void>
}

/** Starts `redis-server` on a free loopback port (resolves once it accepts connections). */
export const start = async (password?: string): Promise<Redis> => {
  const port = await freePort()
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...(password ? ["--requirepass", password] : [])]
  const child: ChildProcess = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] })
  await new Promise<void>((resolve, reject) => {
    let output = ""
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes("Ready to accept connections")) resolve()
    }
    child.stdout!.on("data", onData)
    child.once("exit", (code) => reject(new Error(`redis-server exited with code ${code}: ${output}`)))
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  return {
    port,
    url: `redis://${password ? `:${password}@` : ""}127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM")
      await exited
    }
  }
}
