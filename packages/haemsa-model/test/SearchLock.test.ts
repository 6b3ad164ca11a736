/**
 * A search holds its checkpoint folder's lock while it runs: a search started while another writer
 * holds it waits (one progress line naming the holder) and runs once the lock is released; a lock
 * left by a process that is gone is taken over; the lock is removed when the search ends.
 */
import { DatasetLoader } from "@haemsa/datasets"
import { Effect, Layer } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { Backend } from "../src/backends/Backend"
import { Progress } from "../src/cli/Progress"
import * as Environment from "../src/Environment"
import * as OutputFolder from "../src/model/OutputFolder"
import * as SearchCommand from "../src/search/SearchCommand"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-search-lock-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

const LOAD = { synthetic: { seed: 2, sizes: { train: 32, valid: 12, test: 12 }, steps: 5, dims: { text: 10, audio: 3, vision: 4 } } }

const options = (dir: string): SearchCommand.SearchJobOptions => ({
  source: "synthetic",
  loadOptions: LOAD,
  population: 3,
  generations: 1,
  seed: 5,
  checkpointDir: dir,
  fidelity: [{ epochs: 1 }],
  workers: 0
})

const run = (dir: string, log: (line: string) => void) =>
  Effect.runPromise(
    SearchCommand.searchJob(options(dir)).pipe(
      Effect.provide(Layer.mergeAll(Environment.parts, DatasetLoader.DatasetLoader.layer, Backend.layerTest, Layer.succeed(Progress, { update: () => {}, log })))
    )
  )

describe("search and the checkpoint folder's lock", () => {
  it("waits for another writer's lock, saying who holds it, then runs; the lock is gone afterwards", async () => {
    const dir = path.join(tmp, "held")
    fs.mkdirSync(dir)
    const held = await OutputFolder.acquire(dir, { pid: process.ppid })
    const lines: string[] = []
    const output = await run(dir, (line) => {
      lines.push(line)
      if (line.includes("is being written by")) void held.release()
    })
    expect(lines[0]).toBe(`${dir} is being written by pid ${process.ppid} on host ${os.hostname()} since ${held.holder.started}: waiting up to 60s for its lock`)
    expect(output.generations).toHaveLength(1)
    expect(fs.readdirSync(dir)).not.toContain(OutputFolder.LOCK)
    expect(fs.readdirSync(dir)).toContain("checkpoint.json")
  })

  it("takes over a lock left by a process that is gone", async () => {
    const dir = path.join(tmp, "stale")
    fs.mkdirSync(dir)
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!
    fs.writeFileSync(path.join(dir, OutputFolder.LOCK), JSON.stringify({ pid: dead, hostname: os.hostname(), started: new Date(0).toISOString() }))
    const lines: string[] = []
    await run(dir, (line) => void lines.push(line))
    expect(lines.some((l) => l.includes("is being written by"))).toBe(false)
    expect(fs.readdirSync(dir)).not.toContain(OutputFolder.LOCK)
  })
})
