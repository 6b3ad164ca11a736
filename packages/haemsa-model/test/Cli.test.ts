import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import { Result } from "effect"
import * as Args from "../src/cli/Args"
import * as SharedFlags from "../src/cli/SharedFlags"
import * as TrainCommand from "../src/cli/TrainCommand"
import { cli, FIXTURES, MMSA, MOSI_REAL, tinySpec } from "./Support"

/** A run that failed with exactly one one-line message on stderr. */
const oneLineError = (r: Awaited<ReturnType<typeof cli>>) => {
  expect(r.err).toHaveLength(1)
  expect(r.err[0]).not.toContain("\n")
  expect(r.err[0].startsWith("haemsa: ")).toBe(true)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  return r.err[0]
}

let root: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-cli-"))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

describe("--backend and --allow-software-adapter", () => {
  it("the command's one parse gives the backend choice (default wasm, software adapters refused)", () => {
    const choice = (...argv: string[]) =>
      SharedFlags.backendChoice(Result.getOrThrow(Args.parse(TrainCommand.command.spec, argv)).flags)
    expect(choice("--data", "synthetic")).toEqual({ backend: "wasm", allowSoftwareAdapter: false })
    expect(choice("--backend", "webgpu", "--allow-software-adapter")).toEqual({ backend: "webgpu", allowSoftwareAdapter: true })
    expect(choice("--allow-software-adapter", "--backend=webgpu")).toEqual({ backend: "webgpu", allowSoftwareAdapter: true })
  })

  it("every command that takes --backend takes --allow-software-adapter, and the usage says what it does", async () => {
    for (const command of ["train", "eval", "predict", "search"]) {
      const r = await cli(command, "--help")
      expect(r.code).toBe(0)
      expect(r.out.join("\n"), command).toMatch(/--backend .*--allow-software-adapter/)
    }
    const usage = (await cli("--help")).out.join("\n")
    expect(usage.match(/\[--allow-software-adapter\]/g)).toHaveLength(4)
    expect(usage).toContain("--backend webgpu refuses a software/fallback adapter")
    expect((await cli("data", "inspect", "--help")).out.join("\n")).not.toContain("--allow-software-adapter")
  })

  it("is a flag: with a value it is a usage error naming it", async () => {
    const r = await cli("train", "--allow-software-adapter=yes", "--backend", "cpu")
    expect(r.code).toBe(2)
    expect(oneLineError(r)).toContain("--allow-software-adapter takes no value")
  })

  it("with another backend it changes nothing", async () => {
    const r = await cli("eval", "--backend", "cpu", "--allow-software-adapter")
    expect(r.code).toBe(2)
    expect(oneLineError(r)).toContain("--checkpoint")
  })
})

describe("haemsa usage errors (exit 2)", () => {
  it("an unknown option: one line naming it", async () => {
    const r = await cli("train", "--bogus", "3", "--backend", "cpu")
    expect(r.code).toBe(2)
    expect(oneLineError(r)).toContain("--bogus")
    expect(r.out).toEqual([])
  })

  it("--modalities with an unknown modality names it", async () => {
    const r = await cli("train", "--modalities", "x", "--backend", "cpu")
    expect(r.code).toBe(2)
    expect(oneLineError(r)).toContain("'x'")
  })

  it("a bad integer names the option and the value", async () => {
    const r = await cli("train", "--epochs", "two", "--backend", "cpu")
    expect(r.code).toBe(2)
    expect(oneLineError(r)).toMatch(/--epochs.*'two'/)
  })

  it("eval without --checkpoint", async () => {
    const r = await cli("eval", "--backend", "cpu")
    expect(r.code).toBe(2)
    expect(oneLineError(r)).toContain("--checkpoint")
  })

  it("an unknown command, and no command at all", async () => {
    const r = await cli("fly")
    expect(r.code).toBe(2)
    expect(r.err[0]).toContain("unknown command 'fly'")
    expect((await cli()).code).toBe(2)
  })

  it("an unknown backend is a failed run naming it (exit 1)", async () => {
    const r = await cli("eval", "--checkpoint", root, "--backend", "quantum")
    expect(r.code).toBe(1)
    expect(oneLineError(r)).toContain("quantum")
  })
})

describe("haemsa eval with a bad checkpoint", () => {
  const missing = "/nonexistent/haemsa-checkpoint"

  it("exit 1, one line naming the file, no stack trace", async () => {
    const r = await cli("eval", "--checkpoint", missing, "--backend", "cpu")
    expect(r.code).toBe(1)
    expect(oneLineError(r)).toContain(path.join(missing, "checkpoint.json"))
  })

  it("--verbose adds the stack trace", async () => {
    const r = await cli("eval", "--checkpoint", missing, "--backend", "cpu", "--verbose")
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/\n\s+at /)
    expect(r.err[r.err.length - 1]).toContain(path.join(missing, "checkpoint.json"))
  })
})

describe("haemsa data inspect", () => {
  it("a truncated pickle: exit 1, one line naming the file", async () => {
    const file = path.join(FIXTURES, "bad_truncated.pkl")
    const r = await cli("data", "inspect", file)
    expect(r.code).toBe(1)
    expect(oneLineError(r)).toContain(file)
  })

  it("the MMSA fixture as JSON", async () => {
    const r = await cli("data", "inspect", MMSA, "--json")
    expect(r.code).toBe(0)
    expect(r.out).toHaveLength(1)
    const report = JSON.parse(r.out[0])
    expect(report.format).toBe("mmsa-pickle")
    expect(report.splits.train.n).toBe(6)
    expect(report.splits.valid.n).toBe(3)
    expect(report.splits.test.n).toBe(3)
    expect(report.splits.train.shapes.text).toEqual([6, 50, 768])
    expect(report.splits.train.shapes.audio).toEqual([6, 50, 5])
    expect(report.splits.train.shapes.vision).toEqual([6, 50, 20])
    expect(report.splits.train.nonfinite_replaced.audio).toBe(1)
    expect(report.splits.train.ids[1]).toBe("trvid0$_$2")
  })

  it("the real MOSI folder as JSON: 1284/229/686 segments with text and audio", async () => {
    const r = await cli("data", "inspect", MOSI_REAL, "--json")
    expect(r.code).toBe(0)
    const report = JSON.parse(r.out[0])
    expect(report.format).toBe("mosi-real")
    const sizes = { train: 1284, valid: 229, test: 686 } as const
    for (const [split, n] of Object.entries(sizes)) {
      const s = report.splits[split]
      expect(s.n).toBe(n)
      expect(s.shapes.text[0]).toBe(n)
      expect(s.shapes.text).toHaveLength(3)
      expect(s.shapes.audio).toEqual([n, 1, 73])
      expect(s.shapes.vision).toBeUndefined()
    }
  })

  it("the mosi-real keyword: the installed @haemsa/mosi-real package's data", async () => {
    const r = await cli("data", "inspect", "mosi-real", "--json")
    expect(r.code).toBe(0)
    const report = JSON.parse(r.out[0])
    expect(report.format).toBe("mosi-real")
    expect([report.splits.train.n, report.splits.valid.n, report.splits.test.n]).toEqual([1284, 229, 686])
  })
})

describe("haemsa train and eval end to end (the 12-sample MMSA fixture, a tiny spec, cpu)", () => {
  it("trains, writes a checkpoint and a JSON report, and eval reads the checkpoint back", async () => {
    const specFile = path.join(root, "spec.json")
    const spec = tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] })
    await fs.writeFile(specFile, JSON.stringify(spec))
    const out = path.join(root, "ckpt")
    const trainJson = path.join(root, "train.json")
    const t = await cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "2", "--seed", "3", "--backend", "cpu", "--out", out, "--json", trainJson)
    expect(t.err.filter((l) => l.startsWith("haemsa:"))).toEqual([])
    expect(t.code).toBe(0)
    const report = JSON.parse(await fs.readFile(trainJson, "utf8"))
    expect(report).toMatchObject({ model: "haemsa", backend: "cpu", seed: 3, epochs: 2, data: MMSA, modalities: ["text", "audio"] })
    expect(Object.keys(report.test)).toEqual(expect.arrayContaining(["mae", "corr", "acc7", "acc2_non0", "f1_non0"]))
    expect(ArchitectureSpec.decode(JSON.parse(await fs.readFile(path.join(out, "checkpoint.json"), "utf8")).spec)).toEqual(spec)

    const evalJson = path.join(root, "eval.json")
    const e = await cli("eval", "--checkpoint", out, "--data", MMSA, "--backend", "cpu", "--json", evalJson)
    expect(e.code).toBe(0)
    const scored = JSON.parse(await fs.readFile(evalJson, "utf8"))
    // the checkpoint scores the test split exactly as the training run did
    expect(scored.test).toEqual(report.test)
    expect(scored.missing_modalities.map((row: { modalities: string[] }) => row.modalities)).toEqual([["text"], ["audio"], ["text", "audio"]])
  })
})
