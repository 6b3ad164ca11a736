import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Robustness from "../src/model/Robustness"
import { cli, MMSA, tinySpec } from "./Support"

let root: string
let checkpoint: string
beforeAll(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-robustness-"))
  const specFile = path.join(root, "spec.json")
  await fs.writeFile(specFile, JSON.stringify(tinySpec("haemsa", "meanpool")))
  checkpoint = path.join(root, "ckpt")
  const t = await cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--backend", "cpu", "--out", checkpoint)
  expect(t.code, t.stderr).toBe(0)
})
afterAll(async () => {
  await fs.rm(root, { recursive: true, force: true })
})

describe("haemsa eval --robustness (a tiny HAEMSA on the MMSA fixture, cpu)", () => {
  it("writes rows for every modality x mode x rate, rate 0 rows equal the plain eval's test metrics, and an SVG plot", async () => {
    const json = path.join(root, "robustness.json")
    const plot = path.join(root, "robustness.svg")
    const r = await cli("eval", "--checkpoint", checkpoint, "--data", MMSA, "--backend", "cpu", "--robustness", "--json", json, "--plot", plot)
    expect(r.code, r.stderr).toBe(0)
    expect(r.out.join("\n")).toContain("robustness (test split, seed 0")
    expect(r.out.join("\n")).toMatch(/vision whole 0\.5/)
    const report = JSON.parse(await fs.readFile(json, "utf8"))
    expect(report.seed).toBe(0)
    expect(report.rows.map((row: { modality: string; mode: string; rate: number }) => `${row.modality}/${row.mode}/${row.rate}`)).toEqual(
      ["text", "audio", "vision"].flatMap((m) => ["frames", "whole"].flatMap((mode) => Robustness.RATES.map((rate) => `${m}/${mode}/${rate}`)))
    )
    for (const row of report.rows) expect(Object.keys(row).sort()).toEqual(["modality", "mode", "rate", "test"])
    const plainJson = path.join(root, "plain.json")
    const p = await cli("eval", "--checkpoint", checkpoint, "--data", MMSA, "--backend", "cpu", "--json", plainJson)
    expect(p.code, p.stderr).toBe(0)
    const plain = JSON.parse(await fs.readFile(plainJson, "utf8"))
    expect(plain.rows).toBeUndefined()
    expect(Object.keys(plain.test)).toContain("mae")
    for (const row of report.rows.filter((row: { rate: number }) => row.rate === 0)) expect(row.test).toEqual(plain.test)
    expect(report.test).toEqual(plain.test)

    const svg = await fs.readFile(plot, "utf8")
    expect(svg.startsWith("<svg")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect((svg.match(/<polyline /g) ?? []).length).toBe(2 * 3 * 2) // two panels, a line per modality and mode
  })

  it("the same --seed gives the same rows; --json - puts the JSON on stdout and the table on stderr", async () => {
    const a = await cli("eval", "--checkpoint", checkpoint, "--data", MMSA, "--backend", "cpu", "--robustness", "--seed", "5", "--json", "-")
    const b = await cli("eval", "--checkpoint", checkpoint, "--data", MMSA, "--backend", "cpu", "--robustness", "--seed", "5", "--json", "-")
    expect(a.code, a.stderr).toBe(0)
    const rows = JSON.parse(a.out.join("\n")).rows
    expect(rows).toHaveLength(36)
    expect(JSON.parse(b.out.join("\n")).rows).toEqual(rows)
    expect(a.stderr).toContain("robustness (test split, seed 5")
  })

  it("--plot without --robustness is a usage error naming both", async () => {
    const r = await cli("eval", "--checkpoint", checkpoint, "--data", MMSA, "--backend", "cpu", "--plot", path.join(root, "x.svg"))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--plot needs --robustness")
  })
})
