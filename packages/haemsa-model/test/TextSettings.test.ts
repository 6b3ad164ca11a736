/**
 * The text settings a checkpoint stores: built from the training words (the vectors of those that
 * have one), inferred for checkpoints without them, refused when they cannot make the model's dense
 * text columns; the features they make (stored vectors, then the full ones, then the unknown vector,
 * with the lexicon columns after).
 */
import { Errors, Lexicon, WordVectors } from "@haemsa/datasets"
import { describe, expect, it } from "vitest"
import * as PredictionTable from "../src/cli/PredictionTable"
import * as DataInfo from "../src/model/DataInfo"
import * as Predict from "../src/model/Predict"
import * as TextSettings from "../src/model/TextSettings"
import { prepare, tokenData } from "./Support"

/** 2-d vectors of four words. */
const vectors = WordVectors.parseGlove("good 1 2\nbad -1 -2\nmovie 0.5 0.25\ndont 3 3\n", "v.txt").vectors

const info = (text: TextSettings.TextSettings | undefined, dim: number | undefined, tokens = true): TextSettings.TextInfo => ({
  name: "mosi-real",
  features: dim === undefined ? {} : { text: { steps: 4, dim } },
  ...(tokens ? { tokens: { steps: 4, vocabulary: ["<pad>", "<unk>", "good"] } } : {}),
  ...(text ? { text } : {})
})

describe("TextSettings.make", () => {
  it("keeps the vectors of the training words that have one, sorted, under their own spelling", () => {
    const s = TextSettings.make({ kind: "glove", lexicon: true, vectors, source: "glove" }, ["movie", "good", "zorbly", "good", "don't"])
    expect(s).toMatchObject({ kind: "glove", lexicon: true, lowercase: true, source: "glove" })
    expect(s.vectors).toEqual({ format: "haemsa-word-vectors", version: 1, source: "v.txt", dim: 2, words: ["don't", "good", "movie"], matrix: [3, 3, 1, 2, 0.5, 0.25], unknown: Array.from(vectors.unknown) })
    expect(TextSettings.featureDim(s)).toBe(2 + Lexicon.LEXICON_FEATURES.length)
    expect(TextSettings.describe(s)).toBe("glove (2-d, 3 training words) + lexicon")
    expect(TextSettings.make({ kind: "tokens", lexicon: true }, ["good"])).toEqual({ kind: "tokens", lexicon: true, lowercase: true })
  })

  it("refuses kind tokens with vectors and a vector kind without them, naming textFeatures", () => {
    const error = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return e
      }
      throw new Error("no error")
    }
    const a = error(() => TextSettings.make({ kind: "tokens", lexicon: false, vectors }, []))
    expect(a).toBeInstanceOf(Errors.InvalidOption)
    expect((a as Errors.InvalidOption).message).toBe("invalid textFeatures = tokens: kind tokens takes no word vectors")
    expect((error(() => TextSettings.make({ kind: "vectors", lexicon: false }, [])) as Error).message).toBe(
      "invalid textFeatures = vectors: kind vectors needs its word vectors"
    )
  })
})

describe("TextSettings.of", () => {
  it("infers kind tokens for a checkpoint without settings (lexicon when the model reads 4 dense text columns)", () => {
    expect(TextSettings.of(info(undefined, 4))).toEqual({ settings: { kind: "tokens", lexicon: true, lowercase: true } })
    expect(TextSettings.of(info(undefined, undefined))).toEqual({ settings: { kind: "tokens", lexicon: false, lowercase: true } })
  })

  it("says why a model cannot read raw text", () => {
    expect(TextSettings.of(info(undefined, 768, false))).toEqual({ problem: "its text is 768 numbers per step, not words" })
    expect(TextSettings.of(info(undefined, undefined, false))).toEqual({ problem: "it reads no text" })
    expect(TextSettings.of(info(undefined, 12))).toEqual({ problem: "its dense text features have 12 columns per word, its text settings (tokens) make 0" })
    const glove = TextSettings.make({ kind: "glove", lexicon: true, vectors, source: "glove" }, ["good"])
    expect(TextSettings.of(info(glove, 6))).toEqual({ settings: glove })
    expect(TextSettings.of(info(glove, 4))).toEqual({ problem: "its dense text features have 4 columns per word, its text settings (glove (2-d, 1 training words) + lexicon) make 6" })
  })

  it("a model that reads token ids next to dense text columns it cannot compute refuses transcripts, naming the file", () => {
    const data = prepare(tokenData(1, true))
    expect(data.info.text).toEqual({ kind: "tokens", lexicon: false, lowercase: true })
    expect(() => Predict.toSplit("in.json", data.info, [{ transcript: "good movie" }])).toThrow(
      "invalid --input in.json = transcript: the model reads token ids but cannot read raw text: its dense text features have 12 columns per word, its text settings (tokens) make 0"
    )
  })
})

describe("TextSettings.features", () => {
  const stored = TextSettings.make({ kind: "vectors", lexicon: true, vectors, source: "v.txt" }, ["good", "movie"])
  const full = TextSettings.lookupOf(vectors)

  it("per word: the stored vector, else the full one, else the unknown vector (counted); the lexicon columns after", () => {
    const words = [["good", "bad", "zorbly", "movie", "good"], []]
    const withFull = TextSettings.features(stored, words, 4, full)
    expect(withFull.tokens).toEqual([4, 0])
    expect(withFull.unknownTokens).toEqual([1, 0])
    const block = withFull.block!
    expect(block).toMatchObject({ n: 2, steps: 4, dim: 6 })
    expect(Array.from(block.lengths)).toEqual([4, 1])
    const lexicon = Lexicon.lexiconFeatures(words, 4)
    const row = (i: number, t: number) => Array.from(block.data.subarray((i * 4 + t) * 6, (i * 4 + t + 1) * 6))
    const lex = (i: number, t: number) => Array.from(lexicon.data.subarray((i * 4 + t) * 4, (i * 4 + t + 1) * 4))
    expect(row(0, 0)).toEqual([1, 2, ...lex(0, 0)])
    expect(row(0, 1)).toEqual([-1, -2, ...lex(0, 1)])
    const unknown = Array.from(vectors.unknown)
    expect(unknown).not.toEqual([0, 0])
    expect(row(0, 2)).toEqual([...unknown, ...lex(0, 2)])
    expect(row(0, 3)).toEqual([0.5, 0.25, ...lex(0, 3)])
    expect(row(1, 0)).toEqual([0, 0, 0, 0, 0, 0])
    // without the full vectors "bad" is unknown too
    const without = TextSettings.features(stored, words, 4)
    expect(without.unknownTokens).toEqual([2, 0])
    expect(Array.from(without.block!.data.subarray(6, 8))).toEqual(Array.from(vectors.unknown))
  })
})

describe("DataInfo.fromDataset with text settings", () => {
  it("refuses settings that do not make the dataset's text columns, naming textFeatures and the dataset", () => {
    const data = prepare(tokenData(1, false))
    expect(() => DataInfo.fromDataset(data.dataset, data.info.normalization, { kind: "glove", lexicon: true, vectors, source: "glove" })).toThrow(
      "invalid textFeatures = glove: the text settings make 6 columns per word, the dataset tiny-tokens's text features have 0: was it built with these word vectors, lexicon and sentence vectors?"
    )
    expect(DataInfo.fromDataset(data.dataset, data.info.normalization, { kind: "tokens", lexicon: false }).text).toEqual({ kind: "tokens", lexicon: false, lowercase: true })
  })
})

describe("PredictionTable", () => {
  it("an emotions model without attention: a column per emotion, one line per sample, the transcript cut", () => {
    const layout: PredictionTable.Layout = { emotions: ["happy", "sad"], words: false }
    expect(PredictionTable.header(layout)).toBe(`${"id".padEnd(18)}    happy      sad  transcript`)
    const long = "a transcript much longer than forty characters, on two\nlines"
    expect(PredictionTable.lines(layout, { id: "s1", emotions: { happy: 0.25, sad: 0.5 }, transcript: long })).toEqual([
      `${"s1".padEnd(18)}   0.2500   0.5000  "a transcript much longer than forty c..."`
    ])
    expect(PredictionTable.shortTranscript(long)).toHaveLength(PredictionTable.TRANSCRIPT_WIDTH)
    expect(PredictionTable.lines(layout, { id: "s2" })).toEqual([`${"s2".padEnd(18)}        -        -`])
  })
})
