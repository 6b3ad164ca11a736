/**
 * What a `--data` value names: `synthetic`, a path, or the keyword `mosi-real`, the real CMU-MOSI
 * subset: the folder in `$HAEMSA_MOSI_REAL` when set, else the `directory` of the installed
 * `@haemsa/mosi-real` data package (an optional peer dependency), found at run time by a dynamic
 * import, so the same code works from the ESM and CJS builds and under Deno.
 *
 * @since 0.1.0
 */
import { Config, Effect, Option, Schema } from "effect"

/** The npm package that holds the real CMU-MOSI subset. */
export const MOSI_REAL_PACKAGE = "@haemsa/mosi-real"

/** The environment variable that points `--data mosi-real` at a folder instead of the package. */
export const MOSI_REAL_ENV = "HAEMSA_MOSI_REAL"

/** `--data mosi-real` without `$HAEMSA_MOSI_REAL` and without the data package installed (exit code 2). */
export class DataPackageMissing extends Schema.TaggedError<DataPackageMissing>()("DataPackageMissing", {
  /** Why the package could not be used (the import's error, or what its exports lack). */
  reason: Schema.String
}) {
  override get message(): string {
    return `--data mosi-real needs the data package: npm install ${MOSI_REAL_PACKAGE} (or pass a mosi-real folder path, or set ${MOSI_REAL_ENV})`
  }
}

/** Loads the data package's module (injectable: tests pass one that fails or returns a fake module). */
export type PackageImporter = () => Promise<unknown>

/** Import the installed `@haemsa/mosi-real` (resolved from this package's location, not the working directory). */
export const importMosiReal: PackageImporter = () => import("@haemsa/mosi-real")

/** The data package's folder: its `directory` export, or a `DataPackageMissing`. */
export const mosiRealDirectory = (importPackage: PackageImporter = importMosiReal): Effect.Effect<string, DataPackageMissing> =>
  Effect.gen(function*() {
    const module = yield* Effect.tryPromise({
      try: importPackage,
      catch: (e) => new DataPackageMissing({ reason: e instanceof Error ? e.message : String(e) })
    })
    const directory = typeof module === "object" && module !== null ? (module as { readonly directory?: unknown }).directory : undefined
    if (typeof directory !== "string" || directory === "") {
      return yield* new DataPackageMissing({ reason: `${MOSI_REAL_PACKAGE} exports no directory` })
    }
    return directory
  })

/**
 * Resolve a `--data` value: `mosi-real` becomes `$HAEMSA_MOSI_REAL` (when set and not empty) or the
 * data package's folder; anything else (`synthetic`, a path) is returned as it is.
 */
export const resolveDataSource = (data: string, importPackage: PackageImporter = importMosiReal): Effect.Effect<string, DataPackageMissing> =>
  Effect.gen(function*() {
    if (data !== "mosi-real") return data
    // an optional plain string cannot fail to parse: a ConfigError here would be a broken provider
    const envDir = yield* Config.option(Config.String(MOSI_REAL_ENV)).pipe(Effect.orDie)
    if (Option.isSome(envDir) && envDir.value !== "") return envDir.value
    return yield* mosiRealDirectory(importPackage)
  })
