/**
 * Starting this package's worker threads (the search's fitness workers, the training replicas) from
 * the built package and from the TypeScript sources alike.
 *
 * @since 0.2.0
 */
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { moduleUrl } from "../internal/ModuleFile"

/** The worker entries of this package, by name, and their source files under `src/`. */
const SOURCES = {
  FitnessWorker: "search/FitnessWorker.ts",
  ReplicaWorker: "parallel/ReplicaWorker.ts"
} as const

/** A worker entry of this package. */
export type Entry = keyof typeof SOURCES

/**
 * Starts the worker `entry` with `workerData`. From the built package it runs `<entry>.js` (or
 * `.cjs`) next to the bundle; from the TypeScript sources (tests, `tsx --conditions=source`) it
 * registers tsx inside the worker first, because Node 20 does not apply `--import` loaders to
 * worker threads.
 */
export const spawn = (entry: Entry, workerData: unknown): Worker => {
  const self = moduleUrl()
  const ext = path.extname(fileURLToPath(self))
  if (ext !== ".ts") return new Worker(new URL(`./${entry}${ext}`, self), { workerData })
  const source = new URL(`../${SOURCES[entry]}`, self)
  const tsxDir = path.dirname(createRequire(self).resolve("tsx/package.json"))
  const api = pathToFileURL(path.join(tsxDir, "dist/esm/api/index.mjs")).href
  const bootstrap = `import(${JSON.stringify(api)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(source.href)}) })`
  return new Worker(bootstrap, { eval: true, execArgv: ["--conditions=source"], workerData })
}
