/**
 * A safe reader of Python pickles (protocols 0 to 5, written by Python 2 or 3), with numpy arrays.
 *
 * Nothing is executed. The reader is the pickle stack machine; the only callables it understands are
 * an allow-list of globals, each rebuilt in TypeScript: numpy array, dtype and scalar reconstruction
 * (`numpy.core` and numpy 2's `numpy._core`), `_codecs.encode`, `set`, `frozenset`, `bytes`,
 * `bytearray`, `complex` and `collections.OrderedDict`. Any other global is a `PickleError` naming it.
 * Every length read from the stream is checked against the bytes left before anything is allocated,
 * and `Limits` bound the nesting depth, the stack, the memo, the total number of elements and the
 * number of Python objects built (by default 250,000, or one per 16 input bytes when that is more:
 * see `defaultMaxObjects`), so a corrupt or hostile file gives a `PickleError`, never a crash, a hang
 * or a huge allocation.
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
 * The reader is in `src/pickle/`, one concern per module: `Values` (the Python values model),
 * `Parse` (`parse` and its options), `Machine` (opcodes, stack, memo), `Globals` (the allow-listed
 * callables), `Numpy` (dtypes, arrays, scalars), `Text` (decoding of text and bytes) and `Layout`
 * (accessors for the MMSA, MulT and mosi-real layout readers). This module re-exports their public API.
 *
 * @since 0.1.0
 */

export {
  type DTypeName,
  hashKey,
  isArray,
  isDict,
  isDType,
  isGlobal,
  isList,
  isSet,
  isTuple,
  type PyComplex,
  PyDict,
  type PyDType,
  type PyGlobal,
  PySet,
  type PyTuple,
  type PyValue,
  tuple,
  typeName
} from "./pickle/Values"

export { defaultLimits, defaultMaxObjects, type Encoding, type Limits, parse, type ParseOptions } from "./pickle/Parse"

export {
  asDict,
  asInts,
  asList,
  asNumericArray,
  asStrings,
  formatError,
  getField,
  type Location
} from "./pickle/Layout"
