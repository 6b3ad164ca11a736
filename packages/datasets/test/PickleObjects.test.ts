// The pickle reader bounds the Python objects it builds per byte of input (Limits.maxObjects): a small
// file of many empty dicts is refused with a PickleError naming the file and the option, before the
// heap grows, and the option (parse limits, DatasetLoader's pickleLimits) raises the bound.
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as DatasetLoader from "../src/DatasetLoader"
import * as Pickle from "../src/Pickle"
import { fixture, MOSI_REAL } from "./support/Paths"
import { writePickle } from "./support/PickleWriter"
import { pickleError } from "./support/Throws"

const EMPTY_DICT = 0x7d
const APPEND = 0x61
const BINGET = 0x68
const BINPUT = 0x71
const DUP = 0x32
const MARK = 0x28
const APPENDS = 0x65
const STOP = 0x2e

/**
 * A list of `count` empty dicts, as a pickler that appends one at a time writes it: the writer's
 * `[]` (PROTO 2, EMPTY_LIST) followed by EMPTY_DICT APPEND per dict, 2 bytes each, then STOP.
 */
const dictBomb = (count: number): Uint8Array => {
  const head = writePickle([], { protocol: 2, memo: false }).subarray(0, -1)
  const out = new Uint8Array(head.length + 2 * count + 1)
  out.set(head)
  for (let i = 0; i < count; i++) {
    out[head.length + 2 * i] = EMPTY_DICT
    out[head.length + 2 * i + 1] = APPEND
  }
  out[out.length - 1] = STOP
  return out
}

let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-pickle-objects-"))
})
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true })
})

describe("Pickle.parse: the Python objects built per input byte are bounded", () => {
  it("the default: 250,000, or one per 16 input bytes when that is more", () => {
    expect(Pickle.defaultMaxObjects(0)).toBe(250_000)
    expect(Pickle.defaultMaxObjects(2_000_000)).toBe(250_000)
    expect(Pickle.defaultMaxObjects(16_000_000)).toBe(1_000_000)
    expect(Pickle.defaultLimits(16_000_000).maxObjects).toBe(1_000_000)
  })

  it("refuses a 2 MB list of a million empty dicts before the heap grows, naming the file and the option", () => {
    const bomb = dictBomb(1_000_000)
    const before = process.memoryUsage().heapUsed
    let result: unknown
    let error: unknown
    try {
      result = Pickle.parse(bomb, { file: "bomb.pkl" })
    } catch (e) {
      error = e
    }
    const grown = process.memoryUsage().heapUsed - before
    // a memory ceiling (a million dicts hold about 275 MB), not a timing threshold
    expect(grown).toBeLessThan(200 * 1024 * 1024)
    expect(result).toBeUndefined()
    const e = pickleError(() => {
      throw error
    })
    expect(e.file).toBe("bomb.pkl")
    expect(e.message).toBe(
      `bomb.pkl: pickle error at byte ${e.offset}: builds more than 250000 Python objects ` +
        `(limit 250000 for a ${bomb.length}-byte file); raise it with --max-pickle-objects or the maxObjects option`
    )
  })

  it("reads the same kind of file when maxObjects is raised", () => {
    const bomb = dictBomb(300_000)
    expect(pickleError(() => Pickle.parse(bomb)).reason).toMatch(/^builds more than 250000 Python objects/)
    const list = Pickle.parse(bomb, { limits: { maxObjects: 300_001 } })
    expect(Array.isArray(list) && list.length).toBe(300_000)
    expect(pickleError(() => Pickle.parse(bomb, { limits: { maxObjects: 300_000 } })).reason).toMatch(/limit 300000 for a/)
  })

  it("counts objects built, not references: GET and DUP of a dict build nothing", () => {
    // [d, d, ..., e, e, ...]: PROTO 2, EMPTY_LIST, EMPTY_DICT, BINPUT 0, APPEND, 200,000 times BINGET 0
    // APPEND, then MARK, EMPTY_DICT, 200,000 DUPs, APPENDS: three objects (a limit of 3 is enough), 400,002 items
    const count = 200_000
    const input = Uint8Array.from([
      0x80, 2, 0x5d, EMPTY_DICT, BINPUT, 0, APPEND,
      ...new Array<ReadonlyArray<number>>(count).fill([BINGET, 0, APPEND]).flat(),
      MARK, EMPTY_DICT, ...new Array<number>(count).fill(DUP), APPENDS, STOP
    ])
    const list = Pickle.parse(input, { limits: { maxObjects: 3 } })
    expect(Array.isArray(list) && list.length).toBe(2 * count + 2)
    expect(pickleError(() => Pickle.parse(input, { limits: { maxObjects: 2 } })).reason).toMatch(/^builds more than 2 Python objects/)
  })

  it("refuses a limit that is not a number >= 0", () => {
    const input = writePickle(null, { protocol: 2 })
    expect(pickleError(() => Pickle.parse(input, { limits: { maxObjects: Number.NaN } })).reason).toBe(
      "invalid limit maxObjects = NaN (expected a number >= 0)"
    )
    expect(pickleError(() => Pickle.parse(input, { limits: { maxDepth: -1 } })).reason).toMatch(/invalid limit maxDepth = -1/)
  })

  it("real files build a few hundred objects: all of them read with a limit of 1000", () => {
    const files = [
      { file: fixture("mmsa_aligned.pkl"), encoding: "ASCII" },
      { file: fixture("mult_mosi.pkl"), encoding: "ASCII" },
      { file: fixture("mult_iemocap.pkl"), encoding: "ASCII" },
      { file: path.join(MOSI_REAL, "audio_openSMILE.pickle"), encoding: "latin1" }
    ] as const
    for (const { encoding, file } of files) {
      const bytes = new Uint8Array(fs.readFileSync(file))
      expect(() => Pickle.parse(bytes, { file, encoding, limits: { maxObjects: 1000 } }), file).not.toThrow()
      expect(pickleError(() => Pickle.parse(bytes, { file, encoding, limits: { maxObjects: 100 } })).reason).toMatch(/limit 100 for/)
    }
  })
})

describe("DatasetLoader: the pickleLimits option", () => {
  it("a .pkl file over the limit is the PickleError naming it; raised, the reader gets through", async () => {
    const file = path.join(tmp, "bomb.pkl")
    fs.writeFileSync(file, dictBomb(300_000))
    const refused = await Effect.runPromise(Effect.flip(DatasetLoader.load(file)))
    expect(refused._tag).toBe("PickleError")
    expect(refused.message).toMatch(new RegExp(`^${file}: .*builds more than 250000 Python objects.*--max-pickle-objects or the maxObjects option$`))
    // past the reader: a list is not a dataset
    const read = await Effect.runPromise(Effect.flip(DatasetLoader.load(file, { pickleLimits: { maxObjects: 1_000_000 } })))
    expect(read._tag).toBe("FormatError")
  })

  it("the limits reach the MMSA reader and a mosi-real folder's audio pickle", async () => {
    const mmsa = fixture("mmsa_aligned.pkl")
    const low = { pickleLimits: { maxObjects: 100 } }
    const e1 = await Effect.runPromise(Effect.flip(DatasetLoader.load(mmsa, low)))
    expect(e1.message).toMatch(new RegExp(`^${mmsa}: .*limit 100 for`))
    const e2 = await Effect.runPromise(Effect.flip(DatasetLoader.load(MOSI_REAL, low)))
    expect(e2.message).toContain(`${path.join(MOSI_REAL, "audio_openSMILE.pickle")}: pickle error`)
    expect(e2.message).toMatch(/limit 100 for/)
  })
})
