/**
 * The packages as a user installs them. Builds and packs every publishable package in `packages/*`
 * (`pnpm pack`), installs the tarballs with plain `npm` into one fresh project outside the workspace,
 * and runs there: every ```js block of every package README on Node as ESM, on Node as CommonJS
 * (the block converted by esbuild, so the packages' CJS builds are what runs) and on Deno (bare and
 * `npm:` specifiers); the `haemsa` command through `npx` (help, synthetic, mosi-real) and under Deno.
 * A package added to `packages/` later is covered without editing this file.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as esbuild from "esbuild"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { denoBinary } from "../benchmarks/deno/Bundle"
import * as Readme from "./support/Readme"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const PNPM = ["npx", "-y", "pnpm@12.4.2"]
const MINUTE = 60_000

interface Published {
  readonly dir: string
  readonly name: string
  readonly version: string
}

/** Every non-private package under packages/. */
const publishable: ReadonlyArray<Published> = fs.readdirSync(path.join(ROOT, "packages")).sort().flatMap((entry) => {
  const file = path.join(ROOT, "packages", entry, "package.json")
  if (!fs.existsSync(file)) return []
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as { name: string; version: string; private?: boolean }
  return json.private ? [] : [{ dir: path.join(ROOT, "packages", entry), name: json.name, version: json.version }]
})

interface Ran {
  readonly status: number | null
  readonly output: string
}

/** Run a command; its stdout and stderr together, and its exit status. */
const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: NodeJS.ProcessEnv = process.env): Ran => {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` }
}

/** Run a command that must succeed; throws with its output when it does not. */
const must = (command: string, args: ReadonlyArray<string>, cwd: string, env?: NodeJS.ProcessEnv): string => {
  const r = run(command, args, cwd, env)
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} (in ${cwd}) exited ${r.status}:\n${r.output.slice(-4000)}`)
  return r.output
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-consumer-"))
const tarballs = path.join(work, "tarballs")
const project = path.join(work, "project")
const deno = denoBinary()
// the programs' temporary files (the README examples' checkpoint folders) go inside `work`, removed after
const userTmp = path.join(work, "tmp")
fs.mkdirSync(userTmp)
// what a user's shell has: no workspace variables, no mosi-real override
const userEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith("npm_") && !k.startsWith("PNPM") && !k.startsWith("HAEMSA_") && k !== "NODE_OPTIONS" && !k.startsWith("VITEST"))
  ),
  TMPDIR: userTmp
}
const denoEnv: NodeJS.ProcessEnv = { ...userEnv, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }

beforeAll(() => {
  // build what is packed (a fresh clone has no dist/), then pack
  must(PNPM[0], [...PNPM.slice(1), "-r", "--filter", "./packages/*", "build"], ROOT)
  fs.mkdirSync(tarballs)
  for (const pkg of publishable) must(PNPM[0], [...PNPM.slice(1), "pack", "--pack-destination", tarballs], pkg.dir)
  fs.mkdirSync(project)
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "haemsa-consumer", private: true, version: "0.0.0" }, null, 2))
  const files = fs.readdirSync(tarballs).filter((f) => f.endsWith(".tgz")).map((f) => path.join(tarballs, f))
  must("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...files, "effect@^4.1.0", "@tensorflow/tfjs@^4.22.0"], project, userEnv)
}, 15 * MINUTE)

afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true })
})

describe("the tarballs", () => {
  it("one per publishable package, each with its LICENSE, registry metadata and no workspace ranges", () => {
    expect(publishable.length).toBeGreaterThanOrEqual(7)
    const rootLicense = fs.readFileSync(path.join(ROOT, "LICENSE"), "utf8")
    for (const pkg of publishable) {
      const installed = path.join(project, "node_modules", pkg.name)
      const json = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"))
      expect(json.version, pkg.name).toBe(pkg.version)
      for (const field of ["repository", "homepage", "bugs", "keywords", "license", "engines"]) expect(json[field], `${pkg.name} ${field}`).toBeDefined()
      expect(JSON.stringify(json), pkg.name).not.toContain("workspace:")
      const license = fs.readFileSync(path.join(installed, "LICENSE"), "utf8")
      if (json.license === "MIT") expect(license, pkg.name).toBe(rootLicense)
      else expect(license, pkg.name).toContain("MIT License")
      expect(Readme.relativeLinks(fs.readFileSync(path.join(installed, "README.md"), "utf8")), `${pkg.name} README links`).toEqual([])
    }
  })

  it("one Effect and one tfjs for every package: the user's copies (peer dependencies)", () => {
    const nested = (dep: string) =>
      publishable.filter((pkg) => fs.existsSync(path.join(project, "node_modules", pkg.name, "node_modules", dep))).map((p) => p.name)
    expect(nested("effect")).toEqual([])
    expect(nested("@tensorflow/tfjs")).toEqual([])
  })
})

describe.each(publishable.map((pkg) => [pkg.name, pkg] as const))("README of %s", (name, pkg) => {
  const blocks = Readme.programs(fs.readFileSync(path.join(pkg.dir, "README.md"), "utf8"))
  const slug = name.replace(/^@haemsa\//, "")
  const file = (i: number, ext: string) => path.join(project, `readme-${slug}-${i}.${ext}`)

  it("has at least one complete program", () => {
    expect(blocks.length).toBeGreaterThan(0)
  })

  it.each(blocks.map((code, i) => [i, code] as const))("example %i runs on Node as ESM and as CommonJS", (i, code) => {
    fs.writeFileSync(file(i, "mjs"), code)
    must("node", [file(i, "mjs")], project, userEnv)
    const cjs = esbuild.transformSync(code, { format: "cjs", platform: "node", target: "node20", loader: "js" }).code
    fs.writeFileSync(file(i, "cjs"), cjs)
    must("node", [file(i, "cjs")], project, userEnv)
  }, 5 * MINUTE)

  it.skipIf(deno === undefined).each(blocks.map((code, i) => [i, code] as const))("example %i runs on Deno, with bare and with npm: specifiers", (i, code) => {
    fs.writeFileSync(file(i, "deno.mjs"), code)
    must(deno!, ["run", "-A", file(i, "deno.mjs")], project, denoEnv)
    fs.writeFileSync(file(i, "npm.mjs"), Readme.toNpmSpecifiers(code))
    must(deno!, ["run", "-A", file(i, "npm.mjs")], project, denoEnv)
  }, 5 * MINUTE)
})

describe("the haemsa command, installed", () => {
  it("npx haemsa --help prints the usage", () => {
    const out = must("npx", ["haemsa", "--help"], project, userEnv)
    expect(out).toContain("haemsa train")
    expect(out).toContain("haemsa search")
  })

  it("npx haemsa train --data synthetic --epochs 1 trains and prints the test metrics", () => {
    const json = path.join(work, "synthetic.json")
    const out = must("npx", ["haemsa", "train", "--data", "synthetic", "--epochs", "1", "--json", json], project, userEnv)
    expect(out).toMatch(/MAE/i)
    const report = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(Number.isFinite(report.test.mae)).toBe(true)
  }, 5 * MINUTE)

  it("npx haemsa train --data mosi-real --epochs 1 finds the installed @haemsa/mosi-real", () => {
    const json = path.join(work, "mosi-real.json")
    must("npx", ["haemsa", "train", "--data", "mosi-real", "--epochs", "1", "--json", json], project, userEnv)
    const report = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(Number.isFinite(report.test.mae)).toBe(true)
  }, 5 * MINUTE)

  it.skipIf(deno === undefined)("deno run -A node_modules/@haemsa/haemsa-model/dist/bin.js train --data synthetic --epochs 1", () => {
    const json = path.join(work, "deno-synthetic.json")
    const bin = path.join("node_modules", "@haemsa", "haemsa-model", "dist", "bin.js")
    must(deno!, ["run", "-A", bin, "train", "--data", "synthetic", "--epochs", "1", "--json", json], project, denoEnv)
    const report = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(Number.isFinite(report.test.mae)).toBe(true)
  }, 5 * MINUTE)
})
