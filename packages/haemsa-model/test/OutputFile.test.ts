import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
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
})
