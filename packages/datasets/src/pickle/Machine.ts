/**
 * A safe reader of Python pickles (protocols 0 to 5, written by Python 2 or 3), with numpy arrays.
 *
 * Nothing is executed. The reader is the pickle stack machine; the only callables it understands are
 * an allow-list of globals, each rebuilt in TypeScript: numpy array, dtype and scalar reconstruction
 * (`numpy.core` and numpy 2's `numpy._core`), `_codecs.encode`, `set`, `frozenset`, `bytes`,
 * `bytearray`, `complex` and `collections.OrderedDict`. Any other global is a `PickleError` naming it.
 * Every length read from the stream is checked against the bytes left before anything is allocated,
 * and `Limits` bound the nesting depth, the stack, the memo and the total number of elements, so a
 * corrupt or hostile file gives a `PickleError`, never a crash, a hang or a huge allocation.
 *
 * Python values become `PyValue`s:
 * - `None` -> `null`, `bool` -> `boolean`, `float` -> `number`, `int` -> `number` when it is a safe
 *   integer (|x| <= 2^53 - 1), else `bigint`; `str` -> `string`;
 * - `bytes` -> `Uint8Array` (a view of the input buffer: do not modify the input while using it),
 *   `bytearray` -> a fresh `Uint8Array`;
 * - `list` -> `Array`, `tuple` -> `PyTuple` (`{ _tag: "Tuple", items }`), `dict` and `OrderedDict` ->
 *   `PyDict` (ordered entries and `get`), `set` / `frozenset` -> `PySet`, `complex` -> `PyComplex`;
 * - numpy arrays -> `NdArray` (row-major: Fortran-ordered data is reordered; float16 widens to float32,
 *   int64/uint64 become Float64Array, `<U`/`|S` become string arrays with trailing NULs stripped
 *   (`|S` decoded one char per byte), an object array whose elements are all `str` becomes a "unicode"
 *   string array); numeric arrays never share memory with the input;
 * - numpy scalars -> `number` (or `bigint`, `boolean`, `string`, `Uint8Array`, by dtype);
 * - a bare numpy dtype or allow-listed class -> `PyDType` / `PyGlobal`.
 *
 * Python 2 `str` values are decoded with `options.encoding` as Python 3's `pickle.load` does: "ASCII"
 * (the default; a non-ASCII byte is an error), "latin1" (one char per byte) or "bytes" (kept as
 * `Uint8Array`). numpy data stored as a Python 2 `str` is turned back into bytes, so Python 2 numpy
 * pickles read with "latin1" or "bytes".
 *
 * @since 0.1.0
 */
import type { DType, NdArray, NumericData, NumericNdArray } from "../NdArray"
import { FormatError, PickleError } from "../Errors"

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** A Python tuple. Lists are plain arrays; tuples are tagged so the two stay distinct. */
export interface PyTuple {
  readonly _tag: "Tuple"
  readonly items: ReadonlyArray<PyValue>
}

/** A Python complex number. */
export interface PyComplex {
  readonly _tag: "Complex"
  readonly real: number
  readonly imag: number
}

/** A reference to an allow-listed Python global (a class or function), e.g. `numpy.ndarray`. */
export interface PyGlobal {
  readonly _tag: "Global"
  readonly module: string
  readonly name: string
}

/** numpy element types as a pickle can name them (float16 arrays are widened to float32). */
export type DTypeName = DType | "float16"

/** A numpy dtype. `itemsize` in bytes; `byteOrder` "<" little endian, ">" big endian, "|" not applicable. */
export interface PyDType {
  readonly _tag: "DType"
  readonly name: DTypeName
  readonly itemsize: number
  readonly byteOrder: "<" | ">" | "|"
}

/** Any value a pickle can hold, as this reader returns it (see the module documentation). */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | Array<PyValue>
  | PyTuple
  | PyDict
  | PySet
  | PyComplex
  | PyDType
  | PyGlobal
  | NdArray

/** A Python `dict` (or `OrderedDict`): entries in insertion order, looked up with Python key equality. */
export class PyDict {
  readonly _tag = "Dict"
  /** The entries, in insertion order. */
  readonly entries: Array<readonly [PyValue, PyValue]> = []
  readonly #index = new Map<string, number>()

  /** Number of entries. */
  get size(): number {
    return this.entries.length
  }

  /** Set `key` to `value` (a new key goes last). Returns false, changing nothing, when the key is unhashable. */
  set(key: PyValue, value: PyValue): boolean {
    const k = hashKey(key)
    if (k === undefined) return false
    const i = this.#index.get(k)
    if (i === undefined) {
      this.#index.set(k, this.entries.length)
      this.entries.push([key, value])
    } else {
      this.entries[i] = [this.entries[i][0], value]
    }
    return true
  }

  /** The value for `key` (Python equality: `1`, `1.0` and `true` are the same key), or undefined. */
  get(key: PyValue): PyValue | undefined {
    const k = hashKey(key)
    const i = k === undefined ? undefined : this.#index.get(k)
    return i === undefined ? undefined : this.entries[i][1]
  }

  /** True when `key` is present. */
  has(key: PyValue): boolean {
    const k = hashKey(key)
    return k !== undefined && this.#index.has(k)
  }

  /** The keys, in order. */
  keys(): Array<PyValue> {
    return this.entries.map((e) => e[0])
  }

  /** The values, in order. */
  values(): Array<PyValue> {
    return this.entries.map((e) => e[1])
  }
}

/** A Python `set` or `frozenset`: distinct items in insertion order. */
export class PySet {
  readonly _tag = "Set"
  /** The items, in insertion order. */
  readonly items: Array<PyValue> = []
  /** True for a `frozenset`. */
  readonly frozen: boolean
  readonly #index = new Set<string>()

  constructor(frozen: boolean) {
    this.frozen = frozen
  }

  /** Number of items. */
  get size(): number {
    return this.items.length
  }

  /** Add `item` unless present. Returns false, changing nothing, when the item is unhashable. */
  add(item: PyValue): boolean {
    const k = hashKey(item)
    if (k === undefined) return false
    if (!this.#index.has(k)) {
      this.#index.add(k)
      this.items.push(item)
    }
    return true
  }

  /** True when `item` is in the set. */
  has(item: PyValue): boolean {
    const k = hashKey(item)
    return k !== undefined && this.#index.has(k)
  }
}

/** Make a tuple. */
export const tuple = (items: ReadonlyArray<PyValue>): PyTuple => ({ _tag: "Tuple", items })

const tagOf = (v: PyValue): string | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) ? v._tag : undefined

/** True when `v` is a tuple. */
export const isTuple = (v: PyValue | undefined): v is PyTuple => v !== undefined && tagOf(v) === "Tuple"

/** True when `v` is a list. */
export const isList = (v: PyValue | undefined): v is Array<PyValue> => Array.isArray(v)

/** True when `v` is a dict. */
export const isDict = (v: PyValue | undefined): v is PyDict => v instanceof PyDict

/** True when `v` is a set or frozenset. */
export const isSet = (v: PyValue | undefined): v is PySet => v instanceof PySet

/** True when `v` is a numpy dtype. */
export const isDType = (v: PyValue | undefined): v is PyDType => v !== undefined && tagOf(v) === "DType"

/** True when `v` is a global (class or function) reference. */
export const isGlobal = (v: PyValue | undefined): v is PyGlobal => v !== undefined && tagOf(v) === "Global"

/** True when `v` is a numpy array. */
export const isArray = (v: PyValue | undefined): v is NdArray => v !== undefined && tagOf(v) === "NdArray"

const keyCache = new WeakMap<object, string>()

/**
 * A string that is equal for two values exactly when Python considers them equal dict keys, or
 * undefined when the value is unhashable (lists, dicts, sets, arrays...). Integers, floats and
 * booleans compare by numeric value, as in Python.
 */
export const hashKey = (v: PyValue): string | undefined => {
  if (v === null) return "N"
  switch (typeof v) {
    case "boolean":
      return v ? "n1" : "n0"
    case "number":
      return "n" + (Number.isSafeInteger(v) || !Number.isInteger(v) ? String(v === 0 ? 0 : v) : BigInt(v).toString())
    case "bigint":
      return "n" + v.toString()
    case "string":
      return "s" + JSON.stringify(v)
  }
  const cached = keyCache.get(v)
  if (cached !== undefined) return cached
  let key: string | undefined
  if (v instanceof Uint8Array) {
    key = "b" + JSON.stringify(latin1(v))
  } else if (isTuple(v)) {
    const parts: Array<string> = []
    for (const item of v.items) {
      const k = hashKey(item)
      if (k === undefined) return undefined
      parts.push(k)
    }
    key = "t(" + parts.join(",") + ")"
  } else if (v instanceof PySet && v.frozen) {
    const parts = v.items.map((item) => hashKey(item) as string).sort()
    key = "f{" + parts.join(",") + "}"
  } else if (tagOf(v) === "Complex") {
    const c = v as PyComplex
    key = c.imag === 0 ? hashKey(c.real) : "c" + String(c.real) + "," + String(c.imag)
  }
  if (key !== undefined) keyCache.set(v, key)
  return key
}

/** A short Python-like name of a value's type, for messages. */
export const typeName = (v: PyValue | undefined): string => {
  if (v === undefined) return "nothing"
  if (v === null) return "None"
  switch (typeof v) {
    case "boolean":
      return "bool"
    case "number":
      return Number.isInteger(v) ? "int" : "float"
    case "bigint":
      return "int"
    case "string":
      return "str"
  }
  if (v instanceof Uint8Array) return "bytes"
  if (Array.isArray(v)) return "list"
  if (v instanceof PyDict) return "dict"
  if (v instanceof PySet) return v.frozen ? "frozenset" : "set"
  switch (v._tag) {
    case "Tuple":
      return "tuple"
    case "Complex":
      return "complex"
    case "DType":
      return "numpy.dtype"
    case "Global":
      return `global ${v.module}.${v.name}`
    default:
      return `numpy.ndarray(${v.dtype})`
  }
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/** How Python 2 `str` values are decoded (the `encoding` argument of Python 3's `pickle.load`). */
export type Encoding = "ASCII" | "latin1" | "bytes"

/** Resource limits. Real files stay far below the defaults; lower them to read untrusted input. */
export interface Limits {
  /** Deepest nesting of containers (default 1000). */
  readonly maxDepth: number
  /** Most values on the stack, MARKs included (default 10,000,000). */
  readonly maxStack: number
  /** Most memo entries (default 10,000,000). */
  readonly maxMemo: number
  /**
   * Most elements created in total: container items, array elements and bytes built by calls
   * (default: 4 per input byte + 1,000,000). Bounds the memory a small pickle can make the reader use.
   */
  readonly maxElements: number
}

/** Options of `parse`. */
export interface ParseOptions {
  /** How Python 2 `str` values are decoded (default "ASCII"). */
  readonly encoding?: Encoding
  /** The file name used in errors (default "<bytes>"). */
  readonly file?: string
  /** Resource limits (defaults in `Limits`). */
  readonly limits?: Partial<Limits>
}

/** The default limits for an input of `inputBytes` bytes. */
export const defaultLimits = (inputBytes: number): Limits => ({
  maxDepth: 1000,
  maxStack: 10_000_000,
  maxMemo: 10_000_000,
  maxElements: 4 * inputBytes + 1_000_000
})

// ---------------------------------------------------------------------------------------------
// parse
// ---------------------------------------------------------------------------------------------

/** Internal failure: turned into a PickleError at the current opcode by `parse`. */
class Reject {
  constructor(readonly reason: string) {}
}

const reject = (reason: string): never => {
  throw new Reject(reason)
}

/**
 * Read one pickle from `bytes` (trailing bytes after STOP are ignored, as Python does).
 * Throws `PickleError` (file, byte offset of the failing opcode, reason) and nothing else.
 */
export const parse = (bytes: Uint8Array, options: ParseOptions = {}): PyValue => {
  const file = options.file ?? "<bytes>"
  let machine: Machine | undefined
  try {
    if (!(bytes instanceof Uint8Array)) reject("input is not a Uint8Array")
    const encoding = options.encoding ?? "ASCII"
    if (encoding !== "ASCII" && encoding !== "latin1" && encoding !== "bytes") {
      reject(`unknown encoding ${JSON.stringify(encoding)} (expected "ASCII", "latin1" or "bytes")`)
    }
    const limits = withDefaults(defaultLimits(bytes.length), options.limits)
    machine = new Machine(bytes, encoding, limits)
    return machine.run()
  } catch (e) {
    if (e instanceof PickleError) throw e
    const reason = e instanceof Reject
      ? e.reason
      : `internal error: ${e instanceof Error ? e.message : String(e)}`
    throw new PickleError({ file, offset: machine?.opStart ?? 0, reason })
  }
}

const withDefaults = (defaults: Limits, given: Partial<Limits> | undefined): Limits => ({
  maxDepth: given?.maxDepth ?? defaults.maxDepth,
  maxStack: given?.maxStack ?? defaults.maxStack,
  maxMemo: given?.maxMemo ?? defaults.maxMemo,
  maxElements: given?.maxElements ?? defaults.maxElements
})

// Opcodes (pickletools names).
const MARK = 0x28, STOP = 0x2e, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, FLOAT = 0x46, INT = 0x49
const BININT = 0x4a, BININT1 = 0x4b, LONG = 0x4c, BININT2 = 0x4d, NONE = 0x4e, PERSID = 0x50
const BINPERSID = 0x51, REDUCE = 0x52, STRING = 0x53, BINSTRING = 0x54, SHORT_BINSTRING = 0x55
const UNICODE = 0x56, BINUNICODE = 0x58, APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63, DICT = 0x64
const EMPTY_DICT = 0x7d, APPENDS = 0x65, GET = 0x67, BINGET = 0x68, INST = 0x69, LONG_BINGET = 0x6a
const LIST = 0x6c, EMPTY_LIST = 0x5d, OBJ = 0x6f, PUT = 0x70, BINPUT = 0x71, LONG_BINPUT = 0x72
const SETITEM = 0x73, TUPLE = 0x74, EMPTY_TUPLE = 0x29, SETITEMS = 0x75, BINFLOAT = 0x47
const PROTO = 0x80, NEWOBJ = 0x81, EXT1 = 0x82, EXT2 = 0x83, EXT4 = 0x84, TUPLE1 = 0x85, TUPLE2 = 0x86
const TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89, LONG1 = 0x8a, LONG4 = 0x8b, BINBYTES = 0x42
const SHORT_BINBYTES = 0x43, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e
const EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93
const MEMOIZE = 0x94, FRAME = 0x95, BYTEARRAY8 = 0x96, NEXT_BUFFER = 0x97, READONLY_BUFFER = 0x98

/** Python 2 module names, as Python 3's `fix_imports` maps them. */
const MODULE_ALIASES: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg" }

/** The globals this reader understands. */
const ALLOWED_GLOBALS = new Set([
  "numpy.core.multiarray._reconstruct",
  "numpy._core.multiarray._reconstruct",
  "numpy.core.multiarray.scalar",
  "numpy._core.multiarray.scalar",
  "numpy.core.numeric._frombuffer",
  "numpy._core.numeric._frombuffer",
  "numpy.ndarray",
  "numpy.dtype",
  "_codecs.encode",
  "builtins.set",
  "builtins.frozenset",
  "builtins.bytes",
  "builtins.bytearray",
  "builtins.complex",
  "collections.OrderedDict"
])

/** Python's limit on int <-> decimal string conversion (avoids quadratic parsing of huge numbers). */
const MAX_INT_DIGITS = 4300

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const utf8Encoder = new TextEncoder()

class Machine {
  readonly data: Uint8Array
  readonly view: DataView
  pos = 0
  /** Offset of the opcode being executed (reported in errors). */
  opStart = 0
  readonly stack: Array<PyValue> = []
  readonly marks: Array<number> = []
  readonly memo = new Map<number, PyValue>()
  readonly depths = new WeakMap<object, number>()
  /** Arrays made by `_reconstruct`, which BUILD may fill. */
  readonly pending = new WeakSet<object>()
  elements = 0
  /** Long Python 2 str values decoded as latin1, with their bytes: numpy data reuses them. */
  readonly py2Bytes = new Map<string, Uint8Array>()

  constructor(bytes: Uint8Array, readonly encoding: Encoding, readonly limits: Limits) {
    // a plain Uint8Array (not a Node Buffer) so that views of it are plain Uint8Arrays too
    this.data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  run(): PyValue {
    const data = this.data
    for (;;) {
      this.opStart = this.pos
      if (this.pos >= data.length) reject(`truncated: the input ends before the STOP opcode (${data.length} bytes)`)
      const op = data[this.pos++]
      switch (op) {
        case PROTO: {
          const v = this.u8("PROTO")
          if (v > 5) reject(`unsupported pickle protocol ${v}`)
          break
        }
        case FRAME:
          this.need(this.u64("FRAME"), "FRAME")
          break
        case STOP:
          return this.pop()
        case MARK:
          if (this.marks.length >= this.limits.maxStack) reject(`more than ${this.limits.maxStack} MARKs (limit maxStack)`)
          this.marks.push(this.stack.length)
          break
        case POP:
          if (this.stack.length > this.base()) this.stack.pop()
          else if (this.marks.length > 0) this.marks.pop()
          else reject("stack underflow")
          break
        case POP_MARK:
          this.popMark()
          break
        case DUP:
          this.push(this.top())
          break
        case NONE:
          this.push(null)
          break
        case NEWTRUE:
          this.push(true)
          break
        case NEWFALSE:
          this.push(false)
          break
        case INT: {
          const s = latin1(this.line("INT"))
          this.push(s === "01" ? true : s === "00" ? false : parseInteger(s))
          break
        }
        case LONG:
          this.push(parseInteger(latin1(this.line("LONG")).replace(/L$/, "")))
          break
        case BININT1:
          this.push(this.u8("BININT1"))
          break
        case BININT2:
          this.need(2, "BININT2")
          this.push(this.view.getUint16(this.pos, true))
          this.pos += 2
          break
        case BININT:
          this.push(this.i32("BININT"))
          break
        case LONG1:
          this.push(decodeLong(this.take(this.u8("LONG1"), "LONG1")))
          break
        case LONG4: {
          const n = this.i32("LONG4")
          if (n < 0) reject("LONG4 has a negative length")
          this.push(decodeLong(this.take(n, "LONG4")))
          break
        }
        case FLOAT:
          this.push(parseFloatText(latin1(this.line("FLOAT"))))
          break
        case BINFLOAT:
          this.need(8, "BINFLOAT")
          this.push(this.view.getFloat64(this.pos, false))
          this.pos += 8
          break
        case BINUNICODE:
          this.push(decodeUtf8(this.take(this.u32("BINUNICODE"), "BINUNICODE")))
          break
        case SHORT_BINUNICODE:
          this.push(decodeUtf8(this.take(this.u8("SHORT_BINUNICODE"), "SHORT_BINUNICODE")))
          break
        case BINUNICODE8:
          this.push(decodeUtf8(this.take(this.u64("BINUNICODE8"), "BINUNICODE8")))
          break
        case UNICODE:
          this.push(decodeRawUnicodeEscape(latin1(this.line("UNICODE"))))
          break
        case BINSTRING: {
          const n = this.i32("BINSTRING")
          if (n < 0) reject("BINSTRING has a negative length")
          this.push(this.py2str(this.take(n, "BINSTRING")))
          break
        }
        case SHORT_BINSTRING:
          this.push(this.py2str(this.take(this.u8("SHORT_BINSTRING"), "SHORT_BINSTRING")))
          break
        case STRING:
          this.push(this.py2str(decodeStringRepr(this.line("STRING"))))
          break
        case BINBYTES:
          this.push(this.take(this.u32("BINBYTES"), "BINBYTES"))
          break
        case SHORT_BINBYTES:
          this.push(this.take(this.u8("SHORT_BINBYTES"), "SHORT_BINBYTES"))
          break
        case BINBYTES8:
          this.push(this.take(this.u64("BINBYTES8"), "BINBYTES8"))
          break
        case BYTEARRAY8:
          this.push(this.take(this.u64("BYTEARRAY8"), "BYTEARRAY8").slice())
          break
        case EMPTY_LIST:
          this.push([])
          break
        case EMPTY_TUPLE:
          this.push(tuple([]))
          break
        case EMPTY_DICT:
          this.push(new PyDict())
          break
        case EMPTY_SET:
          this.push(new PySet(false))
          break
        case LIST: {
          const list: Array<PyValue> = []
          this.extend(list, this.popMark())
          this.push(list)
          break
        }
        case TUPLE:
          this.push(this.makeTuple(this.popMark()))
          break
        case TUPLE1:
        case TUPLE2:
        case TUPLE3: {
          const n = op - TUPLE1 + 1
          if (this.stack.length - this.base() < n) reject("stack underflow")
          this.push(this.makeTuple(this.stack.splice(this.stack.length - n, n)))
          break
        }
        case DICT: {
          const dict = new PyDict()
          this.setItems(dict, this.popMark())
          this.push(dict)
          break
        }
        case APPEND: {
          const item = this.pop()
          this.extend(this.listOnTop("APPEND"), [item])
          break
        }
        case APPENDS: {
          const items = this.popMark()
          this.extend(this.listOnTop("APPENDS"), items)
          break
        }
        case SETITEM: {
          const value = this.pop()
          const key = this.pop()
          this.setItems(this.dictOnTop("SETITEM"), [key, value])
          break
        }
        case SETITEMS: {
          const items = this.popMark()
          this.setItems(this.dictOnTop("SETITEMS"), items)
          break
        }
        case ADDITEMS: {
          const items = this.popMark()
          const set = this.top()
          if (!(set instanceof PySet) || set.frozen) reject(`ADDITEMS on a ${typeName(set)}`)
          this.addItems(set as PySet, items)
          break
        }
        case FROZENSET: {
          const set = new PySet(true)
          this.addItems(set, this.popMark())
          this.push(set)
          break
        }
        case PUT:
          this.memoPut(parseMemoKey(latin1(this.line("PUT"))))
          break
        case BINPUT:
          this.memoPut(this.u8("BINPUT"))
          break
        case LONG_BINPUT:
          this.memoPut(this.u32("LONG_BINPUT"))
          break
        case MEMOIZE:
          this.memoPut(this.memo.size)
          break
        case GET:
          this.memoGet(parseMemoKey(latin1(this.line("GET"))))
          break
        case BINGET:
          this.memoGet(this.u8("BINGET"))
          break
        case LONG_BINGET:
          this.memoGet(this.u32("LONG_BINGET"))
          break
        case GLOBAL: {
          const module = decodeUtf8(this.line("GLOBAL"))
          const name = decodeUtf8(this.line("GLOBAL"))
          this.push(resolveGlobal(module, name))
          break
        }
        case STACK_GLOBAL: {
          const name = this.pop()
          const module = this.pop()
          if (typeof module !== "string" || typeof name !== "string") reject("STACK_GLOBAL needs two str")
          this.push(resolveGlobal(module as string, name as string))
          break
        }
        case INST: {
          const module = decodeUtf8(this.line("INST"))
          const name = decodeUtf8(this.line("INST"))
          const cls = resolveGlobal(module, name)
          this.push(this.call(cls, this.popMark()))
          break
        }
        case OBJ: {
          const items = this.popMark()
          if (items.length === 0 || !isGlobal(items[0])) reject("OBJ needs a class after the MARK")
          this.push(this.call(items[0] as PyGlobal, items.slice(1)))
          break
        }
        case REDUCE: {
          const args = this.pop()
          const f = this.pop()
          if (!isGlobal(f)) reject(`REDUCE on a ${typeName(f)}, not a callable`)
          if (!isTuple(args)) reject(`REDUCE arguments are a ${typeName(args)}, not a tuple`)
          this.push(this.call(f as PyGlobal, (args as PyTuple).items))
          break
        }
        case NEWOBJ: {
          const args = this.pop()
          const cls = this.pop()
          if (!isGlobal(cls)) reject(`NEWOBJ on a ${typeName(cls)}, not a class`)
          if (!isTuple(args)) reject(`NEWOBJ arguments are a ${typeName(args)}, not a tuple`)
          this.push(this.call(cls as PyGlobal, (args as PyTuple).items))
          break
        }
        case NEWOBJ_EX: {
          const kwargs = this.pop()
          const args = this.pop()
          const cls = this.pop()
          if (!isGlobal(cls)) reject(`NEWOBJ_EX on a ${typeName(cls)}, not a class`)
          if (!isTuple(args)) reject(`NEWOBJ_EX arguments are a ${typeName(args)}, not a tuple`)
          if (!(kwargs instanceof PyDict) || kwargs.size > 0) reject("NEWOBJ_EX with keyword arguments is not supported")
          this.push(this.call(cls as PyGlobal, (args as PyTuple).items))
          break
        }
        case BUILD: {
          const state = this.pop()
          this.build(this.top(), state)
          break
        }
        case PERSID:
        case BINPERSID:
          return reject("persistent ids are not supported")
        case EXT1:
        case EXT2:
        case EXT4:
          return reject("extension codes (copyreg registry) are not supported")
        case NEXT_BUFFER:
          return reject("out-of-band buffers (NEXT_BUFFER) are not supported")
        case READONLY_BUFFER:
          this.top()
          break
        default:
          return reject(`unknown opcode 0x${op.toString(16).padStart(2, "0")}`)
      }
    }
  }

  // --- input --------------------------------------------------------------------------------

  need(n: number, what: string): void {
    const left = this.data.length - this.pos
    if (n > left) reject(`truncated: ${what} needs ${n} bytes, ${left} left`)
  }

  u8(what: string): number {
    this.need(1, what)
    return this.data[this.pos++]
  }

  u32(what: string): number {
    this.need(4, what)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  i32(what: string): number {
    this.need(4, what)
    const v = this.view.getInt32(this.pos, true)
    this.pos += 4
    return v
  }

  /** An 8-byte length: larger than the input means truncated, never an allocation. */
  u64(what: string): number {
    this.need(8, what)
    const lo = this.view.getUint32(this.pos, true)
    const hi = this.view.getUint32(this.pos + 4, true)
    this.pos += 8
    if (hi >= 0x200000) reject(`truncated: ${what} length ${hi * 4294967296 + lo} exceeds the input`)
    return hi * 4294967296 + lo
  }

  /** The next `n` bytes as a view of the input. */
  take(n: number, what: string): Uint8Array {
    this.need(n, what)
    const v = this.data.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** The bytes up to the next newline (excluded). */
  line(what: string): Uint8Array {
    const end = this.data.indexOf(0x0a, this.pos)
    if (end < 0) reject(`truncated: ${what} has no end of line`)
    const v = this.data.subarray(this.pos, end)
    this.pos = end + 1
    return v
  }

  py2str(b: Uint8Array): PyValue {
    switch (this.encoding) {
      case "bytes":
        return b
      case "latin1": {
        const s = latin1(b)
        if (b.length >= 1024) this.py2Bytes.set(s, b)
        return s
      }
      default:
        for (let i = 0; i < b.length; i++) {
          if (b[i] >= 0x80) {
            reject(
              `a Python 2 str holds the non-ASCII byte 0x${b[i].toString(16)}: read this pickle with encoding "latin1" or "bytes"`
            )
          }
        }
        return latin1(b)
    }
  }

  // --- stack and memo -----------------------------------------------------------------------

  base(): number {
    return this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0
  }

  push(v: PyValue): void {
    if (this.stack.length >= this.limits.maxStack) reject(`more than ${this.limits.maxStack} values on the stack (limit maxStack)`)
    this.stack.push(v)
  }

  pop(): PyValue {
    if (this.stack.length <= this.base()) reject("stack underflow")
    return this.stack.pop() as PyValue
  }

  top(): PyValue {
    if (this.stack.length <= this.base()) reject("stack underflow")
    return this.stack[this.stack.length - 1]
  }

  popMark(): Array<PyValue> {
    const m = this.marks.pop()
    if (m === undefined) reject("no MARK on the stack")
    return this.stack.splice(m as number)
  }

  memoPut(key: number): void {
    const v = this.top()
    if (!this.memo.has(key) && this.memo.size >= this.limits.maxMemo) {
      reject(`more than ${this.limits.maxMemo} memo entries (limit maxMemo)`)
    }
    this.memo.set(key, v)
  }

  memoGet(key: number): void {
    if (!this.memo.has(key)) reject(`memo key ${key} not found`)
    this.push(this.memo.get(key) as PyValue)
  }

  // --- containers ---------------------------------------------------------------------------

  count(n: number): void {
    this.elements += n
    if (this.elements > this.limits.maxElements) {
      reject(`more than ${this.limits.maxElements} elements in total (limit maxElements)`)
    }
  }

  depthOf(v: PyValue): number {
    return typeof v === "object" && v !== null ? (this.depths.get(v) ?? 1) : 0
  }

  /** Record that `container` now holds `child` (one level deeper). */
  deepen(container: object, child: PyValue): void {
    if (typeof child !== "object" || child === null) return
    const d = this.depthOf(child) + 1
    if (d > (this.depths.get(container) ?? 1)) {
      if (d > this.limits.maxDepth) reject(`values nested deeper than ${this.limits.maxDepth} (limit maxDepth)`)
      this.depths.set(container, d)
    }
  }

  makeTuple(items: Array<PyValue>): PyTuple {
    this.count(items.length)
    const t = tuple(items)
    for (const item of items) this.deepen(t, item)
    return t
  }

  listOnTop(op: string): Array<PyValue> {
    const list = this.top()
    if (!Array.isArray(list)) reject(`${op} on a ${typeName(list)}, not a list`)
    return list as Array<PyValue>
  }

  dictOnTop(op: string): PyDict {
    const dict = this.top()
    if (!(dict instanceof PyDict)) reject(`${op} on a ${typeName(dict)}, not a dict`)
    return dict as PyDict
  }

  extend(list: Array<PyValue>, items: ReadonlyArray<PyValue>): void {
    this.count(items.length)
    for (const item of items) {
      list.push(item)
      this.deepen(list, item)
    }
  }

  setItems(dict: PyDict, items: ReadonlyArray<PyValue>): void {
    if (items.length % 2 !== 0) reject("odd number of items for a dict")
    this.count(items.length / 2)
    for (let i = 0; i < items.length; i += 2) {
      if (!dict.set(items[i], items[i + 1])) reject(`unhashable dict key of type ${typeName(items[i])}`)
      this.deepen(dict, items[i + 1])
    }
  }

  addItems(set: PySet, items: ReadonlyArray<PyValue>): void {
    this.count(items.length)
    for (const item of items) {
      if (!set.add(item)) reject(`unhashable set item of type ${typeName(item)}`)
      this.deepen(set, item)
    }
  }

  // --- calls --------------------------------------------------------------------------------

  call(f: PyGlobal, args: ReadonlyArray<PyValue>): PyValue {
    const name = `${f.module}.${f.name}`
    switch (name) {
      case "numpy.core.multiarray._reconstruct":
      case "numpy._core.multiarray._reconstruct":
        return this.reconstruct(args)
      case "numpy.core.numeric._frombuffer":
      case "numpy._core.numeric._frombuffer":
        return this.frombuffer(args)
      case "numpy.core.multiarray.scalar":
      case "numpy._core.multiarray.scalar":
        return this.scalar(args)
      case "numpy.dtype":
        if (args.length < 1 || args.length > 3) reject("numpy.dtype takes 1 to 3 arguments")
        return makeDType(args[0])
      case "_codecs.encode": {
        if (args.length < 1 || args.length > 2 || typeof args[0] !== "string") reject("_codecs.encode needs a str")
        const out = encodeText(args[0] as string, args.length > 1 ? args[1] : "utf-8")
        this.count(out.length)
        return out
      }
      case "builtins.bytes":
      case "builtins.bytearray": {
        const out = this.bytesOf(name, args)
        this.count(out.length)
        return out
      }
      case "builtins.set":
      case "builtins.frozenset": {
        const set = new PySet(name === "builtins.frozenset")
        if (args.length > 1) reject(`${name} takes at most 1 argument`)
        if (args.length === 1) this.addItems(set, this.iterable(args[0], name))
        return set
      }
      case "builtins.complex": {
        if (args.length > 2 || !args.every((a) => typeof a === "number" || typeof a === "boolean")) {
          reject("complex takes up to two numbers")
        }
        return { _tag: "Complex", real: Number(args[0] ?? 0), imag: Number(args[1] ?? 0) }
      }
      case "collections.OrderedDict": {
        const dict = new PyDict()
        if (args.length > 1) reject("OrderedDict takes at most 1 argument")
        if (args.length === 1) {
          const pairs: Array<PyValue> = []
          for (const pair of this.iterable(args[0], name)) {
            const kv = Array.isArray(pair) ? pair : isTuple(pair) ? pair.items : []
            if (kv.length !== 2) reject("OrderedDict items must be pairs")
            pairs.push(kv[0], kv[1])
          }
          this.setItems(dict, pairs)
        }
        return dict
      }
      default:
        return reject(`calling ${name} is not supported`)
    }
  }

  iterable(v: PyValue, what: string): ReadonlyArray<PyValue> {
    if (Array.isArray(v)) return v
    if (isTuple(v)) return v.items
    if (v instanceof PySet) return v.items
    return reject(`${what} of a ${typeName(v)} is not supported`)
  }

  bytesOf(name: string, args: ReadonlyArray<PyValue>): Uint8Array {
    if (args.length === 0) return new Uint8Array(0)
    const [src, encoding] = args
    if (args.length === 1 && src instanceof Uint8Array) return src.slice()
    if (args.length === 1 && Array.isArray(src)) {
      const out = new Uint8Array(src.length)
      src.forEach((b, i) => {
        if (typeof b !== "number" || !Number.isInteger(b) || b < 0 || b > 255) reject(`${name} items must be ints in 0..255`)
        out[i] = b as number
      })
      return out
    }
    if (args.length === 2 && typeof src === "string") return encodeText(src, encoding)
    return reject(`${name}(${args.map(typeName).join(", ")}) is not supported`)
  }

  build(target: PyValue, state: PyValue): void {
    if (isArray(target) && this.pending.has(target)) {
      this.setArrayState(target, state)
    } else if (isDType(target)) {
      setDTypeState(target as MutableDType, state)
    } else if (target instanceof PyDict && (state === null || (state instanceof PyDict && state.size === 0))) {
      // an OrderedDict without instance attributes
    } else {
      reject(`BUILD on a ${typeName(target)} is not supported`)
    }
  }

  // --- numpy --------------------------------------------------------------------------------

  /** `_reconstruct(ndarray, shape, typecode)`: an empty array that BUILD fills. */
  reconstruct(args: ReadonlyArray<PyValue>): NdArray {
    const cls = args[0]
    if (args.length !== 3 || !isGlobal(cls) || cls.module !== "numpy" || cls.name !== "ndarray") {
      reject(`_reconstruct is only supported for numpy.ndarray, got ${typeName(cls)}`)
    }
    const arr: MutableArray = { _tag: "NdArray", dtype: "int8", shape: [0], data: new Int8Array(0) }
    this.pending.add(arr)
    return arr as NdArray
  }

  /** `ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata))`. */
  setArrayState(arr: NdArray, state: PyValue): void {
    if (!isTuple(state) || (state.items.length !== 4 && state.items.length !== 5)) {
      reject(`ndarray state must be a tuple of 4 or 5 items, got ${typeName(state)}`)
    }
    const items = (state as PyTuple).items
    const [shapeV, dtypeV, fortranV, raw] = items.length === 5 ? items.slice(1) : items
    const shape = toShape(shapeV)
    if (!isDType(dtypeV)) reject(`ndarray state holds a ${typeName(dtypeV)} where a dtype is expected`)
    if (typeof fortranV !== "boolean" && typeof fortranV !== "number") reject("ndarray state: is_fortran must be a bool")
    const decoded = this.decodeArray(dtypeV as PyDType, shape, Boolean(fortranV), raw, true)
    Object.assign(arr, decoded)
    if (decoded.dtype === "object") for (const item of decoded.data as Array<PyValue>) this.deepen(arr, item)
  }

  /** `_frombuffer(buffer, dtype, shape, order)` (numpy pickles of protocol 5). */
  frombuffer(args: ReadonlyArray<PyValue>): NdArray {
    const [buf, dtype, shapeV, order] = args
    if (args.length !== 4 || !isDType(dtype)) reject("_frombuffer needs (buffer, dtype, shape, order)")
    if (order !== "C" && order !== "F") reject(`_frombuffer order must be "C" or "F", got ${typeName(order)}`)
    return this.decodeArray(dtype as PyDType, toShape(shapeV), order === "F", buf, false) as NdArray
  }

  /** `scalar(dtype, bytes)`: a numpy scalar as a plain value. */
  scalar(args: ReadonlyArray<PyValue>): PyValue {
    const [dtypeV, raw] = args
    if (args.length < 1 || args.length > 2 || !isDType(dtypeV)) reject("numpy scalar needs (dtype, data)")
    const dt = dtypeV as PyDType
    if (dt.name === "object") return raw ?? null
    const bytes = this.rawBytes(raw)
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
        const a = this.decodeArray(dt, [], false, bytes, false)
        return a.data[0] as number | string
      }
    }
  }

  /** numpy raw data: bytes, or a Python 2 str decoded as latin1/ASCII (turned back into bytes). */
  rawBytes(raw: PyValue | undefined): Uint8Array {
    if (raw instanceof Uint8Array) return raw
    if (typeof raw === "string") {
      const known = this.py2Bytes.get(raw)
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
  decodeArray(
    dt: PyDType,
    shape: Array<number>,
    fortran: boolean,
    raw: PyValue | undefined,
    allowList: boolean
  ): MutableArray {
    const n = sizeOf(shape)
    if (dt.name === "object") {
      if (!allowList || !Array.isArray(raw)) reject(`an object array needs a list of elements, got ${typeName(raw)}`)
      const list = raw as Array<PyValue>
      if (list.length !== n) reject(`object array of shape (${shape.join(", ")}) needs ${n} elements, got ${list.length}`)
      this.count(n)
      const data = list.slice()
      const allStrings = n > 0 && data.every((x) => typeof x === "string")
      return { _tag: "NdArray", dtype: allStrings ? "unicode" : "object", shape, data }
    }
    const bytes = this.rawBytes(raw)
    const nbytes = n * dt.itemsize
    if (nbytes !== bytes.length) {
      reject(`array of shape (${shape.join(", ")}) and dtype ${dt.name} needs ${nbytes} bytes of data, got ${bytes.length}`)
    }
    this.count(n)
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
}

type MutableArray = { -readonly [K in keyof NdArray]: NdArray[K] }
type MutableDType = { -readonly [K in keyof PyDType]: PyDType[K] }
type NumericCtor = new (n: number) => NumericData

const resolveGlobal = (module: string, name: string): PyGlobal => {
  const m = MODULE_ALIASES[module] ?? module
  if (!ALLOWED_GLOBALS.has(`${m}.${name}`)) reject(`forbidden global ${module}.${name}`)
  return { _tag: "Global", module: m, name }
}

// ---------------------------------------------------------------------------------------------
// Scalars and text
// ---------------------------------------------------------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

const normalizeInt = (v: bigint): number | bigint =>
  v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v

/** A little-endian two's complement integer (LONG1 / LONG4). */
const decodeLong = (b: Uint8Array): number | bigint => {
  const n = b.length
  if (n === 0) return 0
  const negative = (b[n - 1] & 0x80) !== 0
  if (n <= 6) {
    let v = 0
    for (let i = n - 1; i >= 0; i--) v = v * 256 + b[i]
    return negative ? v - 2 ** (8 * n) : v
  }
  const hex: Array<string> = []
  for (let i = n - 1; i >= 0; i--) hex.push(HEX[b[i]])
  let v = BigInt("0x" + hex.join(""))
  if (negative) v -= 1n << BigInt(8 * n)
  return normalizeInt(v)
}

const parseInteger = (text: string): number | bigint => {
  const s = text.trim()
  if (!/^[+-]?\d+$/.test(s)) reject(`invalid integer ${JSON.stringify(s.slice(0, 40))}`)
  if (s.length > MAX_INT_DIGITS + 1) reject(`integer with more than ${MAX_INT_DIGITS} digits`)
  if (s.length <= 15) return Number(s)
  return normalizeInt(BigInt(s.replace(/^\+/, "")))
}

const parseMemoKey = (text: string): number => {
  const v = parseInteger(text)
  if (typeof v !== "number" || v < 0) reject(`invalid memo key ${text}`)
  return v as number
}

const parseFloatText = (text: string): number => {
  const s = text.trim().toLowerCase()
  if (/^[+-]?(inf|infinity)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity
  if (/^[+-]?nan$/.test(s)) return NaN
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) reject(`invalid float ${JSON.stringify(s.slice(0, 40))}`)
  return Number(s)
}

const utf16Decoder = new TextDecoder("utf-16le")

/** Bytes as a string of the same char codes (latin-1). Long inputs go through a UTF-16 decoder (fast). */
const latin1 = (b: Uint8Array): string =>
  b.length <= 1024
    ? String.fromCharCode.apply(null, b as unknown as Array<number>)
    : utf16Decoder.decode(new Uint16Array(b))

/** UTF-8 as Python decodes pickled str ("surrogatepass": encoded lone surrogates are accepted). */
const decodeUtf8 = (b: Uint8Array): string => {
  try {
    return utf8Decoder.decode(b)
  } catch {
    return decodeUtf8SurrogatePass(b)
  }
}

const decodeUtf8SurrogatePass = (b: Uint8Array): string => {
  const units: Array<number> = []
  let i = 0
  const cont = (k: number): number => {
    const c = b[i + k]
    if (c === undefined || (c & 0xc0) !== 0x80) reject("invalid UTF-8 in a str")
    return c & 0x3f
  }
  while (i < b.length) {
    const c = b[i]
    let cp: number
    if (c < 0x80) {
      cp = c
      i += 1
    } else if (c >= 0xc2 && c < 0xe0) {
      cp = ((c & 0x1f) << 6) | cont(1)
      i += 2
    } else if (c >= 0xe0 && c < 0xf0) {
      cp = ((c & 0x0f) << 12) | (cont(1) << 6) | cont(2)
      if (cp < 0x800) reject("invalid UTF-8 in a str")
      i += 3
    } else if (c >= 0xf0 && c < 0xf5) {
      cp = ((c & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3)
      if (cp < 0x10000 || cp > 0x10ffff) reject("invalid UTF-8 in a str")
      i += 4
    } else {
      return reject("invalid UTF-8 in a str")
    }
    if (cp >= 0x10000) units.push(0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff))
    else units.push(cp)
  }
  return fromCodeUnits(units)
}

const fromCodeUnits = (units: ReadonlyArray<number>): string => {
  const parts: Array<string> = []
  for (let i = 0; i < units.length; i += 8192) parts.push(String.fromCharCode(...units.slice(i, i + 8192)))
  return parts.join("")
}

/** Python's `raw-unicode-escape` (the UNICODE opcode of protocol 0). */
const decodeRawUnicodeEscape = (s: string): string => {
  if (!s.includes("\\")) return s
  return s.replace(/(\\+)(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})?/g, (m, slashes: string, esc: string | undefined) => {
    if (esc === undefined || slashes.length % 2 === 0) return m
    const cp = parseInt(esc.slice(1), 16)
    if (cp > 0x10ffff) reject("\\U escape beyond U+10FFFF")
    return slashes.slice(1) + String.fromCodePoint(cp)
  })
}

const SIMPLE_ESCAPES: Record<string, number> = {
  "\\": 0x5c, "'": 0x27, "\"": 0x22, a: 0x07, b: 0x08, f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b
}

/** The STRING opcode's quoted repr, decoded as Python's `escape_decode` does. */
const decodeStringRepr = (line: Uint8Array): Uint8Array => {
  const q = line[0]
  if (line.length < 2 || (q !== 0x27 && q !== 0x22) || line[line.length - 1] !== q) {
    reject("the STRING opcode argument must be quoted")
  }
  const s = latin1(line.subarray(1, line.length - 1))
  const out: Array<number> = []
  for (let i = 0; i < s.length; i++) {
    const c = s[i]
    if (c !== "\\") {
      out.push(s.charCodeAt(i))
      continue
    }
    const e = s[++i]
    if (e === undefined) reject("STRING ends with a backslash")
    if (e in SIMPLE_ESCAPES) {
      out.push(SIMPLE_ESCAPES[e])
    } else if (e === "x") {
      const h = s.slice(i + 1, i + 3)
      if (!/^[0-9a-fA-F]{2}$/.test(h)) reject("invalid \\x escape in STRING")
      out.push(parseInt(h, 16))
      i += 2
    } else if (e >= "0" && e <= "7") {
      const m = /^[0-7]{1,3}/.exec(s.slice(i, i + 3)) as RegExpExecArray
      out.push(parseInt(m[0], 8) & 0xff)
      i += m[0].length - 1
    } else {
      out.push(0x5c, s.charCodeAt(i))
    }
  }
  return Uint8Array.from(out)
}

/** `str.encode(encoding)` for the encodings pickles use. */
const encodeText = (s: string, encodingV: PyValue | undefined): Uint8Array => {
  const encoding = typeof encodingV === "string" ? encodingV.toLowerCase().replace(/_/g, "-") : ""
  switch (encoding) {
    case "latin1":
    case "latin-1":
    case "iso-8859-1":
    case "iso8859-1":
    case "ascii": {
      const max = encoding === "ascii" ? 0x7f : 0xff
      const out = new Uint8Array(s.length)
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i)
        if (c > max) reject(`cannot encode U+${c.toString(16).padStart(4, "0")} as ${encoding}`)
        out[i] = c
      }
      return out
    }
    case "utf-8":
    case "utf8":
      return utf8Encoder.encode(s)
    default:
      return reject(`unsupported encoding ${typeof encodingV === "string" ? encodingV : typeName(encodingV)}`)
  }
}

// ---------------------------------------------------------------------------------------------
// numpy dtypes and data
// ---------------------------------------------------------------------------------------------

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
const makeDType = (spec: PyValue): PyDType => {
  const s = spec instanceof Uint8Array ? latin1(spec) : spec
  if (typeof s !== "string") return reject(`numpy.dtype of a ${typeName(spec)} is not supported`)
  const m = /^([<>|=]?)([a-zA-Z?])(\d*)$/.exec(s)
  if (m === null) return reject(`unsupported numpy dtype ${JSON.stringify(s.slice(0, 40))}`)
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
  if (name === undefined) return reject(`unsupported numpy dtype ${JSON.stringify(s)}`)
  if (itemsize === 0 && name !== "unicode" && name !== "bytes") itemsize = ITEMSIZE[name]
  const byteOrder = itemsize <= 1 || name === "object" || name === "bytes" ? "|" : order === ">" ? ">" : "<"
  const dt: MutableDType = { _tag: "DType", name, itemsize, byteOrder }
  return dt
}

/** `dtype.__setstate__((3 or 4, endian, subdescr, names, fields, elsize, alignment, flags[, metadata]))`. */
const setDTypeState = (dt: MutableDType, state: PyValue): void => {
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

// ---------------------------------------------------------------------------------------------
// Accessors for layout readers (errors are FormatError naming the file and the key)
// ---------------------------------------------------------------------------------------------

/** Where a value sits: the file, the format being read, and a dotted path such as "train.audio" ("" for the root). */
export interface Location {
  readonly file: string
  readonly format: string
  readonly path: string
}

/** A FormatError at `at`: "<path>: <problem>" (just the problem at the root, path ""). */
export const formatError = (at: Location, problem: string): FormatError =>
  new FormatError({ file: at.file, format: at.format, reason: at.path === "" ? problem : `${at.path}: ${problem}` })

/** The value as a dict, or a FormatError. */
export const asDict = (value: PyValue | undefined, at: Location): PyDict => {
  if (value instanceof PyDict) return value
  throw formatError(at, `expected a dict, got ${typeName(value)}`)
}

/** `dict[key]`, or a FormatError naming the key when missing. */
export const getField = (dict: PyDict, key: string, at: Location): PyValue => {
  const v = dict.get(key)
  if (v === undefined) throw formatError(at, `missing key ${JSON.stringify(key)}`)
  return v
}

/** The value as a list (a tuple is accepted too), or a FormatError. */
export const asList = (value: PyValue | undefined, at: Location): ReadonlyArray<PyValue> => {
  if (Array.isArray(value)) return value
  if (isTuple(value)) return value.items
  throw formatError(at, `expected a list, got ${typeName(value)}`)
}

/** The value as a numeric array with `ndim` dimensions (any when omitted), or a FormatError. */
export const asNumericArray = (value: PyValue | undefined, at: Location, ndim?: number): NumericNdArray => {
  if (!isArray(value) || value.dtype === "unicode" || value.dtype === "bytes" || value.dtype === "object") {
    throw formatError(at, `expected a numeric numpy array, got ${typeName(value)}`)
  }
  if (ndim !== undefined && value.shape.length !== ndim) {
    throw formatError(at, `expected ${ndim} dimensions, got shape (${value.shape.join(", ")})`)
  }
  return value as NumericNdArray
}

/** A list of str, or a 1-d numpy string array, as strings; a FormatError otherwise. */
export const asStrings = (value: PyValue | undefined, at: Location): ReadonlyArray<string> => {
  if (isArray(value) && (value.dtype === "unicode" || value.dtype === "bytes") && value.shape.length === 1) {
    return value.data
  }
  const list = asList(value, at)
  return list.map((s, i) => {
    if (s instanceof Uint8Array) return latin1(s)
    if (typeof s !== "string") throw formatError({ ...at, path: `${at.path}[${i}]` }, `expected a str, got ${typeName(s)}`)
    return s
  })
}

/** A list of ints, or a 1-d numeric numpy array of integers, as numbers; a FormatError otherwise. */
export const asInts = (value: PyValue | undefined, at: Location): ReadonlyArray<number> => {
  const items: ArrayLike<unknown> = isArray(value) && value.shape.length === 1 && value.dtype !== "object"
    ? value.data
    : asList(value, at)
  const out = new Array<number>(items.length)
  for (let i = 0; i < items.length; i++) {
    const v = items[i]
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw formatError({ ...at, path: `${at.path}[${i}]` }, `expected an int, got ${typeName(v as PyValue)}`)
    }
    out[i] = v
  }
  return out
}
