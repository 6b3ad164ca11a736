import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { SPLITS } from "../src/Dataset"
import type { Dataset } from "../src/Dataset"
import type { MosiRealFiles } from "../src/MosiReal"
import { AUDIO_DIM, fromMosiRealFiles, readMosiReal } from "../src/MosiReal"
import { make } from "../src/NdArray"
import type { NumericNdArray } from "../src/NdArray"
import * as Pickle from "../src/Pickle"
import { tokenize, UNK_ID } from "../src/Tokenizer"
import { MOSI_REAL } from "./support/Paths"
import { formatError } from "./support/Throws"

const DIR = MOSI_REAL

const TEXT_FILES = {
  labelsCsv: "labels.csv",
  transcriptsTsv: "transcripts.tsv",
  foldsJson: "folds.json",
  audioVideoIdsJson: "audio_video_ids.json"
} as const

let files: MosiRealFiles
let dataset: Dataset
let tmp: string

beforeAll(() => {
  const read = (f: string) => readFileSync(path.join(DIR, f), "utf8")
  const audio = Pickle.parse(new Uint8Array(readFileSync(path.join(DIR, "audio_openSMILE.pickle"))), {
    encoding: "latin1"
  })
  files = {
    labelsCsv: read(TEXT_FILES.labelsCsv),
    transcriptsTsv: read(TEXT_FILES.transcriptsTsv),
    foldsJson: read(TEXT_FILES.foldsJson),
    audioVideoIdsJson: read(TEXT_FILES.audioVideoIdsJson),
    audio
  }
  dataset = fromMosiRealFiles(files, DIR)
  tmp = mkdtempSync(path.join(tmpdir(), "haemsa-mosi-real-"))
})

afterAll(() => {
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true })
})

/** Write a corrupted copy of one text file to a fresh temp folder, read it back, and load. */
const loadCorrupted = (key: keyof typeof TEXT_FILES, edit: (text: string) => string): { dir: string; run: () => Dataset } => {
  const dir = mkdtempSync(path.join(tmp, "case-"))
  const target = path.join(dir, TEXT_FILES[key])
  writeFileSync(target, edit(files[key]))
  const corrupted = { ...files, [key]: readFileSync(target, "utf8") }
  return { dir, run: () => fromMosiRealFiles(corrupted, dir) }
}

const editLine = (text: string, line: number, edit: (l: string) => string): string => {
  const lines = text.split("\n")
  lines[line - 1] = edit(lines[line - 1])
  return lines.join("\n")
}

const withAudio = (edit: (items: Array<Pickle.PyValue>) => void): MosiRealFiles => {
  if (!Pickle.isTuple(files.audio)) throw new Error("audio is not a tuple")
  const items = [...files.audio.items]
  edit(items)
  return { ...files, audio: Pickle.tuple(items) }
}

describe("fromMosiRealFiles on the mosi-real data package", () => {
  it("has the standard 1284/229/686 segments, text and audio, no vision", () => {
    expect(dataset).toMatchObject({ name: "mosi-real", format: "mosi-real", task: "sentiment" })
    expect(SPLITS.map((s) => dataset.splits[s].n)).toEqual([1284, 229, 686])
    for (const name of SPLITS) {
      const split = dataset.splits[name]
      expect(split.features.vision).toBeUndefined()
      expect(split.features.audio).toMatchObject({ n: split.n, steps: 1, dim: AUDIO_DIM })
      expect(split.features.audio!.data.length).toBe(split.n * AUDIO_DIM)
      expect(split.features.text).toMatchObject({ n: split.n, dim: 4 })
      expect(split.tokens!.n).toBe(split.n)
      expect(split.rawText!.length).toBe(split.n)
      expect(split.labels.regression!.length).toBe(split.n)
      for (let i = 0; i < split.n; i++) {
        expect([split.mask[i * 3], split.mask[i * 3 + 1], split.mask[i * 3 + 2]]).toEqual([1, 1, 0])
      }
      expect(split.features.audio!.lengths.every((l) => l === 1)).toBe(true)
      expect(split.nonfiniteReplaced).toEqual({ text: 0, audio: 0, vision: 0 })
      expect(new Set(split.ids).size).toBe(split.n)
    }
  })

  it("spot-checks a known segment: label, transcript and its audio row", () => {
    // labels.csv lines 1-3: _dI--eQ6qVU segments 1..3 with sentiment 2.4, 3, -0.2; the video is in the
    // valid fold and is row 5 of the pickle's train_x (its own split is not the standard one)
    const valid = dataset.splits.valid
    const i = valid.ids.indexOf("_dI--eQ6qVU_1")
    expect(i).toBeGreaterThanOrEqual(0)
    expect(valid.ids.slice(i, i + 3)).toEqual(["_dI--eQ6qVU_1", "_dI--eQ6qVU_2", "_dI--eQ6qVU_3"])
    expect(Array.from(valid.labels.regression!.subarray(i, i + 3))).toEqual([Math.fround(2.4), 3, Math.fround(-0.2)])
    expect(valid.rawText![i + 1]).toBe("AND I LOVED IT")
    const audio = valid.features.audio!.data.subarray((i + 1) * AUDIO_DIM, (i + 1) * AUDIO_DIM + 3)
    expect(Array.from(audio)).toEqual([234.0399932861328, 0.5178599953651428, 0.05298500135540962])
  })

  it("fits the vocabulary on the train transcripts only", () => {
    const { report } = readMosiReal(files, DIR)
    const trainWords = new Set(dataset.splits.train.rawText!.flatMap((t) => tokenize(t)))
    const vocabulary = dataset.splits.test.tokens!.vocabulary
    expect(vocabulary.slice(0, 2)).toEqual(["<pad>", "<unk>"])
    expect(vocabulary.length).toBe(report.vocabularySize)
    expect(vocabulary.slice(2).every((w) => trainWords.has(w))).toBe(true)
    // a word of a test transcript never seen in train is <unk>
    const test = dataset.splits.test
    let checked = 0
    for (let i = 0; i < test.n && checked < 5; i++) {
      const words = tokenize(test.rawText![i])
      words.forEach((w, t) => {
        if (!trainWords.has(w) && t < test.tokens!.steps) {
          expect(test.tokens!.ids[i * test.tokens!.steps + t]).toBe(UNK_ID)
          checked++
        }
      })
    }
    expect(checked).toBeGreaterThan(0)
  })

  it("chooses maxSteps so that at least 95% of train transcripts fit, and honours an explicit one", () => {
    const { report } = readMosiReal(files, DIR)
    const train = dataset.splits.train
    expect(train.tokens!.steps).toBe(report.maxSteps)
    expect(train.features.text!.steps).toBe(report.maxSteps)
    const fit = train.rawText!.filter((t) => tokenize(t).length <= report.maxSteps).length
    expect(fit / train.n).toBeGreaterThanOrEqual(0.95)
    expect(fit).toBeLessThan(train.n)
    const short = fromMosiRealFiles(files, DIR, { maxSteps: 7 })
    expect(short.splits.test.tokens!.steps).toBe(7)
    expect(short.splits.test.features.text!.lengths.every((l) => l >= 1 && l <= 7)).toBe(true)
  })

  it("keeps a segment without an audio row, with audio length 0 and mask 0", () => {
    // _dI--eQ6qVU is row 5 of train_x: claim one utterance fewer, so its last segment has no audio
    const lens = (Pickle.isTuple(files.audio) ? files.audio.items[5] : []) as Array<number>
    const cut = withAudio((items) => {
      items[5] = lens.map((l, row) => (row === 5 ? l - 1 : l))
    })
    const { dataset: d, report } = readMosiReal(cut, DIR)
    const last = `_dI--eQ6qVU_${lens[5]}`
    expect(report.missingAudio).toEqual({ train: [], valid: [last], test: [] })
    const valid = d.splits.valid
    const i = valid.ids.indexOf(last)
    expect(valid.n).toBe(229)
    expect(valid.mask[i * 3 + 1]).toBe(0)
    expect(valid.features.audio!.lengths[i]).toBe(0)
    expect(valid.features.audio!.data.subarray(i * AUDIO_DIM, (i + 1) * AUDIO_DIM).every((v) => v === 0)).toBe(true)
  })

  it("replaces non-finite audio values by 0 and counts them", () => {
    const withNaN = withAudio((items) => {
      const x = items[0] as NumericNdArray
      const data = Float64Array.from(x.data)
      data[(5 * x.shape[1] + 1) * AUDIO_DIM] = NaN // _dI--eQ6qVU segment 2, first feature
      data[(5 * x.shape[1] + 1) * AUDIO_DIM + 1] = -Infinity
      items[0] = make("float64", x.shape, data)
    })
    const valid = fromMosiRealFiles(withNaN, DIR).splits.valid
    const i = valid.ids.indexOf("_dI--eQ6qVU_2")
    expect(valid.nonfiniteReplaced.audio).toBe(2)
    expect(Array.from(valid.features.audio!.data.subarray(i * AUDIO_DIM, i * AUDIO_DIM + 3))).toEqual([0, 0, 0.05298500135540962])
  })
})

describe("fromMosiRealFiles on corrupted copies", () => {
  const expectError = (c: { dir: string; run: () => Dataset }, file: string, ...reason: Array<string>) => {
    const e = formatError(c.run)
    expect(e.file).toBe(`${c.dir}/${file}`)
    for (const r of reason) expect(e.reason).toContain(r)
  }

  it("names labels.csv and the line of a bad label", () => {
    expectError(loadCorrupted("labelsCsv", (t) => editLine(t, 3, (l) => l.replace(/,[^,]*$/, ",abc"))), "labels.csv", "line 3")
    expectError(loadCorrupted("labelsCsv", (t) => editLine(t, 4, (l) => l.replace(/,[^,]*$/, ",nan"))), "labels.csv", "line 4")
    expectError(loadCorrupted("labelsCsv", (t) => editLine(t, 7, (l) => l.replace(/,[^,]*$/, ",3.5"))), "labels.csv", "line 7", "[-3, 3]")
    expectError(loadCorrupted("labelsCsv", (t) => editLine(t, 5, (l) => l.split(",").slice(0, 4).join(","))), "labels.csv", "line 5", "5 fields")
    expectError(loadCorrupted("labelsCsv", (t) => editLine(t, 9, (l) => l.replace(/,(\d+),([^,]*)$/, ",x,$2"))), "labels.csv", "line 9", "segment_index")
  })

  it("names a duplicated segment", () => {
    expectError(loadCorrupted("labelsCsv", (t) => editLine(t, 2, () => t.split("\n")[0])), "labels.csv", "line 2", "repeats line 1")
  })

  it("names transcripts.tsv for a missing transcript or a malformed line", () => {
    expectError(loadCorrupted("transcriptsTsv", (t) => t.replace("_dI--eQ6qVU_2\tAND I LOVED IT\n", "")), "transcripts.tsv", "_dI--eQ6qVU_2")
    expectError(loadCorrupted("transcriptsTsv", (t) => editLine(t, 4, (l) => l.replace("\t", " "))), "transcripts.tsv", "line 4")
    expectError(loadCorrupted("transcriptsTsv", (t) => t.replace("segment_id\ttext", "id\ttext")), "transcripts.tsv", "line 1")
  })

  it("names folds.json and the key of an unknown video", () => {
    const unknown = loadCorrupted("foldsJson", (t) => {
      const folds = JSON.parse(t) as Record<string, Array<string>>
      folds.test.push("not-a-video")
      return JSON.stringify(folds)
    })
    expectError(unknown, "folds.json", "test[31]", "not-a-video")
    expectError(loadCorrupted("foldsJson", (t) => t.slice(0, 20)), "folds.json", "invalid JSON")
  })

  it("names audio_video_ids.json when the ids do not match the pickle rows", () => {
    const dropped = loadCorrupted("audioVideoIdsJson", (t) => {
      const ids = JSON.parse(t) as Record<string, Array<string>>
      ids.test.pop()
      return JSON.stringify(ids)
    })
    expectError(dropped, "audio_video_ids.json", "30 video ids", "31 rows")
  })

  it("names the pickle when it is not the 7-tuple", () => {
    const e = formatError(() => fromMosiRealFiles({ ...files, audio: [1, 2] }, "/x"))
    expect(e.file).toBe("/x/audio_openSMILE.pickle")
  })
})
