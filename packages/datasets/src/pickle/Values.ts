/**
 * The Python values model: what a pickle holds, as the reader returns it.
 *
 * - `None` -> `null`, `bool` -> `boolean`, `float` -> `number`, `int` -> `number` when it is a safe
 *   integer (|x| <= 2^53 - 1), else `bigint`; `str` -> `string`;
 * - `bytes` -> `Uint8Array`, `bytearray` -> a fresh `Uint8Array`;
 * - `list` -> `Array`, `tuple` -> `PyTuple` (`{ _tag: "Tuple", items }`), `dict` and `OrderedDict` ->
 *   `PyDict` (ordered entries and `get`), `set` / `frozenset` -> `PySet`, `complex` -> `PyComplex`;
 * - numpy arrays -> `NdArray`, a bare numpy dtype or allow-listed class -> `PyDType` / `PyGlobal`.
 *
 * Dict keys and set items compare with Python's equality (`hashKey`): `1`, `1.0` and `True` are the
 * same key.
 *
 * @since 0.2.0
 */
import type { DType, NdArray } from "../NdArray"
import { latin1 } from "./Text"

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
