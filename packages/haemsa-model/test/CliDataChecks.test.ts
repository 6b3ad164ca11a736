// The commands that read data refuse a pickle over its object limit and a dataset with an empty split
// at load, with one line naming the file (exit 1); --max-pickle-objects raises the limit.
import { Result } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Args from "../src/cli/Args"
import * as EvalCommand from "../src/cli/EvalCommand"
import * as InspectCommand from "../src/cli/InspectCommand"
import * as SharedFlags from "../src/cli/SharedFlags"
import * as TrainCommand from "../src/cli/TrainCommand"
import * as SearchCommand from "../src/search/SearchCommand"
import { cli, MOSI_REAL } from "./Support"

/** The one line a failed run printed. */
const oneLine = (r: Awaited<ReturnType<typeof cli>>): string => {
  expect(r.err).toHaveLength(1)
  expect(r.err[0]).not.toContain("\n")
  return r.err[0]
}

/** A list of `count` empty dicts: PROTO 2, EMPTY_LIST, EMPTY_DICT APPEND per dict, STOP. */
const dictBomb = (count: number): Uint8Array => {
  const out = new Uint8Array(3 + 2 * count + 1)
  out.set([0x80, 2, 0x5d])
  for (let i = 0; i < count; i++) out.set([0x7d, 0x61], 3 + 2 * i)
  out[out.length - 1] = 0x2e
  return out
}

let root: string
let bomb: string
let bombBytes: number
let emptyFold: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-cli-data-"))
  bomb = path.join(root, "bomb.pkl")
  const bytes = dictBomb(300_000)
  bombBytes = bytes.length
  await fs.writeFile(bomb, bytes)
  // the real mosi-real folder with its valid videos moved to train: an empty valid fold
  emptyFold = path.join(root, "mosi-real")
  await fs.cp(MOSI_REAL, emptyFold, { recursive: true })
  const folds = JSON.parse(await fs.readFile(path.join(emptyFold, "folds.json"), "utf8"))
  await fs.writeFile(path.join(emptyFold, "folds.json"), JSON.stringify({ ...folds, train: [...folds.train, ...folds.valid], valid: [] }))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

describe("--max-pickle-objects", () => {
  it("is declared by every command that reads data, an integer >= 1", () => {
    const parsed = (spec: Args.CommandSpec<Args.Flags>, ...argv: string[]) => Args.parse(spec, argv)
    for (const command of [TrainCommand.command, EvalCommand.command, SearchCommand.command, InspectCommand.command]) {
      const positional = command === InspectCommand.command ? ["synthetic"] : []
      const required = command === EvalCommand.command ? ["--checkpoint", "c"] : command === SearchCommand.command ? ["--checkpoint", "c"] : []
      const ok = parsed(command.spec, ...positional, ...required, "--max-pickle-objects", "5000000")
      expect(Result.isSuccess(ok) && SharedFlags.loadOptions(ok.success.flags as { "max-pickle-objects": number | undefined }), command.spec.name).toEqual({
        pickleLimits: { maxObjects: 5_000_000 }
      })
      const bad = parsed(command.spec, ...positional, ...required, "--max-pickle-objects", "0")
      expect(Result.isFailure(bad) && bad.failure.message).toBe("--max-pickle-objects must be >= 1 (got 0)")
    }
  })

  it("data inspect: a pickle over the limit is exit 1, one line naming the file and how to raise it", async () => {
    const r = await cli("data", "inspect", bomb)
    expect(r.code).toBe(1)
    expect(oneLine(r)).toMatch(new RegExp(
      `^haemsa: ${bomb}: pickle error at byte \\d+: builds more than 250000 Python objects \\(limit 250000 for a ${bombBytes}-byte file\\); ` +
        "raise it with --max-pickle-objects or the maxObjects option$"
    ))
    // raised: the reader gets through, and a list of dicts is not a dataset
    const raised = await cli("data", "inspect", bomb, "--max-pickle-objects", "1000000")
    expect(raised.code).toBe(1)
    expect(oneLine(raised)).toContain(`${bomb}: not a valid mmsa-pickle or mult-pickle file`)
  })

  it("train and search pass it to the loader", async () => {
    const checkpoint = path.join(root, "search")
    for (const argv of [["train", "--epochs", "1"], ["search", "--checkpoint", checkpoint, "--workers", "0"]]) {
      const r = await cli(...argv, "--data", bomb, "--backend", "cpu")
      expect(r.code, argv[0]).toBe(1)
      expect(oneLine(r)).toContain(`${bomb}: pickle error at byte`)
      expect(r.err[0]).toContain("raise it with --max-pickle-objects")
      const raised = await cli(...argv, "--data", bomb, "--backend", "cpu", "--max-pickle-objects", "1000000")
      expect(raised.code, argv[0]).toBe(1)
      expect(oneLine(raised)).toContain(`${bomb}: not a valid mmsa-pickle or mult-pickle file`)
    }
  })
})

describe("a dataset with an empty split is refused at load", () => {
  const line = () => `haemsa: ${emptyFold}/folds.json: not a valid mosi-real file: split valid has 0 samples (need at least 1)`

  it("data inspect: exit 1, one line naming the file and the split", async () => {
    const r = await cli("data", "inspect", emptyFold)
    expect(r.code).toBe(1)
    expect(oneLine(r)).toBe(line())
  })

  it("train: the same line, before any training", async () => {
    const r = await cli("train", "--data", emptyFold, "--epochs", "1", "--backend", "cpu")
    expect(r.code).toBe(1)
    expect(r.out).toEqual([])
    expect(oneLine(r)).toBe(line())
  })
})
