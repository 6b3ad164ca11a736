/**
 * Run cards: what a training run was, written into its `--json` report and its checkpoint manifest
 * (where the manifest's integrity hash covers it). A card holds the command line (passwords and tokens
 * replaced by `***`, {@link redactArgv}), the architecture spec and its hash ({@link specHash}), the
 * data set's source, SHA-256 ({@link dataHash}) and split sizes, the seeds, the versions of the
 * `@haemsa` packages, tfjs and the runtime, the backend with its thread count, and for data with raw
 * transcripts the text features ({@link TextCard}: kind, lexicon, the word vectors' source and size).
 *
 * @since 0.2.0
 */
import type { Dataset } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { moduleFile } from "../internal/ModuleFile"
import type * as ArchitectureSpec from "./ArchitectureSpec"
import type * as TextSettings from "./TextSettings"
import * as TrainState from "./TrainState"

/** A run card (the `card` of `haemsa train --json` and of the checkpoint manifest). */
export interface RunCard {
  /** The command line (`haemsa` and its arguments), passwords and tokens replaced by `***`. */
  readonly command: ReadonlyArray<string>
  readonly spec: ArchitectureSpec.ArchitectureSpec
  /** The SHA-256 of the spec's canonical JSON (keys sorted). */
  readonly spec_sha256: string
  readonly data: {
    /** The `--data` value as resolved (a path, `synthetic`, ...). */
    readonly source: string
    /** {@link dataHash} of the data as loaded. */
    readonly sha256: string
    /** The number of samples of each split. */
    readonly splits: { readonly train: number; readonly valid: number; readonly test: number }
  }
  readonly seeds: ReadonlyArray<number>
  /** The version of every `@haemsa` package this code runs with, by name. */
  readonly packages: Readonly<Record<string, string>>
  /** The `@tensorflow/tfjs` version. */
  readonly tfjs: string
  /**
   * The tfjs backend and the threads the training computed with (`null` for a GPU backend): on wasm
   * and cpu, the data-parallel replicas (one backend thread each), on tensorflow its own thread pool.
   */
  readonly backend: { readonly name: string; readonly threads: number | null }
  /** The runtime: `{ name: "node" | "deno", version }`. */
  readonly runtime: { readonly name: string; readonly version: string }
  /** The text features of data with raw transcripts (absent for other data, and in cards written before 0.3.0). */
  readonly text?: TextCard
}

/** The text features of a run ({@link RunCard.text}): the stored `TextSettings` without the vectors themselves. */
export interface TextCard {
  /** `tokens`, `glove` (the optional package) or `vectors` (a file). */
  readonly kind: TextSettings.Kind
  /** The 4 lexicon columns follow each word's vector (or are the only dense columns, kind `tokens`). */
  readonly lexicon: boolean
  /** Where the vectors come from: `glove` or the file's path (kinds `glove` and `vectors`). */
  readonly source?: string
  /** The vectors' size (kinds `glove` and `vectors`). */
  readonly dim?: number
  /** The training words that have a vector, stored in the checkpoint (kinds `glove` and `vectors`). */
  readonly words?: number
  /** The sentence vectors after each word's columns: the encoder and its size (`--text-features use`, `glove+use`). */
  readonly sentence?: { readonly encoder: string; readonly dim: number }
}

/** The card's view of text settings: kind, lexicon, the vectors' source, size and stored words, and the sentence encoder. */
export const textCard = (settings: TextSettings.TextSettings): TextCard => ({
  kind: settings.kind,
  lexicon: settings.lexicon,
  ...(settings.source !== undefined ? { source: settings.source } : {}),
  ...(settings.vectors !== undefined ? { dim: settings.vectors.dim, words: settings.vectors.words.length } : {}),
  ...(settings.sentence !== undefined ? { sentence: settings.sentence } : {})
})

/** What marks a flag whose value is a secret (its name contains one of these). */
const SECRET_FLAG = /token|password|secret/i

/** `scheme://user:password@host` with the password replaced by `***`. */
const redactUrl = (s: string): string => s.replace(/([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^/\s@]*@/gi, "$1:***@")

/**
 * The command line with its secrets replaced by `***`: the password of a URL's userinfo
 * (`redis://u:pw@h` -> `redis://u:***@h`), and the value of every flag whose name contains `token`,
 * `password` or `secret` (`--api-token X`, `--db-password=X`).
 */
export const redactArgv = (argv: ReadonlyArray<string>): Array<string> => {
  const out: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const m = /^(--?[^=]+)=(.*)$/s.exec(a)
    if (m !== null && SECRET_FLAG.test(m[1])) {
      out.push(`${m[1]}=***`)
    } else if (/^--?[^=]+$/.test(a) && SECRET_FLAG.test(a) && i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
      out.push(a, "***")
      i++
    } else {
      out.push(redactUrl(a))
    }
  }
  return out
}

/** Sorted-key JSON: the same text for the same data whatever the key order. */
export const canonicalJson = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v)

/** The SHA-256 of a spec's canonical JSON (keys sorted): the same for the same architecture. */
export const specHash = (spec: ArchitectureSpec.ArchitectureSpec): string => createHash("sha256").update(canonicalJson(spec)).digest("hex")

/**
 * The data set's SHA-256: of the arrays as loaded, before normalisation (every split's ids, features,
 * lengths, tokens, masks and labels, with the task: `TrainState.dataHash`), so the same data gives
 * the same hash whatever file format or path it was read from, and `haemsa eval` can compare it.
 */
export const dataHash = (raw: Dataset.Dataset): string => TrainState.dataHash(raw)

const readJson = (file: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"))
  } catch {
    return undefined
  }
}

/** The package.json of `@haemsa/haemsa-model` above `file` (sources, dist, an npm install). */
const ownPackageJson = (file: string): string | undefined => {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "package.json")
    if (readJson(candidate)?.name === "@haemsa/haemsa-model") return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}

/**
 * The versions of the `@haemsa` packages, read from their package.json at run time: this package and
 * every `@haemsa` package it depends on (resolved from here, as the code resolves them: the workspace
 * sources, the built dist and an npm install alike). A package that cannot be found is left out.
 * `from` is the file to start from (default this module's).
 */
export const packageVersions = (from?: string): Record<string, string> => {
  const file = from ?? moduleFile()
  const own = file !== undefined ? ownPackageJson(file) : undefined
  if (own === undefined) return {}
  const pkg = readJson(own)!
  const out: Record<string, string> = { [pkg.name as string]: String(pkg.version) }
  const require = createRequire(own)
  const deps = { ...(pkg.dependencies as object), ...(pkg.peerDependencies as object) }
  for (const name of Object.keys(deps).filter((n) => n.startsWith("@haemsa/")).sort()) {
    try {
      const version = readJson(require.resolve(`${name}/package.json`))?.version
      if (typeof version === "string") out[name] = version
    } catch {
      // an optional package that is not installed
    }
  }
  return out
}

/**
 * The threads a training computes with: for `cpu` and `wasm` its replica threads (`replicas`,
 * default 1; each backend instance runs one thread: tfjs 4.22 turns the threaded wasm build off
 * under Node and Deno), `TF_NUM_INTRAOP_THREADS` or the cores for `tensorflow`, `null` for a GPU
 * backend (`webgpu`, `webgl`).
 */
export const backendThreads = (name: string, replicas = 1): number | null => {
  if (name === "cpu" || name === "wasm") return replicas
  if (name === "tensorflow") {
    const n = Number(process.env.TF_NUM_INTRAOP_THREADS)
    return Number.isInteger(n) && n > 0 ? n : os.availableParallelism?.() ?? os.cpus().length
  }
  return null
}

/** The runtime: Deno (with its version) or Node. */
export const runtime = (): { readonly name: string; readonly version: string } => {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno
  return deno?.version?.deno !== undefined ? { name: "deno", version: deno.version.deno } : { name: "node", version: process.versions.node }
}

/** A run card for a training of `spec` on `raw` (the data as loaded) with these seeds, on `backend`. */
export const make = (options: {
  readonly command: ReadonlyArray<string>
  readonly spec: ArchitectureSpec.ArchitectureSpec
  readonly source: string
  readonly raw: Dataset.Dataset
  readonly seeds: ReadonlyArray<number>
  readonly backend: string
  /** The training's replica threads (`Train.TrainOptions.threads`; default 1). */
  readonly threads?: number
  /** The text settings of data with raw transcripts (the data info's `text`). */
  readonly text?: TextSettings.TextSettings
}): RunCard => ({
  command: redactArgv(options.command),
  spec: options.spec,
  spec_sha256: specHash(options.spec),
  data: {
    source: options.source,
    sha256: dataHash(options.raw),
    splits: { train: options.raw.splits.train.n, valid: options.raw.splits.valid.n, test: options.raw.splits.test.n }
  },
  seeds: [...options.seeds],
  packages: packageVersions(),
  tfjs: tf.version.tfjs,
  backend: { name: options.backend, threads: backendThreads(options.backend, options.threads) },
  runtime: runtime(),
  ...(options.text !== undefined ? { text: textCard(options.text) } : {})
})
