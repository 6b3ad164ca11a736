/**
 * A checkpoint's manifest is protected by its integrity hash: any edit of what affects predictions
 * (normalisation, tensor offsets and shapes, spec fields, modalities, any digit) is refused on load
 * with a CheckpointError naming the manifest; non-finite weights are refused at save (nothing written)
 * and at load.
 */
import { createHash } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Checkpoint from "../src/model/Checkpoint"
import { prepare, sentimentData, tinySpec } from "./Support"

const spec: ArchitectureSpec.ArchitectureSpec = tinySpec()
const info = prepare(sentimentData(1)).info
const weights = (fill: number): Checkpoint.Weights =>
  new Map([
    ["a/kernel", { shape: [2, 3], values: Float32Array.from([fill, 0.5, -1.25, 2, 3, -fill]) }],
    ["a/bias", { shape: [3], values: Float32Array.from([fill, -fill, 0.125]) }],
    ["b/kernel", { shape: [3, 1], values: Float32Array.from([0.1, 0.2, 0.3]) }]
  ])

let root: string
let good: string
let copies = 0
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-integrity-"))
  good = path.join(root, "good")
  await Checkpoint.save(good, { spec, extra: { info, seed: 3 }, weights: weights(1.5) })
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

const manifestOf = (dir: string) => path.join(dir, Checkpoint.MANIFEST)
const copy = async () => {
  const dir = path.join(root, `copy-${++copies}`)
  await fs.cp(good, dir, { recursive: true })
  return dir
}
/** A copy whose manifest was edited (and not sealed again: what a tamperer or a stray edit does). */
const tampered = async (edit: (m: any) => void) => {
  const dir = await copy()
  const m = JSON.parse(await fs.readFile(manifestOf(dir), "utf8"))
  edit(m)
  await fs.writeFile(manifestOf(dir), JSON.stringify(m, null, 1))
  return dir
}
const loadError = (dir: string) => Checkpoint.load(dir).then(() => undefined, (e: unknown) => e)

const expectMismatch = async (dir: string) => {
  const error = await loadError(dir)
  expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
  expect((error as Checkpoint.CheckpointError).file).toBe(manifestOf(dir))
  expect((error as Error).message).toContain("integrity hash mismatch")
}

describe("the manifest's integrity hash", () => {
  it("is written (format version 3) and the untouched checkpoint loads", async () => {
    const m = JSON.parse(await fs.readFile(manifestOf(good), "utf8"))
    expect(m.version).toBe(3)
    expect(m.integrity.sha256).toBe(Checkpoint.integrityOf(m))
    const back = await Checkpoint.load(good)
    expect(back.extra).toEqual(JSON.parse(JSON.stringify({ info, seed: 3 })))
  })

  const modality = Object.keys(info.normalization)[0] as keyof typeof info.normalization
  const edits: ReadonlyArray<readonly [string, (m: any) => void]> = [
    ["a normalisation mean", (m) => { m.extra.info.normalization[modality].mean[0] += 0.5 }],
    ["a normalisation std", (m) => { m.extra.info.normalization[modality].std[0] *= 2 }],
    ["a tensor offset", (m) => { m.weights.tensors[1].offset = 0 }],
    ["two tensors' offsets swapped", (m) => {
      const t = m.weights.tensors
      ;[t[0].offset, t[2].offset] = [t[2].offset, t[0].offset]
    }],
    ["a tensor shape", (m) => { m.weights.tensors[0].shape = [3, 2] }],
    ["a tensor name", (m) => { m.weights.tensors[1].name = "a/other" }],
    ["a spec field (hidden)", (m) => { m.spec.hidden = m.spec.hidden * 2 }],
    ["a spec field (a lambda)", (m) => { m.spec.lambdas.regression = 0.25 }],
    ["the modalities", (m) => { m.spec.modalities = m.spec.modalities.slice(0, 1) }],
    ["the data's feature dims", (m) => { m.extra.info.features[modality].dim += 1 }],
    ["the seed", (m) => { m.extra.seed = 4 }],
    ["the weights' sha256 and file (another weights file)", (m) => { m.weights.sha256 = "0".repeat(64) }],
    ["the integrity hash itself", (m) => { m.integrity.sha256 = "f".repeat(64) }],
    ["the format version (3 to 2, which has no hash)", (m) => { m.version = 2 }],
    ["the format version (3 to 1, with a spec field)", (m) => {
      m.version = 1
      m.spec.hidden = m.spec.hidden * 2
    }]
  ]
  for (const [what, edit] of edits) {
    it(`an edit of ${what} is refused, naming the manifest`, async () => {
      await expectMismatch(await tampered(edit))
    })
  }

  it("a manifest without its integrity hash is refused", async () => {
    const dir = await tampered((m) => { delete m.integrity })
    const error = await loadError(dir)
    expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
    expect((error as Error).message).toContain(`${manifestOf(dir)}: no integrity hash`)
  })

  it("key order and whitespace do not matter (the hash is over canonical JSON)", async () => {
    const dir = await copy()
    const m = JSON.parse(await fs.readFile(manifestOf(dir), "utf8"))
    const reversed = Object.fromEntries(Object.entries(m).reverse())
    await fs.writeFile(manifestOf(dir), JSON.stringify(reversed))
    await expect(Checkpoint.load(dir)).resolves.toBeDefined()
  })

  it("40 seeded random digit edits anywhere in the manifest: every one is refused", async () => {
    const text = await fs.readFile(manifestOf(good), "utf8")
    const digits = [...text].flatMap((c, i) => (/[0-9]/.test(c) ? [i] : []))
    let state = 20261204
    const random = () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0
      return state / 2 ** 32
    }
    for (let n = 0; n < 40; n++) {
      const at = digits[Math.floor(random() * digits.length)]
      const old = Number(text[at])
      const digit = (old + 1 + Math.floor(random() * 9)) % 10
      const dir = await copy()
      await fs.writeFile(manifestOf(dir), text.slice(0, at) + String(digit) + text.slice(at + 1))
      const error = await loadError(dir)
      expect(error, `digit ${at} (${old} -> ${digit}): ${JSON.stringify(text.slice(Math.max(0, at - 30), at + 10))}`).toBeInstanceOf(
        Checkpoint.CheckpointError
      )
    }
  })
})

describe("non-finite weights", () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    it(`a save with a weight ${bad} is refused and writes nothing`, async () => {
      const dir = path.join(root, `nan-save-${String(bad)}`)
      const w = weights(1)
      w.get("a/bias")!.values[1] = bad
      const error = await Checkpoint.save(dir, { spec, extra: { info, seed: 1 }, weights: w }).then(() => undefined, (e) => e)
      expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
      expect(error.file).toBe(dir)
      expect(error.message).toContain(`the weights are not finite (a/bias[1] = ${bad}); nothing was written`)
      await expect(fs.stat(dir)).rejects.toThrow() // not even the folder
    })
  }

  it("a save with NaN weights over a checkpoint leaves it untouched", async () => {
    const dir = await copy()
    const before = (await fs.readdir(dir)).sort()
    const manifest = await fs.readFile(manifestOf(dir), "utf8")
    const w = weights(1)
    w.get("b/kernel")!.values[0] = NaN
    await expect(Checkpoint.save(dir, { spec, extra: {}, weights: w })).rejects.toBeInstanceOf(Checkpoint.CheckpointError)
    expect((await fs.readdir(dir)).sort()).toEqual(before)
    expect(await fs.readFile(manifestOf(dir), "utf8")).toBe(manifest)
  })

  it("a checkpoint whose weights file holds NaN (with a matching sha256 and integrity hash) is refused on load", async () => {
    const dir = await copy()
    const m = JSON.parse(await fs.readFile(manifestOf(dir), "utf8"))
    const values = new Float32Array(new Uint8Array(await fs.readFile(path.join(dir, m.weights.file))).buffer)
    values[4] = NaN
    const bytes = new Uint8Array(values.buffer)
    const hash = createHash("sha256").update(bytes).digest("hex")
    await fs.rm(path.join(dir, m.weights.file))
    m.weights.file = `weights-${hash.slice(0, 16)}.bin`
    m.weights.sha256 = hash
    m.integrity = { sha256: Checkpoint.integrityOf(m) }
    await fs.writeFile(path.join(dir, m.weights.file), bytes)
    await fs.writeFile(manifestOf(dir), JSON.stringify(m))
    const error = await loadError(dir)
    expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
    expect((error as Checkpoint.CheckpointError).file).toBe(path.join(dir, m.weights.file))
    expect((error as Error).message).toContain("the weights are not finite (element 4 = NaN)")
  })
})
