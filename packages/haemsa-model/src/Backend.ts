/**
 * Backend selection as an Effect service. `wasm` is the fast default in Node; `tensorflow` loads
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` when the user has installed one (never a hard
 * dependency); `webgpu` needs `navigator.gpu` (Deno, or Node with the `webgpu` package); `cpu` always works.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import { Context, Effect, Layer, Schema } from "effect"

/** The backend names a user can ask for. */
export const BACKENDS = ["wasm", "cpu", "webgpu", "tensorflow"] as const
/** A backend name. */
export type BackendName = (typeof BACKENDS)[number]

/** The requested backend could not be set up. */
export class BackendError extends Schema.TaggedError<BackendError>()("BackendError", {
  backend: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `backend ${this.backend}: ${this.reason}`
  }
}

/** A module loader (injectable so tests can provide a fake `tfjs-node`). */
export type Importer = (specifier: string) => Promise<unknown>

const nodeImport: Importer = (specifier) => import(/* @vite-ignore */ specifier)

/** Set up `name` and make it the active tfjs backend; resolves to the name tfjs reports. */
export const setup = async (name: string, importer: Importer = nodeImport): Promise<string> => {
  if (!(BACKENDS as ReadonlyArray<string>).includes(name)) {
    throw new BackendError({ backend: name, reason: `unknown backend (choose one of ${BACKENDS.join(", ")})` })
  }
  switch (name as BackendName) {
    case "cpu":
      break
    case "wasm":
      await importer("@tensorflow/tfjs-backend-wasm")
      break
    case "webgpu": {
      const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator
      if (!nav?.gpu) {
        throw new BackendError({ backend: name, reason: "navigator.gpu is not available (run under Deno with --unstable-webgpu, or install the `webgpu` package in Node)" })
      }
      await importer("@tensorflow/tfjs-backend-webgpu")
      break
    }
    case "tensorflow": {
      let loaded = false
      for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
        try {
          await importer(pkg)
          loaded = true
          break
        } catch {
          // try the next one
        }
      }
      if (!loaded) {
        throw new BackendError({
          backend: name,
          reason: "neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (install one yourself; see docs/backends.md)"
        })
      }
      break
    }
  }
  const engineName = name === "tensorflow" ? "tensorflow" : name
  const ok = await tf.setBackend(engineName).catch(() => false)
  if (!ok) throw new BackendError({ backend: name, reason: "tf.setBackend failed (the backend registered but could not initialise)" })
  await tf.ready()
  return tf.getBackend()
}

/** The Backend service: which tfjs backend runs the tensor math. */
export class Backend extends Context.Service<Backend, {
  /** The active backend's name as tfjs reports it. */
  readonly name: string
}>()("@haemsa/haemsa-model/Backend") {
  /** Set up the named backend (default `wasm`). */
  static readonly layer = (name: string = "wasm", importer: Importer = nodeImport) =>
    Layer.effect(
      Backend,
      Effect.tryPromise({
        try: async () => ({ name: await setup(name, importer) }),
        catch: (e) => e instanceof BackendError ? e : new BackendError({ backend: name, reason: String(e) })
      })
    )
  /** The deterministic `cpu` backend, for tests. */
  static readonly layerTest = Backend.layer("cpu")
}
