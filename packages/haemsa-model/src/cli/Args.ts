/**
 * A small, strict command-line parser: every option is declared; an unknown option, a missing value
 * or a bad number is a typed `UsageError` naming it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** Bad command-line usage (exit code 2). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** The declared options of a command: name -> kind. */
export type OptionSpec = Record<string, "string" | "int" | "number" | "flag">

/** Parsed arguments: positionals and option values by name. */
export interface Parsed {
  readonly positionals: ReadonlyArray<string>
  readonly options: Readonly<Record<string, string | number | boolean>>
}

/** Parse `argv` against `spec` (accepts `--name value` and `--name=value`). */
export const parseArgs = (argv: ReadonlyArray<string>, spec: OptionSpec, command: string): Parsed => {
  const positionals: string[] = []
  const options: Record<string, string | number | boolean> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith("--") || arg === "--") {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const kind = spec[name]
    if (kind === undefined) {
      const known = Object.keys(spec).map((k) => `--${k}`).join(", ")
      throw new UsageError({ reason: `unknown option --${name} for '${command}' (known: ${known || "none"})` })
    }
    if (kind === "flag") {
      if (eq > 0) throw new UsageError({ reason: `--${name} takes no value` })
      options[name] = true
      continue
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (raw === undefined || (eq < 0 && raw.startsWith("--"))) throw new UsageError({ reason: `--${name} needs a value` })
    if (kind === "string") options[name] = raw
    else {
      const v = Number(raw)
      if (raw.trim() === "" || !Number.isFinite(v) || (kind === "int" && !Number.isInteger(v))) {
        throw new UsageError({ reason: `--${name} must be ${kind === "int" ? "an integer" : "a number"}, got '${raw}'` })
      }
      options[name] = v
    }
  }
  return { positionals, options }
}
