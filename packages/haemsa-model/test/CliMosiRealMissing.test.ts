// The command line as a user without the @haemsa/mosi-real data package sees it: the package's import
// fails (mocked here, for this file only), so `--data mosi-real` must end in a one-line usage error.
import { describe, expect, it, vi } from "vitest"
import * as Cli from "../src/cli/Cli"

vi.mock("@haemsa/mosi-real", () => {
  throw Object.assign(new Error("Cannot find package '@haemsa/mosi-real'"), { code: "ERR_MODULE_NOT_FOUND" })
})

/** Run the command line with in-memory output and without `$HAEMSA_MOSI_REAL`. */
const cli = async (...argv: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const saved = process.env["HAEMSA_MOSI_REAL"]
  delete process.env["HAEMSA_MOSI_REAL"]
  try {
    const code = await Cli.run(argv, { out: (s) => void out.push(s), err: (s) => void err.push(s) })
    return { code, out, err }
  } finally {
    if (saved !== undefined) process.env["HAEMSA_MOSI_REAL"] = saved
  }
}

describe("--data mosi-real without the data package", () => {
  it.each([
    ["data inspect", ["data", "inspect", "mosi-real"]],
    ["train", ["train", "--data", "mosi-real", "--backend", "cpu"]],
    ["eval", ["eval", "--checkpoint", "/nonexistent/haemsa-checkpoint", "--data", "mosi-real", "--backend", "cpu"]]
  ])("%s: exit 2, one line saying how to install it", async (_, argv) => {
    const r = await cli(...argv)
    expect(r.code).toBe(2)
    expect(r.out).toEqual([])
    expect(r.err).toEqual([
      "haemsa: --data mosi-real needs the data package: npm install @haemsa/mosi-real (or pass a mosi-real folder path, or set HAEMSA_MOSI_REAL)"
    ])
  })
})
