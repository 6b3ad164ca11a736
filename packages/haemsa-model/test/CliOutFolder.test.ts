/**
 * `train --out DIR` and `search --checkpoint DIR` write only into a folder of haemsa's own files: a
 * folder holding anything else is a usage error (exit 2) naming the folder and the first foreign
 * entry, before any training, and nothing in it is touched; `--force` writes there anyway (keeping the
 * foreign files); a folder with a previous checkpoint is replaced.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Checkpoint from "../src/model/Checkpoint"
import * as OutputFolder from "../src/model/OutputFolder"
import { cli, MMSA, tinySpec } from "./Support"

let root: string
let specFile: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-outfolder-"))
  specFile = path.join(root, "spec.json")
  await fs.writeFile(specFile, JSON.stringify(tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] })))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

const train = (out: string, ...extra: string[]) =>
  cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--seed", "3", "--backend", "cpu", "--out", out, ...extra)

/** The folder's files and their contents. */
const snapshot = async (dir: string) => {
  const names = (await fs.readdir(dir)).sort()
  return Promise.all(names.map(async (n) => [n, await fs.readFile(path.join(dir, n), "utf8")] as const))
}

describe("a folder with files that are not haemsa's", () => {
  it("train --out refuses it before training, naming the folder and the first foreign entry; nothing is touched", async () => {
    const dir = path.join(root, "mine")
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, "notes.txt"), "my notes")
    await fs.writeFile(path.join(dir, "weights-model.bin"), "my weights")
    const before = await snapshot(dir)
    const r = await train(dir)
    expect(r.code).toBe(2)
    expect(r.err).toHaveLength(1)
    expect(r.err[0]).toBe(
      `haemsa: --out ${dir}: ${dir} holds notes.txt, which is not haemsa's (a checkpoint, search or training state): ` +
        "use an empty or new folder, or pass --force to write --out there anyway"
    )
    expect(r.stderr).not.toMatch(/epoch/)
    expect(await snapshot(dir)).toEqual(before)
  })

  it("a foreign checkpoint.json is refused and kept", async () => {
    const dir = path.join(root, "keras")
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, "checkpoint.json"), JSON.stringify({ format: "keras", layers: [] }))
    const before = await snapshot(dir)
    const r = await train(dir)
    expect(r.code).toBe(2)
    expect(r.err[0]).toContain(`${dir} holds checkpoint.json (not a haemsa checkpoint), which is not haemsa's`)
    expect(await snapshot(dir)).toEqual(before)
  })

  it("train --out refuses a search's folder (its state would be replaced), and search --checkpoint a model checkpoint's", async () => {
    const dir = path.join(root, "a-search")
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, "checkpoint.json"), JSON.stringify({ format: "@haemsa/evo-search/checkpoint", version: 2 }))
    const r = await train(dir)
    expect(r.code).toBe(2)
    expect(r.err[0]).toContain(`${dir} holds checkpoint.json (a search's state, which a checkpoint would replace)`)
    const model = path.join(root, "a-model")
    expect((await train(model)).code).toBe(0)
    const s = await cli("search", "--data", MMSA, "--checkpoint", model, "--backend", "cpu")
    expect(s.code).toBe(2)
    expect(s.err[0]).toContain(`${model} holds checkpoint.json (a model checkpoint, which a search's state would replace)`)
  })

  it("search --checkpoint refuses it too", async () => {
    const dir = path.join(root, "search-mine")
    await fs.mkdir(dir)
    await fs.mkdir(path.join(dir, "photos"))
    const r = await cli("search", "--data", MMSA, "--checkpoint", dir, "--backend", "cpu")
    expect(r.code).toBe(2)
    expect(r.err[0]).toContain(`--checkpoint ${dir}: ${dir} holds photos/, which is not haemsa's`)
    expect(await fs.readdir(dir)).toEqual(["photos"])
  })

  it("with --force, train writes its checkpoint there and keeps the foreign files", async () => {
    const dir = path.join(root, "forced")
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, "notes.txt"), "my notes")
    const r = await train(dir, "--force")
    expect(r.err.filter((l) => l.startsWith("haemsa:"))).toEqual([])
    expect(r.code).toBe(0)
    expect(await fs.readFile(path.join(dir, "notes.txt"), "utf8")).toBe("my notes")
    await expect(Checkpoint.load(dir)).resolves.toBeDefined()
  })
})

describe("a folder of haemsa's own files", () => {
  it("an empty folder and a folder with a previous checkpoint are written (the checkpoint replaced, its weights file removed, a killed writer's lock and temp file cleaned)", async () => {
    const dir = path.join(root, "ours")
    await fs.mkdir(dir)
    expect((await train(dir)).code).toBe(0)
    const first = JSON.parse(await fs.readFile(path.join(dir, Checkpoint.MANIFEST), "utf8")).weights.file
    // what a writer killed mid-save leaves: its lock and a temp file, both with its (dead) pid
    const dead = spawnSync(process.execPath, ["-e", "0"]).pid!
    await fs.writeFile(path.join(dir, OutputFolder.LOCK), JSON.stringify({ pid: dead, hostname: os.hostname(), started: new Date(0).toISOString() }))
    await fs.writeFile(OutputFolder.tempPath(path.join(dir, Checkpoint.MANIFEST), dead), "{ half a manif")
    const r = await train(dir, "--seed", "4")
    expect(r.code).toBe(0)
    const m = JSON.parse(await fs.readFile(path.join(dir, Checkpoint.MANIFEST), "utf8"))
    expect(m.extra.seed).toBe(4)
    expect(m.weights.file).not.toBe(first)
    expect((await fs.readdir(dir)).sort()).toEqual([Checkpoint.MANIFEST, m.weights.file].sort())
  })
})
