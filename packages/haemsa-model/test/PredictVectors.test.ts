/**
 * `haemsa predict` on a model whose text features are word vectors (+ lexicon): a small GloVe file
 * written by the test (every other training word and one word seen only in the test split), mosi-real
 * read with it, the checkpoint storing the training vocabulary's vectors (`DataInfo.fromDataset` with
 * text settings). Prediction rebuilds exactly the features the model was scored on; a word outside the
 * training vocabulary takes the full vectors while the file exists, and the unknown vector (counted,
 * with a note) once it is gone.
 */
import type { Dataset } from "@haemsa/datasets"
import { DatasetLoader, Normalize, Tokenizer, WordVectors } from "@haemsa/datasets"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Checkpoint from "../src/model/Checkpoint"
import * as DataInfo from "../src/model/DataInfo"
import * as Evaluate from "../src/model/Evaluate"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import type * as Predict from "../src/model/Predict"
import { buildNet, cli, MOSI_REAL, tempCacheFolder, tinySpec, transcriptWords, useCpu, writeVectorFile } from "./Support"

let root: string
let checkpoint: string
let vectorFile: string
let vectors: WordVectors.WordVectors
let info: DataInfo.DataInfo
let test: Dataset.Split
/** The model's predictions on the test split with the audio masked (as the checkpoint scores it). */
let scored: Float32Array
/** A word of the test transcripts that no training transcript has, in the vector file. */
let testOnly: string
let trainWords: Set<string>
const folder = tempCacheFolder("haemsa-predict-vectors-")

beforeAll(async () => {
  await useCpu()
  root = folder.make()
  const plain = await Effect.runPromise(DatasetLoader.load(MOSI_REAL))
  trainWords = transcriptWords(plain.splits.train)
  testOnly = [...transcriptWords(plain.splits.test)].filter((w) => !trainWords.has(w)).sort()[0]
  const inFile = [...[...trainWords].sort().filter((_, i) => i % 2 === 0), testOnly]
  vectorFile = path.join(root, "vectors.txt")
  writeVectorFile(vectorFile, inFile)
  vectors = await Effect.runPromise(WordVectors.load(vectorFile))

  const raw = await Effect.runPromise(DatasetLoader.load(MOSI_REAL, { textFeatures: { vectors, lexicon: true } }))
  const { dataset, stats } = Normalize.normalize(raw)
  info = DataInfo.fromDataset(dataset, stats, { kind: "vectors", lexicon: true, vectors, source: vectorFile })
  const spec = tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"], modalityGates: { anchor: "text", init: 0.3 } })
  const net = buildNet(spec, info, 5)
  try {
    const metrics = await Evaluate.evaluate(net, dataset.splits.valid)
    const extra: Experiment.CheckpointExtra = { info, seed: 5, source: MOSI_REAL, valid: metrics, test: metrics }
    checkpoint = path.join(root, "ckpt")
    await Checkpoint.save(checkpoint, { spec, extra, weights: await Experiment.readWeights(net) })
    test = dataset.splits.test
    const mask = Uint8Array.from(test.mask)
    for (let i = 0; i < test.n; i++) mask[i * 3 + 1] = 0
    scored = (await Evaluate.predict(net, { ...test, mask })).regression!
  } finally {
    Network.dispose(net)
  }
}, 120_000)
afterAll(folder.restore)

const predict = (...argv: string[]) => cli("predict", "--checkpoint", checkpoint, "--backend", "cpu", ...argv)

const predictJson = async (...argv: string[]): Promise<{ predictions: Array<Predict.Prediction>; err: string[] }> => {
  const r = await predict(...argv, "--json", "-")
  expect(r.code, r.stderr).toBe(0)
  return { predictions: JSON.parse(r.out.join("\n")).predictions, err: r.err }
}

/** The words of `text` (the first `steps`) without a vector in `lookup`. */
const unknownIn = (text: string, known: (w: string) => boolean) =>
  Tokenizer.tokenize(text).slice(0, info.features.text!.steps).filter((w) => !known(w)).length

describe("haemsa predict: a model on word vectors + lexicon", () => {
  it("the checkpoint stores the text settings and the vectors of the training words that have one", () => {
    expect(info.features.text!.dim).toBe(3 + 4)
    const text = info.text!
    expect(text).toMatchObject({ kind: "vectors", lexicon: true, lowercase: true, source: vectorFile })
    const stored = text.vectors!
    expect(stored.dim).toBe(3)
    expect(stored.words).toEqual([...trainWords].sort().filter((_, i) => i % 2 === 0))
    expect(stored.words).not.toContain(testOnly)
    expect(stored.unknown).toEqual(Array.from(vectors.unknown))
    const loaded = WordVectors.fromJson(stored, "stored")
    for (const w of stored.words.slice(0, 20)) expect(WordVectors.lookup(loaded, w)).toEqual(WordVectors.lookup(vectors, w))
  })

  it("predicts the test transcripts as the model scored them (vectors from the checkpoint and the file, lexicon, tokens)", async () => {
    const withTestOnly = test.rawText!.findIndex((t) => Tokenizer.tokenize(t).slice(0, info.features.text!.steps).includes(testOnly))
    expect(withTestOnly).toBeGreaterThanOrEqual(0)
    const rows = [...new Set([withTestOnly, 0, 1, 2, 3, 4])]
    const samples = rows.map((i) => ({ id: test.ids[i], transcript: test.rawText![i] }))
    const file = path.join(root, "test.json")
    fs.writeFileSync(file, JSON.stringify({ samples }))
    const { err, predictions } = await predictJson("--input", file)
    expect(err.filter((l) => !l.includes("cut to the first"))).toEqual([])
    predictions.forEach((p, k) => {
      expect(p.id).toBe(test.ids[rows[k]])
      expect(p.sentiment).toBe(Math.round(scored[rows[k]] * 1e4) / 1e4)
      expect(p.unknownTokens).toBe(unknownIn(samples[k].transcript, (w) => WordVectors.rowOf(vectors, w) >= 0))
    })
  })

  it("a word outside the training vocabulary: the full vectors while the file exists, else the unknown vector (counted, with a note)", async () => {
    const text = `this movie was ${testOnly} zorbly`
    const withFile = await predictJson("--text", text)
    expect(withFile.err).toEqual([])
    const [a] = withFile.predictions
    expect(a.tokens).toBe(5)
    const storedWords = new Set(info.text!.vectors!.words)
    expect(a.unknownTokens).toBe(unknownIn(text, (w) => WordVectors.rowOf(vectors, w) >= 0))

    const moved = `${vectorFile}.moved`
    fs.renameSync(vectorFile, moved)
    try {
      const without = await predictJson("--text", text)
      expect(without.err).toHaveLength(1)
      expect(without.err[0]).toMatch(
        new RegExp(`^haemsa: note: cannot use the full word vectors: .*vectors\\.txt.*: a word outside the checkpoint's ${storedWords.size} training words gets the unknown vector \\(counted in unknownTokens\\)$`)
      )
      const [b] = without.predictions
      expect(b.unknownTokens).toBe(unknownIn(text, (w) => storedWords.has(w)))
      expect(b.unknownTokens).toBe(a.unknownTokens! + 1)
      expect(b.sentiment).not.toBe(a.sentiment)
      // a text of training words only predicts the same either way
      const known = [...storedWords].slice(0, 6).join(" ")
      const [c] = (await predictJson("--text", known)).predictions
      fs.renameSync(moved, vectorFile)
      const [d] = (await predictJson("--text", known)).predictions
      expect(c).toEqual(d)
      expect(c.unknownTokens).toBe(0)
    } finally {
      if (fs.existsSync(moved)) fs.renameSync(moved, vectorFile)
    }
  })
})
