/**
 * Search checkpoints: one JSON file with the configuration it belongs to and the whole
 * {@link SearchState} (population, pending candidates, rng state, fitness cache, evaluations done,
 * history). Written atomically (temp file, fsync, rename, fsync of the folder), so a kill at any
 * moment leaves either the previous checkpoint or the new one. A file that cannot be read back is
 * a {@link CheckpointError} naming it: the search never silently starts over and overwrites it.
 * NaN and infinite fitnesses are stored as the strings "NaN", "Infinity", "-Infinity".
 *
 * Every file carries `"format": "@haemsa/evo-search/checkpoint"` and `"version": N`. Version 2
 * (this one) added the strategy's `initialPopulation` to the config and each generation's
 * `population` and `elites` to the history. A version 1 file is upgraded on read (no initial
 * population; the populations are rebuilt by `Search.run` from the fitness cache); any other
 * version is a {@link CheckpointError} naming the file, the version found and the version needed.
 *
 * @since 0.1.0
 */
import { Effect, Option, Result, Schema } from "effect"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { CheckpointError } from "./Errors"
import type { FidelityConfig } from "./Fidelity"
import type { SearchState } from "./SearchState"
import { render } from "./Operator"
import type { ResolvedConfig } from "./Strategy"

/** The checkpoint file name inside the checkpoint folder. */
export const FILE_NAME = "checkpoint.json"

/** The format tag written in every checkpoint. */
export const FORMAT = "@haemsa/evo-search/checkpoint"
/**
 * The checkpoint format version written. Reading upgrades version 1; any other version than these
 * two is a {@link CheckpointError}.
 */
export const VERSION = 2

/** The configuration a checkpoint belongs to: resuming with another one is an error. */
export interface CheckpointConfig {
  readonly seed: number
  readonly strategy: ResolvedConfig
  readonly fidelity: FidelityConfig
}

/** A checkpoint's content. */
export interface Checkpoint {
  readonly config: CheckpointConfig
  readonly state: SearchState
  /**
   * The format version of the file when it was older than {@link VERSION} and upgraded on read;
   * absent otherwise, and ignored by {@link write}. A version 1 file has no populations in its
   * history (empty here, `elites` 0): `Search.run` rebuilds them from the fitness cache.
   */
  readonly migratedFrom?: number
}

/** The checkpoint file of a checkpoint folder. */
export const file = (dir: string): string => path.join(dir, FILE_NAME)

const Int = Schema.Int
const Genome = Schema.Array(Schema.Number)
const Individual = Schema.Struct({ genome: Genome, fitness: Schema.Number, level: Int })
const Failure = Schema.Struct({
  generation: Int,
  level: Int,
  index: Int,
  key: Schema.String,
  genome: Genome,
  reason: Schema.String
})
const Spec = Schema.Struct({ name: Schema.String, params: Schema.Record(Schema.String, Schema.Json) })

const strategyConfigV1 = {
  dimension: Int,
  populationSize: Int,
  elitism: Int,
  selection: Spec,
  crossover: Spec,
  mutation: Spec
}
const Fidelity = Schema.Struct({
  levels: Schema.Array(Schema.Struct({ epochs: Schema.optionalKey(Int), fraction: Schema.optionalKey(Schema.Number) })),
  eta: Schema.Number,
  promotion: Schema.optionalKey(Schema.Literals(["top", "incumbent"]))
})
const statsFields = {
  generation: Int,
  best: Schema.Number,
  mean: Schema.Number,
  evaluations: Int,
  cache_hits: Int,
  failures: Int
}

/** The search state of a file whose history entries have the given schema. */
const stateSchema = <H extends Schema.Top>(history: H) =>
  Schema.Struct({
    strategy: Schema.Struct({
      generation: Int,
      rng: Int,
      population: Schema.Array(Individual),
      pending: Schema.NullOr(Schema.Array(Genome)),
      best: Schema.NullOr(Individual)
    }),
    cache: Schema.Record(Schema.String, Schema.Number),
    evaluations: Int,
    cacheHits: Int,
    seconds: Schema.Number,
    history: Schema.Array(history),
    failures: Schema.Array(Failure),
    round: Schema.NullOr(Schema.Struct({
      keys: Schema.Array(Schema.String),
      level: Int,
      active: Schema.Array(Int),
      planned: Schema.Array(Int),
      reached: Schema.Array(Int),
      evaluations: Int,
      cacheHits: Int,
      failures: Schema.Array(Failure)
    }))
  })

const CheckpointSchema = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(VERSION),
  config: Schema.Struct({
    seed: Schema.Number,
    strategy: Schema.Struct({ ...strategyConfigV1, initialPopulation: Schema.Array(Genome) }),
    fidelity: Fidelity
  }),
  state: stateSchema(Schema.Struct({ ...statsFields, population: Schema.Array(Individual), elites: Int }))
})

/** Version 1: no initial population in the config, no populations in the history. */
const CheckpointSchemaV1 = Schema.Struct({
  format: Schema.Literal(FORMAT),
  version: Schema.Literal(1),
  config: Schema.Struct({ seed: Schema.Number, strategy: Schema.Struct(strategyConfigV1), fidelity: Fidelity }),
  state: stateSchema(Schema.Struct(statsFields))
})

const Codec = Schema.toCodecJson(CheckpointSchema)
const CodecV1 = Schema.toCodecJson(CheckpointSchemaV1)

/** A checkpoint as JSON text, in format version {@link VERSION} (`migratedFrom` is not written). */
export const encode = (checkpoint: Checkpoint): string => {
  const { config, state } = checkpoint
  // operator params are typed `unknown` but are JSON by contract (they come from a config)
  return JSON.stringify(Schema.encodeSync(Codec)({ format: FORMAT, version: VERSION, config, state } as typeof CheckpointSchema.Type))
}

/**
 * Parses checkpoint text; `file` names the source in errors. Upgrades a version 1 file (see
 * {@link Checkpoint.migratedFrom}). Fails when the text is not JSON, not a checkpoint of this
 * format, of a version other than 1 and {@link VERSION} (the error names the version found and the
 * one needed), or not self-consistent (genome sizes, indices).
 */
export const decode = (text: string, file: string): Result.Result<Checkpoint, CheckpointError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return Result.fail(new CheckpointError({ file, reason: `corrupt checkpoint: not valid JSON (${describe(error)})` }))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json) || !("format" in json) || json.format !== FORMAT) {
    return Result.fail(new CheckpointError({ file, reason: `corrupt checkpoint: not an ${FORMAT} file (no "format": "${FORMAT}")` }))
  }
  const version = "version" in json ? json.version : undefined
  if (version !== VERSION && version !== 1) {
    return Result.fail(new CheckpointError({
      file,
      reason: `unsupported checkpoint version ${version === undefined ? "(none)" : render(version)}: ` +
        `this @haemsa/evo-search reads version ${VERSION} (and upgrades version 1); ` +
        "resume it with the @haemsa/evo-search that wrote it, or use another checkpoint folder"
    }))
  }
  const decoded = version === VERSION
    ? Result.map(Schema.decodeUnknownResult(Codec)(json), ({ config, state }): Checkpoint => ({ config, state }))
    : Result.map(Schema.decodeUnknownResult(CodecV1)(json), fromV1)
  if (Result.isFailure(decoded)) {
    return Result.fail(new CheckpointError({
      file,
      reason: `corrupt checkpoint: not a valid ${FORMAT} version ${version} file: ${decoded.failure.message}`
    }))
  }
  const checkpoint = decoded.success
  const problem = inconsistency(checkpoint)
  return problem === undefined
    ? Result.succeed(checkpoint)
    : Result.fail(new CheckpointError({ file, reason: `corrupt checkpoint: ${problem}` }))
}

/** A version 1 checkpoint in version 2's shape: no initial population, empty history populations. */
const fromV1 = ({ config, state }: typeof CheckpointSchemaV1.Type): Checkpoint => ({
  config: { ...config, strategy: { ...config.strategy, initialPopulation: [] } },
  state: { ...state, history: state.history.map((stats) => ({ ...stats, population: [], elites: 0 })) },
  migratedFrom: 1
})

/** What is inconsistent in a decoded checkpoint, if anything. */
const inconsistency = ({ config, state }: Checkpoint): string | undefined => {
  const { dimension } = config.strategy
  const badGenome = (g: ReadonlyArray<number>) => g.length !== dimension || g.some((x) => !(x >= 0 && x <= 1))
  const s = state.strategy
  if (!(s.rng >= 0 && s.rng <= 0xffffffff)) return `rng state ${s.rng} is not a uint32`
  const initial = config.strategy.initialPopulation
  if (initial.length > config.strategy.populationSize) return `the initial population has more than ${config.strategy.populationSize} genomes`
  const genomes = [
    ...initial,
    ...s.population.map((p) => p.genome),
    ...(s.pending ?? []),
    ...(s.best === null ? [] : [s.best.genome]),
    ...state.history.flatMap((h) => h.population.map((p) => p.genome))
  ]
  if (genomes.some(badGenome)) return `a genome is not a vector of ${dimension} numbers in [0, 1]`
  const badElites = state.history.find((h) => !(h.elites >= 0 && h.elites <= h.population.length))
  if (badElites !== undefined) return `generation ${badElites.generation} has ${badElites.elites} elites in a population of ${badElites.population.length}`
  const round = state.round
  if (round !== null) {
    const n = s.pending?.length ?? -1
    if (round.keys.length !== n || round.reached.length !== n) return "the round does not match the pending candidates"
    if ([...round.active, ...round.planned].some((i) => !(i >= 0 && i < n))) return "a round index is out of range"
    if (!(round.level >= 0 && round.level < config.fidelity.levels.length)) return `round level ${round.level} is not a fidelity level`
  }
  return undefined
}

/**
 * Reads the checkpoint at `file`: None when there is no file; a {@link CheckpointError} when it
 * cannot be read or decoded.
 */
export const read = (file: string): Effect.Effect<Option.Option<Checkpoint>, CheckpointError> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8").then((t): string | undefined => t, (error) => {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
      throw error
    }),
    catch: (error) => new CheckpointError({ file, reason: `cannot read checkpoint: ${describe(error)}` })
  }).pipe(
    Effect.flatMap((text) =>
      text === undefined ? Effect.succeed(Option.none()) : Effect.map(Effect.fromResult(decode(text, file)), Option.some)
    )
  )

/** Writes `checkpoint` to `file` atomically: temp file, fsync, rename, fsync of the folder. */
export const write = (file: string, checkpoint: Checkpoint): Effect.Effect<void, CheckpointError> =>
  Effect.tryPromise({
    try: () => writeAtomic(file, encode(checkpoint)),
    catch: (error) => new CheckpointError({ file, reason: `cannot write checkpoint: ${describe(error)}` })
  })

/** Writes `text` to `file` so that a crash leaves either the old or the new content. */
export const writeAtomic = async (file: string, text: string): Promise<void> => {
  const dir = path.dirname(file)
  await fs.mkdir(dir, { recursive: true })
  const tmp = `${file}.tmp`
  const handle = await fs.open(tmp, "w")
  try {
    await handle.writeFile(text, "utf8")
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, file)
  // Persist the rename itself; some platforms cannot open a folder, which only weakens durability.
  const folder = await fs.open(dir, "r").catch(() => undefined)
  if (folder !== undefined) await folder.sync().catch(() => undefined).finally(() => folder.close())
}

/** Sorted-key JSON: equal for equal plain data whatever the key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/**
 * The first difference between two configs, as text; undefined when they are the same. The
 * strategy part includes its initial population.
 */
export const configDifference = (saved: CheckpointConfig, current: CheckpointConfig): string | undefined => {
  for (const field of ["seed", "strategy", "fidelity"] as const) {
    const a = canonicalJson(saved[field])
    const b = canonicalJson(current[field])
    if (a !== b) return `${field} was ${a}, now ${b}`
  }
  return undefined
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error))
