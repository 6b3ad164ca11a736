import * as fs from "node:fs"
import * as path from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { PickleError } from "../src/Errors"
import type { NdArray } from "../src/NdArray"
import type { PyValue } from "../src/Pickle"
import * as Pickle from "../src/Pickle"
import { fixture, MOSI_REAL } from "./support/Paths"
import { writePickle, type WriterOptions } from "./support/PickleWriter"
import { HEX, pickleBytes } from "./support/PythonPickles"

const REAL_FILES: ReadonlyArray<{ readonly name: string; readonly bytes: Uint8Array; readonly encoding: Pickle.Encoding }> = [
  ...["mmsa_aligned.pkl", "mult_mosi.pkl", "mult_iemocap.pkl"].map((f) => ({
    name: f,
    bytes: new Uint8Array(fs.readFileSync(fixture(f))),
    encoding: "ASCII" as const
  })),
  {
    name: "audio_openSMILE.pickle",
    bytes: new Uint8Array(fs.readFileSync(path.join(MOSI_REAL, "audio_openSMILE.pickle"))),
    encoding: "latin1"
  },
  ...(Object.keys(HEX) as Array<keyof typeof HEX>).map((k) => ({
    name: k,
    bytes: pickleBytes(k),
    encoding: "latin1" as const
  }))
]

/** Small limits: a corrupt input can make the reader do little work. */
const SMALL_LIMITS: Partial<Pickle.Limits> = { maxDepth: 64, maxStack: 100_000, maxMemo: 100_000, maxElements: 2_000_000 }

/** Run `f`; return what it threw, or undefined. */
const thrown = (f: () => unknown): unknown => {
  try {
    f()
    return undefined
  } catch (e) {
    return e
  }
}

// --- generated values ------------------------------------------------------------------------

const bigInts = fc.oneof(
  fc.bigInt({ min: 2n ** 53n, max: 2n ** 300n }),
  fc.bigInt({ min: -(2n ** 300n), max: -(2n ** 53n) })
)

const leaf: fc.Arbitrary<PyValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  bigInts,
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc.string({ unit: "grapheme-ascii", minLength: 250, maxLength: 300 }),
  fc.uint8Array({ maxLength: 12 }),
  fc.uint8Array({ minLength: 250, maxLength: 300 }),
  fc.record({ real: fc.double(), imag: fc.double() }).map((c): PyValue => ({ _tag: "Complex", ...c }))
)

const hashable: fc.Arbitrary<PyValue> = fc.oneof(
  fc.integer(),
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
  fc.tuple(fc.integer(), fc.string({ maxLength: 4 })).map(([a, b]) => Pickle.tuple([a, b]))
)

type NumericDType = Exclude<NdArray["dtype"], "unicode" | "bytes" | "object">

const ELEMENTS: Record<NumericDType, { arb: fc.Arbitrary<number>; make: (xs: Array<number>) => NdArray["data"] }> = {
  float32: { arb: fc.float(), make: (xs) => Float32Array.from(xs) },
  float64: { arb: fc.double(), make: (xs) => Float64Array.from(xs) },
  int8: { arb: fc.integer({ min: -128, max: 127 }), make: (xs) => Int8Array.from(xs) },
  int16: { arb: fc.integer({ min: -32768, max: 32767 }), make: (xs) => Int16Array.from(xs) },
  int32: { arb: fc.integer(), make: (xs) => Int32Array.from(xs) },
  int64: { arb: fc.maxSafeInteger(), make: (xs) => Float64Array.from(xs) },
  uint8: { arb: fc.integer({ min: 0, max: 255 }), make: (xs) => Uint8Array.from(xs) },
  uint16: { arb: fc.integer({ min: 0, max: 65535 }), make: (xs) => Uint16Array.from(xs) },
  uint32: { arb: fc.integer({ min: 0, max: 2 ** 32 - 1 }), make: (xs) => Uint32Array.from(xs) },
  uint64: { arb: fc.maxSafeNat(), make: (xs) => Float64Array.from(xs) },
  bool: { arb: fc.constantFrom(0, 1), make: (xs) => Uint8Array.from(xs) }
}

const shapes = fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 })
const sizeOf = (shape: ReadonlyArray<number>) => shape.reduce((a, b) => a * b, 1)

const numericArrays: fc.Arbitrary<PyValue> = fc
  .tuple(fc.constantFrom(...(Object.keys(ELEMENTS) as Array<NumericDType>)), shapes)
  .chain(([dtype, shape]) =>
    fc.array(ELEMENTS[dtype].arb, { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
      .map((xs): PyValue => ({ _tag: "NdArray", dtype, shape, data: ELEMENTS[dtype].make(xs) }) as NdArray)
  )

const unicodeArrays: fc.Arbitrary<PyValue> = shapes.chain((shape) =>
  fc.array(fc.string({ unit: "grapheme", maxLength: 4 }).filter((s) => !s.endsWith("\u0000")), {
    minLength: sizeOf(shape),
    maxLength: sizeOf(shape)
  }).map((data): PyValue => ({ _tag: "NdArray", dtype: "unicode", shape, data }))
)

const makeDict = (entries: ReadonlyArray<readonly [PyValue, PyValue]>): PyValue => {
  const d = new Pickle.PyDict()
  for (const [k, v] of entries) d.set(k, v)
  return d
}

const makeSet = (frozen: boolean, items: ReadonlyArray<PyValue>): PyValue => {
  const s = new Pickle.PySet(frozen)
  for (const item of items) s.add(item)
  return s
}

const values = fc.letrec<Record<"value" | "list" | "tuple" | "dict" | "set" | "shared", PyValue>>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    tie("list"),
    tie("tuple"),
    tie("dict"),
    tie("set"),
    numericArrays,
    unicodeArrays,
    tie("shared")
  ),
  list: fc.array(tie("value"), { maxLength: 4 }),
  tuple: fc.array(tie("value"), { maxLength: 5 }).map((items) => Pickle.tuple(items)),
  dict: fc
    .uniqueArray(fc.tuple(hashable, tie("value")), { selector: ([k]) => Pickle.hashKey(k), maxLength: 4 })
    .map(makeDict),
  set: fc
    .tuple(fc.boolean(), fc.uniqueArray(hashable, { selector: (k) => Pickle.hashKey(k), maxLength: 4 }))
    .map(([frozen, items]) => makeSet(frozen, items)),
  // the same object twice: the writer memoizes it and writes a GET the second time
  shared: fc.oneof(tie("list"), tie("dict"), numericArrays).map((x) => Pickle.tuple([x, x]))
})).value

const writerOptions: fc.Arbitrary<WriterOptions> = fc.record({
  protocol: fc.constantFrom(2 as const, 3 as const, 4 as const, 5 as const),
  memo: fc.boolean(),
  byteOrder: fc.constantFrom("<" as const, ">" as const),
  order: fc.constantFrom("C" as const, "F" as const),
  frombuffer: fc.boolean()
})

// --- properties ------------------------------------------------------------------------------

describe("Pickle.parse properties", () => {
  it("round-trips generated values written by the test pickler", () => {
    fc.assert(
      fc.property(values, writerOptions, (value, options) => {
        expect(Pickle.parse(writePickle(value, options))).toEqual(value)
      }),
      { numRuns: 200 }
    )
  })

  it("keeps shared objects shared", () => {
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 3 }), writerOptions, (list, options) => {
        const parsed = Pickle.parse(writePickle(Pickle.tuple([list, list]), { ...options, memo: true }))
        const [a, b] = (parsed as Pickle.PyTuple).items
        expect(a).toBe(b)
      }),
      { numRuns: 50 }
    )
  })

  it("reports every proper prefix of a generated pickle as truncated", () => {
    fc.assert(
      fc.property(values, writerOptions, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (value, options, at) => {
        const bytes = writePickle(value, options)
        const e = thrown(() => Pickle.parse(bytes.subarray(0, Math.floor(at * bytes.length))))
        expect(e).toBeInstanceOf(PickleError)
        expect((e as PickleError).reason).toMatch(/truncated/)
      }),
      { numRuns: 200 }
    )
  })

  it("reports every cut of the real files and Python-written pickles as truncated", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...REAL_FILES),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (file, at) => {
          const e = thrown(() =>
            Pickle.parse(file.bytes.subarray(0, Math.floor(at * file.bytes.length)), { file: file.name, encoding: file.encoding })
          )
          expect(e).toBeInstanceOf(PickleError)
          expect((e as PickleError).reason).toMatch(/truncated/)
          expect((e as PickleError).file).toBe(file.name)
        }
      ),
      { numRuns: 100 }
    )
  })

  const edits = fc.array(
    fc.record({
      at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      kind: fc.constantFrom("flip" as const, "set" as const, "huge" as const, "zero" as const),
      byte: fc.integer({ min: 0, max: 255 })
    }),
    { minLength: 1, maxLength: 6 }
  )

  /** Apply byte edits; "huge" writes 0xff over what may be a length field, "zero" writes zeros. */
  const corrupt = (input: Uint8Array, changes: ReadonlyArray<{ at: number; kind: string; byte: number }>): Uint8Array => {
    const b = input.slice()
    for (const { at, kind, byte } of changes) {
      const i = Math.floor(at * b.length)
      if (kind === "flip") b[i] ^= 1 << (byte & 7)
      else if (kind === "set") b[i] = byte
      else b.fill(kind === "huge" ? 0xff : 0, i, Math.min(b.length, i + 1 + (byte & 7)))
    }
    return b
  }

  it("gives a value or a PickleError for corrupted generated pickles, never another exception", () => {
    fc.assert(
      fc.property(values, writerOptions, edits, fc.constantFrom("ASCII" as const, "latin1" as const, "bytes" as const), (
        value,
        options,
        changes,
        encoding
      ) => {
        const e = thrown(() => Pickle.parse(corrupt(writePickle(value, options), changes), { encoding, limits: SMALL_LIMITS }))
        if (e !== undefined) expect(e).toBeInstanceOf(PickleError)
      }),
      { numRuns: 200 }
    )
  })

  it("gives a value or a PickleError for corrupted real files, never another exception", () => {
    fc.assert(
      fc.property(fc.constantFrom(...REAL_FILES), edits, (file, changes) => {
        const e = thrown(() =>
          Pickle.parse(corrupt(file.bytes, changes), { file: file.name, encoding: file.encoding, limits: SMALL_LIMITS })
        )
        if (e !== undefined) {
          expect(e).toBeInstanceOf(PickleError)
          expect((e as PickleError).file).toBe(file.name)
        }
      }),
      { numRuns: 150 }
    )
  })

  it("gives a value or a PickleError for random bytes after a protocol header", () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 2, 4, 5), fc.uint8Array({ maxLength: 64 }), (protocol, body) => {
        const input = protocol === 0 ? body : Uint8Array.from([0x80, protocol, ...body])
        const e = thrown(() => Pickle.parse(input, { limits: SMALL_LIMITS }))
        if (e !== undefined) expect(e).toBeInstanceOf(PickleError)
      }),
      { numRuns: 300 }
    )
  })
})
