/**
 * The code that runs inside the HDF5 worker thread: it opens one HDF5 file with the h5wasm module and
 * copies its groups and datasets (to a fixed depth) into plain JavaScript values.
 *
 * `serveHdf5` is sent to the worker as source text (`serveHdf5.toString()`), so it must stay
 * self-contained: it may only use its parameters and JavaScript globals, never an import or a
 * module-level value. Types are erased and are fine.
 *
 * @since 0.1.0
 */

/** A dataset value as the worker returns it. Integer datasets are converted to float64. */
export type Hdf5Value =
  | { readonly type: "float32"; readonly data: Float32Array }
  | { readonly type: "float64"; readonly data: Float64Array }
  | { readonly type: "strings"; readonly data: ReadonlyArray<string> }
  | { readonly type: "unsupported"; readonly description: string }

/** A node of the HDF5 tree. `children` is null for a group below the depth limit (not listed). */
export type Hdf5Node =
  | { readonly kind: "group"; readonly children: ReadonlyArray<Hdf5Child> | null }
  | { readonly kind: "dataset"; readonly shape: ReadonlyArray<number>; readonly value: Hdf5Value }
  | { readonly kind: "other" }

/** A named child of a group. */
export interface Hdf5Child {
  readonly name: string
  readonly node: Hdf5Node
}

/** What the main thread asks: read `bytes` (a whole HDF5 file) down to `maxDepth` link levels. */
export interface Hdf5Request {
  readonly id: number
  readonly bytes: Uint8Array
  readonly maxDepth: number
}

/**
 * What the worker answers. `fatal` means the wasm module trapped or aborted and the worker must not
 * be used again; `path` is the object being read when the problem happened.
 */
export type Hdf5Response =
  | { readonly type: "result"; readonly id: number; readonly ok: true; readonly root: Hdf5Node }
  | { readonly type: "result"; readonly id: number; readonly ok: false; readonly path: string; readonly reason: string; readonly fatal: boolean }
  | { readonly type: "init-error"; readonly reason: string }
  /** Sent once the worker listens for requests (Deno drops messages posted before that). */
  | { readonly type: "ready" }

/** The part of the h5wasm emscripten module (`await h5wasm.ready`) the worker uses. */
export interface Hdf5Module {
  readonly FS: {
    writeFile(path: string, data: Uint8Array, options?: { canOwn?: boolean }): void
    unlink(path: string): void
  }
  readonly HEAPU8: Uint8Array
  readonly H5F_ACC_RDONLY: number
  readonly H5G_GROUP: number
  readonly H5G_DATASET: number
  open(filename: string, mode: number, trackOrder: boolean, libverLow: number, libverHigh: number): bigint
  close_file(fileId: bigint): number
  get_type(fileId: bigint, path: string): number
  get_names(fileId: bigint, path: string, recursive: boolean): Array<string>
  get_dataset_metadata(fileId: bigint, path: string): {
    readonly type: number
    readonly size: number
    readonly signed: boolean
    readonly vlen: boolean
    readonly cset?: number
    readonly shape: Array<number> | null
  }
  get_dataset_filters(fileId: bigint, path: string): Array<unknown>
  get_dataset_data(fileId: bigint, path: string, count: null, offset: null, strides: null, ptr: bigint): number
  reclaim_vlen_memory(fileId: bigint, path: string, attribute: string, ptr: bigint): number
  _malloc(size: number): number
  _free(ptr: number): void
}

/** The message port of the worker (node:worker_threads `parentPort`). */
export interface Hdf5Port {
  on(event: "message", listener: (request: Hdf5Request) => void): unknown
  postMessage(message: Hdf5Response, transfer?: ReadonlyArray<ArrayBuffer>): void
}

/**
 * Serve read requests on `port`. `diagnostics` receives every line the HDF5 library prints to stderr
 * (the bootstrap redirects `console.error` there before loading h5wasm): HDF5 prints an error stack
 * whenever one of its API calls fails, including failures h5wasm ignores (a partial group listing, a
 * failed read), so any new line during a read means the read failed.
 */
export function serveHdf5(Module: Hdf5Module, port: Hdf5Port, diagnostics: Array<string>): void {
  // Largest single dataset copied out of the 2 GiB wasm heap.
  const MAX_DATASET_BYTES = 1 << 30
  // Deflate cannot expand data by more than ~1032x.
  const MAX_COMPRESSION_RATIO = 1032
  const H5T_INTEGER = 0
  const H5T_FLOAT = 1
  const H5T_STRING = 3
  const utf8 = new TextDecoder("utf-8")
  const latin1 = new TextDecoder("latin1")

  const innermost = (): string => {
    let message = ""
    for (const line of diagnostics) {
      const match = /#\d+:.*? in [^(]*\(\): (.*)$/.exec(line)
      if (match !== null) message = match[1].trim()
    }
    return message === "" ? (diagnostics.find((line) => line.trim() !== "") ?? "").trim() : message
  }

  const fail = (reason: string): never => {
    throw new Error(reason)
  }

  const checkLibrary = (): void => {
    if (diagnostics.length > 0) fail(`HDF5: ${innermost()}`)
  }

  const serve = (request: Hdf5Request): void => {
    const fileName = `/haemsa-${request.id}.h5`
    const fileSize = request.bytes.length
    const transfer: Array<ArrayBuffer> = []
    let fileId = -1n
    let current = "/"
    diagnostics.length = 0

    const datasetLimit = (compressed: boolean): number =>
      Math.min(MAX_DATASET_BYTES, compressed ? fileSize * MAX_COMPRESSION_RATIO : fileSize)

    const readBytes = (path: string, nbytes: number, vlen: boolean, decode: (bytes: Uint8Array, ptr: number) => Hdf5Value): Hdf5Value => {
      const ptr = Module._malloc(Math.max(nbytes, 1))
      if (ptr === 0) fail(`cannot allocate ${nbytes} bytes`)
      try {
        // Null pointers, so that a failed read of strings leaves nothing to follow.
        if (vlen) Module.HEAPU8.fill(0, ptr, ptr + nbytes)
        const status = Module.get_dataset_data(fileId, path, null, null, null, BigInt(ptr))
        checkLibrary()
        if (status < 0) fail("HDF5: dataset read failed")
        const value = decode(Module.HEAPU8.slice(ptr, ptr + nbytes), ptr)
        if (vlen) {
          Module.reclaim_vlen_memory(fileId, path, "", BigInt(ptr))
          checkLibrary()
        }
        return value
      } finally {
        Module._free(ptr)
      }
    }

    const decodeNumbers = (bytes: Uint8Array, type: number, size: number, signed: boolean): Hdf5Value => {
      const buffer = bytes.buffer as ArrayBuffer
      if (type === H5T_FLOAT && size === 4) {
        transfer.push(buffer)
        return { type: "float32", data: new Float32Array(buffer) }
      }
      if (type === H5T_FLOAT && size === 8) {
        transfer.push(buffer)
        return { type: "float64", data: new Float64Array(buffer) }
      }
      const source: ArrayLike<number | bigint> =
        size === 1 ? (signed ? new Int8Array(buffer) : new Uint8Array(buffer))
        : size === 2 ? (signed ? new Int16Array(buffer) : new Uint16Array(buffer))
        : size === 4 ? (signed ? new Int32Array(buffer) : new Uint32Array(buffer))
        : (signed ? new BigInt64Array(buffer) : new BigUint64Array(buffer))
      const data = new Float64Array(source.length)
      for (let i = 0; i < source.length; i++) data[i] = Number(source[i])
      transfer.push(data.buffer)
      return { type: "float64", data }
    }

    const readDataset = (path: string): Hdf5Node => {
      const metadata = Module.get_dataset_metadata(fileId, path)
      checkLibrary()
      const filters = Module.get_dataset_filters(fileId, path)
      checkLibrary()
      const shape = metadata.shape ?? []
      let count = 1
      for (const extent of shape) {
        if (!Number.isSafeInteger(extent) || extent < 0) fail(`invalid dataset extent ${extent}`)
        count *= extent
      }
      if (!Number.isSafeInteger(count)) fail(`dataset shape [${shape.join(", ")}] is too large`)
      const limit = datasetLimit(filters.length > 0)
      const { type, size, signed } = metadata
      if ((type === H5T_FLOAT && (size === 4 || size === 8)) || (type === H5T_INTEGER && [1, 2, 4, 8].includes(size))) {
        const nbytes = count * size
        if (nbytes > limit) {
          fail(`dataset shape [${shape.join(", ")}] needs ${nbytes} bytes, more than a ${fileSize}-byte file can hold`)
        }
        return { kind: "dataset", shape, value: readBytes(path, nbytes, false, (bytes) => decodeNumbers(bytes, type, size, signed)) }
      }
      if (type === H5T_STRING) {
        const decoder = metadata.cset === 1 ? utf8 : latin1
        if (metadata.vlen) {
          if (count * 4 > limit) fail(`string dataset shape [${shape.join(", ")}] is larger than the file`)
          return {
            kind: "dataset",
            shape,
            value: readBytes(path, count * 4, true, (bytes) => {
              const pointers = new Uint32Array(bytes.buffer, 0, count)
              const heap = Module.HEAPU8
              const data: Array<string> = []
              for (const pointer of pointers) {
                let end = pointer
                while (pointer !== 0 && end < heap.length && heap[end] !== 0) end++
                data.push(pointer === 0 ? "" : decoder.decode(heap.subarray(pointer, end)))
              }
              return { type: "strings", data }
            })
          }
        }
        if (count * size > limit) fail(`string dataset shape [${shape.join(", ")}] is larger than the file`)
        return {
          kind: "dataset",
          shape,
          value: readBytes(path, count * size, false, (bytes) => {
            const data: Array<string> = []
            for (let i = 0; i < count; i++) {
              const item = bytes.subarray(i * size, (i + 1) * size)
              const nul = item.indexOf(0)
              data.push(decoder.decode(nul < 0 ? item : item.subarray(0, nul)).trimEnd())
            }
            return { type: "strings", data }
          })
        }
      }
      return { kind: "dataset", shape, value: { type: "unsupported", description: `HDF5 type class ${type}, ${size} bytes` } }
    }

    const readNode = (path: string, depth: number): Hdf5Node => {
      current = path
      const type = Module.get_type(fileId, path)
      checkLibrary()
      if (type === Module.H5G_DATASET) return readDataset(path)
      if (type !== Module.H5G_GROUP) return { kind: "other" }
      if (depth >= request.maxDepth) return { kind: "group", children: null }
      const names = Module.get_names(fileId, path, false)
      checkLibrary()
      const children: Array<Hdf5Child> = []
      for (const name of names) {
        children.push({ name, node: readNode(path === "/" ? `/${name}` : `${path}/${name}`, depth + 1) })
      }
      return { kind: "group", children }
    }

    try {
      Module.FS.writeFile(fileName, request.bytes, { canOwn: true })
      fileId = Module.open(fileName, Module.H5F_ACC_RDONLY, false, -1, -1)
      checkLibrary()
      if (fileId < 0n) fail("HDF5: the file could not be opened")
      const root = readNode("/", 0)
      port.postMessage({ type: "result", id: request.id, ok: true, root }, transfer)
    } catch (error) {
      const fatal = error instanceof WebAssembly.RuntimeError
      const message = error instanceof Error ? error.message : String(error)
      const reason = diagnostics.length > 0 && !message.startsWith("HDF5: ") ? `HDF5: ${innermost()}` : message
      port.postMessage({ type: "result", id: request.id, ok: false, path: current, reason, fatal })
    } finally {
      try {
        if (fileId >= 0n) Module.close_file(fileId)
      } catch {
        // the file may stay open inside a failed HDF5 library: the main thread recycles the worker
      }
      try {
        Module.FS.unlink(fileName)
      } catch {
        // the file was never written
      }
      diagnostics.length = 0
    }
  }

  port.on("message", serve)
}
