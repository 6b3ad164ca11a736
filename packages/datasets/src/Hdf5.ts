/**
 * Reading HDF5 files with h5wasm (the HDF5 C library compiled to WebAssembly), isolated in a worker
 * thread.
 *
 * A corrupt HDF5 file can make the C library loop forever or trap, and neither can be interrupted on
 * the thread that runs the wasm code. Every read therefore runs in one long-lived worker thread with a
 * deadline: when the deadline passes, or the module traps, the worker is terminated and the next read
 * starts a fresh one. The worker is also replaced after many failed reads, because a failed read can
 * leave objects open inside the library.
 *
 * Runtime notes: Node >= 20 (`node:worker_threads` with `eval: true`, `import.meta.resolve`). Deno
 * provides `node:worker_threads` too but is untested here. Where `import.meta.resolve` is missing (a
 * CommonJS bundle), the worker imports the bare specifier "h5wasm", resolved from the current working
 * directory.
 *
 * @since 0.1.0
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { Worker } from "node:worker_threads"
import { CsdError } from "./Errors"
import { type Hdf5Request, type Hdf5Response, serveHdf5 } from "./Hdf5Worker"
import type * as Hdf5Worker from "./Hdf5Worker"

// Type aliases rather than `export type { ... } from`: the declaration bundler turns a type re-exported
// from the chunk shared with the browser entry (`CsdSequence` uses these types) into a value.

/** A dataset value as the worker returns it. Integer datasets are converted to float64. */
export type Hdf5Value = Hdf5Worker.Hdf5Value
/** A node of the HDF5 tree. `children` is null for a group below the depth limit (not listed). */
export type Hdf5Node = Hdf5Worker.Hdf5Node
/** A named child of a group. */
export type Hdf5Child = Hdf5Worker.Hdf5Child

/** The 8-byte HDF5 format signature `\x89HDF\r\n\x1a\n`. */
export const HDF5_SIGNATURE: ReadonlyArray<number> = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]

/**
 * Offset of the HDF5 signature: HDF5 looks for it at byte 0, 512, 1024, 2048, ... (a user block may
 * precede the superblock). Undefined when the bytes are not an HDF5 file.
 */
export const findHdf5Signature = (bytes: Uint8Array): number | undefined => {
  for (let offset = 0; offset + HDF5_SIGNATURE.length <= bytes.length; offset = offset === 0 ? 512 : offset * 2) {
    if (HDF5_SIGNATURE.every((byte, i) => bytes[offset + i] === byte)) return offset
  }
  return undefined
}

/** Options of `readHdf5`. */
export interface ReadHdf5Options {
  /** Link levels below the root group to list (groups deeper than this are not opened). */
  readonly maxDepth: number
  /** Deadline for the whole read in milliseconds (default: 10 s plus 1 s per 10 MB). */
  readonly timeoutMs?: number
}

/** Failed reads after which a worker is replaced, and bytes of failed files after which it is replaced. */
const RECYCLE_AFTER_FAILURES = 64
const RECYCLE_AFTER_FAILED_BYTES = 256 * 1024 * 1024

const h5wasmLocation = (): string => {
  try {
    return import.meta.resolve("h5wasm")
  } catch {
    return "h5wasm"
  }
}

// \`__name\` is the helper esbuild's keepNames inserts into transpiled functions (tsx, some bundlers):
// the worker source needs its own copy.
const bootstrap = (location: string): string => `
var __name = (target) => target;
const diagnostics = [];
const capture = (...parts) => {
  diagnostics.push(parts.map(String).join(" "));
  if (diagnostics.length > 1000) diagnostics.splice(0, diagnostics.length - 1000);
};
console.error = capture;
console.warn = capture;
console.log = capture;
Promise.all([import("node:worker_threads"), import(${JSON.stringify(location)})])
  .then(async ([threads, h5wasm]) => {
    const Module = await (h5wasm.default ?? h5wasm).ready;
    diagnostics.length = 0;
    (${serveHdf5.toString()})(Module, threads.parentPort, diagnostics);
    threads.parentPort.postMessage({ type: "ready" });
  })
  .catch((error) => import("node:worker_threads").then((threads) =>
    threads.parentPort.postMessage({ type: "init-error", reason: String((error && error.message) || error) })));
`

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined"

/**
 * Start the worker from source text. Node evaluates it directly; Deno's `node:worker_threads` has no
 * `eval`, so there the same code is started from a temporary module file. The file is removed at the
 * worker's first message (its module has run by then) or its exit, whichever comes first: the worker is
 * unref'd, so a process may end without the exit event, and the file must not outlive it.
 */
const startWorker = (code: string): Worker => {
  if (!isDeno) return new Worker(code, { eval: true })
  const file = path.join(os.tmpdir(), `haemsa-hdf5-worker-${process.pid}-${nextId++}.mjs`)
  fs.writeFileSync(file, code)
  const worker = new Worker(pathToFileURL(file))
  const remove = (): void => fs.rmSync(file, { force: true })
  worker.once("message", remove)
  worker.once("exit", remove)
  return worker
}

interface WorkerState {
  readonly worker: Worker
  /** True once the worker said it listens: requests wait for that. */
  ready: boolean
  failures: number
  failedBytes: number
}

let state: WorkerState | undefined
let nextId = 1
let queue: Promise<unknown> = Promise.resolve()

const retire = (retired: WorkerState): void => {
  if (state === retired) state = undefined
  void retired.worker.terminate()
}

const acquire = (): WorkerState => {
  if (state === undefined) {
    const worker = startWorker(bootstrap(h5wasmLocation()))
    worker.unref()
    state = { worker, ready: false, failures: 0, failedBytes: 0 }
  }
  return state
}

const defaultTimeout = (size: number): number => 10_000 + Math.ceil(size / 10_000)

const request = (bytes: Uint8Array, file: string, options: ReadHdf5Options): Promise<Hdf5Node> =>
  new Promise((resolve, reject) => {
    const current = acquire()
    const { worker } = current
    const id = nextId++
    const timeoutMs = options.timeoutMs ?? defaultTimeout(bytes.length)

    const finish = (): void => {
      clearTimeout(timer)
      worker.off("message", onMessage)
      worker.off("error", onError)
      worker.off("exit", onExit)
      worker.unref()
    }
    const failWith = (reason: string, recycle: boolean): void => {
      finish()
      if (recycle) retire(current)
      reject(new CsdError({ file, reason }))
    }
    const copy = bytes.slice()
    const send = (): void => {
      const message: Hdf5Request = { id, bytes: copy, maxDepth: options.maxDepth }
      worker.postMessage(message, [copy.buffer as ArrayBuffer])
    }
    const onMessage = (message: Hdf5Response): void => {
      if (message.type === "ready") {
        current.ready = true
        return send()
      }
      if (message.type === "init-error") return failWith(`cannot load the h5wasm HDF5 library: ${message.reason}`, true)
      if (message.id !== id) return
      if (message.ok) {
        finish()
        return resolve(message.root)
      }
      current.failures += 1
      current.failedBytes += bytes.length
      const recycle = message.fatal || current.failures >= RECYCLE_AFTER_FAILURES ||
        current.failedBytes >= RECYCLE_AFTER_FAILED_BYTES
      failWith(`${message.path}: ${message.reason}`, recycle)
    }
    const onError = (error: Error): void => failWith(`the HDF5 reader crashed: ${error.message}`, true)
    const onExit = (code: number): void => failWith(`the HDF5 reader stopped (exit code ${code})`, true)
    const timer = setTimeout(
      () => failWith(`the HDF5 library did not finish within ${timeoutMs} ms (the file is probably corrupt)`, true),
      timeoutMs
    )

    worker.on("message", onMessage)
    worker.on("error", onError)
    worker.on("exit", onExit)
    worker.ref()
    if (current.ready) send()
  })

/**
 * Read the groups and datasets of an HDF5 file (its whole content as bytes) down to
 * `options.maxDepth` levels. Every dataset is read with one call; its size is checked against the file
 * size first, so a corrupt shape cannot allocate gigabytes. Rejects with a `CsdError` naming `file`
 * and the object inside the file for anything that goes wrong: not HDF5, corrupt, truncated, a library
 * failure, a crash or a deadline passed. Reads run one at a time.
 */
export const readHdf5 = (bytes: Uint8Array, file: string, options: ReadHdf5Options): Promise<Hdf5Node> => {
  if (findHdf5Signature(bytes) === undefined) {
    return Promise.reject(new CsdError({ file, reason: "not an HDF5 file (no HDF5 signature at byte 0, 512, 1024, ...)" }))
  }
  const run = queue.then(() => request(bytes, file, options))
  queue = run.catch(() => undefined)
  return run
}
