/** The generated blocks of a results page: a benchmark's rerun replaces them and keeps the hand-written text around them. */
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { block, replaceBlocks } from "../benchmarks/Harness"

const page = [
  "# Results",
  "",
  block("header", "Measured on day 1."),
  "",
  "A hand-written paragraph.",
  "",
  block("tables", "| a |\n| 1 |"),
  "- a hand-written target",
  ""
].join("\n")

describe("benchmark result pages", () => {
  it("replaceBlocks: the blocks' new text in place, the hand-written text around them kept", () => {
    const out = replaceBlocks(page, { header: "Measured on day 2.", tables: "| a |\n| 2 |\n| 3 |" })!
    expect(out).toContain("<!-- generated:header -->\nMeasured on day 2.\n<!-- /generated:header -->")
    expect(out).toContain("| a |\n| 2 |\n| 3 |\n<!-- /generated:tables -->\n- a hand-written target")
    expect(out).toContain("\n\nA hand-written paragraph.\n\n")
    expect(out).not.toContain("day 1")
    expect(replaceBlocks(out, { header: "Measured on day 1.", tables: "| a |\n| 1 |" })).toBe(page)
    // only the blocks given are replaced
    expect(replaceBlocks(page, { header: "Measured on day 3." })).toBe(page.replace("day 1", "day 3"))
  })

  it("replaceBlocks: undefined when a block is missing or there twice (the script then writes the whole page)", () => {
    expect(replaceBlocks(page, { header: "x", other: "y" })).toBeUndefined()
    expect(replaceBlocks(page + block("header", "again"), { header: "x" })).toBeUndefined()
    expect(replaceBlocks("no blocks here", { header: "x" })).toBeUndefined()
  })

  it("docs/results.md has each block results.ts writes, once: a rerun keeps its hand-written sections", () => {
    const doc = fs.readFileSync(new URL("../docs/results.md", import.meta.url), "utf8")
    const names = ["header", "targets-synthetic", "targets-mosi-real", "tables-synthetic", "tables-mosi-real"]
    const bodies = Object.fromEntries(names.map((name) => {
      const open = `<!-- generated:${name} -->\n`
      const start = doc.indexOf(open)
      expect(start, name).toBeGreaterThanOrEqual(0)
      return [name, doc.slice(start + open.length, doc.indexOf(`\n<!-- /generated:${name} -->`, start))]
    }))
    expect(replaceBlocks(doc, bodies)).toBe(doc)
    expect(replaceBlocks(doc, { ...bodies, header: "rerun" })).toContain("### These tables and `haemsa train --seeds`")
    expect(replaceBlocks(doc, { ...bodies, "tables-mosi-real": "rerun" })).toContain("### Two training threads")
  })
})
