// Failures stay typed: a command's error union is in its type, a typed failure is one line with exit
// 1 or 2 by its type, and a defect (a bug) is reported as an internal error, distinct from bad input.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expectTypeOf } from "vitest"
import { BackendError } from "../src/backends/Backend"
import * as Args from "../src/cli/Args"
import * as Cli from "../src/cli/Cli"
import * as Command from "../src/cli/Command"
import { DataPackageMissing } from "../src/cli/DataSource"
import * as EvalCommand from "../src/cli/EvalCommand"
import * as InspectCommand from "../src/cli/InspectCommand"
import * as PredictCommand from "../src/cli/PredictCommand"
import * as TrainCommand from "../src/cli/TrainCommand"
import * as Network from "../src/model/Network"
import * as SearchCommand from "../src/search/SearchCommand"
import { cli } from "./Support"

/** In-memory output. */
const capture = () => {
  const out: string[] = []
  const err: string[] = []
  return { io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }, out, err }
}

const spec = { name: "demo", summary: "A test command.", flags: { fail: Args.flag({ help: "fail with a typed error" }) } }

/** A command that dies (a bug), or with --fail fails with a typed UsageError. */
const dying = Command.make({
  spec,
  handler: ({ flags }) =>
    flags.fail
      ? Effect.fail(new Args.UsageError({ reason: "--fail was given" }))
      : Effect.sync(() => {
        throw new TypeError("cannot read properties of undefined (reading 'shape')")
      })
})

describe("a command's error union is typed", () => {
  it("each command names its failures, and all of them are the CLI's", () => {
    expectTypeOf<Command.ErrorOf<typeof TrainCommand.command>>().toEqualTypeOf<TrainCommand.TrainCommandError>()
    expectTypeOf<Command.ErrorOf<typeof EvalCommand.command>>().toEqualTypeOf<EvalCommand.EvalCommandError>()
    expectTypeOf<Command.ErrorOf<typeof PredictCommand.command>>().toEqualTypeOf<PredictCommand.PredictCommandError>()
    expectTypeOf<Command.ErrorOf<typeof InspectCommand.command>>().toEqualTypeOf<InspectCommand.InspectCommandError>()
    expectTypeOf<Command.ErrorOf<typeof SearchCommand.command>>().toEqualTypeOf<SearchCommand.SearchCommandError>()
    expectTypeOf<TrainCommand.TrainCommandError>().toExtend<Cli.CliError>()
    expectTypeOf<EvalCommand.EvalCommandError>().toExtend<Cli.CliError>()
    expectTypeOf<PredictCommand.PredictCommandError>().toExtend<Cli.CliError>()
    expectTypeOf<InspectCommand.InspectCommandError>().toExtend<Cli.CliError>()
    expectTypeOf<SearchCommand.SearchCommandError>().toExtend<Cli.CliError>()
    // not `unknown`: every member is a tagged error
    expectTypeOf<Cli.CliError["_tag"]>().toExtend<string>()
    expectTypeOf<unknown>().not.toExtend<Cli.CliError>()
  })

  it("running a command adds bad usage and the backend's setup to its errors, and nothing else", () => {
    const { io } = capture()
    expectTypeOf(Command.run(TrainCommand.command, [], io)).toEqualTypeOf<
      Effect.Effect<void, TrainCommand.TrainCommandError | Args.UsageError | BackendError>
    >()
    expectTypeOf(Command.run(dying, [], io)).toEqualTypeOf<Effect.Effect<void, Args.UsageError | BackendError>>()
  })

  it.effect("bad flags are a typed UsageError in the error channel, before the backend is set up", () =>
    Effect.gen(function*() {
      const { io } = capture()
      const error = yield* Effect.flip(Command.run(TrainCommand.command, ["--epochs", "two", "--backend", "quantum"], io))
      expect(error).toBeInstanceOf(Args.UsageError)
      expect(error.message).toBe("--epochs must be an integer, got 'two'")
    }))

  it.effect("a backend that cannot be set up is a typed BackendError", () =>
    Effect.gen(function*() {
      const { io } = capture()
      const error = yield* Effect.flip(Command.run(EvalCommand.command, ["--checkpoint", "/nonexistent", "--backend", "quantum"], io))
      expect(error._tag).toBe("BackendError")
    }))
})

describe("the top-level handler: typed failures vs defects", () => {
  it("a typed failure is one line; exit 2 for bad usage and a missing data package, 1 otherwise", () => {
    const cases: Array<[Cli.CliError, number]> = [
      [new Args.UsageError({ reason: "--x needs a value" }), 2],
      [new DataPackageMissing({ reason: "not installed" }), 2],
      [new BackendError({ backend: "quantum", reason: "unknown backend" }), 1],
      [new Network.ModelError({ reason: "the spec does not fit" }), 1]
    ]
    for (const [error, code] of cases) {
      const { io, err } = capture()
      expect(Cli.report(Exit.fail(error), io), error._tag).toBe(code)
      expect(err).toEqual([`haemsa: ${error.message}`])
      expect(Cli.exitCode(error)).toBe(code)
    }
  })

  it("a defect is an internal error (exit 1) with a hint to use --verbose, not a bad-input message", async () => {
    const { io, err } = capture()
    expect(await Cli.runCommand(dying, [], io)).toBe(1)
    expect(err).toEqual([
      "haemsa: internal error: cannot read properties of undefined (reading 'shape') (a bug in haemsa, not bad input; rerun with --verbose for the full trace)"
    ])
    // the same command failing with a typed error: bad usage, no "internal error"
    const typed = capture()
    expect(await Cli.runCommand(dying, ["--fail"], typed.io)).toBe(2)
    expect(typed.err).toEqual(["haemsa: --fail was given"])
  })

  it("--verbose prints the defect's full cause (the stack) before the line", async () => {
    const { io, err } = capture()
    expect(await Cli.runCommand(dying, ["--verbose"], io)).toBe(1)
    expect(err).toHaveLength(2)
    expect(err[0]).toMatch(/TypeError: cannot read properties of undefined[\s\S]*\n\s+at /)
    expect(err[1]).toMatch(/^haemsa: internal error: .*the trace is above/)
  })

  it("an interruption is an internal error too", () => {
    const { io, err } = capture()
    expect(Cli.report(Exit.failCause(Cause.interrupt()), io)).toBe(1)
    expect(err[0]).toMatch(/^haemsa: internal error: interrupted/)
  })
})

describe("a message that quotes a file prints no control characters", () => {
  /** Characters a terminal may act on: C0/C1 controls, DEL, bidirectional overrides. */
  const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/
  /** A title-setting OSC sequence, a screen clear, an 8-bit CSI and a right-to-left override. */
  const HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202e{"

  it("--spec, a checkpoint's manifest, --verbose too: the escapes are shown escaped, not sent", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-quote-"))
    try {
      const specFile = path.join(dir, "spec.json")
      fs.writeFileSync(specFile, HOSTILE)
      fs.mkdirSync(path.join(dir, "ckpt"))
      fs.writeFileSync(path.join(dir, "ckpt", "checkpoint.json"), HOSTILE)
      for (
        const argv of [
          ["train", "--spec", specFile, "--backend", "cpu"],
          ["eval", "--checkpoint", path.join(dir, "ckpt"), "--backend", "cpu"],
          ["eval", "--checkpoint", path.join(dir, "ckpt"), "--backend", "cpu", "--verbose"]
        ]
      ) {
        const r = await cli(...argv)
        expect(r.code, argv.join(" ")).toBeGreaterThan(0)
        const last = r.err[r.err.length - 1]
        expect(last).toMatch(/^haemsa: .*\\x1b/)
        for (const line of r.err.flatMap((l) => l.split("\n"))) expect(line).not.toMatch(RAW_CONTROL)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
