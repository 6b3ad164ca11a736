/**
 * The repository is self-contained: no tracked (or untracked, not ignored) text file names the
 * `shared` folder beside a developer's clone, which a user's clone does not have. The scanner is
 * checked on planted references first (built at run time, so this file names no such path itself).
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { findSharedReferences, isBinaryPath, repositoryFiles, scanFiles } from "./support/SharedReferences"

const ROOT = fileURLToPath(new URL("..", import.meta.url))

/** A path into the folder beside the clone, joined at run time: `up("data", "mosi-real")`. */
const up = (...parts: string[]) => ["..", "shared", ...parts].join("/")
/** A `shared/...` path without the dot-dot: `bare("docs", "gpu.md")`. */
const bare = (...parts: string[]) => ["shared", ...parts].join("/")

describe("the scanner", () => {
  it("finds every planted reference, with its line", () => {
    const text = [
      "first line",
      `const SHARED = new URL("../../${up()}/", import.meta.url)`,
      `npx haemsa train --data ${up("data", "mosi-real")}`,
      `the recipe of \`${bare("docs", "gpu.md")}\``,
      `dpkg -x /work/${bare("gpu")}/libvulkan1.deb /`,
      `fixtures in ${bare("fixtures")}/mmsa_aligned.pkl`,
      `a Windows path ..\\shared\\data`,
      "last line"
    ].join("\n")
    expect(findSharedReferences(text).map((h) => h.line)).toEqual([2, 3, 4, 5, 6, 7])
    expect(findSharedReferences(text)[1]).toEqual({ line: 3, text: `npx haemsa train --data ${up("data", "mosi-real")}` })
  })

  it("leaves other uses of the word alone", () => {
    const text = [
      `sharedMode: "evolve"`,
      "a 2-core machine shared with other jobs",
      "shared_p0 and shared_p4 pickles",
      "the shared/specific latents; h_s, the shared stream",
      `un${bare("data")} and my-${bare("docs")}`,
      "packages/datasets/test/fixtures/mmsa_aligned.pkl and packages/mosi-real/data"
    ].join("\n")
    expect(findSharedReferences(text)).toEqual([])
  })

  it("skips binary files by extension", () => {
    for (const f of ["a/b.pkl", "x.PICKLE", "f.csd", "g.deb", "tfjs.wasm", "c.png", "d.svg.gz"]) expect(isBinaryPath(f)).toBe(true)
    for (const f of ["README.md", "a.ts", "results.json", "chart.svg", "run-gpu.sh"]) expect(isBinaryPath(f)).toBe(false)
  })

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-self-contained-"))
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it("names each file and line of a planted tree, skipping binary and missing files", () => {
    fs.mkdirSync(path.join(tmp, "docs"))
    fs.writeFileSync(path.join(tmp, "docs/guide.md"), `# Guide\n\nRun it on ${up("data", "mosi-real")}.\n`)
    fs.writeFileSync(path.join(tmp, "clean.ts"), "export const x = 1\n")
    fs.writeFileSync(path.join(tmp, "data.pkl"), up("data"))
    fs.writeFileSync(path.join(tmp, "blob.dat"), `\0${up("data")}`)
    expect(scanFiles(tmp, ["clean.ts", "data.pkl", "blob.dat", "docs/guide.md", "deleted.md"])).toEqual([
      `docs/guide.md:3: Run it on ${up("data", "mosi-real")}.`
    ])
  })
})

describe("the repository", () => {
  it("lists its files through git (tracked and untracked, not ignored)", () => {
    const files = repositoryFiles(ROOT)
    expect(files).toContain("package.json")
    expect(files).toContain("test/SelfContained.test.ts")
    expect(files.some((f) => f.startsWith("node_modules/"))).toBe(false)
  })

  it("names no path into the shared folder beside the clone in any text file", () => {
    expect(scanFiles(ROOT, repositoryFiles(ROOT))).toEqual([])
  })
})
