/**
 * Every output location is checked right after the flags are parsed: an `--out` or `--json` under a
 * regular file, on a read-only file system or without permission is a usage error naming the cause,
 * and the training never starts (no progress line). The read-only and permission cases are simulated
 * (the file system's answer to the probe is replaced), and run for real on a read-only tmpfs where this
 * process may mount one (in a private mount namespace: `unshare -m`). `--json -` keeps stdout for the
 * JSON: the tables go to stderr.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { cli, MMSA, tinySpec } from "./Support"

/** The folder whose probe the simulated file system refuses, and how. */
const simulated = vi.hoisted(() => ({ dir: undefined as string | undefined, code: "EROFS" as "EROFS" | "EACCES" }))

vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>()
  const refused = (code: string) => Object.assign(new Error(`${code}: simulated`), { code })
  // a read-only mount refuses to create a file in it; a folder without permission fails the access check
  const openSync = ((file: fs.PathLike, ...rest: Array<unknown>) => {
    if (simulated.code === "EROFS" && simulated.dir !== undefined && path.dirname(String(file)) === simulated.dir) throw refused("EROFS")
    return (actual.openSync as (...args: Array<unknown>) => number)(file, ...rest)
  }) as typeof actual.openSync
  const accessSync = ((file: fs.PathLike, mode?: number) => {
    if (simulated.code === "EACCES" && simulated.dir !== undefined && String(file) === simulated.dir) throw refused("EACCES")
    return actual.accessSync(file, mode)
  }) as typeof actual.accessSync
  const mocked = { ...actual, openSync, accessSync }
  return { ...mocked, default: mocked }
})

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const BIN = path.join(ROOT, "packages", "haemsa-model", "src", "bin.ts")
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx")

let root: string
let specFile: string
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-preflight-"))
  specFile = path.join(root, "spec.json")
  fs.writeFileSync(specFile, JSON.stringify(tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] })))
})
afterAll(() => {
  simulated.dir = undefined
  fs.rmSync(root, { recursive: true, force: true })
})

/** `haemsa train` (one epoch on the MMSA fixture) in this process, with what the progress printed on stderr. */
const train = async (...extra: string[]) => {
  const progress: string[] = []
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    progress.push(String(chunk))
    return true
  })
  try {
    const r = await cli("train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--backend", "cpu", ...extra)
    return { ...r, progress: progress.join("") }
  } finally {
    spy.mockRestore()
  }
}

/** A run stopped by the pre-flight check: exit 2, one line, and no training at all. */
const refused = (r: Awaited<ReturnType<typeof train>>): string => {
  expect(r.code).toBe(2)
  expect(r.progress).not.toMatch(/epoch/)
  expect(r.out).toEqual([])
  expect(r.err).toHaveLength(1)
  return r.err[0]
}

describe("output locations are checked before the training", () => {
  it("--json and --out under a regular file: the file in the way is named, nothing is trained or written", async () => {
    const blocker = path.join(root, "runs")
    fs.writeFileSync(blocker, "keep")
    const json = path.join(blocker, "x", "y.json")
    expect(refused(await train("--json", json))).toBe(`haemsa: --json ${json}: ${blocker} is a regular file`)
    const out = path.join(blocker, "ckpt")
    expect(refused(await train("--out", out, "--json", path.join(root, "fine.json")))).toBe(`haemsa: --out ${out}: ${blocker} is a regular file`)
    expect(fs.readFileSync(blocker, "utf8")).toBe("keep")
    expect(fs.existsSync(path.join(root, "fine.json"))).toBe(false)
  })

  it("a read-only file system (simulated): EROFS, not ENOENT, for a new folder under it too", async () => {
    const mount = path.join(root, "ro")
    fs.mkdirSync(mount)
    simulated.dir = mount
    simulated.code = "EROFS"
    try {
      const out = path.join(mount, "a", "ckpt")
      expect(refused(await train("--out", out))).toBe(`haemsa: --out ${out}: ${mount}: read-only file system (EROFS)`)
      const json = path.join(mount, "y.json")
      expect(refused(await train("--json", json))).toBe(`haemsa: --json ${json}: ${mount}: read-only file system (EROFS)`)
    } finally {
      simulated.dir = undefined
    }
  })

  it("a folder without write permission (simulated: chmod does not stop root): EACCES", async () => {
    const locked = path.join(root, "locked")
    fs.mkdirSync(locked)
    simulated.dir = locked
    simulated.code = "EACCES"
    try {
      const json = path.join(locked, "y.json")
      expect(refused(await train("--json", json))).toBe(`haemsa: --json ${json}: ${locked}: permission denied (EACCES)`)
    } finally {
      simulated.dir = undefined
    }
  })

  it("--json - and --json /dev/stdout: the JSON alone on stdout, the tables and the progress on stderr", async () => {
    for (const stdout of ["-", "/dev/stdout"]) {
      const r = await train("--json", stdout)
      expect(r.code).toBe(0)
      expect(JSON.parse(r.out.join("\n"))).toMatchObject({ model: "haemsa", backend: "cpu", epochs: 1 })
      expect(r.err.join("\n")).toMatch(/^valid\s+\d/m)
      expect(r.progress).toMatch(/epoch 1\/1/)
    }
    expect(fs.existsSync(path.join(process.cwd(), "-"))).toBe(false)
  })
})

/** Whether this process may mount a read-only tmpfs in a private mount namespace (root with CAP_SYS_ADMIN). */
const canMountReadOnly = (() => {
  if (process.platform !== "linux") return false
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-ro-probe-"))
  try {
    const r = spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs -o ro tmpfs \"$0\" && ! touch \"$0/x\" 2>/dev/null", probe], { stdio: "ignore" })
    return r.status === 0
  } catch {
    return false
  } finally {
    fs.rmSync(probe, { recursive: true, force: true })
  }
})()

describe.skipIf(!canMountReadOnly)("a real read-only mount (a private mount namespace)", () => {
  it("--out and --json on it: EROFS before any training", () => {
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-ro-"))
    try {
      for (const flag of [["--out", path.join(mount, "runs", "ckpt")], ["--json", path.join(mount, "y.json")]]) {
        const script = "mount -t tmpfs -o ro tmpfs \"$0\" && exec \"$@\""
        const r = spawnSync(
          "unshare",
          ["-m", "sh", "-c", script, mount, TSX, "--conditions=source", BIN, "train", "--data", MMSA, "--spec", specFile, "--epochs", "1", "--backend", "cpu", ...flag],
          { cwd: ROOT, encoding: "utf8", timeout: 120_000 }
        )
        expect(r.stderr).not.toMatch(/epoch/)
        expect(r.stderr.trim()).toBe(`haemsa: ${flag[0]} ${flag[1]}: ${mount}: read-only file system (EROFS)`)
        expect(r.status).toBe(2)
      }
    } finally {
      fs.rmSync(mount, { recursive: true, force: true })
    }
  })
})
