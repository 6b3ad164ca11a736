/**
 * The pickle virtual machine: opcodes (protocols 0 to 5), the stack with its MARKs, the memo, and
 * the containers they build, within `Limits`. Every length read from the stream is checked against
 * the bytes left before anything is allocated. Calls and BUILD go to the allow-listed globals
 * (`Globals`); nothing is executed.
 *
 * @since 0.2.0
 */
import { build, call, type Host, resolveGlobal } from "./Globals"
import type { Encoding, Limits } from "./Parse"
import { reject } from "./Reject"
import {
  decodeLong,
  decodeRawUnicodeEscape,
  decodeStringRepr,
  decodeUtf8,
  latin1,
  parseFloatText,
  parseInteger,
  parseMemoKey
} from "./Text"
import type { PyGlobal, PyTuple, PyValue } from "./Values"
import { isGlobal, isTuple, PyDict, PySet, tuple, typeName } from "./Values"

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

/** The pickle stack machine over one input: run it once with `run`. */
export class Machine implements Host {
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
  /** Python objects created so far (checked against `maxObjects`). */
  objects = 0
  /** Long Python 2 str values decoded as latin1, with their bytes: numpy data reuses them. */
  readonly py2Bytes = new Map<string, Uint8Array>()

  constructor(bytes: Uint8Array, readonly encoding: Encoding, readonly limits: Limits) {
    // a plain Uint8Array (not a Node Buffer) so that views of it are plain Uint8Arrays too
    this.data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** Execute opcodes up to STOP; the value on top of the stack. Throws `Reject` on any problem. */
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
          this.pushExisting(this.top())
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
          this.push(call(this, cls, this.popMark()))
          break
        }
        case OBJ: {
          const items = this.popMark()
          if (items.length === 0 || !isGlobal(items[0])) reject("OBJ needs a class after the MARK")
          this.push(call(this, items[0] as PyGlobal, items.slice(1)))
          break
        }
        case REDUCE: {
          const args = this.pop()
          const f = this.pop()
          if (!isGlobal(f)) reject(`REDUCE on a ${typeName(f)}, not a callable`)
          if (!isTuple(args)) reject(`REDUCE arguments are a ${typeName(args)}, not a tuple`)
          this.push(call(this, f as PyGlobal, (args as PyTuple).items))
          break
        }
        case NEWOBJ: {
          const args = this.pop()
          const cls = this.pop()
          if (!isGlobal(cls)) reject(`NEWOBJ on a ${typeName(cls)}, not a class`)
          if (!isTuple(args)) reject(`NEWOBJ arguments are a ${typeName(args)}, not a tuple`)
          this.push(call(this, cls as PyGlobal, (args as PyTuple).items))
          break
        }
        case NEWOBJ_EX: {
          const kwargs = this.pop()
          const args = this.pop()
          const cls = this.pop()
          if (!isGlobal(cls)) reject(`NEWOBJ_EX on a ${typeName(cls)}, not a class`)
          if (!isTuple(args)) reject(`NEWOBJ_EX arguments are a ${typeName(args)}, not a tuple`)
          if (!(kwargs instanceof PyDict) || kwargs.size > 0) reject("NEWOBJ_EX with keyword arguments is not supported")
          this.push(call(this, cls as PyGlobal, (args as PyTuple).items))
          break
        }
        case BUILD: {
          const state = this.pop()
          build(this, this.top(), state)
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

  /** Push a value the current opcode created: one more Python object, checked against `maxObjects`. */
  push(v: PyValue): void {
    if (++this.objects > this.limits.maxObjects) {
      reject(
        `builds more than ${this.limits.maxObjects} Python objects (limit ${this.limits.maxObjects} for a ${this.data.length}-byte file); ` +
          "raise it with --max-pickle-objects or the maxObjects option"
      )
    }
    this.pushExisting(v)
  }

  /** Push a value already built (DUP, GET): no new object. */
  pushExisting(v: PyValue): void {
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
    this.pushExisting(this.memo.get(key) as PyValue)
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
}
