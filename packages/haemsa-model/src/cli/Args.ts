/**
 * The command line's flags, declared once. A command lists its flags (name, kind, default, help) in a
 * {@link CommandSpec}; {@link parse} turns the arguments into a typed record of values or a typed
 * {@link UsageError} naming the flag and the value (an unknown flag, a missing value, a bad integer or
 * number, a value outside an enum or a list), and {@link synopsis} and {@link help} write the usage text
 * from the same declaration. Flags are `--name value` or `--name=value`; a repeated flag keeps its
 * last value.
 *
 * Why not `effect/cli`: its Node services come from `@effect/platform-node`, which declares
 * Node >= 22.19, while haemsa supports Node 20 and Deno; and a bad flag there prints the whole help
 * text (exit code 1), where haemsa prints one line naming the flag and exits with 2. This parser is
 * small, synchronous and returns a `Result`.
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"

/** Bad command-line usage (exit code 2). */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  reason: Schema.String
}) {
  override get message(): string {
    return this.reason
  }
}

/** What a flag takes: nothing (`flag`), a string, an integer, a number, one of a few words (`enum`), a comma-separated list (`list`). */
export type Kind = "flag" | "string" | "int" | "number" | "enum" | "list"

/**
 * A declared flag whose parsed value has type `A` (`undefined` included when it has no default and
 * is not required). Made with {@link flag}, {@link string}, {@link int}, {@link number}, {@link choice}
 * or {@link list}.
 */
export interface Flag<out A> {
  readonly kind: Kind
  /** One line for the help text. */
  readonly help: string
  /** The placeholder of the value in the usage text (`N`, `FILE`, `a|b|c`); empty for a `flag`. */
  readonly metavar: string
  /** The value when the flag is absent, if any (shown in the help). */
  readonly default?: string | number | boolean | undefined
  /** Set when the flag must be given: an explanation for the error message, or empty. */
  readonly required?: string | undefined
  /** `int` and `number`: the smallest accepted value. */
  readonly min?: number | undefined
  /** `enum`: the accepted words. */
  readonly values?: ReadonlyArray<string> | undefined
  /** `list`: what an item is called in errors ("modality"). */
  readonly item?: string | undefined
  /** `list`: each accepted spelling and the value it stands for (the first spelling of each value is shown). */
  readonly items?: ReadonlyArray<readonly [string, string]> | undefined
  /** The parsed value's type (never set at run time). */
  readonly "~type"?: A | undefined
}

/** A command's flags: name (without `--`) -> declaration. */
export type Flags = Readonly<Record<string, Flag<unknown>>>

/** The parsed values of `F`, typed by each flag's declaration. */
export type Values<F extends Flags> = { readonly [K in keyof F]: F[K] extends Flag<infer A> ? A : never }

/** A command's declaration: its name, what it does, its flags and its positional argument. */
export interface CommandSpec<F extends Flags> {
  /** As typed: `train`, `data inspect`. */
  readonly name: string
  /** One line: what the command does. */
  readonly summary: string
  /** Further lines of help, if any. */
  readonly details?: string | undefined
  readonly flags: F
  /** The one positional argument the command needs (e.g. `PATH`); without it, positionals are refused. */
  readonly positional?: { readonly metavar: string; readonly help: string } | undefined
}

/** A successful parse: the flag values and the positional argument (set when the spec declares one). */
export interface Parsed<F extends Flags> {
  readonly flags: Values<F>
  readonly positional: string | undefined
  /** The arguments parsed (after the command's name), as given: for run cards. */
  readonly argv: ReadonlyArray<string>
}

/** A switch: `true` when given, `false` otherwise; `--name=value` is an error. */
export function flag(options: { readonly help: string }): Flag<boolean> {
  return { kind: "flag", help: options.help, metavar: "", default: false }
}

/** The flags every command takes; the dispatcher reads them before the command's flags are parsed. */
export const GLOBAL_FLAGS: { readonly help: Flag<boolean>; readonly verbose: Flag<boolean> } = {
  help: flag({ help: "show this help" }),
  verbose: flag({ help: "print the full error (its cause and stack traces)" })
}

/** The options of a flag that takes a value. */
export interface ValueOptions<A> {
  readonly metavar: string
  readonly help: string
  readonly default?: A
  /** The flag must be given; a string explains why (it ends the error message, in parentheses). */
  readonly required?: true | string
}

const declare = <A>(kind: Kind, options: ValueOptions<unknown>, extra: Partial<Flag<A>> = {}): Flag<A> => ({
  kind,
  help: options.help,
  metavar: options.metavar,
  ...(options.default !== undefined ? { default: options.default as string | number } : {}),
  ...(options.required !== undefined ? { required: options.required === true ? "" : options.required } : {}),
  ...extra
})

/** A string value (`--out DIR`). */
export function string(options: ValueOptions<string> & { readonly default: string }): Flag<string>
export function string(options: ValueOptions<string> & { readonly required: true | string }): Flag<string>
export function string(options: ValueOptions<string>): Flag<string | undefined>
export function string(options: ValueOptions<string>): Flag<string | undefined> {
  return declare("string", options)
}

/** An integer value (decimal digits, within `Number.MAX_SAFE_INTEGER`), at least `min` when given (`--epochs N`). */
export function int(options: ValueOptions<number> & { readonly min?: number; readonly default: number }): Flag<number>
export function int(options: ValueOptions<number> & { readonly min?: number; readonly required: true | string }): Flag<number>
export function int(options: ValueOptions<number> & { readonly min?: number }): Flag<number | undefined>
export function int(options: ValueOptions<number> & { readonly min?: number }): Flag<number | undefined> {
  return declare("int", options, options.min !== undefined ? { min: options.min } : {})
}

/** A finite number, at least `min` when given (`--eta X`). */
export function number(options: ValueOptions<number> & { readonly min?: number; readonly default: number }): Flag<number>
export function number(options: ValueOptions<number> & { readonly min?: number }): Flag<number | undefined>
export function number(options: ValueOptions<number> & { readonly min?: number }): Flag<number | undefined> {
  return declare("number", options, options.min !== undefined ? { min: options.min } : {})
}

/** One of `values` (`--model haemsa|early-fusion|late-fusion`); the metavar lists them. */
export function choice<const A extends string>(options: Omit<ValueOptions<A>, "metavar"> & { readonly values: ReadonlyArray<A>; readonly default: A }): Flag<A>
export function choice<const A extends string>(options: Omit<ValueOptions<A>, "metavar"> & { readonly values: ReadonlyArray<A> }): Flag<A | undefined>
export function choice<const A extends string>(
  options: Omit<ValueOptions<A>, "metavar"> & { readonly values: ReadonlyArray<A> }
): Flag<A | undefined> {
  return declare("enum", { ...options, metavar: options.values.join("|") }, { values: options.values })
}

/**
 * A comma-separated, non-empty list of items (`--modalities t,a,v`): `items` maps each value to its
 * other spellings (`{ text: ["t"] }` accepts `t` and `text`). Duplicates are dropped, the order kept.
 */
export const list = <const A extends string>(options: {
  readonly metavar: string
  readonly help: string
  /** What an item is called in errors ("modality"). */
  readonly item: string
  readonly items: { readonly [K in A]: ReadonlyArray<string> }
}): Flag<ReadonlyArray<A> | undefined> =>
  declare("list", options, {
    item: options.item,
    items: (Object.entries(options.items) as Array<[A, ReadonlyArray<string>]>).flatMap(([value, aliases]) =>
      [...aliases, value].map((spelling) => [spelling, value] as const)
    )
  })

const fail = (reason: string) => Result.fail(new UsageError({ reason }))

/** `a, b or c`. */
const orList = (words: ReadonlyArray<string>): string =>
  words.length <= 1 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`

/** The spellings of a list flag's items that the help and errors show (the first of each value). */
const shownItems = (declared: Flag<unknown>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  const shown: string[] = []
  for (const [spelling, value] of declared.items ?? []) {
    if (!seen.has(value)) shown.push(spelling)
    seen.add(value)
  }
  return shown
}

/** Decode one flag's raw value by its kind. */
const decodeValue = (name: string, declared: Flag<unknown>, raw: string): Result.Result<unknown, UsageError> => {
  switch (declared.kind) {
    case "flag":
      return fail(`--${name} takes no value`)
    case "string":
      return Result.succeed(raw)
    case "int":
    case "number": {
      const v = Number(raw)
      if (declared.kind === "int") {
        // decimal digits only, and exactly representable: `9007199254740993` would silently become ...992
        if (!/^\s*[+-]?\d+\s*$/.test(raw)) return fail(`--${name} must be an integer, got '${raw}'`)
        if (!Number.isSafeInteger(v)) {
          return fail(`--${name} must be an integer between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}, got '${raw}'`)
        }
      } else if (raw.trim() === "" || !Number.isFinite(v)) {
        return fail(`--${name} must be a number, got '${raw}'`)
      }
      if (declared.min !== undefined && !(v >= declared.min)) return fail(`--${name} must be >= ${declared.min} (got ${v})`)
      return Result.succeed(v)
    }
    case "enum":
      return declared.values?.includes(raw) ? Result.succeed(raw) : fail(`--${name} must be ${orList(declared.values ?? [])} (got '${raw}')`)
    case "list": {
      const spellings = new Map(declared.items ?? [])
      const out: string[] = []
      for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
        const value = spellings.get(part)
        if (value === undefined) return fail(`--${name}: unknown ${declared.item ?? "item"} '${part}' (use ${shownItems(declared).join(", ")})`)
        if (!out.includes(value)) out.push(value)
      }
      if (out.length === 0) return fail(`--${name} needs at least one of ${shownItems(declared).join(", ")}`)
      return Result.succeed(out)
    }
  }
}

/**
 * Parse `argv` (the arguments after the command's name) against `spec`: every flag must be declared
 * (or be one of {@link GLOBAL_FLAGS}), every value must decode, required flags must be given and the
 * positional arguments must match the declaration. The first problem is a {@link UsageError}.
 */
export const parse = <F extends Flags>(spec: CommandSpec<F>, argv: ReadonlyArray<string>): Result.Result<Parsed<F>, UsageError> => {
  const positionals: string[] = []
  const values: Record<string, unknown> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (!arg.startsWith("--") || arg === "--") {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2)
    const declared: Flag<unknown> | undefined = Object.hasOwn(spec.flags, name)
      ? spec.flags[name]
      : Object.hasOwn(GLOBAL_FLAGS, name) ? GLOBAL_FLAGS[name as keyof typeof GLOBAL_FLAGS] : undefined
    if (declared === undefined) {
      const known = [...Object.keys(spec.flags), ...Object.keys(GLOBAL_FLAGS)].map((k) => `--${k}`).join(", ")
      return fail(`unknown option --${name} for '${spec.name}' (known: ${known})`)
    }
    if (declared.kind === "flag") {
      if (eq > 0) return fail(`--${name} takes no value`)
      values[name] = true
      continue
    }
    const raw = eq > 0 ? arg.slice(eq + 1) : argv[++i]
    if (raw === undefined || (eq < 0 && raw.startsWith("--"))) return fail(`--${name} needs a value`)
    const value = decodeValue(name, declared, raw)
    if (Result.isFailure(value)) return Result.fail(value.failure)
    values[name] = value.success
  }
  const missing = Object.entries(spec.flags).filter(([name, f]) => f.required !== undefined && values[name] === undefined)
  if (missing.length > 0) {
    const why = missing.map(([, f]) => f.required).filter(Boolean)
    return fail(`${spec.name} needs ${missing.map(([name, f]) => `--${name} ${f.metavar}`).join(" and ")}${why.length > 0 ? ` (${why.join("; ")})` : ""}`)
  }
  if (spec.positional === undefined && positionals.length > 0) {
    return fail(`${spec.name} takes no positional arguments (got '${positionals[0]}')`)
  }
  if (spec.positional !== undefined && positionals.length !== 1) return fail(`${spec.name} needs exactly one ${spec.positional.metavar}`)
  for (const [name, f] of Object.entries(spec.flags)) {
    if (values[name] === undefined && f.default !== undefined) values[name] = f.default
  }
  return Result.succeed({ flags: values as Values<F>, positional: positionals[0], argv: [...argv] })
}

const usageOf = (name: string, f: Flag<unknown>): string => {
  const shown = f.kind === "flag" ? `--${name}` : `--${name} ${f.metavar}`
  return f.required !== undefined ? shown : `[${shown}]`
}

/** The command's usage line, e.g. `haemsa eval --checkpoint DIR [--data synthetic|mosi-real|PATH] ...`. */
export const synopsis = <F extends Flags>(spec: CommandSpec<F>, program = "haemsa"): string =>
  [
    `${program} ${spec.name}`,
    ...(spec.positional ? [spec.positional.metavar] : []),
    ...Object.entries(spec.flags).sort(([, a], [, b]) => Number(b.required !== undefined) - Number(a.required !== undefined)).map(([name, f]) =>
      usageOf(name, f)
    )
  ].join(" ")

/** `haemsa COMMAND --help`: the summary, the usage line, and one line per flag (with its default). */
export const help = <F extends Flags>(spec: CommandSpec<F>, program = "haemsa"): string => {
  const rows: Array<readonly [string, string]> = [
    ...(spec.positional ? [[spec.positional.metavar, spec.positional.help] as const] : []),
    ...[...Object.entries(spec.flags), ...Object.entries(GLOBAL_FLAGS)].map(([name, f]) => {
      const shown = f.kind === "list" ? `${f.help} (${shownItems(f).join(", ")})` : f.help
      const extra = f.required !== undefined ? " (required)" : f.default !== undefined && f.kind !== "flag" ? ` (default ${f.default})` : ""
      return [f.kind === "flag" ? `--${name}` : `--${name} ${f.metavar}`, shown + extra] as const
    })
  ]
  const width = Math.max(...rows.map(([left]) => left.length))
  return [
    `${program} ${spec.name}: ${spec.summary}`,
    ...(spec.details ? [spec.details] : []),
    "",
    `usage: ${synopsis(spec, program)}`,
    "",
    "options:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`)
  ].join("\n")
}
