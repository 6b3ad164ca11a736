// The declared flags: each kind's typed value and typed UsageError, and the usage text generated
// from the same declaration.
import { Result } from "effect"
import { describe, expect, expectTypeOf, it } from "vitest"
import * as Args from "../src/cli/Args"
import * as Cli from "../src/cli/Cli"
import type * as Command from "../src/cli/Command"
import * as EvalCommand from "../src/cli/EvalCommand"
import * as TrainCommand from "../src/cli/TrainCommand"
import * as SearchCommand from "../src/search/SearchCommand"

const spec = {
  name: "demo",
  summary: "A command with one flag of each kind.",
  flags: {
    quiet: Args.flag({ help: "say less" }),
    name: Args.string({ metavar: "NAME", help: "a name" }),
    out: Args.string({ metavar: "DIR", required: "where the output goes", help: "the output folder" }),
    count: Args.int({ metavar: "N", min: 1, default: 3, help: "how many" }),
    rate: Args.number({ metavar: "X", help: "a rate" }),
    mode: Args.choice({ values: ["fast", "slow"], default: "fast", help: "the mode" }),
    parts: Args.list({ metavar: "t,a,v", item: "modality", items: { text: ["t"], audio: ["a"], vision: ["v"] }, help: "the parts" })
  }
} satisfies Args.CommandSpec<Args.Flags>

const parse = (...argv: string[]) => Args.parse(spec, argv)

/** The reason of a failed parse (fails the test on success). */
const reason = (...argv: string[]): string => {
  const result = parse(...argv)
  if (Result.isSuccess(result)) throw new Error(`parsed: ${JSON.stringify(result.success)}`)
  expect(result.failure).toBeInstanceOf(Args.UsageError)
  return result.failure.reason
}

describe("Args.parse: values", () => {
  it("gives every flag a typed value: defaults, --name value and --name=value, the last of a repeated flag", () => {
    const parsed = Result.getOrThrow(parse("--out", "o", "--rate=0.5", "--mode", "slow", "--parts", "t,audio,t", "--count", "1", "--count=7", "--quiet"))
    expect(parsed.flags).toEqual({ quiet: true, out: "o", rate: 0.5, mode: "slow", parts: ["text", "audio"], count: 7 })
    expect(parsed.positional).toBeUndefined()
    const defaults = Result.getOrThrow(parse("--out=o"))
    expect(defaults.flags).toEqual({ out: "o", quiet: false, count: 3, mode: "fast" })
  })

  it("types the record by the declaration (undefined only without a default)", () => {
    const parsed = Result.getOrThrow(parse("--out", "o"))
    expectTypeOf(parsed.flags.quiet).toEqualTypeOf<boolean>()
    expectTypeOf(parsed.flags.name).toEqualTypeOf<string | undefined>()
    expectTypeOf(parsed.flags.out).toEqualTypeOf<string>()
    expectTypeOf(parsed.flags.count).toEqualTypeOf<number>()
    expectTypeOf(parsed.flags.rate).toEqualTypeOf<number | undefined>()
    expectTypeOf(parsed.flags.mode).toEqualTypeOf<"fast" | "slow">()
    expectTypeOf(parsed.flags.parts).toEqualTypeOf<ReadonlyArray<"text" | "audio" | "vision"> | undefined>()
    expectTypeOf(Args.parse(spec, [])).toEqualTypeOf<Result.Result<Args.Parsed<typeof spec.flags>, Args.UsageError>>()
  })

  it("accepts the global flags (--verbose, --help) on every command", () => {
    expect(Result.isSuccess(parse("--out", "o", "--verbose", "--help"))).toBe(true)
  })
})

describe("Args.parse: one typed UsageError per kind of mistake, naming the flag and the value", () => {
  it("an unknown flag, with the known ones", () => {
    expect(reason("--out", "o", "--bogus", "1")).toBe(
      "unknown option --bogus for 'demo' (known: --quiet, --name, --out, --count, --rate, --mode, --parts, --help, --verbose)"
    )
  })

  it("a missing value: at the end, or followed by another flag", () => {
    expect(reason("--out", "o", "--name")).toBe("--name needs a value")
    expect(reason("--name", "--out", "o")).toBe("--name needs a value")
  })

  it("a value given to a flag", () => {
    expect(reason("--out", "o", "--quiet=yes")).toBe("--quiet takes no value")
  })

  it("a bad integer or number, and one below the minimum", () => {
    expect(reason("--out", "o", "--count", "two")).toBe("--count must be an integer, got 'two'")
    expect(reason("--out", "o", "--count", "1.5")).toBe("--count must be an integer, got '1.5'")
    expect(reason("--out", "o", "--count=")).toBe("--count must be an integer, got ''")
    expect(reason("--out", "o", "--rate", "fast")).toBe("--rate must be a number, got 'fast'")
    expect(reason("--out", "o", "--rate", "Infinity")).toBe("--rate must be a number, got 'Infinity'")
    expect(reason("--out", "o", "--count", "0")).toBe("--count must be >= 1 (got 0)")
  })

  it("an integer is decimal digits and exactly representable: never rounded, never read as hex or an exponent", () => {
    const unsafe = (raw: string) => `--count must be an integer between -9007199254740991 and 9007199254740991, got '${raw}'`
    expect(reason("--out", "o", "--count", "9007199254740993")).toBe(unsafe("9007199254740993"))
    expect(reason("--out", "o", "--count", "9007199254740992")).toBe(unsafe("9007199254740992"))
    expect(reason("--out", "o", "--count", "1e3")).toBe("--count must be an integer, got '1e3'")
    expect(reason("--out", "o", "--count", "0x10")).toBe("--count must be an integer, got '0x10'")
    expect(Result.getOrThrow(parse("--out", "o", "--count", "9007199254740991")).flags.count).toBe(Number.MAX_SAFE_INTEGER)
  })

  it("an enum value not in the list", () => {
    expect(reason("--out", "o", "--mode", "medium")).toBe("--mode must be fast or slow (got 'medium')")
  })

  it("a list item not in the list, and an empty list", () => {
    expect(reason("--out", "o", "--parts", "t,x")).toBe("--parts: unknown modality 'x' (use t, a, v)")
    expect(reason("--out", "o", "--parts", ",")).toBe("--parts needs at least one of t, a, v")
  })

  it("a required flag left out (with why), and positionals where none or one is declared", () => {
    expect(reason()).toBe("demo needs --out DIR (where the output goes)")
    expect(reason("--out", "o", "extra")).toBe("demo takes no positional arguments (got 'extra')")
    const inspect = { name: "look", summary: "s", flags: {}, positional: { metavar: "PATH", help: "p" } }
    expect(Result.getOrThrow(Args.parse(inspect, ["a"])).positional).toBe("a")
    expect(Args.parse(inspect, [])).toEqual(Result.fail(new Args.UsageError({ reason: "look needs exactly one PATH" })))
    expect(Args.parse(inspect, ["a", "b"])).toEqual(Result.fail(new Args.UsageError({ reason: "look needs exactly one PATH" })))
  })

  it("the real commands keep their messages", () => {
    const failure = (command: Args.CommandSpec<Args.Flags>, ...argv: string[]) =>
      Result.match(Args.parse(command, argv), { onSuccess: () => "", onFailure: (e) => e.reason })
    expect(failure(EvalCommand.command.spec)).toBe("eval needs --checkpoint DIR")
    expect(failure(SearchCommand.command.spec)).toBe("search needs --checkpoint DIR (where it saves its state; rerun the same command to resume)")
    expect(failure(SearchCommand.command.spec, "--checkpoint", "c", "--population", "1")).toBe("--population must be >= 3 (got 1)")
    expect(failure(TrainCommand.command.spec, "--model", "big")).toBe("--model must be haemsa, early-fusion or late-fusion (got 'big')")
    expect(failure(TrainCommand.command.spec, "--modalities", "x")).toBe("--modalities: unknown modality 'x' (use t, a, v)")
    expect(failure(TrainCommand.command.spec, "--epochs", "0")).toBe("--epochs must be >= 1 (got 0)")
    expect(failure(TrainCommand.command.spec, "--modalities", "")).toBe("--modalities needs at least one of t, a, v")
    expect(failure(TrainCommand.command.spec, "--patience", "-1")).toBe("--patience must be >= 1 (got -1)")
    expect(failure(TrainCommand.command.spec, "--patience", "0")).toBe("--patience must be >= 1 (got 0)")
    expect(failure(TrainCommand.command.spec, "--batch-size", "0")).toBe("--batch-size must be >= 1 (got 0)")
    expect(failure(TrainCommand.command.spec, "--seed", "9007199254740993")).toMatch(/^--seed must be an integer between .*, got '9007199254740993'$/)
    expect(failure(SearchCommand.command.spec, "--checkpoint", "c", "--population", "2")).toBe("--population must be >= 3 (got 2)")
  })
})

describe("the usage text comes from the declaration", () => {
  it("synopsis: the positional, required flags first, optional ones in brackets, enum values as the metavar", () => {
    expect(Args.synopsis(spec)).toBe(
      "haemsa demo --out DIR [--quiet] [--name NAME] [--count N] [--rate X] [--mode fast|slow] [--parts t,a,v]"
    )
  })

  it("help: the summary, the synopsis, and one line per flag with its help and default", () => {
    const lines = Args.help(spec).split("\n")
    expect(lines[0]).toBe("haemsa demo: A command with one flag of each kind.")
    expect(lines).toContain(`usage: ${Args.synopsis(spec)}`)
    const row = (flag: string) => lines.find((l) => l.trimStart().startsWith(flag + " "))?.replace(/\s+/g, " ").trim()
    expect(row("--count N")).toBe("--count N how many (default 3)")
    expect(row("--mode fast|slow")).toBe("--mode fast|slow the mode (default fast)")
    expect(row("--out DIR")).toBe("--out DIR the output folder (required)")
    expect(row("--parts t,a,v")).toBe("--parts t,a,v the parts (t, a, v)")
    expect(row("--quiet")).toBe("--quiet say less")
    expect(row("--verbose")).toMatch(/full error/)
  })

  it("a flag added to a command's declaration shows up in its help and in the top-level usage", () => {
    for (const flag of Object.keys(SearchCommand.flags)) expect(Args.help(SearchCommand.command.spec)).toContain(`--${flag}`)
    const usage = Cli.usage()
    for (const command of [TrainCommand.command, EvalCommand.command, SearchCommand.command] as ReadonlyArray<Command.Any<unknown>>) {
      for (const word of Args.synopsis(command.spec).split(/\s+/)) expect(usage).toContain(word)
    }
  })
})
