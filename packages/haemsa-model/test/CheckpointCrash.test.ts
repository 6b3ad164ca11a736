/**
 * A save that dies midway (simulated: the file system's rename fails at a chosen file, as a crash or
 * a full disk would stop it) leaves the previous checkpoint loadable, unchanged.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Checkpoint from "../src/model/Checkpoint"
import { tinySpec } from "./Support"

const crash = vi.hoisted(() => ({ renameTo: undefined as RegExp | undefined, renames: [] as string[] }))

vi.mock("node:fs/promises", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs/promises")>()
  const rename = async (from: string, to: string) => {
    if (crash.renameTo?.test(path.basename(to))) throw new Error(`simulated crash before renaming to ${to}`)
    crash.renames.push(path.basename(to))
    return actual.rename(from, to)
  }
  return { ...actual, rename, default: { ...actual, rename } }
})

const spec: ArchitectureSpec.ArchitectureSpec = tinySpec()
const weights = (fill: number): Checkpoint.Weights =>
  new Map([
    ["a/kernel", { shape: [2, 3], values: new Float32Array(6).fill(fill) }],
    ["a/bias", { shape: [3], values: Float32Array.from([fill, -fill, 0]) }]
  ])

let root: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-crash-"))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

const values = (c: Checkpoint.Contents<unknown>) => Object.fromEntries([...c.weights].map(([k, w]) => [k, Array.from(w.values)]))

describe("Checkpoint.save interrupted", () => {
  for (const [stage, target] of [["weights file", /^weights-[0-9a-f]+\.bin$/], ["manifest", /^checkpoint\.json$/]] as const) {
    it(`a crash before the ${stage} is renamed into place leaves the previous checkpoint`, async () => {
      const dir = path.join(root, stage.replace(" ", "-"))
      crash.renameTo = undefined
      await Checkpoint.save(dir, { spec, extra: { run: 1 }, weights: weights(1) })
      const before = await Checkpoint.load(dir)
      crash.renameTo = target
      const error = await Checkpoint.save(dir, { spec, extra: { run: 2 }, weights: weights(2) }).then(() => undefined, (e) => e)
      crash.renameTo = undefined
      expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
      expect(error.message).toContain("simulated crash")
      const after = await Checkpoint.load(dir)
      expect(after.extra).toEqual({ run: 1 })
      expect(values(after)).toEqual(values(before))
      // the interrupted save can simply be run again
      await Checkpoint.save(dir, { spec, extra: { run: 3 }, weights: weights(3) })
      const again = await Checkpoint.load(dir)
      expect(again.extra).toEqual({ run: 3 })
      expect(values(again)["a/kernel"]).toEqual([3, 3, 3, 3, 3, 3])
    })
  }

  it("writes the weights before the manifest (the order atomicity relies on)", async () => {
    crash.renames.length = 0
    await Checkpoint.save(path.join(root, "order"), { spec, extra: null, weights: weights(5) })
    expect(crash.renames).toHaveLength(2)
    expect(crash.renames[0]).toMatch(/^weights-[0-9a-f]+\.bin$/)
    expect(crash.renames[1]).toBe(Checkpoint.MANIFEST)
  })
})
