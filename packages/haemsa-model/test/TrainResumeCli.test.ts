/**
 * `haemsa train --out DIR --resume`, as a user runs it: a training killed (SIGKILL) after the
 * progress line of an epoch and rerun with `--resume` reports the metrics, best epoch and checkpoint
 * weights of an uninterrupted run exactly (cpu backend; the default model, whose dropout and modality
 * dropout are on). The state left by the killed run is refused without `--resume`, refused with
 * another `--seed`, and replaced with `--force`; it is removed once the checkpoint is written.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as TrainState from "../src/model/TrainState"
import { cli, MMSA } from "./Support"

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const BIN = path.join(ROOT, "packages", "haemsa-model", "src", "bin.ts")
// node itself with tsx's loader (the tsx binary runs the command in a child process, which a SIGKILL of it would not reach)
const NODE_ARGS = ["--conditions=source", "--import", "tsx", BIN]

const EPOCHS = 6
const KILL_AFTER = 2

let root: string
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-resume-cli-"))
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const trainArgs = (out: string, ...extra: string[]) => [
  "train", "--data", MMSA, "--backend", "cpu", "--epochs", String(EPOCHS), "--patience", "100", "--seed", "3",
  "--out", out, "--json", `${out}.json`, ...extra
]

/** Run the command to its end. */
const haemsa = (args: ReadonlyArray<string>) => {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, encoding: "utf8" })
  return { code: r.status, stderr: r.stderr }
}

/** Start the command and SIGKILL it as soon as the progress line of epoch `k` is on its stderr. */
const killedAfter = (args: ReadonlyArray<string>, k: number) =>
  new Promise<{ signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_ARGS, ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] })
    let stderr = ""
    const line = new RegExp(`^epoch ${k}/${EPOCHS} .*\\| valid`, "m")
    child.stderr.on("data", (chunk) => {
      stderr += chunk
      if (line.test(stderr)) child.kill("SIGKILL")
    })
    child.on("error", reject)
    child.on("exit", (_code, signal) => resolve({ signal, stderr }))
  })

/** The report without its timing. */
/** A report without what differs between two command lines of one training (the time, the card's command line). */
const report = (file: string) => {
  const { seconds: _seconds, card: { command, ...card }, ...rest } = JSON.parse(fs.readFileSync(file, "utf8"))
  expect(command[0]).toBe("haemsa")
  return { ...rest, card }
}

const checkpointWeights = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "checkpoint.json"), "utf8")).weights.sha256

describe("haemsa train --resume", () => {
  let full: string
  let killed: string

  it("a run killed after an epoch and rerun with --resume reports exactly what an uninterrupted run does", async () => {
    full = path.join(root, "full")
    expect(haemsa(trainArgs(full)).code).toBe(0)
    // a finished training leaves its checkpoint, not its state
    expect(fs.readdirSync(full).filter((f) => f.startsWith("train-state"))).toEqual([])

    killed = path.join(root, "killed")
    const first = await killedAfter(trainArgs(killed), KILL_AFTER)
    expect(first.signal).toBe("SIGKILL")
    expect(TrainState.exists(killed)).toBe(true)
    fs.cpSync(killed, path.join(root, "killed-copy"), { recursive: true })

    // the same command line without --resume is refused, and the state is kept
    const refused = haemsa(trainArgs(killed))
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      `haemsa: ${path.join(killed, TrainState.FILE)}: an interrupted training's state is here: pass --resume to continue it, or --force to start over`
    )
    // another seed is another training
    const other = haemsa(trainArgs(killed, "--resume", "--seed", "4"))
    expect(other.code).toBe(1)
    expect(other.stderr).toContain(`${path.join(killed, TrainState.FILE)}: the state is of another training: --seed 4 here, 3 in the state`)

    const resumed = haemsa(trainArgs(killed, "--resume"))
    expect(resumed.code).toBe(0)
    const from = Number(/resuming after epoch (\d+)\/6/.exec(resumed.stderr)?.[1])
    expect(from).toBeGreaterThanOrEqual(KILL_AFTER)
    expect(from).toBeLessThan(EPOCHS)
    expect(report(`${killed}.json`)).toEqual(report(`${full}.json`))
    expect(checkpointWeights(killed)).toBe(checkpointWeights(full))
    expect(fs.readdirSync(killed).filter((f) => f.startsWith("train-state"))).toEqual([])
  })

  it("--force starts the training over, replacing the state", () => {
    const again = path.join(root, "killed-copy")
    const r = haemsa(trainArgs(again, "--force"))
    expect(r.code).toBe(0)
    expect(r.stderr).not.toContain("resuming")
    expect(report(`${again}.json`)).toEqual(report(`${full}.json`))
    expect(TrainState.exists(again)).toBe(false)
  })

  it("--resume needs --out and a state, and excludes --force", async () => {
    const noOut = await cli("train", "--data", MMSA, "--backend", "cpu", "--resume")
    expect(noOut.code).toBe(2)
    expect(noOut.stderr).toBe("haemsa: --resume needs --out DIR (the folder with the training's state)")
    const both = await cli(...trainArgs(path.join(root, "x"), "--resume", "--force"))
    expect(both.code).toBe(2)
    const finished = await cli(...trainArgs(full, "--resume"))
    expect(finished.code).toBe(1)
    expect(finished.stderr).toBe(
      `haemsa: ${path.join(full, TrainState.FILE)}: no training state to resume (the folder has a checkpoint: its training finished); run without --resume to train from the start`
    )
  })
})
