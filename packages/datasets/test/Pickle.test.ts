import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { PickleError } from "../src/Errors"
import type { NdArray } from "../src/NdArray"
import type { PyValue } from "../src/Pickle"
import * as Pickle from "../src/Pickle"
import { fixture, MOSI_REAL } from "./support/Paths"
import { pickleBytes } from "./support/PythonPickles"
import { pickleError } from "./support/Throws"

/** Bytes from a mix of byte values and latin-1 strings. */
const bytes = (...parts: Array<number | string>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === "number" ? [p] : Array.from(p, (c) => c.charCodeAt(0)))))

/** The PickleError that parsing throws. */
const parseError = (input: Uint8Array, options?: Pickle.ParseOptions): PickleError => pickleError(() => Pickle.parse(input, options))

const array = (v: PyValue): NdArray => {
  if (!Pickle.isArray(v)) throw new Error(`not an array: ${Pickle.typeName(v)}`)
  return v
}

const items = (v: PyValue): ReadonlyArray<PyValue> => {
  if (!Pickle.isTuple(v)) throw new Error(`not a tuple: ${Pickle.typeName(v)}`)
  return v.items
}

const dict = (v: PyValue): Pickle.PyDict => {
  if (!Pickle.isDict(v)) throw new Error(`not a dict: ${Pickle.typeName(v)}`)
  return v
}

describe("Pickle.parse: Python values", () => {
  it("reads the same object from protocols 0 to 5", () => {
    for (const protocol of [0, 1, 2, 3, 4, 5] as const) {
      const d = dict(Pickle.parse(pickleBytes(`obj_p${protocol}`)))
      expect(d.keys()).toEqual(["a", "big", "neg", "i32", "i16", "s", "fs", "od", "ba", "c", "u", "e", "b0", "t1", "t4", "f", "k"])
      expect(d.get("a")).toEqual([1, 2.5, "x", new Uint8Array([0, 255]), Pickle.tuple([1, 2]), null, true, false])
      expect(d.get("big")).toBe(2n ** 100n)
      expect(d.get("neg")).toBe(-(2n ** 70n))
      expect(d.get("i32")).toBe(-123456)
      expect(d.get("i16")).toBe(40000)
      const s = d.get("s") as Pickle.PySet
      expect(s.frozen).toBe(false)
      expect(s.items).toEqual([1, 2])
      const fs = d.get("fs") as Pickle.PySet
      expect(fs.frozen).toBe(true)
      expect(fs.items).toEqual(["x"])
      expect(dict(d.get("od") as PyValue).entries).toEqual([["k", 1], ["j", 2]])
      expect(d.get("ba")).toEqual(new Uint8Array([0x61, 0x62]))
      expect(d.get("c")).toEqual({ _tag: "Complex", real: 1, imag: 2 })
      expect(d.get("u")).toBe("héllo😀")
      expect(d.get("e")).toEqual(Pickle.tuple([]))
      expect(d.get("b0")).toEqual(new Uint8Array(0))
      expect(d.get("t1")).toEqual(Pickle.tuple([1]))
      expect(d.get("t4")).toEqual(Pickle.tuple([1, 2, 3, 4]))
      expect(d.get("f")).toBe(Infinity)
      const k = dict(d.get("k") as PyValue)
      expect(k.get(Pickle.tuple([1, "a"]))).toBe("tuplekey")
      expect(k.get(3)).toBe("intkey")
    }
  })

  it("keeps shared and recursive references (memo GET)", () => {
    for (const name of ["shared_p0", "shared_p4"] as const) {
      const list = Pickle.parse(pickleBytes(name)) as Array<PyValue>
      expect(list).toEqual([[1], [1]])
      expect(list[0]).toBe(list[1])
    }
    const l = Pickle.parse(pickleBytes("recursive_p2")) as Array<PyValue>
    expect(l.length).toBe(1)
    expect(l[0]).toBe(l)
  })

  it("looks dict keys up with Python equality", () => {
    const d = new Pickle.PyDict()
    d.set(1, "one")
    d.set(Pickle.tuple([2, "b"]), "pair")
    d.set(2n ** 60n, "big")
    expect(d.get(1.0)).toBe("one")
    expect(d.get(true)).toBe("one")
    expect(d.get("1")).toBeUndefined()
    expect(d.get(Pickle.tuple([2, "b"]))).toBe("pair")
    expect(d.get(2 ** 60)).toBe("big")
    expect(d.set([1], "list")).toBe(false)
    d.set(1, "uno")
    expect(d.entries).toEqual([[1, "uno"], [Pickle.tuple([2, "b"]), "pair"], [2n ** 60n, "big"]])
  })

  it("reads INST and OBJ of allowed classes", () => {
    expect(Pickle.parse(bytes("(icollections\nOrderedDict\n."))).toBeInstanceOf(Pickle.PyDict)
    expect(Pickle.parse(bytes("(ccollections\nOrderedDict\no."))).toBeInstanceOf(Pickle.PyDict)
    expect((Pickle.parse(bytes("(c__builtin__\nset\n(lI3\naI3\nao.")) as Pickle.PySet).items).toEqual([3])
  })

  it("reads long strings and bytes exactly", () => {
    const text = "é".repeat(300) + "x".repeat(70000) + "😀"
    const utf8 = new TextEncoder().encode(text)
    const n = utf8.length
    const input = bytes(0x80, 4, 0x58, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, 0, 0x2e)
    const full = new Uint8Array(input.length + n)
    full.set(input.subarray(0, 7))
    full.set(utf8, 7)
    full[full.length - 1] = 0x2e
    expect(Pickle.parse(full)).toBe(text)
    // a str with an encoded lone surrogate (Python writes them with "surrogatepass")
    expect(Pickle.parse(bytes(0x80, 4, 0x8c, 3, 0xed, 0xb2, 0x80, 0x2e))).toBe("\udc80")
  })

  it("reads a Node Buffer that is a slice of a larger buffer", () => {
    const pooled = Buffer.concat([Buffer.from([9, 9, 9]), Buffer.from(pickleBytes("obj_p4"))]).subarray(3)
    const d = dict(Pickle.parse(pooled))
    expect(d.get("u")).toBe("héllo😀")
    const b = (d.get("a") as Array<PyValue>)[3]
    expect(b).toEqual(new Uint8Array([0, 255]))
    expect(Buffer.isBuffer(b)).toBe(false)
  })

  it("ignores bytes after STOP", () => {
    expect(Pickle.parse(bytes(0x80, 2, 0x4b, 7, 0x2e, 0xff, 0xff))).toBe(7)
  })
})

describe("Pickle.parse: numpy arrays", () => {
  it("reads float32 arrays written with protocols 2, 4 and 5 (_codecs.encode, bytes, _frombuffer)", () => {
    for (const name of ["f32_p2", "f32_p4", "f32_p5"] as const) {
      const a = array(Pickle.parse(pickleBytes(name)))
      expect(a.dtype).toBe("float32")
      expect(a.shape).toEqual([2, 3])
      expect(a.data).toEqual(new Float32Array([0, 1, 2, 3, 4, 5]))
    }
  })

  it("reorders Fortran-ordered data into row-major order", () => {
    for (const name of ["fortran_i4_p4", "fortran_i4_p5"] as const) {
      const a = array(Pickle.parse(pickleBytes(name)))
      expect(a.shape).toEqual([2, 3])
      expect(a.data).toEqual(new Int32Array([0, 1, 2, 3, 4, 5]))
    }
    const a3 = array(Pickle.parse(pickleBytes("fortran_3d_p4")))
    expect(a3.dtype).toBe("int16")
    expect(a3.shape).toEqual([2, 3, 4])
    expect(a3.data).toEqual(Int16Array.from({ length: 24 }, (_, i) => i))
  })

  it("reads big-endian data", () => {
    const f8 = array(Pickle.parse(pickleBytes("be_f8_p4")))
    expect(f8.dtype).toBe("float64")
    expect(f8.shape).toEqual([3, 2])
    expect(Array.from(f8.data as Float64Array)).toEqual([1.5, -2, 3.25, 1e300, -0, 7])
    const i2 = array(Pickle.parse(pickleBytes("be_i2_p2")))
    expect(i2.data).toEqual(new Int16Array([1, -2, 300]))
    const u = array(Pickle.parse(pickleBytes("unicode_be_p2")))
    expect(u.data).toEqual(["xyz", "q"])
  })

  it("widens float16 to float32 and int64/uint64 to float64", () => {
    const h = array(Pickle.parse(pickleBytes("f16_p4")))
    expect(h.dtype).toBe("float32")
    expect(Array.from(h.data as Float32Array)).toEqual([1.5, -2, 65504, 5.960464477539063e-8, Infinity, NaN])
    const i8 = array(Pickle.parse(pickleBytes("i8_p4")))
    expect(i8.dtype).toBe("int64")
    expect(i8.data).toEqual(new Float64Array([-1, 2 ** 53 - 1, -(2 ** 40), 0]))
    const u8 = array(Pickle.parse(pickleBytes("u8_p4")))
    expect(u8.dtype).toBe("uint64")
    expect(u8.data).toEqual(new Float64Array([2 ** 63, 1]))
  })

  it("reads bool and small integer dtypes", () => {
    const b = array(Pickle.parse(pickleBytes("bool_p4")))
    expect(b.dtype).toBe("bool")
    expect(b.data).toEqual(new Uint8Array([1, 0, 1]))
    const [i8, u8, i32, u32, u16] = items(Pickle.parse(pickleBytes("int8_uint8_p4"))).map(array)
    expect(i8.data).toEqual(new Int8Array([-128, 127, 0]))
    expect(u8.data).toEqual(new Uint8Array([0, 255]))
    expect(i32.data).toEqual(new Int32Array([-7, 8]))
    expect(u32.data).toEqual(new Uint32Array([7, 70000]))
    expect(u16.data).toEqual(new Uint16Array([1, 65535]))
  })

  it("reads unicode, bytes and object arrays", () => {
    const u = array(Pickle.parse(pickleBytes("unicode_p4")))
    expect(u.dtype).toBe("unicode")
    expect(u.shape).toEqual([2, 2])
    expect(u.data).toEqual(["ab", "ü€", "😀", ""])
    const s = array(Pickle.parse(pickleBytes("bytes_p4")))
    expect(s.dtype).toBe("bytes")
    expect(s.data).toEqual(["ab", "c\u0000d", ""])
    const o = array(Pickle.parse(pickleBytes("object_p4")))
    expect(o.dtype).toBe("object")
    expect(o.data).toEqual([1, "a", null])
    const os = array(Pickle.parse(pickleBytes("object_str_p2")))
    expect(os.dtype).toBe("unicode")
    expect(os.shape).toEqual([2, 2])
    expect(os.data).toEqual(["x", "y", "z", "w"])
    const e = array(Pickle.parse(pickleBytes("empty_p4")))
    expect(e.shape).toEqual([0, 3])
    expect(e.data.length).toBe(0)
  })

  it("reads numpy scalars as plain values", () => {
    expect(items(Pickle.parse(pickleBytes("scalars_p2")))).toEqual([1.5, -7, 0.1, true, 2n ** 62n, 200, "hé"])
    expect(items(Pickle.parse(pickleBytes("scalars_p4")))).toEqual([1.5, -7, 0.1, true, 2n ** 62n, 0.5])
  })

  it("does not share numeric array memory with the input", () => {
    const input = pickleBytes("f32_p4")
    const a = array(Pickle.parse(input))
    input.fill(0)
    expect(a.data).toEqual(new Float32Array([0, 1, 2, 3, 4, 5]))
  })
})

describe("Pickle.parse: Python 2 pickles", () => {
  it("decodes py2 str with latin1, bytes, or fails under ASCII (the default)", () => {
    const input = pickleBytes("py2_text_p0")
    const d = dict(Pickle.parse(input, { encoding: "latin1" }))
    expect(d.get("name")).toBe("café")
    expect(d.get("n")).toBe(42)
    expect(d.get("big")).toBe(12345678901234567890n)
    expect(d.get("f")).toBe(1.5)
    expect(d.get("u")).toBe("café😀")
    expect(d.get("t")).toBe(true)
    expect(d.get("q")).toBe("it's\nA")
    const l = d.get("l") as Array<PyValue>
    expect(l).toEqual([1, -2, -0.25, Pickle.tuple([1, "x"]), Pickle.tuple([1, "x"])])
    expect(l[3]).toBe(l[4])

    const raw = dict(Pickle.parse(input, { encoding: "bytes" }))
    expect(raw.get(new TextEncoder().encode("name"))).toEqual(new Uint8Array([0x63, 0x61, 0x66, 0xe9]))

    const e = parseError(input, { file: "py2.pkl" })
    expect(e.file).toBe("py2.pkl")
    expect(e.reason).toMatch(/non-ASCII byte 0xe9.*latin1/)
  })

  it("reads numpy arrays whose data is a py2 str", () => {
    const input = pickleBytes("py2_numpy_p2")
    for (const encoding of ["latin1", "bytes"] as const) {
      const a = array(Pickle.parse(input, { encoding }))
      expect(a.dtype).toBe("float64")
      expect(a.data).toEqual(new Float64Array([1, -2.5]))
    }
    expect(parseError(input).reason).toMatch(/latin1/)
  })

  it("reads the real MOSI openSMILE pickle (Python 2, latin1) as a 7-tuple", () => {
    const file = path.join(MOSI_REAL, "audio_openSMILE.pickle")
    const value = Pickle.parse(new Uint8Array(fs.readFileSync(file)), { file, encoding: "latin1" })
    const [trainX, trainY, testX, testY, maxLen, trainLen, testLen] = items(value)
    expect(array(trainX).dtype).toBe("float64")
    expect(array(trainX).shape).toEqual([62, 63, 73])
    expect(array(trainY).shape).toEqual([62, 63])
    expect(array(testX).shape).toEqual([31, 63, 73])
    expect(array(testY).shape).toEqual([31, 63])
    expect(maxLen).toBe(63)
    expect((trainLen as Array<PyValue>).length).toBe(62)
    expect((testLen as Array<PyValue>).length).toBe(31)
    expect((trainLen as Array<PyValue>).slice(0, 5)).toEqual([35, 30, 30, 30, 14])
    // values checked against numpy at authoring time
    expect(Array.from(array(trainX).data.slice(0, 3) as Float64Array)).toEqual([212.83, 0.74144, 0.13383])
    const sum = (array(trainX).data as Float64Array).reduce((a, b) => a + b, 0)
    expect(sum).toBeCloseTo(274101.1158831002, 6)
    expect((array(trainY).data as Float64Array).reduce((a, b) => a + b, 0)).toBe(709)
  })
})

describe("Pickle.parse: safety", () => {
  it("refuses globals outside the allow-list, naming them", () => {
    const cases: Array<[Uint8Array, string]> = [
      [bytes("cos\nsystem\n(S'echo hi'\ntR."), "os.system"],
      [bytes("cposix\nsystem\n."), "posix.system"],
      [bytes(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "eval", 0x93, 0x2e), "builtins.eval"],
      [bytes(0x80, 2, "c__builtin__\ngetattr\n."), "__builtin__.getattr"],
      [bytes("(S'ls'\nios\nsystem\n."), "os.system"],
      [bytes("csubprocess\nPopen\n."), "subprocess.Popen"],
      [bytes("cnumpy\nload\n."), "numpy.load"],
      [bytes("ccollections\nCounter\n."), "collections.Counter"]
    ]
    for (const [input, name] of cases) {
      expect(parseError(input).reason).toBe(`forbidden global ${name}`)
    }
  })

  it("refuses calling an allowed class it does not rebuild", () => {
    expect(parseError(bytes("cnumpy\nndarray\n)R.")).reason).toMatch(/calling numpy\.ndarray is not supported/)
    expect(parseError(bytes("(I1\ncnumpy\ndtype\n(S'f4'\ntRb.")).reason).toMatch(/BUILD on a int is not supported/)
  })

  it("gives a truncation error naming the file for bad_truncated.pkl", () => {
    const file = fixture("bad_truncated.pkl")
    const e = parseError(new Uint8Array(fs.readFileSync(file)), { file })
    expect(e._tag).toBe("PickleError")
    expect(e.file).toBe(file)
    expect(e.reason).toMatch(/truncated/)
    expect(e.message).toContain(file)
  })

  it("reports truncation for every cut of a numpy pickle", () => {
    const input = pickleBytes("f32_p4")
    for (let cut = 0; cut < input.length; cut++) {
      expect(parseError(input.subarray(0, cut)).reason).toMatch(/truncated/)
    }
  })

  it("checks lengths against the input before allocating", () => {
    // BINBYTES8 / BINUNICODE8 / BYTEARRAY8 claiming 2^60 and 2^40 bytes, BINUNICODE claiming 4 GiB
    for (const op of [0x8e, 0x8d, 0x96]) {
      expect(parseError(bytes(0x80, 4, op, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x2e)).reason).toMatch(/truncated/)
      expect(parseError(bytes(0x80, 4, op, 0, 0, 0, 0, 1, 0, 0, 0, 0x2e)).reason).toMatch(/truncated/)
    }
    expect(parseError(bytes(0x80, 2, 0x58, 0xff, 0xff, 0xff, 0xff, 0x2e)).reason).toMatch(/truncated/)
    expect(parseError(bytes(0x80, 2, 0x8b, 0xff, 0xff, 0xff, 0x7f, 0x2e)).reason).toMatch(/truncated/)
    expect(parseError(bytes(0x80, 2, 0x54, 0xff, 0xff, 0xff, 0xff, 0x2e)).reason).toMatch(/negative length/)
    expect(parseError(bytes(0x80, 4, 0x95, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x2e)).reason).toMatch(/truncated/)
  })

  it("checks that an array's data matches its shape", () => {
    // a float32 (2, 3) array whose shape says (2, 4)
    const input = pickleBytes("f32_p4")
    const patched = input.slice()
    const at = patched.findIndex((b, i) => b === 0x4b && patched[i + 1] === 2 && patched[i + 2] === 0x4b && patched[i + 3] === 3)
    patched[at + 3] = 4
    expect(parseError(patched).reason).toMatch(/shape \(2, 4\) and dtype float32 needs 32 bytes of data, got 24/)
  })

  it("refuses a zero-width string array whose shape asks for 10^9 elements", () => {
    const input = bytes(
      0x80, 2, "cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK", 0, 0x85, "U", 1, "b", 0x87, "R(K", 1,
      "J", 0x00, 0xca, 0x9a, 0x3b, 0x85, "cnumpy\ndtype\nU", 2, "U0K", 0, "K", 1, 0x87, "R(K", 3, "U", 1, "<NNNK",
      0, "K", 4, "K", 8, "tbI00\nU", 0, "tb."
    )
    expect(parseError(input).reason).toMatch(/limit maxElements/)
  })

  it("bounds nesting depth, stack, memo and elements", () => {
    const deepLists = bytes(0x80, 2, ...new Array(1500).fill(0x5d), ...new Array(1499).fill(0x61), 0x2e)
    expect(parseError(deepLists).reason).toMatch(/nested deeper than 1000/)
    const deepTuples = bytes(0x80, 2, 0x29, ...new Array(1500).fill(0x85), 0x2e)
    expect(parseError(deepTuples).reason).toMatch(/nested deeper than 1000/)
    expect(Pickle.parse(deepTuples, { limits: { maxDepth: 2000 } })).toMatchObject({ _tag: "Tuple" })

    const nones = bytes(0x80, 2, ...new Array(100).fill(0x4e), 0x2e)
    expect(parseError(nones, { limits: { maxStack: 50 } }).reason).toMatch(/limit maxStack/)
    const memos = bytes(0x80, 4, 0x4e, ...new Array(100).fill(0x94), 0x2e)
    expect(parseError(memos, { limits: { maxMemo: 50 } }).reason).toMatch(/limit maxMemo/)

    // a "billion laughs": a 1000-item list (memo 0) copied into a new frozenset (memo 1) 2000 times
    const ints = Array.from({ length: 1000 }, (_, i) => [0x4d, i & 0xff, i >> 8]).flat()
    const list = [0x5d, 0x71, 0, 0x28, ...ints, 0x65, 0x30]
    const copy = [0x68, 1, 0x68, 0, 0x85, 0x52, 0x30]
    const bomb = bytes(0x80, 2, "c__builtin__\nfrozenset\nq", 1, 0x30, ...list, ...new Array(2000).fill(copy).flat(), 0x4e, 0x2e)
    expect(parseError(bomb).reason).toMatch(/limit maxElements/)
    expect(Pickle.parse(bomb, { limits: { maxElements: 3_000_000 } })).toBe(null)
  })

  it("reports malformed streams", () => {
    expect(parseError(bytes(0x80, 6, 0x4e, 0x2e)).reason).toMatch(/unsupported pickle protocol 6/)
    expect(parseError(bytes(0x80, 2, 0xff)).reason).toMatch(/unknown opcode 0xff/)
    expect(parseError(bytes(0x80, 2, 0x61, 0x2e)).reason).toMatch(/stack underflow/)
    expect(parseError(bytes(0x80, 2, 0x65, 0x2e)).reason).toMatch(/no MARK/)
    expect(parseError(bytes(0x80, 2, 0x68, 5, 0x2e)).reason).toMatch(/memo key 5 not found/)
    expect(parseError(bytes(0x80, 2, 0x2e)).reason).toMatch(/stack underflow/)
    expect(parseError(bytes(0x80, 2, 0x4e)).reason).toMatch(/truncated/)
    expect(parseError(bytes()).reason).toMatch(/truncated/)
    expect(parseError(bytes("I12x\n.")).reason).toMatch(/invalid integer/)
    expect(parseError(bytes("S'abc\n.")).reason).toMatch(/quoted/)
    expect(parseError(bytes(0x80, 4, 0x8c, 2, 0xc3, 0x28, 0x2e)).reason).toMatch(/invalid UTF-8/)
    expect(parseError(bytes(0x80, 2, "](K", 1, "K", 2, "u.")).reason).toMatch(/SETITEMS on a list/)
    expect(parseError(bytes(0x80, 4, 0x7d, 0x5d, 0x4e, 0x73, 0x2e)).reason).toMatch(/unhashable dict key of type list/)
    expect(parseError(bytes(0x80, 2, "P1\n.")).reason).toMatch(/persistent ids/)
  })

  it("throws only PickleError, with the byte offset of the failing opcode", () => {
    const e = parseError(bytes(0x80, 2, 0x4e, 0x4e, 0xfe))
    expect(e.offset).toBe(4)
    expect(e.file).toBe("<bytes>")
    expect(parseError("not bytes" as unknown as Uint8Array).reason).toMatch(/not a Uint8Array/)
    expect(parseError(bytes(0x4e, 0x2e), { encoding: "utf-16" as "ASCII" }).reason).toMatch(/unknown encoding/)
  })
})
