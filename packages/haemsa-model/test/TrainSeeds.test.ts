/**
 * `haemsa train --seeds`: one model per seed, the mean and sample std of each metric, a checkpoint per
 * seed in `--out DIR/seed-S`, the run card in the JSON and in every manifest (covered by its integrity
 * hash), and `haemsa eval`'s warning when the data's hash differs from the card's.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Checkpoint from "../src/model/Checkpoint"
import type * as Experiment from "../src/model/Experiment"
import * as RunCard from "../src/model/RunCard"
import * as SeedStats from "../src/model/SeedStats"
import { cli, MMSA, tinySpec } from "./Support"
import * as Train from "../src/model/Train"

const METRICS = ["acc2_has0", "acc2_non0", "f1_has0", "f1_non0", "acc5", "acc7", "mae", "corr"].sort()

let root: string
let specFile: string
let out: string
let report: Record<string, any>
let stdout: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-seeds-"))
  specFile = path.join(root, "spec.json")
  await fs.writeFile(specFile, JSON.stringify(tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] })))
  out = path.join(root, "ck")
  const json = path.join(root, "seeds.json")
  const t = await cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--seeds", "1,2", "--backend", "cpu", "--out", out, "--json", json)
  expect(t.code, t.stderr).toBe(0)
  stdout = t.out.join("\n")
  report = JSON.parse(await fs.readFile(json, "utf8"))
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

describe("haemsa train --seeds 1,2 (a tiny HAEMSA on the MMSA fixture, cpu)", () => {
  it("the JSON: model, backend, seeds, one run per seed, mean and std with today's metric keys, the card", () => {
    expect(Object.keys(report).sort()).toEqual(["backend", "card", "mean", "model", "runs", "seeds", "std"])
    expect(report.model).toBe("haemsa")
    expect(report.backend).toBe("cpu")
    expect(report.seeds).toEqual([1, 2])
    expect(report.runs.map((r: { seed: number }) => r.seed)).toEqual([1, 2])
    for (const run of report.runs) {
      expect(Object.keys(run).sort()).toEqual(["epochs", "seconds", "seed", "test", "valid"])
      expect(run.epochs).toBe(1)
      expect(Object.keys(run.valid).sort()).toEqual(METRICS)
      expect(Object.keys(run.test).sort()).toEqual(METRICS)
    }
    for (const stat of ["mean", "std"] as const) {
      expect(Object.keys(report[stat]).sort()).toEqual(["test", "valid"])
      expect(Object.keys(report[stat].valid).sort()).toEqual(METRICS)
    }
    // the mean and sample std of the runs themselves
    for (const split of ["valid", "test"] as const) {
      const s = SeedStats.summarize(report.runs.map((r: Record<string, Experiment.SeedRun["valid"]>) => r[split]))
      expect(report.mean[split]).toEqual(s.mean)
      expect(report.std[split]).toEqual(s.std)
    }
    expect(report.card.seeds).toEqual([1, 2])
    expect(report.card.command).toEqual(["haemsa", "train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--seeds", "1,2", "--backend", "cpu", "--out", out, "--json", path.join(root, "seeds.json")])
    // the default --threads: every core, at most one per 8 samples of a batch
    expect(report.card.backend).toEqual({ name: "cpu", threads: Train.defaultThreads(32) })
    expect(report.card.spec_sha256).toBe(RunCard.specHash(report.card.spec))
    expect(report.card.data.source).toBe(MMSA)
    expect(report.card.data.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(report.card.packages["@haemsa/haemsa-model"]).toMatch(/^\d+\.\d+\.\d+/)
  })

  it("prints each run and the mean ± std table", () => {
    expect(stdout).toContain("seed 1 valid")
    expect(stdout).toContain("seed 2 test")
    expect(stdout).toContain("mean ± std over 2 seeds (sample std, n-1)")
    expect(stdout).toMatch(/test\s+\d\.\d{4}±\d\.\d{4}/)
  })

  it("--out DIR keeps one checkpoint per seed in DIR/seed-S, each with the card (covered by the integrity hash)", async () => {
    expect((await fs.readdir(out)).filter((n) => !n.startsWith(".")).sort()).toEqual(["seed-1", "seed-2"])
    for (const seed of [1, 2]) {
      const dir = path.join(out, `seed-${seed}`)
      expect((await fs.readdir(dir)).filter((n) => !n.startsWith(".")).some((n) => n === "checkpoint.json")).toBe(true)
      const ckpt = await Checkpoint.load<Experiment.CheckpointExtra>(dir)
      expect(ckpt.extra.seed).toBe(seed)
      expect(ckpt.extra.card).toEqual(report.card)
      const run = report.runs.find((r: { seed: number }) => r.seed === seed)
      expect(ckpt.extra.test).toEqual(run.test)
    }
    // the card is covered by the integrity hash: an edited card is refused
    const manifestFile = path.join(out, "seed-1", Checkpoint.MANIFEST)
    const manifest = JSON.parse(await fs.readFile(manifestFile, "utf8"))
    const copy = path.join(root, "edited")
    await fs.cp(path.join(out, "seed-1"), copy, { recursive: true })
    await fs.writeFile(path.join(copy, Checkpoint.MANIFEST), JSON.stringify({ ...manifest, extra: { ...manifest.extra, card: { ...manifest.extra.card, seeds: [9] } } }))
    await expect(Checkpoint.load(copy)).rejects.toThrow(/integrity hash mismatch/)
  })

  it("the data hash is the same for the same data: a second training's card has the same", async () => {
    const json = path.join(root, "single.json")
    const t = await cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--seed", "4", "--backend", "cpu", "--json", json)
    expect(t.code, t.stderr).toBe(0)
    const single = JSON.parse(await fs.readFile(json, "utf8"))
    expect(single.seed).toBe(4)
    expect(single.card.seeds).toEqual([4])
    expect(single.card.data).toEqual(report.card.data)
    expect(single.card.spec_sha256).toBe(report.card.spec_sha256)
  })

  it("--seeds with --seed, a bad list, a repeated seed, or --resume: usage errors, nothing trained", async () => {
    for (const [argv, message] of [
      [["--seeds", "1,2", "--seed", "3"], "--seeds and --seed exclude each other"],
      [["--seeds", "1,2", "--seed=0"], "--seeds and --seed exclude each other"],
      [["--seeds", "1,x"], "--seeds must be comma-separated integers"],
      [["--seeds", ""], "--seeds must be comma-separated integers"],
      [["--seeds", "1,1"], "--seeds names seed 1 twice"],
      [["--seeds", "1,2", "--resume", "--out", path.join(root, "r")], "--resume continues a single-seed training"]
    ] as const) {
      const r = await cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--backend", "cpu", ...argv)
      expect(r.code, argv.join(" ")).toBe(2)
      expect(r.stderr).toContain(message)
      expect(r.stderr).not.toContain("epoch")
    }
  })
})

describe("haemsa eval and the run card's data hash", () => {
  it("no warning on the training's data; one line on stderr when the card's data hash differs", async () => {
    const dir = path.join(out, "seed-1")
    const same = await cli("eval", "--checkpoint", dir, "--data", MMSA, "--backend", "cpu")
    expect(same.code, same.stderr).toBe(0)
    expect(same.stderr).not.toContain("warning")
    // a checkpoint whose card names other data (its integrity hash recomputed, so it loads)
    const other = path.join(root, "other-data")
    await fs.cp(dir, other, { recursive: true })
    const manifest = JSON.parse(await fs.readFile(path.join(other, Checkpoint.MANIFEST), "utf8"))
    const card = { ...manifest.extra.card, data: { ...manifest.extra.card.data, sha256: "0".repeat(64), source: "elsewhere.pkl" } }
    const { integrity: _, ...rest } = { ...manifest, extra: { ...manifest.extra, card } }
    await fs.writeFile(path.join(other, Checkpoint.MANIFEST), JSON.stringify({ ...rest, integrity: { sha256: Checkpoint.integrityOf(rest) } }))
    const changed = await cli("eval", "--checkpoint", other, "--data", MMSA, "--backend", "cpu")
    expect(changed.code, changed.stderr).toBe(0)
    const warnings = changed.err.filter((l) => l.includes("warning"))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).not.toContain("\n")
    expect(warnings[0]).toMatch(/^haemsa: warning: the data differ from the checkpoint's training data: --data .* has sha256 [0-9a-f]{16}\.\.\., the run card of .* 0{16}\.\.\. \(elsewhere\.pkl\)$/)
    // the metrics are those of the same model on the same data all the same
    expect(changed.out).toEqual(same.out.map((l) => l.replace(dir, other)))
  })

  it("a checkpoint without a card (written before run cards) loads and is scored without a warning", async () => {
    const old = path.join(root, "no-card")
    await fs.cp(path.join(out, "seed-2"), old, { recursive: true })
    const manifest = JSON.parse(await fs.readFile(path.join(old, Checkpoint.MANIFEST), "utf8"))
    const { card: _card, ...extra } = manifest.extra
    const { integrity: _, ...rest } = { ...manifest, extra }
    await fs.writeFile(path.join(old, Checkpoint.MANIFEST), JSON.stringify({ ...rest, integrity: { sha256: Checkpoint.integrityOf(rest) } }))
    const r = await cli("eval", "--checkpoint", old, "--data", MMSA, "--backend", "cpu")
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toContain("warning")
  })
})
