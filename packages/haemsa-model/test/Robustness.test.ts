import { Dataset as D } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it } from "vitest"
import * as Evaluate from "../src/model/Evaluate"
import * as Network from "../src/model/Network"
import * as Robustness from "../src/model/Robustness"
import { buildNet, prepare, sentimentData, tinySpec, useCpu } from "./Support"

const stepsOf = (lengths: ReadonlyArray<number>, steps: number): Robustness.Steps => ({ n: lengths.length, steps, lengths: Int32Array.from(lengths) })

/** The dropped (0) positions of sample i. */
const droppedOf = (keep: Uint8Array, steps: number, i: number): number[] => {
  const out: number[] = []
  for (let t = 0; t < steps; t++) if (keep[i * steps + t] === 0) out.push(t)
  return out
}

describe("Robustness masks (pure)", () => {
  it("frames: floor(rate * T) valid steps per sample (rate 0.5: T = 7 loses 3, T = 1 none, T = 0 none), padding never", () => {
    const s = stepsOf([7, 1, 0, 10, 12], 10) // the last sample's length exceeds the padded steps: 10 are valid
    const keep = Robustness.frameKeep(s, 0.5, 0, "audio")
    expect([0, 1, 2, 3, 4].map((i) => droppedOf(keep, 10, i).length)).toEqual([3, 0, 0, 5, 5])
    expect(droppedOf(keep, 10, 0).every((t) => t < 7)).toBe(true)
    expect(Robustness.framesDropped(10, 0.3)).toBe(3) // 0.3 * 10 = 3.0000000000000004 in floats
    expect(Robustness.framesDropped(10, 0.7)).toBe(7)
  })

  it("exact counts for any lengths and rate, and a higher rate drops a superset", () => {
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 8 }),
      fc.integer({ min: 0, max: 1000 }),
      (lengths, seed) => {
        const s = stepsOf(lengths, 12)
        let previous: Uint8Array = new Uint8Array(lengths.length * 12).fill(1)
        for (const rate of Robustness.RATES) {
          const keep = Robustness.frameKeep(s, rate, seed, "vision")
          lengths.forEach((len, i) => {
            const dropped = droppedOf(keep, 12, i)
            expect(dropped.length).toBe(Math.floor(rate * len + 1e-9))
            expect(dropped.every((t) => t < len)).toBe(true)
          })
          for (let j = 0; j < keep.length; j++) if (previous[j] === 0) expect(keep[j]).toBe(0)
          previous = keep
        }
      }
    ))
  })

  it("rate 0 is the identity (nothing dropped, the mask unchanged)", () => {
    const s = stepsOf([5, 8, 3], 8)
    expect(Robustness.frameKeep(s, 0, 4, "text").every((v) => v === 1)).toBe(true)
    const mask = Uint8Array.from([1, 1, 1, 1, 0, 1, 0, 1, 1])
    const dropped = Robustness.wholeDrop(mask, 3, 0, 4, "text")
    expect(dropped.every((v) => v === 0)).toBe(true)
    const split = sentimentData().splits.test
    expect(Robustness.withoutModalityFor(split, "audio", new Uint8Array(split.n)).mask).toEqual(split.mask)
  })

  it("whole: round(rate * P) of the P samples that have the modality, never one without it", () => {
    const n = 25
    const mask = new Uint8Array(n * 3).fill(1)
    for (const i of [0, 3, 4, 9, 20]) mask[i * 3 + D.MODALITY_INDEX.vision] = 0 // P = 20
    const expected = [0, 2, 4, 6, 8, 10]
    Robustness.RATES.forEach((rate, r) => {
      const dropped = Robustness.wholeDrop(mask, n, rate, 7, "vision")
      expect(dropped.reduce((a, v) => a + v, 0)).toBe(expected[r])
      for (const i of [0, 3, 4, 9, 20]) expect(dropped[i]).toBe(0)
    })
    expect(Robustness.samplesDropped(5, 0.5)).toBe(3) // round half up: documented
    const split = sentimentData().splits.test
    const drop = Robustness.wholeDrop(split.mask, split.n, 0.5, 0, "text")
    const masked = Robustness.withoutModalityFor(split, "text", drop)
    for (let i = 0; i < split.n; i++) {
      expect(masked.mask[i * 3]).toBe(drop[i] === 1 ? 0 : split.mask[i * 3])
      expect([masked.mask[i * 3 + 1], masked.mask[i * 3 + 2]]).toEqual([split.mask[i * 3 + 1], split.mask[i * 3 + 2]])
    }
  })

  it("the same seed draws the same masks; another seed, modality or mode another draw", () => {
    const s = stepsOf(Array.from({ length: 20 }, (_, i) => 5 + (i % 7)), 12)
    const mask = new Uint8Array(60).fill(1)
    expect(Robustness.frameKeep(s, 0.3, 11, "text")).toEqual(Robustness.frameKeep(s, 0.3, 11, "text"))
    expect(Robustness.wholeDrop(mask, 20, 0.3, 11, "text")).toEqual(Robustness.wholeDrop(mask, 20, 0.3, 11, "text"))
    expect(Robustness.frameKeep(s, 0.3, 12, "text")).not.toEqual(Robustness.frameKeep(s, 0.3, 11, "text"))
    expect(Robustness.frameKeep(s, 0.3, 11, "audio")).not.toEqual(Robustness.frameKeep(s, 0.3, 11, "text"))
    expect(Robustness.wholeDrop(mask, 20, 0.3, 12, "text")).not.toEqual(Robustness.wholeDrop(mask, 20, 0.3, 11, "text"))
    const streams = new Set<number>()
    for (let seed = 0; seed < 5; seed++) {
      for (const m of D.MODALITIES) for (const mode of Robustness.MODES) streams.add(Robustness.streamSeed(seed, m, mode))
    }
    expect(streams.size).toBe(5 * 3 * 2)
  })
})

describe("Evaluate.robustnessTable (tiny HAEMSA, cpu)", () => {
  beforeAll(async () => {
    await useCpu()
  })

  it("rate 0 rows score the split unchanged, the same seed gives the same grid, and dropped frames are masked, not read", async () => {
    const { dataset, info } = prepare(sentimentData())
    const net = buildNet(tinySpec("haemsa", "meanpool"), info, 1)
    try {
      const split = dataset.splits.test
      const before = tf.memory().numTensors
      const rows = await Evaluate.robustnessTable(net, split, 3)
      expect(tf.memory().numTensors).toBe(before)
      expect(rows.map((r) => `${r.modality}/${r.mode}/${r.rate}`)).toEqual(
        D.MODALITIES.flatMap((m) => Robustness.MODES.flatMap((mode) => Robustness.RATES.map((rate) => `${m}/${mode}/${rate}`)))
      )
      const plain = await Evaluate.evaluate(net, split)
      for (const r of rows.filter((r) => r.rate === 0)) expect(r.test).toEqual(plain)
      expect(rows.filter((r) => r.rate === 0.5).every((r) => JSON.stringify(r.test) !== JSON.stringify(plain))).toBe(true)
      expect(await Evaluate.robustnessTable(net, split, 3)).toEqual(rows)
      expect(await Evaluate.robustnessTable(net, split, 4)).not.toEqual(rows)

      // the dropped frames' values do not matter (masked), and the batches cut the masks by row
      const audio = split.features.audio!
      const keep = Robustness.frameKeep(Robustness.stepsOf(split, "audio")!, 0.5, 3, "audio")
      const data = new Float32Array(audio.data)
      for (let j = 0; j < keep.length; j++) if (keep[j] === 0) data.fill(9, j * audio.dim, (j + 1) * audio.dim)
      const scrambled = { ...split, features: { ...split.features, audio: { ...audio, data } } }
      const masked = await Evaluate.predict(net, split, 256, { audio: keep })
      expect((await Evaluate.predict(net, scrambled, 5, { audio: keep })).regression).toEqual(masked.regression)
      expect((await Evaluate.predict(net, scrambled)).regression).not.toEqual(masked.regression)
    } finally {
      Network.dispose(net)
    }
  })

  it("every model (HAEMSA and the baselines, pooled or recurrent experts) scores finite metrics; a one-modality model dropped whole too", async () => {
    const { dataset, info } = prepare(sentimentData())
    const split = dataset.splits.test
    const cases = [
      tinySpec("haemsa", "lstm"),
      tinySpec("early-fusion", "meanpool"),
      tinySpec("late-fusion", "transformer"),
      tinySpec("late-fusion", "meanpool", { modalities: ["text"] })
    ]
    for (const spec of cases) {
      const net = buildNet(spec, info, 2)
      try {
        const rows = await Evaluate.robustnessTable(net, split, 0)
        expect(rows, spec.model).toHaveLength(spec.modalities.length * 2 * Robustness.RATES.length)
        for (const r of rows) expect(Number.isFinite((r.test as { mae: number }).mae), `${spec.model} ${r.modality} ${r.mode} ${r.rate}`).toBe(true)
        const plain = await Evaluate.evaluate(net, split)
        for (const r of rows.filter((r) => r.rate === 0)) expect(r.test).toEqual(plain)
      } finally {
        Network.dispose(net)
      }
    }
  })

  it("a modality the split lacks is skipped", async () => {
    const { dataset, info } = prepare(sentimentData())
    const net = buildNet(tinySpec("early-fusion", "meanpool", { modalities: ["text", "audio"] }), info, 1)
    try {
      const { vision: _vision, ...features } = dataset.splits.test.features
      const split = { ...dataset.splits.test, features }
      expect([...new Set((await Evaluate.robustnessTable(net, split, 0)).map((r) => r.modality))]).toEqual(["text", "audio"])
      const rows = await Evaluate.robustnessTable(net, split, 0, ["text", "vision"])
      expect([...new Set(rows.map((r) => r.modality))]).toEqual(["text"])
      expect(rows).toHaveLength(2 * Robustness.RATES.length)
    } finally {
      Network.dispose(net)
    }
  })
})
