/**
 * The only callables a pickle may use: an allow-list of globals, each rebuilt in TypeScript. numpy
 * array, dtype and scalar reconstruction (`numpy.core` and numpy 2's `numpy._core`), `_codecs.encode`,
 * `set`, `frozenset`, `bytes`, `bytearray`, `complex` and `collections.OrderedDict`. Any other
 * global is rejected by name when the pickle names it, before anything is called.
 *
 * @since 0.2.0
 */
import type { Host as NumpyHost, MutableDType } from "./Numpy"
import { frombuffer, makeDType, reconstruct, scalar, setArrayState, setDTypeState } from "./Numpy"
import { reject } from "./Reject"
import { encodeText } from "./Text"
import type { PyGlobal, PyValue } from "./Values"
import { isArray, isDType, isTuple, PyDict, PySet, typeName } from "./Values"

/** What calls need from the running machine: numpy's needs, and filling dicts and sets within the limits. */
export interface Host extends NumpyHost {
  /** Set `items` (key, value, key, value, ...) into `dict`. */
  setItems(dict: PyDict, items: ReadonlyArray<PyValue>): void
  /** Add `items` to `set`. */
  addItems(set: PySet, items: ReadonlyArray<PyValue>): void
}

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

/** The allow-listed global `module.name` (Python 2 module names mapped), or a `reject` naming it. */
export const resolveGlobal = (module: string, name: string): PyGlobal => {
  const m = MODULE_ALIASES[module] ?? module
  if (!ALLOWED_GLOBALS.has(`${m}.${name}`)) reject(`forbidden global ${module}.${name}`)
  return { _tag: "Global", module: m, name }
}

/** `str.encode(encoding)`: the encoding must be a str. */
const encodeWith = (s: string, encoding: PyValue | undefined): Uint8Array =>
  typeof encoding === "string" ? encodeText(s, encoding) : reject(`unsupported encoding ${typeName(encoding)}`)

/** Call the allow-listed global `f` with `args` (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST). */
export const call = (host: Host, f: PyGlobal, args: ReadonlyArray<PyValue>): PyValue => {
  const name = `${f.module}.${f.name}`
  switch (name) {
    case "numpy.core.multiarray._reconstruct":
    case "numpy._core.multiarray._reconstruct":
      return reconstruct(host, args)
    case "numpy.core.numeric._frombuffer":
    case "numpy._core.numeric._frombuffer":
      return frombuffer(host, args)
    case "numpy.core.multiarray.scalar":
    case "numpy._core.multiarray.scalar":
      return scalar(host, args)
    case "numpy.dtype":
      if (args.length < 1 || args.length > 3) reject("numpy.dtype takes 1 to 3 arguments")
      return makeDType(args[0])
    case "_codecs.encode": {
      if (args.length < 1 || args.length > 2 || typeof args[0] !== "string") reject("_codecs.encode needs a str")
      const out = encodeWith(args[0] as string, args.length > 1 ? args[1] : "utf-8")
      host.count(out.length)
      return out
    }
    case "builtins.bytes":
    case "builtins.bytearray": {
      const out = bytesOf(name, args)
      host.count(out.length)
      return out
    }
    case "builtins.set":
    case "builtins.frozenset": {
      const set = new PySet(name === "builtins.frozenset")
      if (args.length > 1) reject(`${name} takes at most 1 argument`)
      if (args.length === 1) host.addItems(set, iterable(args[0], name))
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
        for (const pair of iterable(args[0], name)) {
          const kv = Array.isArray(pair) ? pair : isTuple(pair) ? pair.items : []
          if (kv.length !== 2) reject("OrderedDict items must be pairs")
          pairs.push(kv[0], kv[1])
        }
        host.setItems(dict, pairs)
      }
      return dict
    }
    default:
      return reject(`calling ${name} is not supported`)
  }
}

/** The items of a list, tuple or set given to `set`, `frozenset` or `OrderedDict`. */
const iterable = (v: PyValue, what: string): ReadonlyArray<PyValue> => {
  if (Array.isArray(v)) return v
  if (isTuple(v)) return v.items
  if (v instanceof PySet) return v.items
  return reject(`${what} of a ${typeName(v)} is not supported`)
}

/** `bytes(...)` / `bytearray(...)`: empty, a copy of bytes, a list of ints in 0..255, or `(str, encoding)`. */
const bytesOf = (name: string, args: ReadonlyArray<PyValue>): Uint8Array => {
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
  if (args.length === 2 && typeof src === "string") return encodeWith(src, encoding)
  return reject(`${name}(${args.map(typeName).join(", ")}) is not supported`)
}

/** BUILD: set the state of `target` (a numpy array made by `_reconstruct`, a dtype, an OrderedDict). */
export const build = (host: Host, target: PyValue, state: PyValue): void => {
  if (isArray(target) && host.pending.has(target)) {
    setArrayState(host, target, state)
  } else if (isDType(target)) {
    setDTypeState(target as MutableDType, state)
  } else if (target instanceof PyDict && (state === null || (state instanceof PyDict && state.size === 0))) {
    // an OrderedDict without instance attributes
  } else {
    reject(`BUILD on a ${typeName(target)} is not supported`)
  }
}
