// Every format's splits are checked when a dataset is read: too few samples, features of other sizes
// in another split, non-finite labels are a FormatError naming the file, the split and the field, from
// the loader (MMSA and MulT pickles written here, a mosi-real folder with an empty fold) and from the
// pure readers.
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Dataset, SplitName } from "../src/Dataset"
import { SPLITS } from "../src/Dataset"
import * as DatasetCheck from "../src/DatasetCheck"
import * as DatasetLoader from "../src/DatasetLoader"
import type { NdArray } from "../src/NdArray"
import * as Pickle from "../src/Pickle"
import { synthetic } from "../src/Synthetic"
import { MOSI_REAL } from "./support/Paths"
import { writePickle } from "./support/PickleWriter"
import { formatError, invalidOption } from "./support/Throws"

/** Per split: samples, and per modality steps x dim. */
interface Shape {
  readonly n: number
  readonly steps?: Partial<Record<"text" | "audio" | "vision", number>>
  readonly dims?: Partial<Record<"text" | "audio" | "vision", number>>
}

const STEPS = { text: 4, audio: 4, vision: 4 }
const DIMS = { text: 6, audio: 5, vision: 3 }

const float32 = (shape: ReadonlyArray<number>, fill: (i: number) => number = (i) => (i % 7) / 7): NdArray => {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1))
  for (let i = 0; i < data.length; i++) data[i] = fill(i)
  return { _tag: "NdArray", dtype: "float32", shape, data }
}

const dict = (entries: ReadonlyArray<readonly [string, Pickle.PyValue]>): Pickle.PyDict => {
  const d = new Pickle.PyDict()
  for (const [k, v] of entries) d.set(k, v)
  return d
}

const features = (shape: Shape): Array<readonly [string, Pickle.PyValue]> =>
  (["text", "audio", "vision"] as const).map((m) => [m, float32([shape.n, shape.steps?.[m] ?? STEPS[m], shape.dims?.[m] ?? DIMS[m]])])

const labelsOf = (n: number, labels?: ReadonlyArray<number>): Float32Array =>
  Float32Array.from({ length: n }, (_, i) => labels?.[i] ?? ((i % 5) - 2) / 2)

/** An MMSA layout pickle: per split text/audio/vision, id, regression_labels (n,), raw_text. */
const mmsa = (shapes: Record<SplitName, Shape>, labels: Partial<Record<SplitName, ReadonlyArray<number>>> = {}): Uint8Array =>
  writePickle(
    dict(SPLITS.map((name) => {
      const { n } = shapes[name]
      return [name, dict([
        ...features(shapes[name]),
        ["id", Array.from({ length: n }, (_, i) => `${name}vid$_$${i}`)],
        ["raw_text", Array.from({ length: n }, (_, i) => `words ${i}`)],
        ["regression_labels", { _tag: "NdArray", dtype: "float32", shape: [n], data: labelsOf(n, labels[name]) }]
      ])] as const
    })),
    { protocol: 4 }
  )

/** A MulT layout pickle: per split text/audio/vision and labels (n, 1, 1) or IEMOCAP's (n, 4, 2). */
const mult = (shapes: Record<SplitName, Shape>, task: "sentiment" | "emotions" = "sentiment"): Uint8Array =>
  writePickle(
    dict(SPLITS.map((name) => {
      const { n } = shapes[name]
      const labels: NdArray = task === "sentiment"
        ? { _tag: "NdArray", dtype: "float32", shape: [n, 1, 1], data: labelsOf(n) }
        : float32([n, 4, 2], (i) => (i % 2 === 0 ? 1 : 0))
      return [name, dict([...features(shapes[name]), ["labels", labels]])] as const
    })),
    { protocol: 2 }
  )

const sizes = (train: number, valid: number, test: number, extra: Partial<Record<SplitName, Omit<Shape, "n">>> = {}): Record<SplitName, Shape> => ({
  train: { n: train, ...extra.train },
  valid: { n: valid, ...extra.valid },
  test: { n: test, ...extra.test }
})

let tmp: string
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-dataset-check-"))
})
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true })
})

let written = 0
/** Write `bytes` to a fresh file and load it with the DatasetLoader: its failure, or the dataset. */
const load = (bytes: Uint8Array) => {
  const file = path.join(tmp, `case${written++}.pkl`)
  fs.writeFileSync(file, bytes)
  return { file, exit: Effect.runPromise(Effect.result(DatasetLoader.load(file))) }
}

/** The message the loader fails with for `bytes`, with the file's name replaced by `x.pkl`. */
const failure = async (bytes: Uint8Array): Promise<string> => {
  const { exit, file } = load(bytes)
  const result = await exit
  if (result._tag === "Success") throw new Error(`${file} loaded`)
  expect(result.failure._tag).toBe("FormatError")
  expect(result.failure.message.startsWith(`${file}: `)).toBe(true)
  return result.failure.message.replace(file, "x.pkl")
}

describe("split checks at load: MMSA layout", () => {
  it("a well-formed file loads", async () => {
    const result = await load(mmsa(sizes(4, 2, 2))).exit
    expect(result._tag).toBe("Success")
  })

  it("refuses a split with too few samples, naming the split", async () => {
    expect(await failure(mmsa(sizes(0, 2, 2)))).toBe("x.pkl: not a valid mmsa-pickle file: split train has 0 samples (need at least 2)")
    expect(await failure(mmsa(sizes(1, 2, 2)))).toBe("x.pkl: not a valid mmsa-pickle file: split train has 1 sample (need at least 2)")
    expect(await failure(mmsa(sizes(4, 0, 2)))).toBe("x.pkl: not a valid mmsa-pickle file: split valid has 0 samples (need at least 1)")
    expect(await failure(mmsa(sizes(4, 2, 0)))).toBe("x.pkl: not a valid mmsa-pickle file: split test has 0 samples (need at least 1)")
  })

  it("refuses features whose size differs between splits, naming the modality and the splits", async () => {
    expect(await failure(mmsa(sizes(4, 2, 2, { test: { dims: { audio: 6 } } })))).toBe(
      "x.pkl: not a valid mmsa-pickle file: audio has 5 features in train but 6 in test"
    )
    expect(await failure(mmsa(sizes(4, 2, 2, { valid: { steps: { vision: 3 } } })))).toBe(
      "x.pkl: not a valid mmsa-pickle file: vision has 4 steps in train but 3 in valid"
    )
  })

  it("refuses a NaN label, naming the split, the field and the sample", async () => {
    expect(await failure(mmsa(sizes(4, 2, 2), { train: [0, 1, Number.NaN, 1] }))).toBe(
      "x.pkl: not a valid mmsa-pickle file: train.regression_labels: label 2 = NaN is not a sentiment in [-3, 3]"
    )
  })
})

describe("split checks at load: MulT layout", () => {
  it("a well-formed file loads, sentiment and emotions", async () => {
    expect((await load(mult(sizes(4, 2, 2))).exit)._tag).toBe("Success")
    expect((await load(mult(sizes(4, 2, 2), "emotions")).exit)._tag).toBe("Success")
  })

  it("refuses a split with too few samples", async () => {
    expect(await failure(mult(sizes(1, 2, 2)))).toBe("x.pkl: not a valid mult-pickle file: split train has 1 sample (need at least 2)")
    expect(await failure(mult(sizes(4, 0, 2)))).toBe("x.pkl: not a valid mult-pickle file: split valid has 0 samples (need at least 1)")
    expect(await failure(mult(sizes(4, 2, 0), "emotions"))).toBe("x.pkl: not a valid mult-pickle file: split test has 0 samples (need at least 1)")
  })

  it("refuses features whose size differs between splits", async () => {
    expect(await failure(mult(sizes(4, 2, 2, { test: { dims: { text: 7 } } })))).toBe(
      "x.pkl: not a valid mult-pickle file: text has 6 features in train but 7 in test"
    )
    expect(await failure(mult(sizes(4, 2, 2, { valid: { steps: { audio: 5 } } }), "emotions"))).toBe(
      "x.pkl: not a valid mult-pickle file: audio has 4 steps in train but 5 in valid"
    )
  })
})

describe("split checks at load: a mosi-real folder", () => {
  it("refuses a fold without segments, naming the folds file", async () => {
    const dir = fs.mkdtempSync(path.join(tmp, "mosi-real-"))
    for (const f of DatasetLoader.MOSI_REAL_FILES) fs.copyFileSync(path.join(MOSI_REAL, f), path.join(dir, f))
    const folds = JSON.parse(fs.readFileSync(path.join(dir, "folds.json"), "utf8")) as Record<SplitName, Array<string>>
    fs.writeFileSync(path.join(dir, "folds.json"), JSON.stringify({ train: [...folds.train, ...folds.valid], valid: [], test: folds.test }))
    const error = await Effect.runPromise(Effect.flip(DatasetLoader.load(dir)))
    expect(error._tag).toBe("FormatError")
    expect(error.message).toBe(`${dir}/folds.json: not a valid mosi-real file: split valid has 0 samples (need at least 1)`)
  })
})

describe("DatasetCheck.problem on datasets built in memory", () => {
  const base: Dataset = synthetic({ seed: 1, sizes: { train: 6, valid: 3, test: 3 }, steps: 5, dims: { text: 4, audio: 3, vision: 2 } })
  const withSplit = (name: SplitName, edit: (s: Dataset["splits"][SplitName]) => Dataset["splits"][SplitName]): Dataset => ({
    ...base,
    splits: { ...base.splits, [name]: edit(base.splits[name]) }
  })

  it("finds nothing wrong with the synthetic data", () => {
    expect(DatasetCheck.problem(base)).toBeUndefined()
  })

  it("a non-finite label, naming the split, the field and the index", () => {
    const nan = withSplit("train", (s) => {
      const regression = Float32Array.from(s.labels.regression!)
      regression[4] = Number.NaN
      return { ...s, labels: { regression } }
    })
    expect(DatasetCheck.problem(nan)).toBe("train regression_labels[4] is NaN")
    expect(formatError(() => DatasetCheck.checkSplits(nan, "x.pkl")).message).toBe(
      "x.pkl: not a valid synthetic file: train regression_labels[4] is NaN"
    )
  })

  it("a modality in one split only, and token ids of another length or vocabulary", () => {
    const noAudio = withSplit("test", (s) => ({ ...s, features: { text: s.features.text!, vision: s.features.vision! } }))
    expect(DatasetCheck.problem(noAudio)).toBe("audio is in train but not in test")
    const tokens = (steps: number, vocabulary: ReadonlyArray<string>, n: number) => ({
      n,
      steps,
      ids: new Int32Array(n * steps),
      lengths: new Int32Array(n).fill(1),
      vocabulary
    })
    const tokenized: Dataset = {
      ...base,
      splits: {
        train: { ...base.splits.train, tokens: tokens(5, ["<pad>", "<unk>", "a"], 6) },
        valid: { ...base.splits.valid, tokens: tokens(5, ["<pad>", "<unk>", "a"], 3) },
        test: { ...base.splits.test, tokens: tokens(5, ["<pad>", "<unk>", "b"], 3) }
      }
    }
    expect(DatasetCheck.problem(tokenized)).toBe("text tokens of test use another vocabulary than train's")
    const shorter = { ...tokenized, splits: { ...tokenized.splits, test: { ...base.splits.test, tokens: tokens(4, ["<pad>", "<unk>", "a"], 3) } } }
    expect(DatasetCheck.problem(shorter)).toBe("text tokens have 5 steps in train but 4 in test")
  })

  it("labels and ids that do not match the split's size", () => {
    expect(DatasetCheck.problem(withSplit("valid", (s) => ({ ...s, ids: s.ids.slice(1) })))).toBe("valid has 2 ids for 3 samples")
    expect(DatasetCheck.problem(withSplit("test", (s) => ({ ...s, labels: {} })))).toBe("test has no regression_labels")
  })

  it("synthetic refuses a train split of one sample as an option", () => {
    expect(invalidOption(() => synthetic({ sizes: { train: 1 } })).option).toBe("sizes.train")
  })
})
