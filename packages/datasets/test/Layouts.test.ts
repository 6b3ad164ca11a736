import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import type { Dataset, SplitName } from "../src/Dataset"
import { IEMOCAP_EMOTIONS, SPLITS } from "../src/Dataset"
import * as Mmsa from "../src/Mmsa"
import * as Mult from "../src/Mult"
import type { NdArray } from "../src/NdArray"
import type { PyValue } from "../src/Pickle"
import * as Pickle from "../src/Pickle"
import { fixture } from "./support/Paths"
import { formatError } from "./support/Throws"

interface ExpectedSplit {
  readonly n: number
  readonly regression_labels: ReadonlyArray<number>
  readonly id: ReadonlyArray<string>
  readonly audio_sum_finite: number
  readonly text_shape: ReadonlyArray<number>
  readonly audio_shape: ReadonlyArray<number>
  readonly vision_shape: ReadonlyArray<number>
  readonly vision_first: number
}

const expected = JSON.parse(fs.readFileSync(fixture("expected.json"), "utf8")) as Record<SplitName, ExpectedSplit>

const read = (name: string): { readonly file: string; readonly value: PyValue } => {
  const file = fixture(name)
  return { file, value: Pickle.parse(new Uint8Array(fs.readFileSync(file)), { file }) }
}

const mmsa = read("mmsa_aligned.pkl")
const mosi = read("mult_mosi.pkl")
const iemocap = read("mult_iemocap.pkl")

const sum = (xs: Float32Array): number => xs.reduce((a, b) => a + b, 0)

/** Check a sentiment dataset against expected.json (text dim given: 768 for MMSA, 300 for MulT). */
const checkAgainstExpected = (dataset: Dataset, textDim: number) => {
  for (const name of SPLITS) {
    const split = dataset.splits[name]
    const want = expected[name]
    expect(split.n).toBe(want.n)
    expect(split.ids).toEqual(want.id)
    expect(Array.from(split.labels.regression ?? [])).toEqual(want.regression_labels)
    const { text, audio, vision } = split.features
    expect([audio?.n, audio?.steps, audio?.dim]).toEqual(want.audio_shape)
    expect([vision?.n, vision?.steps, vision?.dim]).toEqual(want.vision_shape)
    expect([text?.n, text?.steps, text?.dim]).toEqual([want.text_shape[0], want.text_shape[1], textDim])
    expect(sum(audio!.data)).toBeCloseTo(want.audio_sum_finite, 3)
    expect(vision!.data[0]).toBe(want.vision_first)
    expect(split.mask.length).toBe(3 * want.n)
  }
}

/** A copy of a dict with `key` replaced by `value` (or removed when value is undefined). */
const withField = (dict: Pickle.PyDict, key: string, value: PyValue | undefined): Pickle.PyDict => {
  const out = new Pickle.PyDict()
  for (const [k, v] of dict.entries) {
    if (k !== key) out.set(k, v)
    else if (value !== undefined) out.set(k, value)
  }
  return out
}

/** The root with `split.key` changed. */
const withSplitField = (root: PyValue, split: SplitName, key: string, value: PyValue | undefined): PyValue => {
  const r = root as Pickle.PyDict
  return withField(r, split, withField(r.get(split) as Pickle.PyDict, key, value))
}

/** A float32 array of the given shape holding `data`. */
const float32Of = (shape: ReadonlyArray<number>, data: Float32Array): NdArray => ({ _tag: "NdArray", dtype: "float32", shape, data })

const float32 = (shape: Array<number>, fill = 0): NdArray => ({
  _tag: "NdArray",
  dtype: "float32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill)
})

describe("layout detection", () => {
  it("tells MMSA and MulT files apart", () => {
    expect(Mmsa.isMmsa(mmsa.value)).toBe(true)
    expect(Mult.isMult(mmsa.value)).toBe(false)
    for (const { value } of [mosi, iemocap]) {
      expect(Mult.isMult(value)).toBe(true)
      expect(Mmsa.isMmsa(value)).toBe(false)
    }
    for (const other of [null, 3, [], new Pickle.PyDict(), Pickle.tuple([])] as Array<PyValue>) {
      expect(Mmsa.isMmsa(other)).toBe(false)
      expect(Mult.isMult(other)).toBe(false)
    }
  })
})

describe("Mmsa.fromMmsa", () => {
  const dataset = Mmsa.fromMmsa(mmsa.value, mmsa.file)

  it("reads mmsa_aligned.pkl as expected.json describes", () => {
    expect(dataset.name).toBe("mmsa_aligned")
    expect(dataset.format).toBe("mmsa-pickle")
    expect(dataset.task).toBe("sentiment")
    checkAgainstExpected(dataset, 768)
  })

  it("replaces the -inf in the audio by 0 and counts it", () => {
    for (const name of SPLITS) {
      const split = dataset.splits[name]
      expect(split.nonfiniteReplaced).toEqual({ text: 0, audio: 1, vision: 0 })
      expect(split.features.audio!.data.every(Number.isFinite)).toBe(true)
    }
  })

  it("keeps lengths, raw text and the modality mask", () => {
    const train = dataset.splits.train
    expect(Array.from(train.features.audio!.lengths)).toEqual([29, 22, 48, 48, 9, 47])
    expect(Array.from(train.features.vision!.lengths)).toEqual([20, 12, 37, 33, 5, 50])
    expect(Array.from(train.features.text!.lengths)).toEqual([50, 50, 50, 50, 50, 50])
    expect(train.rawText?.slice(0, 2)).toEqual(["tr utterance 0 is bad", "tr utterance 1 is good"])
    expect(Array.from(train.mask)).toEqual(new Array(18).fill(1))
  })

  it("takes text lengths from the text_bert mask, else from the zero padding", () => {
    const train = (mmsa.value as Pickle.PyDict).get("train") as Pickle.PyDict
    const text = train.get("text") as NdArray
    const [n, steps, dim] = text.shape
    // zero the last 20 steps of sample 0 and drop text_bert: length 30
    const padded = new Float32Array(text.data as Float32Array)
    padded.fill(0, 30 * dim, steps * dim)
    const padText = withSplitField(mmsa.value, "train", "text", float32Of(text.shape, padded))
    const lengths = Mmsa.fromMmsa(withSplitField(padText, "train", "text_bert", undefined), "f.pkl").splits.train.features.text!.lengths
    expect(lengths[0]).toBe(30)
    expect(lengths[1]).toBe(steps)
    // a text_bert mask with 12 ones for every sample
    const bert = float32([n, 3, steps])
    for (let i = 0; i < n; i++) (bert.data as Float32Array).fill(1, (i * 3 + 1) * steps, (i * 3 + 1) * steps + 12)
    const withMask = Mmsa.fromMmsa(withSplitField(mmsa.value, "train", "text_bert", bert), "f.pkl")
    expect(Array.from(withMask.splits.train.features.text!.lengths)).toEqual(new Array(n).fill(12))
  })

  it("uses length T and mask 1 when the length lists are absent", () => {
    const value = withSplitField(withSplitField(mmsa.value, "valid", "audio_lengths", undefined), "valid", "vision_lengths", undefined)
    const valid = Mmsa.fromMmsa(value, "f.pkl").splits.valid
    expect(Array.from(valid.features.audio!.lengths)).toEqual([50, 50, 50])
    expect(Array.from(valid.features.vision!.lengths)).toEqual([50, 50, 50])
  })

  it("sets the mask to 0 where a modality has length 0", () => {
    const value = withSplitField(mmsa.value, "test", "vision_lengths", [0, 33, 22])
    const test = Mmsa.fromMmsa(value, "f.pkl").splits.test
    expect(Array.from(test.mask)).toEqual([1, 1, 0, 1, 1, 1, 1, 1, 1])
  })

  it("reports layout problems as FormatError naming the file and the key", () => {
    const file = "data/aligned_50.pkl"
    const cases: Array<[PyValue, RegExp]> = [
      [withSplitField(mmsa.value, "train", "vision", undefined), /train: missing key "vision"/],
      [withField(mmsa.value as Pickle.PyDict, "test", undefined), /missing key "test"/],
      [withSplitField(mmsa.value, "valid", "audio", float32([3, 50])), /valid\.audio: expected 3 dimensions/],
      [withSplitField(mmsa.value, "train", "vision", float32([5, 50, 20])), /train\.vision: has 5 samples, the split's audio has 6/],
      [withSplitField(mmsa.value, "train", "id", ["a", "b"]), /train\.id: has 2 samples/],
      [withSplitField(mmsa.value, "train", "id", [1, 2, 3, 4, 5, 6]), /train\.id\[0\]: expected a str/],
      [withSplitField(mmsa.value, "test", "regression_labels", float32([3], NaN)), /test\.regression_labels: label 0 = NaN/],
      [withSplitField(mmsa.value, "test", "regression_labels", float32([3], 4)), /label 0 = 4 is not a sentiment in \[-3, 3\]/],
      [withSplitField(mmsa.value, "test", "regression_labels", float32([2])), /expected 3 labels/],
      [withSplitField(mmsa.value, "train", "audio_lengths", [1, 2, 3, 4, 5, 51]), /train\.audio_lengths: length 5 = 51 is outside \[0, 50\]/],
      [withSplitField(mmsa.value, "train", "audio", "audio"), /train\.audio: expected a numeric numpy array, got str/],
      [withField(mmsa.value as Pickle.PyDict, "train", [1]), /train: expected a dict, got list/],
      [[1, 2], /expected a dict, got list/]
    ]
    for (const [value, reason] of cases) {
      const e = formatError(() => Mmsa.fromMmsa(value, file))
      expect(e.file).toBe(file)
      expect(e.format).toBe("mmsa-pickle")
      expect(e.reason).toMatch(reason)
    }
  })

  it("does not modify the parsed value", () => {
    const audio = ((mmsa.value as Pickle.PyDict).get("train") as Pickle.PyDict).get("audio") as NdArray
    expect((audio.data as Float32Array).some((x) => x === -Infinity)).toBe(true)
  })
})

describe("Mult.fromMult", () => {
  it("reads mult_mosi.pkl (same ids, labels, audio and vision as expected.json)", () => {
    const dataset = Mult.fromMult(mosi.value, mosi.file)
    expect(dataset.name).toBe("mult_mosi")
    expect(dataset.format).toBe("mult-pickle")
    expect(dataset.task).toBe("sentiment")
    expect(dataset.emotions).toBeUndefined()
    checkAgainstExpected(dataset, 300)
    for (const name of SPLITS) {
      const split = dataset.splits[name]
      expect(split.nonfiniteReplaced).toEqual({ text: 0, audio: 0, vision: 0 })
      expect(Array.from(split.features.audio!.lengths)).toEqual(new Array(split.n).fill(50))
      expect(Array.from(split.mask)).toEqual(new Array(3 * split.n).fill(1))
    }
  })

  it("reads mult_iemocap.pkl as four binary emotions", () => {
    const dataset = Mult.fromMult(iemocap.value, iemocap.file)
    expect(dataset.task).toBe("emotions")
    expect(dataset.emotions).toEqual(IEMOCAP_EMOTIONS)
    const sizes = { train: 8, valid: 4, test: 4 }
    for (const name of SPLITS) {
      const split = dataset.splits[name]
      expect(split.n).toBe(sizes[name])
      expect(split.ids).toEqual(Array.from({ length: sizes[name] }, (_, i) => `${name}_${i}`))
      expect([split.features.text!.dim, split.features.audio!.dim, split.features.vision!.dim]).toEqual([300, 74, 35])
      expect(split.features.text!.steps).toBe(20)
      expect(split.labels.regression).toBeUndefined()
      expect(split.labels.emotions!.length).toBe(4 * sizes[name])
    }
    // labels[..., 1] of the fixture, read with numpy at authoring time
    expect(Array.from(dataset.splits.train.labels.emotions!.subarray(0, 12))).toEqual([0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 1, 1])
    expect(Array.from(dataset.splits.valid.labels.emotions!)).toEqual([1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1])
    expect(dataset.splits.train.features.vision!.data[0]).toBe(-0.5939735174179077)
    expect(sum(dataset.splits.valid.features.audio!.data)).toBeCloseTo(90.28197358304169, 3)
  })

  it("joins video and clip columns when the first id column is a bare video id", () => {
    const ids: NdArray = { _tag: "NdArray", dtype: "unicode", shape: [3, 3], data: ["vid", "1", "x", "vid", "2", "x", "w", "7", "x"] }
    const test = Mult.fromMult(withSplitField(mosi.value, "test", "id", ids), "f.pkl").splits.test
    expect(test.ids).toEqual(["vid$_$1", "vid$_$2", "w$_$7"])
  })

  it("reports layout problems as FormatError naming the file and the key", () => {
    const file = "mosei_senti_data.pkl"
    const validLabels = ((iemocap.value as Pickle.PyDict).get("valid") as Pickle.PyDict).get("labels") as NdArray
    const notOneHot = float32Of(validLabels.shape, new Float32Array(validLabels.data as Float32Array).fill(1, 0, 2))
    const cases: Array<[PyValue, RegExp]> = [
      [withSplitField(mosi.value, "valid", "labels", undefined), /valid: missing key "labels"/],
      [withSplitField(mosi.value, "test", "text", float32([3, 50, 300, 1])), /test\.text: expected 3 dimensions/],
      [withSplitField(mosi.value, "test", "audio", float32([2, 50, 5])), /test\.vision: has 3 samples, the split's audio has 2/],
      [withSplitField(mosi.value, "train", "labels", float32([6, 1, 1], 3.5)), /train\.labels: label 0 = 3.5/],
      [withSplitField(mosi.value, "train", "id", float32([6, 3])), /train\.id: expected a \(6, k\) string array/],
      [withSplitField(iemocap.value, "valid", "labels", notOneHot), /valid\.labels: sample 0 neutral: \[1, 1\] is not a one-hot pair/],
      [withSplitField(iemocap.value, "test", "labels", float32([4, 1, 1])), /test\.labels: expected shape \(4, 4, 2\)/]
    ]
    for (const [value, reason] of cases) {
      const e = formatError(() => Mult.fromMult(value, file))
      expect(e.file).toBe(file)
      expect(e.format).toBe("mult-pickle")
      expect(e.reason).toMatch(reason)
    }
  })
})
