/**
 * numpy in a pickle: dtypes (`numpy.dtype` and its `__setstate__`), arrays (`_reconstruct` then
 * `__setstate__`, numpy 1.x and 2.x; `_frombuffer` of protocol 5) and scalars (`scalar`), rebuilt
 * from their raw bytes without running numpy.
 *
 * Arrays are row-major: Fortran-ordered data is reordered. float16 widens to float32, int64/uint64
 * become Float64Array, `<U`/`|S` become string arrays with trailing NULs stripped (`|S` decoded one
 * char per byte), an object array whose elements are all `str` becomes a "unicode" string array.
 * Numeric arrays never share memory with the input. Element counts and byte lengths are checked
 * before anything is allocated; numpy data stored as a Python 2 `str` is turned back into bytes.
 *
 * @since 0.2.0
 */
import { quote } from "../Errors"
import type { NdArray, NumericData } from "../NdArray"
import { reject } from "./Reject"
import { latin1, normalizeInt } from "./Text"
import type { DTypeName, PyDType, PyTuple, PyValue } from "./Values"
import { isDType, isGlobal, isTuple, typeName } from "./Values"

/** What numpy reconstruction needs from the running machine. */
export interface Host {
  /** Count `n` more elements against the `maxElements` limit. */
  count(n: number): void
  /** Record that `container` now holds `child` (checks the `maxDepth` limit). */
  deepen(container: object, child: PyValue): void
  /** Arrays made by `_reconstruct`, which BUILD may fill. */
  readonly pending: WeakSet<object>
  /** Long Python 2 str values decoded as latin1, with their bytes: numpy data reuses them. */
  readonly py2Bytes: ReadonlyMap<string, Uint8Array>
}

/** An array being filled by BUILD. */
type MutableArray = { -readonly [K in keyof NdArray]: NdArray[K] }
/** A dtype being set by BUILD (`dtype.__setstate__`). */
export type MutableDType = { -readonly [K in keyof PyDType]: PyDType[K] }
type NumericCtor = new (n: number) => NumericData

/** `_reconstruct(ndarray, shape, typecode)`: an empty array that BUILD fills. */
export const reconstruct = (host: Host, args: ReadonlyArray<PyValue>): NdArray => {
  const cls = args[0]
  if (args.length !== 3 || !isGlobal(cls) || cls.module !== "numpy" || cls.name !== "ndarray") {
    reject(`_reconstruct is only supported for numpy.ndarray, got ${typeName(cls)}`)
  }
  const arr: MutableArray = { _tag: "NdArray", dtype: "int8", shape: [0], data: new Int8Array(0) }
  host.pending.add(arr)
  return arr as NdArray
}

/** `ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata))`. */
export const setArrayState = (host: Host, arr: NdArray, state: PyValue): void => {
  if (!isTuple(state) || (state.items.length !== 4 && state.items.length !== 5)) {
    reject(`ndarray state must be a tuple of 4 or 5 items, got ${typeName(state)}`)
  }
  const items = (state as PyTuple).items
  const [shapeV, dtypeV, fortranV, raw] = items.length === 5 ? items.slice(1) : items
  const shape = toShape(shapeV)
  if (!isDType(dtypeV)) reject(`ndarray state holds a ${typeName(dtypeV)} where a dtype is expected`)
  if (typeof fortranV !== "boolean" && typeof fortranV !== "number") reject("ndarray state: is_fortran must be a bool")
  const decoded = decodeArray(host, dtypeV as PyDType, shape, Boolean(fortranV), raw, true)
  Object.assign(arr, decoded)
  if (decoded.dtype === "object") for (const item of decoded.data as Array<PyValue>) host.deepen(arr, item)
}

/** `_frombuffer(buffer, dtype, shape, order)` (numpy pickles of protocol 5). */
export const frombuffer = (host: Host, args: ReadonlyArray<PyValue>): NdArray => {
  const [buf, dtype, shapeV, order] = args
  if (args.length !== 4 || !isDType(dtype)) reject("_frombuffer needs (buffer, dtype, shape, order)")
  if (order !== "C" && order !== "F") reject(`_frombuffer order must be "C" or "F", got ${typeName(order)}`)
  return decodeArray(host, dtype as PyDType, toShape(shapeV), order === "F", buf, false) as NdArray
}

/** `scalar(dtype, bytes)`: a numpy scalar as a plain value. */
export const scalar = (host: Host, args: ReadonlyArray<PyValue>): PyValue => {
  const [dtypeV, raw] = args
  if (args.length < 1 || args.length > 2 || !isDType(dtypeV)) reject("numpy scalar needs (dtype, data)")
  const dt = dtypeV as PyDType
  if (dt.name === "object") return raw ?? null
  const bytes = rawBytes(host, raw)
  if (bytes.length !== dt.itemsize) reject(`numpy scalar of ${dt.name} needs ${dt.itemsize} bytes, got ${bytes.length}`)
  const little = dt.byteOrder !== ">"
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (dt.name) {
    case "int64":
      return normalizeInt(dv.getBigInt64(0, little))
    case "uint64":
      return normalizeInt(dv.getBigUint64(0, little))
    case "bool":
      return bytes[0] !== 0
    case "bytes":
      return bytes.slice(0, trimNuls(bytes))
    default: {
      const a = decodeArray(host, dt, [], false, bytes, false)
      return a.data[0] as number | string
    }
  }
}

/** numpy raw data: bytes, or a Python 2 str decoded as latin1/ASCII (turned back into bytes). */
const rawBytes = (host: Host, raw: PyValue | undefined): Uint8Array => {
  if (raw instanceof Uint8Array) return raw
  if (typeof raw === "string") {
    const known = host.py2Bytes.get(raw)
    if (known !== undefined) return known
    const out = new Uint8Array(raw.length)
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i)
      if (c > 255) reject("numpy data given as a str holds a character above U+00FF")
      out[i] = c
    }
    return out
  }
  return reject(`numpy data must be bytes, got ${typeName(raw)}`)
}

/**
 * Decode array data. Checks element count and byte length before allocating. Numeric and string
 * data in Fortran order is reordered; object lists are in C order already (numpy writes them so).
 */
const decodeArray = (
  host: Host,
  dt: PyDType,
  shape: Array<number>,
  fortran: boolean,
  raw: PyValue | undefined,
  allowList: boolean
): MutableArray => {
  const n = sizeOf(shape)
  if (dt.name === "object") {
    if (!allowList || !Array.isArray(raw)) reject(`an object array needs a list of elements, got ${typeName(raw)}`)
    const list = raw as Array<PyValue>
    if (list.length !== n) reject(`object array of shape (${shape.join(", ")}) needs ${n} elements, got ${list.length}`)
    host.count(n)
    const data = list.slice()
    const allStrings = n > 0 && data.every((x) => typeof x === "string")
    return { _tag: "NdArray", dtype: allStrings ? "unicode" : "object", shape, data }
  }
  const bytes = rawBytes(host, raw)
  const nbytes = n * dt.itemsize
  if (nbytes !== bytes.length) {
    reject(`array of shape (${shape.join(", ")}) and dtype ${dt.name} needs ${nbytes} bytes of data, got ${bytes.length}`)
  }
  host.count(n)
  const little = dt.byteOrder !== ">"
  switch (dt.name) {
    case "unicode":
    case "bytes": {
      const strings = dt.name === "unicode"
        ? decodeUtf32(bytes, n, dt.itemsize, little)
        : decodeFixedBytes(bytes, n, dt.itemsize)
      return { _tag: "NdArray", dtype: dt.name, shape, data: fortran ? fortranToC(strings, shape, new Array(n)) : strings }
    }
    default: {
      const numeric = decodeNumeric(dt.name, bytes, n, little)
      const data = fortran ? fortranToC(numeric, shape, new (numeric.constructor as NumericCtor)(n)) : numeric
      return { _tag: "NdArray", dtype: dt.name === "float16" ? "float32" : dt.name, shape, data }
    }
  }
}

const SIZED_KINDS: Record<string, Partial<Record<number, DTypeName>>> = {
  f: { 2: "float16", 4: "float32", 8: "float64" },
  i: { 1: "int8", 2: "int16", 4: "int32", 8: "int64" },
  u: { 1: "uint8", 2: "uint16", 4: "uint32", 8: "uint64" },
  b: { 1: "bool" }
}

const CHAR_CODES: Record<string, DTypeName> = {
  "?": "bool", b: "int8", B: "uint8", h: "int16", H: "uint16", i: "int32", I: "uint32",
  l: "int64", L: "uint64", q: "int64", Q: "uint64", e: "float16", f: "float32", d: "float64", O: "object"
}

const ITEMSIZE: Record<string, number> = {
  bool: 1, int8: 1, uint8: 1, int16: 2, uint16: 2, float16: 2, int32: 4, uint32: 4, float32: 4,
  int64: 8, uint64: 8, float64: 8, object: 8
}

/** `numpy.dtype(typestr)` for the typestrings numpy pickles write ("f4", "<i8", "U10", "S3", "O8", ...). */
export const makeDType = (spec: PyValue): PyDType => {
  const s = spec instanceof Uint8Array ? latin1(spec) : spec
  if (typeof s !== "string") return reject(`numpy.dtype of a ${typeName(spec)} is not supported`)
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(s)
  if (m === null) return reject(`unsupported numpy dtype ${quote(s, 40)}`)
  const [, order, kind, digits] = m
  let name: DTypeName | undefined
  let itemsize = 0
  if (kind === "U" || kind === "S" || kind === "a") {
    const chars = digits === "" ? 0 : Number(digits)
    if (!Number.isSafeInteger(chars)) reject(`unsupported numpy dtype ${s}`)
    name = kind === "U" ? "unicode" : "bytes"
    itemsize = kind === "U" ? chars * 4 : chars
  } else if (kind === "O") {
    name = "object"
    itemsize = 8
  } else if (digits === "") {
    name = CHAR_CODES[kind]
  } else {
    name = SIZED_KINDS[kind]?.[Number(digits)]
  }
  if (name === undefined) return reject(`unsupported numpy dtype ${quote(s, 40)}`)
  if (itemsize === 0 && name !== "unicode" && name !== "bytes") itemsize = ITEMSIZE[name]
  const byteOrder = itemsize <= 1 || name === "object" || name === "bytes" ? "|" : order === ">" ? ">" : "<"
  const dt: MutableDType = { _tag: "DType", name, itemsize, byteOrder }
  return dt
}

/** `dtype.__setstate__((3 or 4, endian, subdescr, names, fields, elsize, alignment, flags[, metadata]))`. */
export const setDTypeState = (dt: MutableDType, state: PyValue): void => {
  if (!isTuple(state) || (state.items.length !== 8 && state.items.length !== 9)) {
    return reject(`unsupported numpy dtype state (${typeName(state)})`)
  }
  const [version, endianV, subdescr, names, fields, elsize] = state.items
  if (version !== 3 && version !== 4) reject(`unsupported numpy dtype state version ${String(version)}`)
  if (subdescr !== null) reject("numpy subarray dtypes are not supported")
  if (names !== null || fields !== null) reject("numpy structured dtypes are not supported")
  const endian = endianV instanceof Uint8Array ? latin1(endianV) : endianV
  if (endian !== "<" && endian !== ">" && endian !== "|" && endian !== "=") reject(`invalid dtype byte order ${typeName(endianV)}`)
  if (typeof elsize !== "number" || !Number.isInteger(elsize)) return reject("dtype state: elsize must be an int")
  if ((dt.name === "unicode" || dt.name === "bytes") && elsize >= 0) {
    if (dt.name === "unicode" && elsize % 4 !== 0) reject(`unicode dtype with ${elsize} bytes per item`)
    dt.itemsize = elsize
  }
  dt.byteOrder = dt.itemsize <= 1 || dt.name === "object" || dt.name === "bytes"
    ? "|"
    : endian === ">" ? ">" : "<"
}

const toShape = (v: PyValue | undefined): Array<number> => {
  const items = isTuple(v) ? v.items : Array.isArray(v) ? v : undefined
  if (items === undefined) return reject(`an array shape must be a tuple, got ${typeName(v)}`)
  return items.map((d) => {
    if (typeof d !== "number" || !Number.isSafeInteger(d) || d < 0) reject(`invalid array dimension ${String(d)}`)
    return d as number
  })
}

/** Number of elements of a shape, rejecting sizes beyond 2^53. */
const sizeOf = (shape: ReadonlyArray<number>): number => {
  if (shape.includes(0)) return 0
  let n = 1
  for (const d of shape) {
    n *= d
    if (n > Number.MAX_SAFE_INTEGER) reject(`array shape (${shape.join(", ")}) is too large`)
  }
  return n
}

const PLATFORM_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const BULK: Partial<Record<DTypeName, new (buffer: ArrayBuffer) => NumericData>> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array
}

/** Decode `n` numbers: a bulk copy (byte-swapped when the endianness differs) viewed as a typed array. */
const decodeNumeric = (name: DTypeName, bytes: Uint8Array, n: number, little: boolean): NumericData => {
  const Bulk = BULK[name]
  if (Bulk !== undefined) {
    const copy = new Uint8Array(bytes.length)
    copy.set(bytes)
    const size = ITEMSIZE[name]
    if (size > 1 && little !== PLATFORM_LITTLE) swapBytes(copy, size)
    return new Bulk(copy.buffer)
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (name) {
    case "bool": {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = bytes[i] !== 0 ? 1 : 0
      return out
    }
    case "float16": {
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(2 * i, little))
      return out
    }
    case "int64":
    case "uint64": {
      const out = new Float64Array(n)
      const signed = name === "int64"
      for (let i = 0; i < n; i++) {
        const o = 8 * i
        const lo = dv.getUint32(little ? o : o + 4, little)
        const hi = signed ? dv.getInt32(little ? o + 4 : o, little) : dv.getUint32(little ? o + 4 : o, little)
        out[i] = hi * 4294967296 + lo
      }
      return out
    }
    default:
      return reject(`cannot decode numpy dtype ${name} as numbers`)
  }
}

const swapBytes = (b: Uint8Array, size: number): void => {
  for (let o = 0; o < b.length; o += size) {
    for (let i = 0, j = size - 1; i < j; i++, j--) {
      const t = b[o + i]
      b[o + i] = b[o + j]
      b[o + j] = t
    }
  }
}

const halfToFloat = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

/** Length of `b` without its trailing NUL bytes. */
const trimNuls = (b: Uint8Array): number => {
  let end = b.length
  while (end > 0 && b[end - 1] === 0) end--
  return end
}

/** numpy `<U` / `>U` data: fixed-width UTF-32 items, trailing NULs stripped. */
const decodeUtf32 = (bytes: Uint8Array, n: number, itemsize: number, little: boolean): Array<string> => {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const chars = itemsize / 4
  const out = new Array<string>(n)
  const codePoints: Array<number> = []
  for (let i = 0; i < n; i++) {
    const base = i * itemsize
    let len = chars
    while (len > 0 && dv.getUint32(base + 4 * (len - 1), little) === 0) len--
    codePoints.length = 0
    for (let c = 0; c < len; c++) {
      const cp = dv.getUint32(base + 4 * c, little)
      if (cp > 0x10ffff) reject(`invalid code point 0x${cp.toString(16)} in a numpy unicode array`)
      codePoints.push(cp)
    }
    out[i] = fromCodePoints(codePoints)
  }
  return out
}

const fromCodePoints = (cps: ReadonlyArray<number>): string => {
  if (cps.length <= 4096) return String.fromCodePoint(...cps)
  const parts: Array<string> = []
  for (let i = 0; i < cps.length; i += 4096) parts.push(String.fromCodePoint(...cps.slice(i, i + 4096)))
  return parts.join("")
}

/** numpy `|S` data: fixed-width byte strings, trailing NULs stripped, one char per byte. */
const decodeFixedBytes = (bytes: Uint8Array, n: number, itemsize: number): Array<string> => {
  const out = new Array<string>(n)
  for (let i = 0; i < n; i++) {
    const item = bytes.subarray(i * itemsize, (i + 1) * itemsize)
    out[i] = latin1(item.subarray(0, trimNuls(item)))
  }
  return out
}

/** Reorder column-major (Fortran) data into row-major order, writing into `out`. */
const fortranToC = <A extends { length: number; [i: number]: any }>(src: A, shape: ReadonlyArray<number>, out: A): A => {
  const nd = shape.length
  if (nd <= 1 || src.length === 0) return src
  const strides = new Array<number>(nd)
  strides[0] = 1
  for (let k = 1; k < nd; k++) strides[k] = strides[k - 1] * shape[k - 1]
  const index = new Array<number>(nd).fill(0)
  let f = 0
  for (let c = 0; c < src.length; c++) {
    out[c] = src[f]
    for (let k = nd - 1; k >= 0; k--) {
      index[k]++
      f += strides[k]
      if (index[k] < shape[k]) break
      f -= strides[k] * shape[k]
      index[k] = 0
    }
  }
  return out
}
