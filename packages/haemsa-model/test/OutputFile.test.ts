import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { UsageError } from "../src/cli/Args"
import * as OutputFile from "../src/cli/OutputFile"

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-output-"))
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe("OutputFile", () => {
  it("writes indented JSON with a final newline, creating the folder, and leaves no temporary file", async () => {
    const file = path.join(tmp, "a", "b", "out.json")
    await Effect.runPromise(OutputFile.writeJson(file, { mae: 0.5, keys: ["t", "a"] }))
    expect(fs.readFileSync(file, "utf8")).toBe("{\n  \"mae\": 0.5,\n  \"keys\": [\n    \"t\",\n    \"a\"\n  ]\n}\n")
    expect(fs.readdirSync(path.dirname(file))).toEqual(["out.json"])
    await Effect.runPromise(OutputFile.writeText(file, "replaced"))
    expect(fs.readFileSync(file, "utf8")).toBe("replaced")
  })

  it("a file that cannot be written is a UsageError naming it", async () => {
    const blocker = path.join(tmp, "not-a-folder")
    fs.writeFileSync(blocker, "keep")
    const file = path.join(blocker, "out.json")
    const error = await Effect.runPromise(Effect.flip(OutputFile.writeJson(file, {})))
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toContain(`cannot write ${file}`)
    expect(fs.readFileSync(blocker, "utf8")).toBe("keep")
  })
})
