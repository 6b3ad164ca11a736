/**
 * The checkpoint folder's safety: a save that dies at any file system step (every write, fsync, rename
 * and unlink, injected through `SaveOptions.fs`) leaves the old or the new checkpoint loadable, and the
 * next save cleans what it left; two writers with their interleaving forced are serialised by the
 * lock (the second waits, or fails naming the holder); a save removes only haemsa's own files; the
 * folder check tells haemsa's files from foreign ones.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Checkpoint from "../src/model/Checkpoint"
import * as OutputFolder from "../src/model/OutputFolder"
import { tinySpec } from "./Support"

const spec: ArchitectureSpec.ArchitectureSpec = tinySpec()
const weights = (fill: number): Checkpoint.Weights =>
  new Map([
    ["a/kernel", { shape: [2, 3], values: new Float32Array(6).fill(fill) }],
    ["a/bias", { shape: [3], values: Float32Array.from([fill, -fill, 0]) }]
  ])
const contents = (run: number) => ({ spec, extra: { run }, weights: weights(run) })
const values = (c: Checkpoint.Contents<unknown>) => Array.from(c.weights.get("a/kernel")!.values)

/** The pid of a process that has exited (its temp files and lock are stale). */
const deadPid = (): number => spawnSync(process.execPath, ["-e", "0"]).pid!

let root: string
let n = 0
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-folder-"))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})
const fresh = () => path.join(root, `d${++n}`)

type Step = "create" | "fsync" | "rename" | "unlink" | "fsyncFolder" | "mkdir"
const STEPS: ReadonlyArray<Step> = ["create", "fsync", "rename", "unlink", "fsyncFolder", "mkdir"]

/**
 * The real file system with a hook before every step that changes the disk: `before(step, args)` may
 * throw (the step fails) or wait (the interleaving of two writers is forced).
 */
const hooked = (before: (step: Step, args: ReadonlyArray<string>) => void | Promise<void>): OutputFolder.Fs => {
  const real = OutputFolder.nodeFileSystem as unknown as Record<Step, (...a: any[]) => Promise<void>>
  const wrapped: Record<string, unknown> = { ...OutputFolder.nodeFileSystem }
  for (const step of STEPS) {
    wrapped[step] = async (...args: any[]) => {
      await before(step, args.filter((a) => typeof a === "string"))
      return real[step](...args)
    }
  }
  return wrapped as unknown as OutputFolder.Fs
}

/** A file system that dies at step `k` (0-based): that step and every later one fail, as after a kill. */
const dyingAt = (k: number) => {
  let i = 0
  return hooked((step, args) => {
    if (i++ >= k) throw new Error(`killed at ${step} ${args.map((a) => path.basename(a)).join(" -> ")}`)
  })
}

const isTemp = (f: string) => /\.tmp$/.test(f) || f === OutputFolder.LOCK

describe("a save killed at any step", () => {
  it("leaves the old or the new checkpoint loadable; the next save cleans the leftovers", async () => {
    // the steps of a save over an existing checkpoint
    const probe = fresh()
    await Checkpoint.save(probe, contents(1))
    const steps: string[] = []
    await Checkpoint.save(probe, contents(2), { fs: hooked((step, args) => { steps.push(`${step} ${args.map((a) => path.basename(a)).join(" ")}`) }) })
    // lock, weights (write, fsync, rename), manifest (write, fsync, rename), folder fsync, old weights removed, unlock
    for (const step of ["create", "fsync", "rename", "fsyncFolder", "unlink"]) expect(steps.some((s) => s.startsWith(step)), step).toBe(true)
    expect(steps.filter((s) => /^unlink weights-/.test(s))).toHaveLength(1)

    const outcomes = new Set<number>()
    for (let k = 0; k < steps.length; k++) {
      const dir = fresh()
      await Checkpoint.save(dir, contents(1))
      const dead = deadPid()
      const error = await Checkpoint.save(dir, contents(2), { fs: dyingAt(k), locking: { pid: dead } }).then(() => undefined, (e) => e)
      if (error !== undefined) {
        expect(error, steps[k]).toBeInstanceOf(Checkpoint.CheckpointError)
        expect(error.message).toContain("killed at")
      }
      // the folder loads, as the old checkpoint or the new one, never a mix
      const after = await Checkpoint.load<{ run: number }>(dir)
      expect([1, 2], steps[k]).toContain(after.extra.run)
      expect(values(after)).toEqual(new Array(6).fill(after.extra.run))
      outcomes.add(after.extra.run)
      // the next save (a live process) takes over the dead one's lock and removes its temp files
      await Checkpoint.save(dir, contents(3))
      const files = await fs.readdir(dir)
      expect(files.filter(isTemp), steps[k]).toEqual([])
      const again = await Checkpoint.load<{ run: number }>(dir)
      expect(again.extra.run).toBe(3)
      expect(OutputFolder.firstForeign(dir)).toBeUndefined()
    }
    expect([...outcomes].sort()).toEqual([1, 2])
  })

  it("a failed (not killed) save removes its own temp files and its unreferenced weights file", async () => {
    const dir = fresh()
    await Checkpoint.save(dir, contents(1))
    const before = (await fs.readdir(dir)).sort()
    const failing = hooked((step, args) => {
      if (step === "rename" && path.basename(args[1]) === Checkpoint.MANIFEST) throw Object.assign(new Error("no space left"), { code: "ENOSPC" })
    })
    await expect(Checkpoint.save(dir, contents(2), { fs: failing })).rejects.toBeInstanceOf(Checkpoint.CheckpointError)
    expect((await fs.readdir(dir)).sort()).toEqual(before)
    expect((await Checkpoint.load<{ run: number }>(dir)).extra.run).toBe(1)
  })
})

describe("two writers on one folder", () => {
  /** Writer A stops before renaming its manifest into place until `go` is called. */
  const pausedWriter = (dir: string) => {
    let reached!: () => void
    let go!: () => void
    const atGate = new Promise<void>((r) => { reached = r })
    const gate = new Promise<void>((r) => { go = r })
    const fsA = hooked(async (step, args) => {
      if (step === "rename" && path.basename(args[1]) === Checkpoint.MANIFEST) {
        reached()
        await gate
      }
    })
    const done = Checkpoint.save(dir, contents(1), { fs: fsA })
    return { atGate, go, done }
  }

  it("the second waits for the first's lock (with a progress line naming it), then replaces its checkpoint: both succeed, one loadable checkpoint", async () => {
    const dir = fresh()
    const a = pausedWriter(dir)
    await a.atGate
    const lines: string[] = []
    const b = Checkpoint.save(dir, contents(2), {
      locking: {
        pid: process.ppid,
        waitMs: 3_600_000,
        pollMs: 2,
        onWait: (line) => {
          lines.push(line)
          a.go()
        }
      }
    })
    await a.done
    await b
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain(`being written by pid ${process.pid} on host ${os.hostname()}`)
    const after = await Checkpoint.load<{ run: number }>(dir)
    expect(after.extra.run).toBe(2)
    // A's weights were the previous checkpoint's: replaced; nothing else is left
    expect((await fs.readdir(dir)).sort()).toEqual([Checkpoint.MANIFEST, JSON.parse(await fs.readFile(path.join(dir, Checkpoint.MANIFEST), "utf8")).weights.file].sort())
  })

  it("with no wait the second fails with a CheckpointError naming the lock and its holder; the first's checkpoint is whole", async () => {
    const dir = fresh()
    const a = pausedWriter(dir)
    await a.atGate
    const error = await Checkpoint.save(dir, contents(2), { locking: { pid: process.ppid, waitMs: 0 } }).then(() => undefined, (e) => e)
    a.go()
    await a.done
    expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
    expect(error.file).toBe(path.join(dir, OutputFolder.LOCK))
    expect(error.message).toContain(`held by pid ${process.pid} on host ${os.hostname()} since `)
    const after = await Checkpoint.load<{ run: number }>(dir)
    expect(after.extra.run).toBe(1)
    expect(values(after)).toEqual(new Array(6).fill(1))
  })
})

describe("the lock", () => {
  const writeLock = (dir: string, holder: OutputFolder.Holder) =>
    fs.mkdir(dir, { recursive: true }).then(() => fs.writeFile(path.join(dir, OutputFolder.LOCK), JSON.stringify(holder)))

  it("a stale lock (a dead pid on this host) is taken over, and removed after the save", async () => {
    const dir = fresh()
    await writeLock(dir, { pid: deadPid(), hostname: os.hostname(), started: "2026-01-01T00:00:00.000Z" })
    await Checkpoint.save(dir, contents(1), { locking: { waitMs: 0 } })
    expect(await fs.readdir(dir)).not.toContain(OutputFolder.LOCK)
  })

  it("a live holder's lock, or another host's, is not taken", async () => {
    for (const holder of [
      { pid: process.ppid, hostname: os.hostname(), started: "2026-01-01T00:00:00.000Z" },
      { pid: deadPid(), hostname: `not-${os.hostname()}`, started: "2026-01-01T00:00:00.000Z" }
    ]) {
      const dir = fresh()
      await writeLock(dir, holder)
      const error = await Checkpoint.save(dir, contents(1), { locking: { waitMs: 0 } }).then(() => undefined, (e) => e)
      expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
      expect(error.message).toContain(`held by pid ${holder.pid} on host ${holder.hostname}`)
      expect(await fs.readdir(dir)).toEqual([OutputFolder.LOCK])
    }
  })

  it("a caller holding the lock passes it to save (no second acquisition)", async () => {
    const dir = fresh()
    await fs.mkdir(dir)
    await OutputFolder.withLock(dir, async (lock) => {
      await Checkpoint.save(dir, contents(1), { lock })
      await Checkpoint.save(dir, contents(2), { lock })
      expect(await fs.readdir(dir)).toContain(OutputFolder.LOCK)
    })
    expect(await fs.readdir(dir)).not.toContain(OutputFolder.LOCK)
    expect((await Checkpoint.load<{ run: number }>(dir)).extra.run).toBe(2)
  })
})

describe("a save removes only haemsa's own files", () => {
  it("keeps weights files it did not write and live writers' temp files; removes dead writers' temp files", async () => {
    const dir = fresh()
    await Checkpoint.save(dir, contents(1))
    const other = "weights-0123456789abcdef.bin"
    const live = path.basename(OutputFolder.tempPath(path.join(dir, "train-state.json"), process.ppid))
    const stale = path.basename(OutputFolder.tempPath(path.join(dir, "weights-0011223344556677.bin"), deadPid()))
    for (const f of [other, live, stale]) await fs.writeFile(path.join(dir, f), "x")
    await Checkpoint.save(dir, contents(2))
    const files = await fs.readdir(dir)
    expect(files).toContain(other)
    expect(files).toContain(live)
    expect(files).not.toContain(stale)
    expect((await Checkpoint.load<{ run: number }>(dir)).extra.run).toBe(2)
  })

  it("temp files carry the writer's pid", () => {
    const tmp = path.basename(OutputFolder.tempPath("/x/checkpoint.json", 4242))
    expect(tmp).toMatch(/^\.checkpoint\.json\.4242\.[0-9a-f]+\.tmp$/)
    expect(OutputFolder.tempOwner(tmp)).toBe(4242)
    expect(OutputFolder.tempOwner("checkpoint.json")).toBeUndefined()
  })
})

describe("OutputFolder.firstForeign", () => {
  it("an empty or missing folder, a checkpoint, a search state, training state and seed folders are haemsa's", async () => {
    expect(OutputFolder.firstForeign(path.join(root, "nowhere"))).toBeUndefined()
    const dir = fresh()
    await fs.mkdir(dir)
    expect(OutputFolder.firstForeign(dir)).toBeUndefined()
    await Checkpoint.save(dir, contents(1))
    await Checkpoint.save(path.join(dir, "seed-7"), contents(1))
    for (const f of ["train-state.json", "train-state-3.bin", "cost.json", OutputFolder.LOCK]) await fs.writeFile(path.join(dir, f), "{}")
    expect(OutputFolder.firstForeign(dir)).toBeUndefined()
    const search = fresh()
    await fs.mkdir(search)
    await fs.writeFile(path.join(search, "checkpoint.json"), JSON.stringify({ format: "@haemsa/evo-search/checkpoint", version: 2 }))
    expect(OutputFolder.firstForeign(search, "search")).toBeUndefined()
    // each is foreign to the other: writing there would replace it
    expect(OutputFolder.firstForeign(search, "checkpoint")).toBe("checkpoint.json (a search's state, which a checkpoint would replace)")
    expect(OutputFolder.firstForeign(dir, "search")).toBe("checkpoint.json (a model checkpoint, which a search's state would replace)")
  })

  it("names the first foreign entry: a file, a folder, a foreign checkpoint.json, inside a seed folder", async () => {
    const cases: ReadonlyArray<readonly [string, (dir: string) => Promise<void>]> = [
      ["notes.txt", (d) => fs.writeFile(path.join(d, "notes.txt"), "mine")],
      ["data/", (d) => fs.mkdir(path.join(d, "data"))],
      ["checkpoint.json (not a haemsa checkpoint)", (d) => fs.writeFile(path.join(d, "checkpoint.json"), JSON.stringify({ format: "keras" }))],
      ["seed-2/model.h5", async (d) => {
        await fs.mkdir(path.join(d, "seed-2"))
        await fs.writeFile(path.join(d, "seed-2", "model.h5"), "")
      }]
    ]
    for (const [expected, make] of cases) {
      const dir = fresh()
      await fs.mkdir(dir)
      await make(dir)
      expect(OutputFolder.firstForeign(dir)).toBe(expected)
    }
  })
})

describe("OutputFolder.replaceFile", () => {
  it("replaces a file through a flushed temp file of haemsa's naming, then flushes the folder", async () => {
    const dir = fresh()
    await fs.mkdir(dir)
    const file = path.join(dir, "state.json")
    await fs.writeFile(file, "old")
    const steps: string[] = []
    await OutputFolder.replaceFile(file, "new", { fs: hooked((step, args) => { steps.push(`${step} ${args.map((a) => path.basename(a)).join(" ")}`) }) })
    expect(await fs.readFile(file, "utf8")).toBe("new")
    expect(steps.map((s) => s.split(" ")[0])).toEqual(["create", "fsync", "rename", "fsyncFolder"])
    expect(OutputFolder.tempOwner(steps[0].split(" ")[1])).toBe(process.pid)
    expect(await fs.readdir(dir)).toEqual(["state.json"])
  })

  it("a failed step leaves the file as it was and removes the temp file; syncFolder false skips the folder flush", async () => {
    for (const failing of ["create", "fsync", "rename"] as const) {
      const dir = fresh()
      await fs.mkdir(dir)
      const file = path.join(dir, "state.json")
      await fs.writeFile(file, "old")
      const failAt = hooked((step) => {
        if (step === failing) throw Object.assign(new Error("no space left"), { code: "ENOSPC" })
      })
      await expect(OutputFolder.replaceFile(file, "new", { fs: failAt })).rejects.toThrow("no space left")
      expect(await fs.readFile(file, "utf8"), failing).toBe("old")
      expect(await fs.readdir(dir), failing).toEqual(["state.json"])
    }
    const dir = fresh()
    await fs.mkdir(dir)
    const steps: Step[] = []
    await OutputFolder.replaceFile(path.join(dir, "a.bin"), new Uint8Array([1, 2]), { syncFolder: false, fs: hooked((step) => { steps.push(step) }) })
    expect(steps).toEqual(["create", "fsync", "rename"])
    expect([...await fs.readFile(path.join(dir, "a.bin"))]).toEqual([1, 2])
  })
})
