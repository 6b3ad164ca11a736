/**
 * Accessors for the readers of pickled dataset layouts (MMSA, MulT, mosi-real): a value of the
 * expected Python type, or a `FormatError` naming the file, the format and the dotted path of the
 * value ("train.audio", "valid.id[3]").
 *
 * @since 0.2.0
 */
import { FormatError } from "../Errors"
import type { NumericNdArray } from "../NdArray"
import { latin1 } from "./Text"
import type { PyValue } from "./Values"
import { isArray, isTuple, PyDict, typeName } from "./Values"

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
