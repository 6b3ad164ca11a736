import { describe, expect, it } from "vitest"
import { PickleError } from "../../src/Errors"
import * as Pickle from "../../src/Pickle"
import { Reject } from "../../src/pickle/Reject"
import * as Text from "../../src/pickle/Text"

/** The reason `f` rejects with. */
const rejected = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    if (e instanceof Reject) return e.reason
    throw e
  }
  throw new Error("expected a Reject, nothing was thrown")
}

const latin1Bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0))

describe("pickle/Text: numbers", () => {
  it("decodes LONG1/LONG4 two's complement bytes, as number when safe, else bigint", () => {
    expect(Text.decodeLong(new Uint8Array([]))).toBe(0)
    expect(Text.decodeLong(new Uint8Array([0xff]))).toBe(-1)
    expect(Text.decodeLong(new Uint8Array([0x00, 0x80]))).toBe(-32768)
    expect(Text.decodeLong(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]))).toBe(Number.MAX_SAFE_INTEGER)
    expect(Text.decodeLong(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe(2n ** 64n)
    expect(Text.decodeLong(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0xff]))).toBe(-(2n ** 64n))
  })

  it("parses the INT, LONG and FLOAT lines as Python does", () => {
    expect(Text.parseInteger(" 42 ")).toBe(42)
    expect(Text.parseInteger("-12345678901234567890")).toBe(-12345678901234567890n)
    expect(rejected(() => Text.parseInteger("1.5"))).toBe('invalid integer "1.5"')
    expect(rejected(() => Text.parseInteger("9".repeat(4302)))).toBe("integer with more than 4300 digits")
    expect(Text.parseMemoKey("7")).toBe(7)
    expect(rejected(() => Text.parseMemoKey("-1"))).toBe("invalid memo key -1")
    expect(Text.parseFloatText("1e3")).toBe(1000)
    expect(Text.parseFloatText("-inf")).toBe(-Infinity)
    expect(Text.parseFloatText("nan")).toBeNaN()
    expect(rejected(() => Text.parseFloatText("abc"))).toBe('invalid float "abc"')
  })
})

describe("pickle/Text: text", () => {
  it("decodes latin-1, short and long", () => {
    expect(Text.latin1(new Uint8Array([0x61, 0xe9, 0xff]))).toBe("a\u00e9\u00ff")
    const long = Uint8Array.from({ length: 5000 }, (_, i) => i % 256)
    expect(Text.latin1(long)).toBe(Array.from(long, (b) => String.fromCharCode(b)).join(""))
  })

  it("decodes UTF-8 with surrogatepass, and rejects invalid UTF-8", () => {
    expect(Text.decodeUtf8(new Uint8Array([0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]))).toBe("\u00e9\u{1f600}")
    expect(Text.decodeUtf8(new Uint8Array([0x61, 0xed, 0xa0, 0x80]))).toBe("a\ud800")
    expect(rejected(() => Text.decodeUtf8(new Uint8Array([0xc3])))).toBe("invalid UTF-8 in a str")
  })

  it("decodes raw-unicode-escape and the quoted repr of STRING", () => {
    expect(Text.decodeRawUnicodeEscape("a\\u00e9\\U0001f600")).toBe("a\u00e9\u{1f600}")
    expect(Text.decodeRawUnicodeEscape("\\\\u00e9")).toBe("\\\\u00e9")
    expect(rejected(() => Text.decodeRawUnicodeEscape("\\U00110000"))).toBe("\\U escape beyond U+10FFFF")
    expect(Array.from(Text.decodeStringRepr(latin1Bytes("'a\\x41\\n\\101\\q'")))).toEqual([0x61, 0x41, 0x0a, 0x41, 0x5c, 0x71])
    expect(rejected(() => Text.decodeStringRepr(latin1Bytes("abc")))).toBe("the STRING opcode argument must be quoted")
  })

  it("encodes str as latin-1, ASCII or UTF-8 (any spelling Python accepts here)", () => {
    expect(Array.from(Text.encodeText("\u00e9", "latin_1"))).toEqual([0xe9])
    expect(Array.from(Text.encodeText("\u00e9", "UTF8"))).toEqual([0xc3, 0xa9])
    expect(rejected(() => Text.encodeText("\u00e9", "ascii"))).toBe("cannot encode U+00e9 as ascii")
    expect(rejected(() => Text.encodeText("x", "utf-16"))).toBe("unsupported encoding utf-16")
  })
})

describe("pickle/Text through Pickle.parse: _codecs.encode", () => {
  /** `_codecs.encode("abc", <encoding>)` pickled with protocol 2; `encoding` is the pickled argument's bytes. */
  const codecsEncode = (encoding: Array<number>): Uint8Array =>
    Uint8Array.from([0x80, 2, ...latin1Bytes("c_codecs\nencode\n"), 0x58, 3, 0, 0, 0, ...latin1Bytes("abc"), ...encoding, 0x86, 0x52, 0x2e])
  const error = (bytes: Uint8Array): PickleError => {
    try {
      Pickle.parse(bytes)
    } catch (e) {
      if (e instanceof PickleError) return e
      throw e
    }
    throw new Error("expected a PickleError")
  }

  it("encodes with a str encoding, and names the encoding or its type otherwise", () => {
    expect(Array.from(Pickle.parse(codecsEncode([0x8c, 6, ...latin1Bytes("latin1")])) as Uint8Array)).toEqual([0x61, 0x62, 0x63])
    expect(error(codecsEncode([0x8c, 6, ...latin1Bytes("utf-16")])).reason).toBe("unsupported encoding utf-16")
    expect(error(codecsEncode([0x4b, 5])).reason).toBe("unsupported encoding int")
    expect(error(codecsEncode([0x4e])).reason).toBe("unsupported encoding None")
  })
})
