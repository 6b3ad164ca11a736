/**
 * `--text-features glove|tokens|PATH`: parsing and the data check (`TextFeatures`), then the command
 * line on mosi-real with a small GloVe text file written by the test (3-d vectors for every other
 * training word): `haemsa train` for one epoch stores the text settings and records them in the run
 * card, `haemsa eval` of that checkpoint rebuilds the same features from its settings (the same
 * metrics, no data-hash warning; the vectors moved: an error naming the file, `--text-features PATH`
 * names where they are now), `haemsa predict --text` reads raw text with them; an MMSA pickle's
 * raw_text replaces its text features (a MulT pickle has none: an error naming it); the flag on
 * synthetic data is a usage error, a bad vector file an error naming the file and line (exit 1, as
 * other data errors).
 */
import { DatasetLoader, Errors } from "@haemsa/datasets"
import { Effect, Exit } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Checkpoint from "../src/model/Checkpoint"
import type * as Experiment from "../src/model/Experiment"
import * as TextFeatures from "../src/model/TextFeatures"
import * as Predict from "../src/model/Predict"
import { cli, FIXTURES, MMSA, MOSI_REAL, tempCacheFolder, tinySpec, transcriptWords, useCpu, writeVectorFile } from "./Support"

let root: string
let vectorFile: string
let specFile: string
let checkpoint: string
let trainWords: Array<string>
let report: Experiment.TrainReport
const folder = tempCacheFolder("haemsa-text-features-")

beforeAll(async () => {
  await useCpu()
  root = folder.make()
  const plain = await Effect.runPromise(DatasetLoader.load(MOSI_REAL))
  trainWords = [...transcriptWords(plain.splits.train)].sort()
  vectorFile = path.join(root, "vectors.txt")
  const inFile = trainWords.filter((_, i) => i % 2 === 0)
  writeVectorFile(vectorFile, inFile)
  specFile = path.join(root, "spec.json")
  fs.writeFileSync(specFile, JSON.stringify(tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] })))
  checkpoint = path.join(root, "ckpt")
  const json = path.join(root, "train.json")
  const r = await cli(
    "train", "--data", MOSI_REAL, "--text-features", vectorFile, "--epochs", "1", "--seed", "1", "--spec", specFile,
    "--out", checkpoint, "--json", json, "--backend", "cpu", "--threads", "1"
  )
  expect(r.stderr).not.toMatch(/haemsa: (?!warning)/)
  expect(r.code).toBe(0)
  report = JSON.parse(fs.readFileSync(json, "utf8"))
}, 180_000)
afterAll(folder.restore)

describe("TextFeatures", () => {
  it("parses glove, tokens and a path; the lexicon follows the default unless given", () => {
    expect(TextFeatures.parse("tokens")).toEqual({ kind: "tokens" })
    expect(TextFeatures.parse("glove")).toEqual({ kind: "glove", source: "glove", lexicon: TextFeatures.DEFAULT_LEXICON })
    expect(TextFeatures.parse("my/vectors.txt", false)).toEqual({ kind: "vectors", source: "my/vectors.txt", lexicon: false })
    expect(() => TextFeatures.parse("")).toThrow(Errors.InvalidOption)
    expect(TextFeatures.flagValue(TextFeatures.parse("glove"))).toBe("glove")
    expect(TextFeatures.describe({ kind: "vectors", source: "v.txt", lexicon: true })).toBe("vectors v.txt + lexicon")
  })

  it("word vectors need raw transcripts: mosi-real folders yes, synthetic and feature pickles no (tokens go anywhere)", async () => {
    const glove = TextFeatures.parse("glove")
    expect(TextFeatures.problem(glove, "mosi-real", "d")).toBeUndefined()
    expect(TextFeatures.problem(TextFeatures.TOKENS, "synthetic", "synthetic")).toBeUndefined()
    expect(TextFeatures.problem(glove, "synthetic", "synthetic")).toMatch(/^--text-features glove needs raw transcripts .*synthetic data have no raw transcripts/)
    // a pickle may have raw transcripts (MMSA raw_text): checked once read
    expect(TextFeatures.problem(glove, "pickle", "x.pkl")).toBeUndefined()
    const exit = await Effect.runPromiseExit(TextFeatures.check(glove, "synthetic", "synthetic"))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toMatch(/InvalidOption/)
  })

  it("rebuilds a checkpoint's choice from its settings; a vector source for a tokens model (and tokens for a vectors model) is refused", () => {
    const settings = { kind: "vectors" as const, lexicon: true, lowercase: true, source: "a.txt" }
    expect(TextFeatures.fromSettings(settings)).toEqual({ kind: "vectors", source: "a.txt", lexicon: true })
    expect(TextFeatures.fromSettings(settings, "b.txt")).toEqual({ kind: "vectors", source: "b.txt", lexicon: true })
    expect(TextFeatures.fromSettings({ kind: "glove", lexicon: false, lowercase: true })).toEqual({ kind: "glove", source: "glove", lexicon: false })
    expect(TextFeatures.fromSettings({ kind: "tokens", lexicon: true, lowercase: true })).toEqual({ kind: "tokens" })
    expect(() => TextFeatures.fromSettings(settings, "tokens")).toThrow(/trained on word vectors/)
    expect(() => TextFeatures.fromSettings({ kind: "tokens", lexicon: true, lowercase: true }, "glove")).toThrow(/trained on tokens/)
  })
})

describe("haemsa train --text-features PATH on mosi-real", () => {
  it("stores the text settings (the training words' vectors, lexicon as the default) and records them in the run card", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(checkpoint, Checkpoint.MANIFEST), "utf8")) as { extra: Experiment.CheckpointExtra }
    const info = manifest.extra.info
    const lexicon = TextFeatures.DEFAULT_LEXICON
    expect(info.features.text!.dim).toBe(3 + (lexicon ? 4 : 0))
    expect(info.text).toMatchObject({ kind: "vectors", lexicon, source: vectorFile })
    expect(info.text!.vectors!.words).toEqual(trainWords.filter((_, i) => i % 2 === 0))
    const card = { kind: "vectors", lexicon, source: vectorFile, dim: 3, words: info.text!.vectors!.words.length }
    expect(report.card.text).toEqual(card)
    expect(manifest.extra.card!.text).toEqual(card)
    expect(report.card.command).toContain("--text-features")
  })

  it("haemsa eval rebuilds the same text features from the checkpoint (no flag): the training's metrics, no data warning", async () => {
    const r = await cli("eval", "--checkpoint", checkpoint, "--data", MOSI_REAL, "--backend", "cpu", "--json", "-")
    expect(r.code, r.stderr).toBe(0)
    expect(r.err.filter((l) => l.includes("warning"))).toEqual([])
    const evaluated = JSON.parse(r.out.join("\n")) as Experiment.EvalReport
    expect(evaluated.valid).toEqual(report.valid)
    expect(evaluated.test).toEqual(report.test)
  })

  it("haemsa eval with the vectors moved: an error naming the file; --text-features names where they are now", async () => {
    const moved = path.join(root, "moved.txt")
    fs.renameSync(vectorFile, moved)
    try {
      const failed = await cli("eval", "--checkpoint", checkpoint, "--data", MOSI_REAL, "--backend", "cpu")
      expect(failed.code).toBe(1)
      expect(failed.stderr).toContain(vectorFile)
      const r = await cli("eval", "--checkpoint", checkpoint, "--data", MOSI_REAL, "--backend", "cpu", "--text-features", moved, "--json", "-")
      expect(r.code, r.stderr).toBe(0)
      expect((JSON.parse(r.out.join("\n")) as Experiment.EvalReport).test).toEqual(report.test)
      const tokens = await cli("eval", "--checkpoint", checkpoint, "--data", MOSI_REAL, "--backend", "cpu", "--text-features", "tokens")
      expect(tokens.code).toBe(1)
      expect(tokens.stderr).toMatch(/text-features = tokens: the model was trained on word vectors/)
    } finally {
      fs.renameSync(moved, vectorFile)
    }
  })

  it("haemsa predict --text reads raw text with the checkpoint's vectors", async () => {
    const r = await cli("predict", "--checkpoint", checkpoint, "--backend", "cpu", "--text", `a ${trainWords[0]} movie`, "--json", "-")
    expect(r.code, r.stderr).toBe(0)
    const [p] = (JSON.parse(r.out.join("\n")) as { predictions: Array<Predict.Prediction> }).predictions
    expect(Number.isFinite(p.sentiment)).toBe(true)
    expect(p.tokens).toBe(3)
  })
})

describe("haemsa search --text-features PATH on mosi-real", () => {
  it("the genomes carry the text gene; the report names the winner's text features", async () => {
    const json = path.join(root, "search.json")
    const r = await cli(
      "search", "--data", MOSI_REAL, "--text-features", vectorFile, "--population", "3", "--generations", "1", "--fidelity", "1:0.05",
      "--workers", "0", "--checkpoint", path.join(root, "search-text"), "--json", json, "--backend", "wasm"
    )
    expect(r.code, r.stderr).toBe(0)
    const output = JSON.parse(fs.readFileSync(json, "utf8")) as { best: { genome: Array<number>; text_features?: string } }
    expect(output.best.genome).toHaveLength(25)
    const lexicon = TextFeatures.DEFAULT_LEXICON ? " + lexicon" : ""
    expect(["tokens", `vectors ${vectorFile}${lexicon}`]).toContain(output.best.text_features)
    expect(r.out.some((l) => l.startsWith("best text features: "))).toBe(true)
  }, 120_000)
})

describe("--text-features on pickles", () => {
  it("an MMSA pickle's raw_text: its text features become the words' vectors + lexicon at its text length; eval rebuilds them", async () => {
    const out = path.join(root, "mmsa")
    const json = path.join(root, "mmsa.json")
    const spec = path.join(root, "spec-mmsa.json")
    fs.writeFileSync(spec, JSON.stringify(tinySpec()))
    const r = await cli("train", "--data", MMSA, "--text-features", vectorFile, "--epochs", "1", "--spec", spec, "--out", out, "--json", json, "--backend", "cpu", "--threads", "1")
    expect(r.code, r.stderr).toBe(0)
    const manifest = JSON.parse(fs.readFileSync(path.join(out, Checkpoint.MANIFEST), "utf8")) as { extra: Experiment.CheckpointExtra }
    expect(manifest.extra.info.features.text).toEqual({ steps: 50, dim: 3 + (TextFeatures.DEFAULT_LEXICON ? 4 : 0) })
    expect(manifest.extra.info.text).toMatchObject({ kind: "vectors", source: vectorFile })
    const trained = JSON.parse(fs.readFileSync(json, "utf8")) as Experiment.TrainReport
    const e = await cli("eval", "--checkpoint", out, "--data", MMSA, "--backend", "cpu", "--json", "-")
    expect(e.code, e.stderr).toBe(0)
    expect((JSON.parse(e.out.join("\n")) as Experiment.EvalReport).test).toEqual(trained.test)
  }, 60_000)

  it("a pickle without raw transcripts (MulT): an error naming the file (exit 1)", async () => {
    const mult = path.join(FIXTURES, "mult_mosi.pkl")
    const r = await cli("train", "--data", mult, "--text-features", vectorFile, "--epochs", "1", "--backend", "cpu")
    expect(r.code).toBe(1)
    expect(r.err).toHaveLength(1)
    expect(r.err[0]).toContain(`${mult} has none in its train, valid, test splits`)
  })
})

describe("--text-features errors through the command line", () => {
  it("word vectors on synthetic data: a usage error naming the data (exit 2), before any training", async () => {
    for (const command of ["train", "search"]) {
      const extra = command === "search" ? ["--checkpoint", path.join(root, "search"), "--workers", "0"] : ["--epochs", "1"]
      const r = await cli(command, "--data", "synthetic", "--text-features", vectorFile, "--backend", "cpu", ...extra)
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(new RegExp(`--text-features ${vectorFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} needs raw transcripts .*synthetic data have no raw transcripts`))
    }
    const empty = await cli("train", "--data", "synthetic", "--text-features", "", "--backend", "cpu")
    expect(empty.code).toBe(2)
  })

  it("a bad vector file: one line naming the file and the line (exit 1, as other data errors)", async () => {
    const bad = path.join(root, "bad.txt")
    fs.writeFileSync(bad, `${trainWords[0]} 0.1 0.2 0.3\n${trainWords[1]} 0.1 oops 0.3\n`)
    const r = await cli("train", "--data", MOSI_REAL, "--text-features", bad, "--epochs", "1", "--spec", specFile, "--backend", "cpu")
    expect(r.code).toBe(1)
    expect(r.err).toHaveLength(1)
    expect(r.err[0]).toMatch(new RegExp(`^haemsa: ${bad.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: not a valid GloVe text file: line 2: `))
    const missing = await cli("train", "--data", MOSI_REAL, "--text-features", path.join(root, "none.txt"), "--epochs", "1", "--backend", "cpu")
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain(path.join(root, "none.txt"))
  })
})
