/**
 * The `haemsa` command under Deno, the way `pnpm haemsa:deno` runs it: packages/haemsa-model/src/bin.ts
 * bundled with esbuild (benchmarks/deno/Bundle.ts) and run with `deno run -A --unstable-webgpu`. It runs
 * from a temporary folder without `NODE_PATH` or `HAEMSA_WASM_DIR`, so the bundle has to find the wasm
 * binaries itself. Covered: training with the default backend (wasm) and with cpu, `HAEMSA_WASM_DIR`,
 * `tensorflow` (not supported under Deno: a clear error), and the webgpu set-up on whatever adapter
 * this machine has (a software/fallback adapter is named first and refused unless allowed). Skipped,
 * with the reason printed, when there is no Deno binary.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Bundle from "../../../benchmarks/deno/Bundle"
import * as Backend from "../src/backends/Backend"

const MINUTE = 60_000
const deno = Bundle.denoBinary()
if (deno === undefined) console.warn("DenoCli: skipped: no deno binary (install the root devDependency `deno`, or set DENO_BIN)")

/** The working folder of every run (outside the repository). */
const work = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-deno-cli-"))
let bundle = ""
beforeAll(async () => {
  if (deno !== undefined) bundle = await Bundle.bundle("packages/haemsa-model/src/bin.ts", Bundle.outPath("haemsa-deno-cli-test.mjs"))
}, 2 * MINUTE)
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true })
})

/** The bundle's environment without what would find the wasm binaries for it (pnpm's NODE_PATH, HAEMSA_WASM_DIR). */
const denoEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...Bundle.bundleEnv(), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }
  delete env.NODE_PATH
  delete env.HAEMSA_WASM_DIR
  return { ...env, ...extra }
}

/** Run a Deno program from the temporary folder: exit code, stdout, and stderr's lines. */
const runDeno = (args: ReadonlyArray<string>, extraEnv: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(deno!, ["run", "-A", "--unstable-webgpu", ...args], { cwd: work, encoding: "utf8", env: denoEnv(extraEnv), maxBuffer: 64 * 1024 * 1024 })
  const stderr = r.stderr ?? ""
  return { code: r.status, stdout: r.stdout ?? "", stderr, errLines: stderr.split("\n").filter((l) => l.startsWith("haemsa: ")), all: `${r.stdout}\n${stderr}` }
}

/** `haemsa ARGS` under Deno. */
const haemsa = (args: ReadonlyArray<string>, extraEnv: NodeJS.ProcessEnv = {}) => runDeno([bundle, ...args], extraEnv)

/** The train command's report: the summary line and the valid/test rows of the metrics table. */
const expectTrained = (r: ReturnType<typeof haemsa>, backend: string) => {
  expect(r.code, r.all).toBe(0)
  expect(r.stdout).toMatch(new RegExp(`on synthetic \\(.+\\), backend ${backend}, seed 0: 1 epochs in [\\d.]+s`))
  expect(r.stdout).toMatch(/acc2_has0\s+acc2_non0\s+f1_has0\s+f1_non0\s+acc5\s+acc7\s+mae\s+corr/)
  expect(r.stdout).toMatch(/^valid(\s+-?\d+\.\d{4}){8}$/m)
  expect(r.stdout).toMatch(/^test(\s+-?\d+\.\d{4}){8}$/m)
}

describe.skipIf(deno === undefined)("haemsa under Deno (the esbuild bundle of bin.ts)", () => {
  it("train --data synthetic --epochs 1 with the default backend: wasm, its binaries found by the bundle", () => {
    const json = path.join(work, "wasm.json")
    const r = haemsa(["train", "--data", "synthetic", "--epochs", "1", "--json", json])
    expectTrained(r, "wasm")
    const report = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(report.backend).toBe("wasm")
    expect(Number.isFinite(report.test.mae)).toBe(true)
  }, 5 * MINUTE)

  it("train --data synthetic --epochs 1 --backend cpu (audio and vision only, to stay short)", () => {
    expectTrained(haemsa(["train", "--data", "synthetic", "--epochs", "1", "--backend", "cpu", "--modalities", "a,v"]), "cpu")
  }, 5 * MINUTE)

  it("HAEMSA_WASM_DIR overrides the lookup: a folder without the binaries is a one-line BackendError (exit 1)", () => {
    const r = haemsa(["train", "--data", "synthetic", "--epochs", "1"], { HAEMSA_WASM_DIR: work })
    expect(r.code, r.all).toBe(1)
    expect(r.errLines).toEqual([`haemsa: backend wasm: HAEMSA_WASM_DIR=${work} holds none of ${Backend.WASM_BINARIES.join(", ")}`])
  }, MINUTE)

  it("--backend tensorflow says it is not supported under Deno (exit 1) instead of failing obscurely", () => {
    const r = haemsa(["train", "--data", "synthetic", "--epochs", "1", "--backend", "tensorflow"])
    expect(r.code, r.all).toBe(1)
    expect(r.errLines).toHaveLength(1)
    expect(r.errLines[0]).toMatch(/^haemsa: backend tensorflow: not supported under Deno: .*use wasm, cpu or webgpu under Deno$/)
  }, MINUTE)
})

describe.skipIf(deno === undefined)("haemsa --backend webgpu under Deno, on this machine's adapter", () => {
  /** What Deno's WebGPU offers here: the adapter's info, or null (no adapter). */
  const probeAdapter = (): Backend.AdapterLike | null => {
    const file = Bundle.outPath("adapter-probe.mjs")
    fs.writeFileSync(file, [
      `const a = await globalThis.navigator?.gpu?.requestAdapter({ powerPreference: "high-performance" })`,
      `const i = a?.info`,
      `console.log(JSON.stringify(a ? { info: { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter } } : null))`
    ].join("\n"))
    const r = runDeno([file])
    return r.code === 0 ? JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "null") : null
  }
  const adapter = deno === undefined ? null : probeAdapter()
  const described = adapter === null ? undefined : Backend.describeAdapter(adapter)
  if (deno !== undefined) {
    console.warn(`DenoCli: webgpu adapter here: ${described === undefined ? "none" : `${described.name}${described.software ? ` (software: ${described.software})` : " (hardware)"}`}`)
  }
  // the flags are parsed, then the backend is set up, then the command reads its --spec: a missing spec
  // file stops right after the set-up (a usage error, exit 2)
  const missingSpec = "/nonexistent/haemsa-spec.json"
  const setupOnly = ["train", "--data", "synthetic", "--spec", missingSpec, "--backend", "webgpu"]
  const afterSetup = (lines: ReadonlyArray<string>) => {
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(new RegExp(`^haemsa: --spec ${missingSpec}: `))
  }

  it.skipIf(described?.software === undefined)("a software/fallback adapter: named on the first line, then refused with a BackendError (exit 1)", () => {
    const r = haemsa(setupOnly)
    expect(r.code, r.all).toBe(1)
    expect(r.stdout).toBe("")
    expect(r.errLines).toHaveLength(2)
    expect(r.errLines[0]).toBe(`haemsa: webgpu adapter "${described!.name}" is a software/fallback adapter (${described!.software}): no GPU, much slower than --backend wasm`)
    expect(r.errLines[1]).toContain("refusing the software/fallback adapter")
    expect(r.errLines[1]).toContain("--allow-software-adapter")
  }, MINUTE)

  it.skipIf(described?.software === undefined)("a software/fallback adapter with --allow-software-adapter: named on the first line, then set up (the command goes on)", () => {
    const r = haemsa([...setupOnly, "--allow-software-adapter"])
    expect(r.errLines[0]).toContain(`webgpu adapter "${described!.name}" is a software/fallback adapter`)
    afterSetup(r.errLines.slice(1))
    expect(r.code, r.all).toBe(2)
  }, 2 * MINUTE)

  it.skipIf(described === undefined || described.software !== undefined)("a hardware adapter is set up without the option", () => {
    const r = haemsa(setupOnly)
    afterSetup(r.errLines)
    expect(r.code, r.all).toBe(2)
  }, 2 * MINUTE)

  it.skipIf(described !== undefined)("no adapter: a BackendError saying so (exit 1)", () => {
    const r = haemsa(setupOnly)
    expect(r.code, r.all).toBe(1)
    expect(r.errLines.at(-1)).toMatch(/^haemsa: backend webgpu: .*(no GPU adapter|navigator\.gpu is not available)/)
  }, MINUTE)
})
