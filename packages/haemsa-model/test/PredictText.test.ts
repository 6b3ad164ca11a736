/**
 * `haemsa predict` on raw text: `--text` and transcripts in `--input` on a checkpoint trained for one
 * epoch on mosi-real (with learned modality gates), what each prediction carries (sentiment, class7,
 * attention, gates, words read and unknown), a missing modality masked (its expert's attention and its
 * gate 0, the prediction that of the same sample with its audio mask 0), the transcript winning over a
 * `text` array, the errors (`--text` with `--input`, `--text` on a synthetic checkpoint, a `text` array
 * alone), the table, and a checkpoint written before the text settings were stored.
 */
import { Synthetic, Tokenizer } from "@haemsa/datasets"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as PredictionTable from "../src/cli/PredictionTable"
import * as Checkpoint from "../src/model/Checkpoint"
import type * as DataInfo from "../src/model/DataInfo"
import * as Environment from "../src/Environment"
import * as Evaluate from "../src/model/Evaluate"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import * as Predict from "../src/model/Predict"
import { buildNet, cli, MOSI_REAL, prepare, tinySpec, useCpu } from "./Support"

/** The samples file of examples/predict (the getting-started guide runs it). */
const EXAMPLE = fileURLToPath(new URL("../../../examples/predict/transcripts.json", import.meta.url))

let root: string
/** One epoch on mosi-real, HAEMSA with learned gates (text anchored). */
let mosi: string
/** A checkpoint on the synthetic data. */
let synthetic: string
let info: DataInfo.DataInfo

const write = (name: string, value: unknown): string => {
  const file = path.join(root, name)
  fs.writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value))
  return file
}

beforeAll(async () => {
  await useCpu()
  root = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-predict-text-"))
  mosi = path.join(root, "mosi")
  const spec = write("spec.json", tinySpec("haemsa", "meanpool", { modalityGates: { anchor: "text", init: 0.3 } }))
  const trained = await cli("train", "--data", MOSI_REAL, "--epochs", "1", "--seed", "1", "--spec", spec, "--out", mosi, "--backend", "cpu")
  expect(trained.stderr).not.toMatch(/haemsa: (?!warning)/)
  expect(trained.code).toBe(0)
  info = (JSON.parse(fs.readFileSync(path.join(mosi, Checkpoint.MANIFEST), "utf8")) as { extra: Experiment.CheckpointExtra }).extra.info

  synthetic = path.join(root, "synthetic")
  const data = prepare(Synthetic.synthetic({ sizes: { train: 8, valid: 4, test: 4 }, steps: 3, dims: { text: 2, audio: 2, vision: 2 }, seed: 1 }))
  const net = buildNet(tinySpec(), data.info, 3)
  try {
    const metrics = await Evaluate.evaluate(net, data.dataset.splits.valid)
    const extra: Experiment.CheckpointExtra = { info: data.info, seed: 3, source: "synthetic", valid: metrics, test: metrics }
    await Checkpoint.save(synthetic, { spec: tinySpec(), extra, weights: await Experiment.readWeights(net) })
  } finally {
    Network.dispose(net)
  }
}, 120_000)
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const predict = (...argv: string[]) => cli("predict", "--backend", "cpu", ...argv)

/** The predictions of a `--json -` run (which must succeed). */
const predictions = async (...argv: string[]): Promise<Array<Predict.Prediction>> => {
  const r = await predict(...argv, "--json", "-")
  expect(r.stderr).toBe("")
  expect(r.code).toBe(0)
  const document = JSON.parse(r.out.join("\n")) as { model: string; predictions: Array<Predict.Prediction> }
  expect(document.model).toBe("haemsa")
  return document.predictions
}

/** The audio features of a mosi-real sample: one step of 73 numbers. */
const AUDIO = [Array.from({ length: 73 }, (_, d) => Math.sin(d + 1))]

const LOVED = "I loved this movie, it was great"
/** Words no transcript of MOSI has. */
const MADE_UP = "zorbly"

/** The words of `text` outside the checkpoint's vocabulary. */
const unknownIn = (text: string) => Tokenizer.tokenize(text).filter((w) => !info.tokens!.vocabulary.includes(w)).length

describe("haemsa predict --text", () => {
  it("predicts one raw text (id \"text\"): sentiment, class7, attention per task and expert, gates, words read and unknown", async () => {
    const text = `${LOVED} ${MADE_UP}`
    const [p] = await predictions("--checkpoint", mosi, "--text", text)
    expect(Object.keys(p)).toEqual(["id", "transcript", "sentiment", "class7", "attention", "gates", "tokens", "unknownTokens"])
    expect(p.id).toBe("text")
    expect(p.transcript).toBe(text)
    expect(Number.isFinite(p.sentiment)).toBe(true)
    expect([-3, -2, -1, 0, 1, 2, 3]).toContain(p.class7)
    expect(Object.keys(p.attention!)).toEqual(["regression", "classification"])
    for (const weights of Object.values(p.attention!)) {
      expect(Object.keys(weights)).toEqual(["text", "audio", "unified", "level1", "level2"])
      expect(Object.values(weights).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3)
      // no audio: its expert is masked
      expect(weights.audio).toBe(0)
      expect(weights.text).toBeGreaterThan(0)
    }
    expect(p.gates).toEqual({ text: 1, audio: 0 })
    expect(p.tokens).toBe(8)
    expect(unknownIn(text)).toBeGreaterThanOrEqual(1)
    expect(p.unknownTokens).toBe(unknownIn(text))
  })

  it("the same text in --input gives the same prediction (id aside)", async () => {
    const [fromText] = await predictions("--checkpoint", mosi, "--text", LOVED)
    const [fromFile] = await predictions("--checkpoint", mosi, "--input", write("one.json", { samples: [{ id: "x", transcript: LOVED }] }))
    expect(fromFile).toEqual({ ...fromText, id: "x" })
  })

  it("without --json, a table on stdout: a header, then a line per task with the attention weights", async () => {
    const r = await predict("--checkpoint", mosi, "--text", LOVED)
    expect(r.err).toEqual([])
    expect(r.code).toBe(0)
    expect(r.out).toHaveLength(3)
    expect(r.out[0]).toMatch(/^id +sentiment +class7 +words +unknown +gate text +gate audio +task +text +audio +unified +level1 +level2 +transcript$/)
    const [p] = await predictions("--checkpoint", mosi, "--text", LOVED)
    const layout: PredictionTable.Layout = { gates: ["text", "audio"], words: true, attention: { tasks: ["regression", "classification"], experts: ["text", "audio", "unified", "level1", "level2"] } }
    expect(r.out.slice(1)).toEqual(PredictionTable.lines(layout, p))
    expect(r.out[1]).toMatch(new RegExp(`^text +${p.sentiment!.toFixed(4)} +${p.class7} +7 +${unknownIn(LOVED)} +1\\.0000 +0\\.0000 +regression .* "I loved this movie, it was great"$`))
    expect(r.out[2]).toMatch(/^ +classification +\d\.\d{4}/)
  })

  it("a text longer than the model reads is cut with a warning; --strict-steps refuses it", async () => {
    const steps = info.tokens!.steps
    const long = Array.from({ length: steps + 5 }, () => "good").join(" ")
    const r = await predict("--checkpoint", mosi, "--text", long, "--json", "-")
    expect(r.code).toBe(0)
    expect(r.err).toEqual([`haemsa: warning: --text: ${steps + 5} words, the model reads ${steps}: cut to the first ${steps} (--strict-steps refuses it)`])
    expect(JSON.parse(r.out.join("\n")).predictions[0].tokens).toBe(steps)
    const strict = await predict("--checkpoint", mosi, "--text", long, "--strict-steps")
    expect(strict.code).toBe(1)
    expect(strict.err).toHaveLength(1)
    expect(strict.err[0]).toMatch(/^haemsa: invalid --text = "good good good [^"]*"\.\.\.: /)
    expect(strict.err[0]).toContain(`: has ${steps + 5} words, the model reads at most ${steps} (without --strict-steps it is cut)`)
  })
})

describe("haemsa predict --text: errors", () => {
  it("--text with --input is a usage error (exit 2); neither is one too", async () => {
    const file = write("t.json", { samples: [{ transcript: LOVED }] })
    const both = await predict("--checkpoint", mosi, "--text", LOVED, "--input", file)
    expect(both.code).toBe(2)
    expect(both.err).toEqual(["haemsa: --text and --input cannot be given together: --text predicts one raw text, --input a file of samples"])
    expect(both.out).toEqual([])
    const neither = await predict("--checkpoint", mosi)
    expect(neither.code).toBe(2)
    expect(neither.err).toEqual(["haemsa: give --input FILE (a file of samples) or --text TEXT (one raw text)"])
  })

  it("--text on a checkpoint trained on synthetic data names the checkpoint and its data", async () => {
    const r = await predict("--checkpoint", synthetic, "--text", LOVED)
    expect(r.code).toBe(1)
    expect(r.out).toEqual([])
    expect(r.err).toEqual([
      `haemsa: invalid --text = "I loved this movie, it was great": checkpoint ${synthetic} cannot read raw text: its model was trained on synthetic data ` +
        "and its text is 2 numbers per step, not words; a model trained on mosi-real (haemsa train --data mosi-real) reads raw text"
    ])
  })

  it("a transcript alone on a synthetic-data model: the sample has none of its modalities, and its transcript is not read", async () => {
    const file = write("syn.json", { samples: [{ id: "a", transcript: LOVED }] })
    const r = await predict("--checkpoint", synthetic, "--input", file)
    expect(r.code).toBe(1)
    expect(r.err).toEqual([
      `haemsa: invalid --input ${file} = samples[0]: has none of the model's modalities (text, audio, vision); ` +
        "its transcript is not read: the model was trained on synthetic and its text is 2 numbers per step, not words"
    ])
  })

  it("a text array alone on a mosi-real model is refused: the model reads its text from a transcript", async () => {
    const file = write("array.json", { samples: [{ id: "a", text: [[0.1, 0.2, 0.3, 0.4]] }] })
    const r = await predict("--checkpoint", mosi, "--input", file)
    expect(r.code).toBe(1)
    expect(r.err).toEqual([
      `haemsa: invalid --input ${file} = samples[0].text: the model reads its text from a "transcript" (words: it was trained on mosi-real), not from a "text" feature array`
    ])
  })
})

describe("haemsa predict --input with transcripts", () => {
  it("transcripts only, transcripts + audio, audio missing: the missing audio is masked (attention and gate 0)", async () => {
    const samples = [
      { id: "only", transcript: LOVED },
      { id: "with-audio", transcript: LOVED, audio: AUDIO },
      { id: "sad", transcript: "it was boring and the acting was awful", audio: AUDIO }
    ]
    const [only, withAudio, sad] = await predictions("--checkpoint", mosi, "--input", write("mixed.json", { samples }))
    for (const p of [only, withAudio, sad]) expect(Object.keys(p)).toEqual(["id", "transcript", "sentiment", "class7", "attention", "gates", "tokens", "unknownTokens"])
    for (const task of ["regression", "classification"]) {
      expect(only.attention![task].audio).toBe(0)
      expect(withAudio.attention![task].audio).toBeGreaterThan(0)
    }
    expect(only.gates).toEqual({ text: 1, audio: 0 })
    expect(withAudio.gates!.text).toBe(1)
    expect(withAudio.gates!.audio).toBeGreaterThan(0)
    expect(withAudio.gates!.audio).toBeLessThan(1)
    // the gate is the model's, the same for every sample that has audio
    expect(sad.gates).toEqual(withAudio.gates)
    expect(withAudio.sentiment).not.toBe(only.sentiment)
    expect(sad.sentiment).not.toBe(withAudio.sentiment)
  })

  it("a sample without audio predicts what the same sample with audio and its audio mask 0 predicts (masked, not zero-filled)", async () => {
    const [missing] = await predictions("--checkpoint", mosi, "--input", write("missing.json", { samples: [{ id: "m", transcript: LOVED }] }))
    const { net } = await Effect.runPromise(Experiment.loadNetwork(mosi).pipe(Effect.provide(Environment.parts)))
    try {
      const { split } = Predict.prepare("in-memory", net.info, [{ id: "m", transcript: LOVED, audio: AUDIO }])
      expect(split.mask[1]).toBe(1)
      const mask = Uint8Array.from(split.mask)
      mask[1] = 0
      const masked = await Evaluate.predict(net, { ...split, mask })
      expect(Math.round(masked.regression![0] * 1e4) / 1e4).toBe(missing.sentiment)
      const j = net.experts.indexOf("audio")
      for (let k = 0; k < net.tasks.length; k++) expect(masked.attention![k * net.experts.length + j]).toBe(0)
      // and the audio, given, changes the prediction
      const given = await Evaluate.predict(net, split)
      expect(given.regression![0]).not.toBe(masked.regression![0])
    } finally {
      Network.dispose(net)
    }
  })

  it("counts the words read and the unknown ones per sample; an empty transcript is no text", async () => {
    const texts = ["great great great", `${MADE_UP} movie`, `${MADE_UP} qwxzzy the`, "!!!"]
    const samples = texts.map((transcript, i) => ({ id: `s${i}`, transcript, audio: AUDIO }))
    const r = await predict("--checkpoint", mosi, "--input", write("counts.jsonl", samples.map((s) => JSON.stringify(s)).join("\n")), "--json", "-")
    expect(r.stderr).toBe("")
    // JSON Lines in, JSON Lines out
    const out = r.out.map((line) => JSON.parse(line) as Predict.Prediction)
    expect(out.map((p) => p.tokens)).toEqual([3, 2, 3, 0])
    expect(out.map((p) => p.unknownTokens)).toEqual(texts.map(unknownIn))
    expect(out[2].unknownTokens).toBe(2)
    // "!!!" has no word: the text is masked, the audio alone predicts
    expect(out[3].gates!.text).toBe(0)
    expect(out[3].attention!.regression.text).toBe(0)
  })

  it("examples/predict/transcripts.json: one prediction per transcript, in order", async () => {
    const { samples } = JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as { samples: Array<{ id: string; transcript: string }> }
    const out = await predictions("--checkpoint", mosi, "--input", EXAMPLE)
    expect(out.map((p) => [p.id, p.transcript, p.tokens])).toEqual(samples.map((s) => [s.id, s.transcript, Tokenizer.tokenize(s.transcript).length]))
  })

  it("a transcript beside a text array: the transcript wins (the array is ignored)", async () => {
    const samples = [{ id: "a", transcript: LOVED }, { id: "a", transcript: LOVED, text: [[9, 9, 9, 9], [9, 9, 9, 9]] }]
    const [plain, both] = await predictions("--checkpoint", mosi, "--input", write("both.json", { samples }))
    expect(both).toEqual(plain)
  })

  it("a checkpoint written before the text settings were stored (no info.text) predicts the same", async () => {
    const old = path.join(root, "old")
    fs.cpSync(mosi, old, { recursive: true })
    const manifestFile = path.join(old, Checkpoint.MANIFEST)
    const manifest = JSON.parse(fs.readFileSync(manifestFile, "utf8"))
    expect(manifest.extra.info.text).toEqual({ kind: "tokens", lexicon: true, lowercase: true })
    delete manifest.extra.info.text
    manifest.integrity = { sha256: Checkpoint.integrityOf(manifest) }
    fs.writeFileSync(manifestFile, JSON.stringify(manifest))
    const samples = { samples: [{ id: "a", transcript: `${LOVED} ${MADE_UP}`, audio: AUDIO }, { id: "b", transcript: "awful" }] }
    const file = write("old.json", samples)
    expect(await predictions("--checkpoint", old, "--input", file)).toEqual(await predictions("--checkpoint", mosi, "--input", file))
    const [text] = await predictions("--checkpoint", old, "--text", LOVED)
    expect(text.tokens).toBe(7)
  })
})
