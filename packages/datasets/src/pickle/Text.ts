/**
 * Decoding of the pickle stream's arguments: the text and bytes that opcodes carry become strings
 * and numbers, as Python's unpickler decodes them. Text: UTF-8 with Python's "surrogatepass"
 * (pickled `str`), latin-1 (one char per byte), `raw-unicode-escape` (the UNICODE opcode of protocol
 * 0) and the quoted repr of the STRING opcode; `str.encode` for `_codecs.encode` and `bytes(str,
 * encoding)`. Numbers: the decimal INT, LONG and FLOAT lines and the two's complement bytes of LONG1
 * and LONG4. Every function is pure; a malformed argument is a `reject`.
 *
 * @since 0.2.0
 */
import { quote } from "../Errors"
import { reject } from "./Reject"

/** Python's limit on int <-> decimal string conversion (avoids quadratic parsing of huge numbers). */
const MAX_INT_DIGITS = 4300

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const utf8Encoder = new TextEncoder()

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))

/** A bigint as a number when it is a safe integer (|x| <= 2^53 - 1), else the bigint. */
export const normalizeInt = (v: bigint): number | bigint =>
  v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v

/** A little-endian two's complement integer (LONG1 / LONG4). */
export const decodeLong = (b: Uint8Array): number | bigint => {
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

/** The decimal integer of the INT and LONG opcodes (at most `MAX_INT_DIGITS` digits, as Python). */
export const parseInteger = (text: string): number | bigint => {
  const s = text.trim()
  if (!/^[+-]?\d+$/.test(s)) reject(`invalid integer ${quote(s, 40)}`)
  if (s.length > MAX_INT_DIGITS + 1) reject(`integer with more than ${MAX_INT_DIGITS} digits`)
  if (s.length <= 15) return Number(s)
  return normalizeInt(BigInt(s.replace(/^\+/, "")))
}

/** The decimal memo key of the PUT and GET opcodes (a non-negative int). */
export const parseMemoKey = (text: string): number => {
  const v = parseInteger(text)
  if (typeof v !== "number" || v < 0) reject(`invalid memo key ${text}`)
  return v as number
}

/** The float of the FLOAT opcode, as Python's `float()` reads it (inf and nan included). */
export const parseFloatText = (text: string): number => {
  const s = text.trim().toLowerCase()
  if (/^[+-]?(inf|infinity)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity
  if (/^[+-]?nan$/.test(s)) return NaN
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(s)) reject(`invalid float ${quote(s, 40)}`)
  return Number(s)
}

const utf16Decoder = new TextDecoder("utf-16le")

/** Bytes as a string of the same char codes (latin-1). Long inputs go through a UTF-16 decoder (fast). */
export const latin1 = (b: Uint8Array): string =>
  b.length <= 1024
    ? String.fromCharCode.apply(null, b as unknown as Array<number>)
    : utf16Decoder.decode(new Uint16Array(b))

/** UTF-8 as Python decodes pickled str ("surrogatepass": encoded lone surrogates are accepted). */
export const decodeUtf8 = (b: Uint8Array): string => {
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
export const decodeRawUnicodeEscape = (s: string): string => {
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
export const decodeStringRepr = (line: Uint8Array): Uint8Array => {
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

/** `str.encode(encoding)` for the encodings pickles use (latin-1, ASCII, UTF-8). */
export const encodeText = (s: string, name: string): Uint8Array => {
  const encoding = name.toLowerCase().replace(/_/g, "-")
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
      return reject(`unsupported encoding ${name}`)
  }
}
