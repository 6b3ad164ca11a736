/**
 * Kills a real search process (SIGKILL) mid-run, reruns the same command, and checks the resumed
 * search ends exactly like an uninterrupted one without repeating finished evaluations.
 */
import { Result } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { Checkpoint } from "@haemsa/evo-search"
import { removeTempDirs, tempDir } from "./Support"

afterAll(removeTempDirs)

const SCRIPT = fileURLToPath(new URL("./support/ResumeSearch.ts", import.meta.url))
const ROOT = fileURLToPath(new URL("../../../", import.meta.url))

interface Run {
  readonly dir: string
  readonly checkpointDir: string
  readonly log: string
  readonly result: string
}
const makeRun = (): Run => {
  const dir = tempDir()
  return { dir, checkpointDir: path.join(dir, "checkpoint"), log: path.join(dir, "evaluations.log"), result: path.join(dir, "result.json") }
}

/** Starts the script; `whilePolling` runs every few ms until the process exits. */
const start = (run: Run, whilePolling?: (kill: () => void) => void) =>
  new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", SCRIPT, run.checkpointDir, run.log, run.result], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"]
    })
    let stderr = ""
    child.stderr.on("data", (chunk) => (stderr += chunk))
    const timer = whilePolling === undefined ? undefined : setInterval(() => whilePolling(() => child.kill("SIGKILL")), 3)
    child.on("error", reject)
    child.on("exit", (code, signal) => {
      clearInterval(timer)
      resolve({ code, signal, stderr })
    })
  })

const lines = (file: string): Array<string> =>
  fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0) : []
const readCheckpoint = (run: Run) =>
  Checkpoint.decode(fs.readFileSync(Checkpoint.file(run.checkpointDir), "utf8"), Checkpoint.file(run.checkpointDir))

describe("resume after SIGKILL", () => {
  it("ends with the uninterrupted result and repeats no finished evaluation", async () => {
    const reference = makeRun()
    const straight = await start(reference)
    expect(straight.stderr).toBe("")
    expect(straight.code).toBe(0)
    const expected = fs.readFileSync(reference.result, "utf8")
    const total = lines(reference.log).length

    const killed = makeRun()
    let killedAt = -1
    const first = await start(killed, (kill) => {
      if (killedAt >= 0 || !fs.existsSync(Checkpoint.file(killed.checkpointDir))) return
      const saved = readCheckpoint(killed)
      if (Result.isSuccess(saved) && saved.success.state.evaluations >= Math.floor(total / 3)) {
        killedAt = saved.success.state.evaluations
        kill()
      }
    })
    expect(first.signal).toBe("SIGKILL")
    expect(fs.existsSync(killed.result)).toBe(false)
    const saved = Result.getOrThrow(readCheckpoint(killed))
    expect(saved.state.evaluations).toBeGreaterThanOrEqual(killedAt)
    expect(saved.state.evaluations).toBeLessThan(total)
    const firstCalls = lines(killed.log)
    // only evaluations still in flight at the kill can be lost: finished but not yet checkpointed
    const committed = (line: string) => {
      const [level, genome] = [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]
      return Object.hasOwn(saved.state.cache, `${level}:${genome}`)
    }
    const lost = firstCalls.filter((l) => !committed(l)).length
    expect(firstCalls.length - lost).toBe(saved.state.evaluations)
    expect(lost).toBeLessThanOrEqual(3) // the script's concurrency

    const second = await start(killed)
    expect(second.stderr).toBe("")
    expect(second.code).toBe(0)
    expect(fs.readFileSync(killed.result, "utf8")).toBe(expected)
    const secondCalls = lines(killed.log).slice(firstCalls.length)
    // the rerun evaluates exactly what the checkpoint did not hold: no committed evaluation is repeated
    expect(secondCalls.filter(committed)).toEqual([])
    expect(secondCalls.length).toBe(total - saved.state.evaluations)
    // so the calls of both runs add up to the uninterrupted count (plus any finished-but-unsaved ones)
    expect(firstCalls.length + secondCalls.length).toBe(total + lost)
  }, 30_000)
})
