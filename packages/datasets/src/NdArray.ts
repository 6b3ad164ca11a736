/**
 * N-dimensional arrays as plain typed arrays with a shape (row-major, C order).
 * This is what the pickle reader produces for numpy arrays and what `.csd` datasets decode to.
 *
 * @since 0.1.0
 */

/** The numpy dtypes the readers understand. */
export type DType = "float32" | "float64" | "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64" | "bool" | "unicode" | "bytes" | "object"

/** Numeric storage: 64-bit integers are stored as Float64Array (exact up to 2^53). */
export type NumericData = Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array

/** A numeric n-d array: `data.length === product(shape)`. */
export interface NumericNdArray {
  readonly _tag: "NdArray"
  readonly dtype: Exclude<DType, "unicode" | "bytes" | "object">
  readonly shape: ReadonlyArray<number>
  readonly data: NumericData
}

/** A string n-d array (numpy `<U` / `|S` dtypes, or an object array of strings). */
export interface StringNdArray {
  readonly _tag: "NdArray"
  readonly dtype: "unicode" | "bytes"
  readonly shape: ReadonlyArray<number>
  readonly data: ReadonlyArray<string>
}

/** A numpy object array (elements are arbitrary Python values). */
export interface ObjectNdArray {
  readonly _tag: "NdArray"
  readonly dtype: "object"
  readonly shape: ReadonlyArray<number>
  readonly data: ReadonlyArray<unknown>
}

/** Any n-d array. */
export type NdArray = NumericNdArray | StringNdArray | ObjectNdArray

/** Number of elements of a shape. */
export const size = (shape: ReadonlyArray<number>): number => shape.reduce((a, b) => a * b, 1)

/** True when `u` is an NdArray value. */
export const isNdArray = (u: unknown): u is NdArray =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "NdArray"

/** True when `u` is a numeric NdArray. */
export const isNumeric = (u: unknown): u is NumericNdArray =>
  isNdArray(u) && u.dtype !== "unicode" && u.dtype !== "bytes" && u.dtype !== "object"

/** Build a numeric NdArray, checking that the data length matches the shape. */
export const make = (dtype: NumericNdArray["dtype"], shape: ReadonlyArray<number>, data: NumericData): NumericNdArray => {
  if (data.length !== size(shape)) {
    throw new RangeError(`NdArray: data has ${data.length} elements, shape [${shape.join(", ")}] needs ${size(shape)}`)
  }
  return { _tag: "NdArray", dtype, shape: [...shape], data }
}

/** Copy any numeric NdArray into a Float32Array (the model's input precision). */
export const toFloat32 = (a: NumericNdArray): Float32Array =>
  a.data instanceof Float32Array ? a.data : Float32Array.from(a.data as ArrayLike<number>)

/**
 * Copy a numeric NdArray into a fresh Float32Array, replacing NaN and +-Infinity by 0 (float64 values
 * beyond the float32 range become infinite on the way and are replaced too). Returns the copy and how
 * many values were replaced; the input is not modified.
 */
export const finiteFloat32 = (a: NumericNdArray): { readonly data: Float32Array; readonly replaced: number } => {
  const data = new Float32Array(a.data)
  let replaced = 0
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      data[i] = 0
      replaced++
    }
  }
  return { data, replaced }
}
