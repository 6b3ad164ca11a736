/**
 * Backend selection as an Effect service. `wasm` is the fast default in Node and Deno (its `.wasm`
 * binaries are located at run time, see {@link locateWasm}); `tensorflow` loads
 * `@tensorflow/tfjs-node-gpu` or `@tensorflow/tfjs-node` when the user has installed one (never a hard
 * dependency; Node only); `webgpu` needs `navigator.gpu`: built into Deno (`--unstable-webgpu`), or in
 * Node from the `webgpu` package (Dawn) when the user has installed it, and refuses a software or
 * fallback adapter (llvmpipe, SwiftShader) unless allowed; `cpu` always works.
 *
 * @since 0.1.0
 */
import { BackwardSaves, WasmIdentity, WasmMatMul, WasmSum } from "@haemsa/nn"
import * as tf from "@tensorflow/tfjs"
import { Context, Effect, Layer, Schema } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { moduleFile } from "../internal/ModuleFile"
import * as WebGpuDispatch from "./WebGpuDispatch"

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

/** The file names of tfjs-backend-wasm 4.22's binaries: plain, SIMD, threaded SIMD. */
export const WASM_BINARIES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"] as const

/** The environment variable naming the folder of the wasm binaries (overrides the lookup). */
export const WASM_DIR_ENV = "HAEMSA_WASM_DIR"

/** Where the wasm binaries are: a folder ending in a path separator (the prefix `setWasmPaths` takes), or why none was found. */
export type WasmLocation =
  | { readonly _tag: "Found"; readonly dir: string; readonly via: string }
  | { readonly _tag: "Missing"; readonly reason: string }

/** Options of {@link locateWasm} (tests inject them). */
export interface LocateWasmOptions {
  /** The environment (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>
  /** The files to resolve `@tensorflow/tfjs-backend-wasm` from, in order (default: this module's file, then the working directory). */
  readonly from?: ReadonlyArray<string>
}

const hasWasmBinaries = (dir: string): boolean => WASM_BINARIES.some((f) => fs.existsSync(path.join(dir, f)))

const asPrefix = (dir: string): string => (dir.endsWith("/") || dir.endsWith(path.sep) ? dir : dir + path.sep)

/**
 * Locate the tfjs wasm binaries: `$HAEMSA_WASM_DIR` when set (it must hold them), else the folder of
 * `@tensorflow/tfjs-backend-wasm`'s entry as Node's resolution finds it from this module's file, then
 * from the working directory. The package's own lookup (emscripten's `__dirname`) fails wherever its
 * code is bundled (the Deno bundle): hence an explicit folder for `setWasmPaths`.
 */
export const locateWasm = (options: LocateWasmOptions = {}): WasmLocation => {
  const env = options.env ?? process.env
  const override = env[WASM_DIR_ENV]
  if (override !== undefined && override !== "") {
    return hasWasmBinaries(override)
      ? { _tag: "Found", dir: asPrefix(override), via: WASM_DIR_ENV }
      : { _tag: "Missing", reason: `${WASM_DIR_ENV}=${override} holds none of ${WASM_BINARIES.join(", ")}` }
  }
  const here = moduleFile()
  const from = options.from ?? [...(here !== undefined ? [here] : []), path.join(process.cwd(), "package.json")]
  for (const file of from) {
    try {
      const dir = path.dirname(createRequire(file).resolve("@tensorflow/tfjs-backend-wasm"))
      if (hasWasmBinaries(dir)) return { _tag: "Found", dir: asPrefix(dir), via: file }
    } catch {
      // not resolvable from there: try the next
    }
  }
  return {
    _tag: "Missing",
    reason: `@tensorflow/tfjs-backend-wasm's binaries were not found from ${from.join(" or ")}; set ${WASM_DIR_ENV} to the folder that holds ${WASM_BINARIES[1]}`
  }
}

/** The slice of `@tensorflow/tfjs-backend-wasm` used here. */
interface WasmModule {
  readonly setWasmPaths?: (prefix: string) => void
}

/** The JavaScript runtime: Deno defines `globalThis.Deno`; anything else is treated as Node. */
export type Runtime = "node" | "deno"

/** The runtime this code runs in. */
export const currentRuntime = (): Runtime => (typeof (globalThis as { Deno?: unknown }).Deno === "object" ? "deno" : "node")

/** What a WebGPU adapter says about itself (`GPUAdapter.info`; Deno 2.9 reports `isFallbackAdapter` there). */
export interface AdapterInfo {
  readonly vendor?: string
  readonly architecture?: string
  readonly device?: string
  readonly description?: string
  readonly isFallbackAdapter?: boolean
}

/** The part of a `GPUAdapter` read here (older runtimes have `isFallbackAdapter` on the adapter itself). */
export interface AdapterLike {
  readonly info?: AdapterInfo
  readonly isFallbackAdapter?: boolean
}

/** Software rasterisers as adapters name themselves: Mesa's llvmpipe (lavapipe's adapter name), lavapipe, softpipe; SwiftShader; WARP. */
export const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|softpipe|swiftshader|basic render driver/i

/** An adapter's name and, for a software or fallback adapter, why it counts as one. */
export interface AdapterDescription {
  readonly name: string
  /** Undefined for a hardware adapter. */
  readonly software?: string
}

const nonEmpty = (s: unknown): s is string => typeof s === "string" && s.trim() !== ""

/** Name an adapter and tell whether it is a software or fallback adapter (the runtime's flag, or a software rasteriser's name in its info). */
export const describeAdapter = (adapter: AdapterLike): AdapterDescription => {
  const info = adapter.info ?? {}
  const fields = [info.description, info.device, info.architecture, info.vendor].filter(nonEmpty)
  const name = nonEmpty(info.description) ? info.description : fields.length > 0 ? fields.join(" / ") : "unnamed adapter"
  const rasteriser = fields.map((f) => SOFTWARE_ADAPTER.exec(f)?.[0]).find(nonEmpty)
  const reasons = [
    ...(info.isFallbackAdapter === true || adapter.isFallbackAdapter === true ? ["the runtime flags it isFallbackAdapter"] : []),
    ...(rasteriser !== undefined ? [`${rasteriser} is a software rasteriser`] : [])
  ]
  return reasons.length > 0 ? { name, software: reasons.join("; ") } : { name }
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
  /**
   * webgpu: accept a software or fallback adapter (llvmpipe, SwiftShader): it runs on the CPU, much
   * slower than `wasm`. Default false: such an adapter is a {@link BackendError} (the CLI's
   * `--allow-software-adapter`).
   */
  readonly allowSoftwareAdapter?: boolean
  /** Where notes about the setup go (the software-adapter line); default `console.error`. */
  readonly log?: (line: string) => void
  /** The runtime (default {@link currentRuntime}; tests pass it). */
  readonly runtime?: Runtime
}

/**
 * Set up `name` and make it the active tfjs backend; resolves to the name tfjs reports. `wasm` is
 * pointed at its binaries ({@link locateWasm}); `webgpu` names a software or fallback adapter through
 * `options.log` and refuses it unless `options.allowSoftwareAdapter`; `tensorflow` is refused under Deno.
 * Failures are {@link BackendError}s.
 */
export const setup = async (name: string, importer: Importer = defaultImporter, options: SetupOptions = {}): Promise<string> => {
  if (!(BACKENDS as ReadonlyArray<string>).includes(name)) {
    throw new BackendError({ backend: name, reason: `unknown backend (choose one of ${BACKENDS.join(", ")})` })
  }
  let wasm: WasmLocation | undefined
  switch (name as BackendName) {
    case "cpu":
      break
    case "wasm": {
      wasm = locateWasm()
      // an explicit folder that is wrong is the user's to fix: say so rather than let emscripten abort
      if (wasm._tag === "Missing" && nonEmpty(process.env[WASM_DIR_ENV])) throw new BackendError({ backend: name, reason: wasm.reason })
      const module = (await importer("@tensorflow/tfjs-backend-wasm")) as WasmModule | undefined
      if (wasm._tag === "Found" && typeof module?.setWasmPaths === "function") module.setWasmPaths(wasm.dir)
      break
    }
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
      const described = describeAdapter(adapter as AdapterLike)
      if (described.software !== undefined) {
        const log = options.log ?? console.error
        log(`webgpu adapter "${described.name}" is a software/fallback adapter (${described.software}): no GPU, much slower than --backend wasm`)
        if (options.allowSoftwareAdapter !== true) {
          throw new BackendError({
            backend: name,
            reason: `refusing the software/fallback adapter "${described.name}"; pass --allow-software-adapter (allowSoftwareAdapter: true) to run on it anyway, or use --backend wasm`
          })
        }
      }
      // the backend registers itself at import time only when navigator.gpu exists, so import it now
      await importer("@tensorflow/tfjs-backend-webgpu")
      break
    }
    case "tensorflow": {
      if ((options.runtime ?? currentRuntime()) === "deno") {
        throw new BackendError({
          backend: name,
          reason: "not supported under Deno: @tensorflow/tfjs-node(-gpu) is a native addon built for Node (and a bundled haemsa carries its own copy of tfjs, which the addon cannot register its backend with); run this backend with Node (npx haemsa ...), or use wasm, cpu or webgpu under Deno"
        })
      }
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
  if (!ok) {
    const hint = wasm?._tag === "Missing" ? `; ${wasm.reason}` : ""
    throw new BackendError({ backend: name, reason: `tf.setBackend failed (the backend registered but could not initialise)${hint}` })
  }
  await tf.ready()
  if (name === "wasm") {
    WasmIdentity.install()
    WasmSum.install()
    WasmMatMul.install()
  }
  // (the saves check the active backend themselves: webgpu and tensorflow keep tfjs's clone)
  BackwardSaves.install()
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
  /** Set up the named backend (default `wasm`) with the {@link SetupOptions}. */
  static readonly layer = (name: string = "wasm", importer: Importer = defaultImporter, options: SetupOptions = {}) =>
    Layer.effect(
      Backend,
      Effect.tryPromise({
        try: async () => ({ name: await setup(name, importer, options) }),
        catch: (e) => e instanceof BackendError ? e : new BackendError({ backend: name, reason: String(e) })
      })
    )
  /** The deterministic `cpu` backend, for tests. */
  static readonly layerTest = Backend.layer("cpu")
}
