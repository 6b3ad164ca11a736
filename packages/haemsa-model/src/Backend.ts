/**
 * Backend selection as an Effect service. `wasm` is the fast default in Node; `tensorflow` loads
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` when the user has installed one (never a hard
 * dependency); `webgpu` needs `navigator.gpu`: built into Deno (`--unstable-webgpu`), or in Node from the
 * `webgpu` package (Dawn) when the user has installed it; `cpu` always works.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import * as WebGpuDispatch from "./WebGpuDispatch"
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

/**
 * The default loader. The backends this package depends on are imported by literal specifiers, so a
 * bundler (the Deno bundle of the benchmarks) includes them; anything else is loaded at run time.
 */
export const defaultImporter: Importer = (specifier) => {
  switch (specifier) {
    case "@tensorflow/tfjs-backend-wasm":
      return import("@tensorflow/tfjs-backend-wasm")
    case "@tensorflow/tfjs-backend-webgpu":
      return import("@tensorflow/tfjs-backend-webgpu")
    default:
      return import(/* @vite-ignore */ specifier)
  }
}

/** The slice of the `webgpu` package (Dawn for Node) used here. */
interface DawnModule {
  readonly create: (flags: ReadonlyArray<string>) => unknown
  readonly globals?: Record<string, unknown>
}

type GpuLike = { readonly requestAdapter: (options?: unknown) => Promise<unknown> }

const currentGpu = (): GpuLike | undefined => (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu

/**
 * Make `navigator.gpu` available: Deno has it built in; in Node, when it is missing, load the `webgpu`
 * package (when installed) and install `create([])` as `navigator.gpu` with its `GPU*` constants as
 * globals. Resolves to a description of where it came from, or undefined when there is none.
 */
export const provideNavigatorGpu = async (importer: Importer = defaultImporter): Promise<string | undefined> => {
  if (currentGpu()) return "navigator.gpu"
  let dawn: DawnModule
  try {
    dawn = (await importer("webgpu")) as DawnModule
  } catch {
    return undefined
  }
  if (typeof dawn?.create !== "function") return undefined
  const g = globalThis as unknown as Record<string, unknown> & { navigator?: Record<string, unknown> }
  for (const [name, value] of Object.entries(dawn.globals ?? {})) if (!(name in g)) g[name] = value
  const gpu = dawn.create([])
  if (g.navigator === undefined) {
    Object.defineProperty(g, "navigator", { value: { gpu }, configurable: true, writable: true })
  } else {
    Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true, writable: true })
  }
  return "the webgpu package (Dawn)"
}

/** Options of {@link setup}. */
export interface SetupOptions {
  /**
   * webgpu: cache bind groups and upload the uniforms once per queue submit (`WebGpuDispatch`), which
   * makes each dispatch cheaper on the host (default true; false is tfjs's own path, for comparison).
   */
  readonly dispatchCaches?: boolean
}

/** Set up `name` and make it the active tfjs backend; resolves to the name tfjs reports. */
export const setup = async (name: string, importer: Importer = defaultImporter, options: SetupOptions = {}): Promise<string> => {
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
      const source = await provideNavigatorGpu(importer)
      const gpu = currentGpu()
      if (source === undefined || gpu === undefined) {
        throw new BackendError({ backend: name, reason: "navigator.gpu is not available (run under Deno with --unstable-webgpu, or install the `webgpu` package in Node)" })
      }
      // fail fast: without an adapter tfjs would fail later with a less helpful error
      const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() => null)
      if (!adapter) {
        throw new BackendError({ backend: name, reason: `navigator.gpu (from ${source}) found no GPU adapter (no Vulkan/Metal/D3D12 driver; on Linux install a Vulkan ICD, e.g. mesa-vulkan-drivers)` })
      }
      // the backend registers itself at import time only when navigator.gpu exists, so import it now
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
  if (name === "webgpu") {
    installWebGpuShims(tf.backend())
    if (options.dispatchCaches !== false) WebGpuDispatch.install(tf.backend())
  }
  return tf.getBackend()
}

/** The parts of tfjs's WebGPUBackend the shims touch. */
interface WebGpuBackendLike {
  readonly tensorMap: { get(dataId: object): { values?: unknown; resource?: unknown } | undefined }
  uploadToGPU(dataId: object): void
  readSync(dataId: object): unknown
  __haemsaShims?: true
}

/**
 * Work-arounds for tfjs-backend-webgpu 4.22 outside a browser (Deno, Node with Dawn):
 *
 * - `readSync` of data on the GPU goes through an `OffscreenCanvas` 2-D context, which these runtimes
 *   lack (a TypeError deep inside tfjs). Tensors made from host data keep their host copy after the
 *   upload (tensors are immutable, so it stays valid), so `dataSync` on inputs (e.g. the step masks
 *   the LSTM expert reads) still works;
 * - reading a tensor computed on the GPU synchronously fails with an error that says what to do
 *   (`await tensor.data()`).
 */
export const installWebGpuShims = (backend: unknown): void => {
  const b = backend as WebGpuBackendLike
  if (typeof b?.uploadToGPU !== "function" || typeof b.readSync !== "function" || b.__haemsaShims) return
  const upload = b.uploadToGPU.bind(b)
  const readSync = b.readSync.bind(b)
  b.uploadToGPU = (dataId) => {
    const data = b.tensorMap.get(dataId)
    const values = data?.values
    upload(dataId)
    if (data !== undefined && values != null && data.values == null) data.values = values
  }
  const canvas = (globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(kind: string): unknown } }).OffscreenCanvas
  const canReadSync = canvas !== undefined && new canvas(1, 1).getContext("2d") != null
  b.readSync = (dataId) => {
    const data = b.tensorMap.get(dataId)
    if (!canReadSync && data !== undefined && data.values == null) {
      throw new Error("webgpu: synchronous reads of GPU data need an OffscreenCanvas 2-D context, which this runtime lacks; use `await tensor.data()`")
    }
    return readSync(dataId)
  }
  b.__haemsaShims = true
}

/** The Backend service: which tfjs backend runs the tensor math. */
export class Backend extends Context.Service<Backend, {
  /** The active backend's name as tfjs reports it. */
  readonly name: string
}>()("@haemsa/haemsa-model/Backend") {
  /** Set up the named backend (default `wasm`). */
  static readonly layer = (name: string = "wasm", importer: Importer = defaultImporter) =>
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
