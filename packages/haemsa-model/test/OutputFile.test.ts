import { afterAll, describe, expect, it, onTestFinished } from "@effect/vitest"
import { Effect } from "effect"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { UsageError } from "../src/cli/Args"
import * as OutputFile from "../src/cli/OutputFile"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-output-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("OutputFile", () => {
  it.effect("writes indented JSON with a final newline, creating the folder, and leaves no temporary file", () =>
    Effect.gen(function*() {
      const file = path.join(tmp, "a", "b", "out.json")
      yield* OutputFile.writeJson(file, { mae: 0.5, keys: ["t", "a"] })
      expect(fs.readFileSync(file, "utf8")).toBe("{\n  \"mae\": 0.5,\n  \"keys\": [\n    \"t\",\n    \"a\"\n  ]\n}\n")
      expect(fs.readdirSync(path.dirname(file))).toEqual(["out.json"])
      yield* OutputFile.writeText(file, "replaced")
      expect(fs.readFileSync(file, "utf8")).toBe("replaced")
    }))

  it.effect("a file that cannot be written is a UsageError naming it", () =>
    Effect.gen(function*() {
      const blocker = path.join(tmp, "not-a-folder")
      fs.writeFileSync(blocker, "keep")
      const file = path.join(blocker, "out.json")
      const error = yield* Effect.flip(OutputFile.writeJson(file, {}))
      expect(error).toBeInstanceOf(UsageError)
      expect(error.message).toContain(`cannot write ${file}`)
      expect(fs.readFileSync(blocker, "utf8")).toBe("keep")
    }))

  it.effect("a regular file is replaced atomically: a failed write leaves it as it was, no temp file, and its mode is kept", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "atomic")
      fs.mkdirSync(dir)
      const file = path.join(dir, "report.json")
      fs.writeFileSync(file, "before\n", { mode: 0o600 })
      fs.chmodSync(file, 0o600)
      const error = yield* Effect.flip(OutputFile.withOutput(file, (sink) =>
        Effect.gen(function*() {
          yield* sink.write("half of a report")
          return yield* Effect.fail("the work failed midway" as const)
        })))
      expect(error).toBe("the work failed midway")
      expect(fs.readFileSync(file, "utf8")).toBe("before\n")
      expect(fs.readdirSync(dir)).toEqual(["report.json"])
      yield* OutputFile.writeJson(file, { after: true })
      expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ after: true })
      expect(fs.statSync(file).mode & 0o777).toBe(0o600)
      expect(fs.readdirSync(dir)).toEqual(["report.json"])
    }))

  it.effect("a symbolic link is followed: the file it points to is replaced, the link stays a link (a dangling one too)", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "links")
      fs.mkdirSync(path.join(dir, "real"), { recursive: true })
      const target = path.join(dir, "real", "out.json")
      fs.writeFileSync(target, "old")
      const link = path.join(dir, "link.json")
      fs.symlinkSync(path.join("real", "out.json"), link)
      yield* OutputFile.writeJson(link, { n: 1 })
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true)
      expect(JSON.parse(fs.readFileSync(target, "utf8"))).toEqual({ n: 1 })
      expect(fs.readdirSync(path.join(dir, "real"))).toEqual(["out.json"])

      const dangling = path.join(dir, "dangling.json")
      fs.symlinkSync(path.join("real", "new.json"), dangling)
      yield* OutputFile.writeText(dangling, "created")
      expect(fs.lstatSync(dangling).isSymbolicLink()).toBe(true)
      expect(fs.readFileSync(path.join(dir, "real", "new.json"), "utf8")).toBe("created")
    }))

  it.effect("a FIFO is written in place (streamed to its reader) and stays a FIFO", () =>
    Effect.gen(function*() {
      const fifo = path.join(tmp, "pipe")
      expect(spawnSync("mkfifo", [fifo]).status).toBe(0)
      // the reader runs concurrently: a FIFO's writer waits for it
      const reader = spawn("cat", [fifo])
      // (also when the test fails or times out: a FIFO replaced by a file would leave its reader waiting)
      onTestFinished(() => void reader.kill())
      const chunks: Buffer[] = []
      reader.stdout.on("data", (c: Buffer) => void chunks.push(c))
      const closed = new Promise<number | null>((resolve) => reader.on("close", resolve))
      yield* OutputFile.writeJson(fifo, { through: "the pipe" })
      expect(yield* Effect.promise(() => closed)).toBe(0)
      expect(JSON.parse(Buffer.concat(chunks).toString("utf8"))).toEqual({ through: "the pipe" })
      expect(fs.lstatSync(fifo).isFIFO()).toBe(true)
      expect(fs.readdirSync(tmp).filter((f) => f.startsWith("pipe."))).toEqual([])
    }))

  it.effect.skipIf(!fs.existsSync("/dev/full"))("/dev/full: a typed ENOSPC naming it, and it stays a character device", () =>
    Effect.gen(function*() {
      // as root (who could replace /dev/full itself if this failed) a private node of the same device
      const full = process.getuid?.() === 0 && spawnSync("mknod", ["-m", "666", path.join(tmp, "full"), "c", "1", "7"]).status === 0
        ? path.join(tmp, "full")
        : "/dev/full"
      const error = yield* Effect.flip(OutputFile.writeJson(full, { lost: true }))
      expect(error).toBeInstanceOf(OutputFile.OutputError)
      expect(error.message).toBe(`cannot write ${full}: no space left on device (ENOSPC)`)
      expect(fs.lstatSync(full).isCharacterDevice()).toBe(true)
    }))

  it.effect("- is standard output: the text goes to the given line writer, line by line", () =>
    Effect.gen(function*() {
      const lines: string[] = []
      yield* OutputFile.writeJson("-", { a: 1 }, { stdout: (line) => void lines.push(line) })
      expect(lines).toEqual(["{", "  \"a\": 1", "}"])
      expect(fs.existsSync("-")).toBe(false)
    }))

  it.effect("a folder is never written or replaced", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "a-folder")
      fs.mkdirSync(dir)
      const error = yield* Effect.flip(OutputFile.writeJson(dir, {}))
      expect(error.message).toBe(`cannot write ${dir}: ${dir} is a folder`)
      expect(fs.statSync(dir).isDirectory()).toBe(true)
    }))
})

describe("OutputFile.check (before the work)", () => {
  const reason = (location: OutputFile.Location) =>
    OutputFile.check(location).pipe(Effect.flip, Effect.map((e) => e.reason))

  it.effect("under a regular file: names the flag, the value and the file in the way", () =>
    Effect.gen(function*() {
      const blocker = path.join(tmp, "blocker")
      fs.writeFileSync(blocker, "")
      const json = path.join(blocker, "x", "y.json")
      expect(yield* reason({ option: "--json", path: json, kind: "file" })).toBe(`--json ${json}: ${blocker} is a regular file`)
      const out = path.join(blocker, "ckpt")
      expect(yield* reason({ option: "--out", path: out, kind: "folder" })).toBe(`--out ${out}: ${blocker} is a regular file`)
      expect(yield* reason({ option: "--out", path: blocker, kind: "folder" })).toBe(`--out ${blocker}: ${blocker} is a regular file`)
    }))

  it.effect("a new path (folders to create), an existing file, -, a FIFO and a character device pass, and leave nothing behind", () =>
    Effect.gen(function*() {
      const dir = path.join(tmp, "fine")
      fs.mkdirSync(dir)
      fs.writeFileSync(path.join(dir, "old.json"), "")
      expect(spawnSync("mkfifo", [path.join(dir, "fifo")]).status).toBe(0)
      for (
        const [file, kind] of [
          [path.join(dir, "new", "deeper", "y.json"), "file"],
          [path.join(dir, "old.json"), "file"],
          [path.join(dir, "fifo"), "file"],
          ["-", "file"],
          ["/dev/null", "file"],
          [path.join(dir, "ckpt"), "folder"],
          [dir, "folder"]
        ] as const
      ) {
        yield* OutputFile.check({ option: "--json", path: file, kind })
      }
      expect(fs.readdirSync(dir).sort()).toEqual(["fifo", "old.json"])
    }))

  it.effect.skipIf(process.getuid?.() === 0)("a folder without write permission: EACCES (not as root: permissions do not stop root)", () =>
    Effect.gen(function*() {
      const locked = path.join(tmp, "locked")
      fs.mkdirSync(locked, { mode: 0o555 })
      const json = path.join(locked, "y.json")
      expect(yield* reason({ option: "--json", path: json, kind: "file" })).toBe(`--json ${json}: ${locked}: permission denied (EACCES)`)
    }))

  it.effect("two outputs on standard output are refused", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(OutputFile.checkAll([
        { option: "--json", path: "-", kind: "file" },
        { option: "--report", path: "/dev/stdout", kind: "file" }
      ]))
      expect(error.reason).toBe("--json and --report cannot both write to standard output")
    }))
})
