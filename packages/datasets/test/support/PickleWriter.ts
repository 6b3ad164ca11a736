/**
 * A small pickle writer for tests: serializes PyValues the way CPython's pickler and numpy do, so
 * that `parse(write(v))` can be compared with `v`. Supports protocols 2 to 5, memoization (repeated
 * objects are written once and fetched with GET), numpy arrays in C or Fortran order, little or big
 * endian, via `_reconstruct` or (protocol 5) `_frombuffer`.
 */
import type { NdArray } from "../../src/NdArray"
import type { PyValue } from "../../src/Pickle"
import { PyDict, PySet } from "../../src/Pickle"

/** How to write. */
export interface WriterOptions {
  readonly protocol: 2 | 3 | 4 | 5
  /** Write GET for objects already written (default true). */
  readonly memo?: boolean
  /** Byte order of numpy data (default "<"). */
  readonly byteOrder?: "<" | ">"
  /** Memory order of numpy data (default "C"). */
  readonly order?: "C" | "F"
  /** Protocol 5 only: write arrays as `_frombuffer(bytearray, dtype, shape, order)` (default false). */
  readonly frombuffer?: boolean
}

const TYPECODES: Record<string, string> = {
  float32: "f4", float64: "f8", int8: "i1", int16: "i2", int32: "i4", int64: "i8",
  uint8: "u1", uint16: "u2", uint32: "u4", uint64: "u8", bool: "b1"
}

const SIZES: Record<string, number> = {
  float32: 4, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1
}

/** Serialize `value` to pickle bytes. */
export const writePickle = (value: PyValue, options: WriterOptions): Uint8Array => {
  const w = new Writer(options)
  w.bytes(0x80, options.protocol)
  w.value(value)
  w.bytes(0x2e)
  return Uint8Array.from(w.out)
}

class Writer {
  readonly out: Array<number> = []
  readonly memo = new Map<object, number>()
  constructor(readonly options: WriterOptions) {}

  get proto(): number {
    return this.options.protocol
  }

  /** The builtins module as CPython names it for this protocol. */
  get builtins(): string {
    return this.proto < 3 ? "__builtin__" : "builtins"
  }

  bytes(...bs: Array<number>): void {
    for (const b of bs) this.out.push(b)
  }

  raw(b: Uint8Array): void {
    for (const x of b) this.out.push(x)
  }

  u32(n: number): void {
    this.bytes(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff)
  }

  u64(n: number): void {
    this.u32(n % 4294967296)
    this.u32(Math.floor(n / 4294967296))
  }

  /** Remember `obj` (after writing it) unless memoization is off. */
  put(obj: object): void {
    if (this.options.memo === false) return
    const index = this.memo.size
    this.memo.set(obj, index)
    if (this.proto >= 4) this.bytes(0x94)
    else if (index < 256) this.bytes(0x71, index)
    else {
      this.bytes(0x72)
      this.u32(index)
    }
  }

  /** Write a GET when `obj` was written before. */
  get(obj: object): boolean {
    const index = this.memo.get(obj)
    if (index === undefined) return false
    if (index < 256) this.bytes(0x68, index)
    else {
      this.bytes(0x6a)
      this.u32(index)
    }
    return true
  }

  str(s: string): void {
    const b = new TextEncoder().encode(s)
    if (this.proto >= 4 && b.length < 256) this.bytes(0x8c, b.length)
    else {
      this.bytes(0x58)
      this.u32(b.length)
    }
    this.raw(b)
  }

  global(module: string, name: string): void {
    if (this.proto >= 4) {
      this.str(module)
      this.str(name)
      this.bytes(0x93)
    } else {
      this.raw(new TextEncoder().encode(`c${module}\n${name}\n`))
    }
  }

  int(n: number | bigint): void {
    if (typeof n === "number" && n >= 0 && n < 256) this.bytes(0x4b, n)
    else if (typeof n === "number" && n >= 0 && n < 65536) this.bytes(0x4d, n & 0xff, n >> 8)
    else if (typeof n === "number" && n >= -(2 ** 31) && n < 2 ** 31) {
      this.bytes(0x4a)
      this.u32(n >>> 0)
    } else {
      const b = longBytes(BigInt(n))
      if (b.length < 256) this.bytes(0x8a, b.length)
      else {
        this.bytes(0x8b)
        this.u32(b.length)
      }
      this.raw(b)
    }
  }

  float(x: number): void {
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, x, false)
    this.bytes(0x47)
    this.raw(b)
  }

  pybytes(b: Uint8Array): void {
    if (this.proto >= 3) {
      if (b.length < 256) this.bytes(0x43, b.length)
      else {
        this.bytes(0x42)
        this.u32(b.length)
      }
      this.raw(b)
    } else if (b.length === 0) {
      this.global(this.builtins, "bytes")
      this.bytes(0x29, 0x52)
    } else {
      this.global("_codecs", "encode")
      this.str(String.fromCharCode(...b))
      this.str("latin1")
      this.bytes(0x86, 0x52)
    }
  }

  items(items: ReadonlyArray<PyValue>, op: number): void {
    for (let i = 0; i < items.length; i += 1000) {
      this.bytes(0x28)
      for (const item of items.slice(i, i + 1000)) this.value(item)
      this.bytes(op)
    }
  }

  value(v: PyValue): void {
    if (v === null) return this.bytes(0x4e)
    switch (typeof v) {
      case "boolean":
        return this.bytes(v ? 0x88 : 0x89)
      case "number":
        return Number.isSafeInteger(v) && !Object.is(v, -0) ? this.int(v) : this.float(v)
      case "bigint":
        return this.int(v)
      case "string":
        return this.str(v)
    }
    if (this.get(v)) return
    if (v instanceof Uint8Array) {
      this.pybytes(v)
      return this.put(v)
    }
    if (Array.isArray(v)) {
      this.bytes(0x5d)
      this.put(v)
      return this.items(v, 0x65)
    }
    if (v instanceof PyDict) {
      this.bytes(0x7d)
      this.put(v)
      return this.items(v.entries.flat(), 0x75)
    }
    if (v instanceof PySet) {
      if (this.proto >= 4 && !v.frozen) {
        this.bytes(0x8f)
        this.put(v)
        return this.items(v.items, 0x90)
      }
      if (this.proto >= 4) {
        this.bytes(0x28)
        for (const item of v.items) this.value(item)
        this.bytes(0x91)
        return this.put(v)
      }
      this.global(this.builtins, v.frozen ? "frozenset" : "set")
      this.bytes(0x5d)
      this.items(v.items, 0x65)
      this.bytes(0x85, 0x52)
      return this.put(v)
    }
    switch (v._tag) {
      case "Tuple": {
        const n = v.items.length
        if (n === 0) this.bytes(0x29)
        else if (n <= 3) {
          for (const item of v.items) this.value(item)
          this.bytes(0x85 + n - 1)
        } else {
          this.bytes(0x28)
          for (const item of v.items) this.value(item)
          this.bytes(0x74)
        }
        return this.put(v)
      }
      case "Complex":
        this.global(this.builtins, "complex")
        this.float(v.real)
        this.float(v.imag)
        this.bytes(0x86, 0x52)
        return this.put(v)
      case "NdArray":
        return this.ndarray(v)
      default:
        throw new Error(`PickleWriter: cannot write ${v._tag}`)
    }
  }

  /** A numpy dtype object: `dtype(code, False, True)` then BUILD with its state. */
  dtype(code: string, endian: string, elsize: number, alignment: number): void {
    this.global("numpy", "dtype")
    this.str(code)
    this.bytes(0x89, 0x88, 0x87, 0x52)
    this.bytes(0x28)
    this.int(3)
    this.str(endian)
    this.bytes(0x4e, 0x4e, 0x4e)
    this.int(elsize)
    this.int(alignment)
    this.int(0)
    this.bytes(0x74, 0x62)
  }

  ndarray(a: NdArray): void {
    const { code, endian, elsize, alignment, data } = encodeArray(a, this.options.byteOrder ?? "<", this.options.order ?? "C")
    const fortran = (this.options.order ?? "C") === "F"
    const core = this.proto >= 4 ? "numpy._core" : "numpy.core"
    if (this.options.frombuffer === true && this.proto >= 5) {
      this.global(`${core}.numeric`, "_frombuffer")
      this.bytes(0x28, 0x96)
      this.u64(data.length)
      this.raw(data)
      this.dtype(code, endian, elsize, alignment)
      this.shape(a.shape)
      this.str(fortran ? "F" : "C")
      this.bytes(0x74, 0x52)
      return this.put(a)
    }
    this.global(`${core}.multiarray`, "_reconstruct")
    this.global("numpy", "ndarray")
    this.int(0)
    this.bytes(0x85)
    this.pybytes(new Uint8Array([0x62]))
    this.bytes(0x87, 0x52)
    this.put(a)
    this.bytes(0x28)
    this.int(1)
    this.shape(a.shape)
    this.dtype(code, endian, elsize, alignment)
    this.bytes(fortran ? 0x88 : 0x89)
    this.pybytes(data)
    this.bytes(0x74, 0x62)
  }

  shape(shape: ReadonlyArray<number>): void {
    this.bytes(0x28)
    for (const d of shape) this.int(d)
    this.bytes(0x74)
  }
}

/** Two's complement little-endian bytes of `n`, as few as Python writes. */
const longBytes = (n: bigint): Uint8Array => {
  if (n === 0n) return new Uint8Array(0)
  const out: Array<number> = []
  let v = n
  for (;;) {
    out.push(Number(v & 0xffn))
    v >>= 8n
    const sign = (out[out.length - 1] & 0x80) !== 0
    if ((v === 0n && !sign) || (v === -1n && sign)) break
  }
  return Uint8Array.from(out)
}

/** The flat element order for C or Fortran memory layout. */
const memoryOrder = (shape: ReadonlyArray<number>, order: "C" | "F"): Array<number> => {
  const n = shape.reduce((a, b) => a * b, 1)
  if (order === "C" || shape.length <= 1) return Array.from({ length: n }, (_, i) => i)
  // position f in Fortran memory holds the element whose C index has the same multi-index
  const out = new Array<number>(n)
  const cStrides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1))
  for (let f = 0; f < n; f++) {
    let rest = f
    let c = 0
    for (let k = 0; k < shape.length; k++) {
      const i = rest % shape[k]
      rest = Math.floor(rest / shape[k])
      c += i * cStrides[k]
    }
    out[f] = c
  }
  return out
}

const encodeArray = (a: NdArray, byteOrder: "<" | ">", order: "C" | "F") => {
  const little = byteOrder === "<"
  const index = memoryOrder(a.shape, order)
  if (a.dtype === "unicode") {
    const strings = a.data as ReadonlyArray<string>
    const chars = Math.max(1, ...strings.map((s) => Array.from(s).length))
    const data = new Uint8Array(index.length * chars * 4)
    const dv = new DataView(data.buffer)
    index.forEach((c, f) => {
      Array.from(strings[c]).forEach((ch, k) => dv.setUint32((f * chars + k) * 4, ch.codePointAt(0) as number, little))
    })
    return { code: `U${chars}`, endian: byteOrder, elsize: chars * 4, alignment: 4, data }
  }
  const size = SIZES[a.dtype]
  if (size === undefined) throw new Error(`PickleWriter: cannot write ${a.dtype} arrays`)
  const values = a.data as ArrayLike<number>
  const data = new Uint8Array(index.length * size)
  const dv = new DataView(data.buffer)
  index.forEach((c, f) => {
    const x = values[c]
    const o = f * size
    switch (a.dtype) {
      case "float32":
        return dv.setFloat32(o, x, little)
      case "float64":
        return dv.setFloat64(o, x, little)
      case "int8":
        return dv.setInt8(o, x)
      case "uint8":
      case "bool":
        return dv.setUint8(o, x)
      case "int16":
        return dv.setInt16(o, x, little)
      case "uint16":
        return dv.setUint16(o, x, little)
      case "int32":
        return dv.setInt32(o, x, little)
      case "uint32":
        return dv.setUint32(o, x, little)
      case "int64":
        return dv.setBigInt64(o, BigInt(x), little)
      case "uint64":
        return dv.setBigUint64(o, BigInt(x), little)
    }
  })
  return { code: TYPECODES[a.dtype], endian: size === 1 ? "|" : byteOrder, elsize: -1, alignment: -1, data }
}
