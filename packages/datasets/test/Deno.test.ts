import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const DENO = fileURLToPath(new URL("../../../node_modules/.bin/deno", import.meta.url))
const SCRIPT = fileURLToPath(new URL("./deno/ReadAll.ts", import.meta.url))

describe("the readers under Deno", () => {
  // deno is a root devDependency (the npm `deno` package ships the binary)
  it.skipIf(!fs.existsSync(DENO))("read every format from the TypeScript source, leaving no temporary file behind", () => {
    // the HDF5 reader's worker starts from a temporary module file under Deno: it must not outlive the run
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-deno-readers-"))
    const run = spawnSync(DENO, ["run", "-A", "--sloppy-imports", SCRIPT], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, TMPDIR: tmp }
    })
    const left = fs.readdirSync(tmp)
    fs.rmSync(tmp, { recursive: true, force: true })
    expect(run.status, run.stderr).toBe(0)
    expect(left).toEqual([])
    const line = run.stdout.trim().split("\n").at(-1)!
    expect(JSON.parse(line)).toEqual({
      mmsa: [6, 1],
      iemocap: ["emotions", 8],
      csd: ["COVAREP", 74, 4],
      mosi: [1284, 229, 686],
      badCsd: "CsdError"
    })
  })
})
