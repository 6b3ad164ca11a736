import type { Dataset as D } from "@haemsa/datasets"
import { Batching, Random } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { Effect, Exit } from "effect"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it, layer } from "@effect/vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as BatchTensors from "../src/model/BatchTensors"
import type * as DataInfo from "../src/model/DataInfo"
import * as Evaluate from "../src/model/Evaluate"
import * as Experiment from "../src/model/Experiment"
import * as Environment from "../src/Environment"
import * as Network from "../src/model/Network"
import * as Train from "../src/model/Train"
import { buildNet, defaultLosses, emotionData, prepare, sentimentData, tinySpec, useCpu } from "./Support"

beforeAll(useCpu)

const trainTiny = (spec: ArchitectureSpec.ArchitectureSpec, data: { dataset: D.Dataset; info: DataInfo.DataInfo }, options: Train.TrainOptions) =>
  Train.train(spec, data.dataset, data.info, { batchSize: 16, patience: 100, ...options })

/** A training run's history without timings, and its final weights, for comparisons. */
const summary = (spec: ArchitectureSpec.ArchitectureSpec, data: { dataset: D.Dataset; info: DataInfo.DataInfo }, seed: number) =>
  Effect.gen(function*() {
    const result = yield* trainTiny(spec, data, { epochs: 2, seed })
    const weights = new Map([...(yield* Effect.promise(() => Experiment.readWeights(result.net)))].map(([k, w]) => [k, Array.from(w.values)]))
    Network.dispose(result.net)
    return { history: result.history.map(({ seconds: _seconds, ...rest }) => rest), weights, bestEpoch: result.bestEpoch }
  })

// the jobs' services for tests (cpu backend, silent progress), built once for the suite
layer(Environment.test)("Train", (it) => {
  const sentiment = prepare(sentimentData(2))

  it.effect("the training loss decreases over a few epochs (sentiment)", () =>
    Effect.gen(function*() {
      const result = yield* trainTiny(tinySpec("haemsa", "meanpool"), sentiment, { epochs: 5, seed: 1 })
      try {
        const losses = result.history.map((h) => h.loss)
        expect(losses).toHaveLength(5)
        expect(losses.every(Number.isFinite)).toBe(true)
        expect(losses[4]).toBeLessThan(losses[0])
        expect(result.steps).toBe(5 * 4)
      } finally {
        Network.dispose(result.net)
      }
    }))

  it.effect("the training loss decreases over a few epochs (emotions)", () =>
    Effect.gen(function*() {
      const result = yield* trainTiny(tinySpec("haemsa", "meanpool"), prepare(emotionData(2)), { epochs: 4, seed: 1 })
      try {
        const losses = result.history.map((h) => h.loss)
        expect(losses[3]).toBeLessThan(losses[0])
        expect(Object.keys(result.history[0].valid)).toEqual(["neutral", "happy", "sad", "angry"])
      } finally {
        Network.dispose(result.net)
      }
    }))

  it.effect("is deterministic on cpu: the same seed gives identical metrics and weights, another seed differs", () =>
    Effect.gen(function*() {
      // dropout and modality dropout on, so their seeded randomness is covered too
      const spec = tinySpec("haemsa", "meanpool", { dropout: 0.2, modalityDropout: 0.3, weightDecay: 0.01 })
      const a = yield* summary(spec, sentiment, 5)
      const b = yield* summary(spec, sentiment, 5)
      expect(b.history).toEqual(a.history)
      expect(b.weights).toEqual(a.weights)
      const c = yield* summary(spec, sentiment, 6)
      expect(c.weights).not.toEqual(a.weights)
      expect(c.history[0].loss).not.toBe(a.history[0].loss)
    }))

  it.effect("restores the best epoch's weights (the returned net scores the best validation objective)", () =>
    Effect.gen(function*() {
      const result = yield* trainTiny(tinySpec("early-fusion", "meanpool", { learningRate: 0.05 }), sentiment, { epochs: 4, seed: 3 })
      try {
        const best = Math.min(...result.history.map((h) => h.objective))
        expect(result.bestObjective).toBe(best)
        expect(result.history[result.bestEpoch - 1].objective).toBe(best)
        const valid = yield* Effect.promise(() => Evaluate.evaluate(result.net, sentiment.dataset.splits.valid))
        expect(Evaluate.objective(result.net, valid)).toBe(best)
      } finally {
        Network.dispose(result.net)
      }
    }))

  it.effect("stops early after `patience` epochs without improvement", () =>
    Effect.gen(function*() {
      // every task weight 0: a baseline's loss has zero gradient, the weights never move, epoch 1 stays the best
      const spec = tinySpec("late-fusion", "meanpool", { lambdas: { regression: 0, classification: 0, unimodal: 0, emotion: 0, teacher: 0 } })
      const result = yield* trainTiny(spec, sentiment, { epochs: 10, seed: 0, patience: 2 })
      try {
        expect(result.bestEpoch).toBe(1)
        expect(result.history).toHaveLength(3)
        expect(new Set(result.history.map((h) => h.objective)).size).toBe(1)
      } finally {
        Network.dispose(result.net)
      }
    }))

  it.effect("fails with a TrainingError naming the epoch when the loss is not finite, and frees every tensor it made", () =>
    Effect.gen(function*() {
      const train = sentiment.dataset.splits.train
      const audio = train.features.audio!
      const data = new Float32Array(audio.data).fill(Number.NaN)
      const broken = { ...sentiment.dataset, splits: { ...sentiment.dataset.splits, train: { ...train, features: { ...train.features, audio: { ...audio, data } } } } }
      const before = tf.memory().numTensors
      const exit = yield* Effect.exit(Train.train(tinySpec("haemsa", "meanpool"), broken, sentiment.info, { epochs: 1, batchSize: 16 }))
      // the network, the optimizer's moments and the loss not read yet are all gone
      expect(tf.memory().numTensors).toBe(before)
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        expect(error?._tag === "Fail" && error.error).toBeInstanceOf(Train.TrainingError)
        expect(String(error?._tag === "Fail" && (error.error as Error).message)).toContain("at epoch 1, step 1")
      }
    }))

  it.effect("frees every tensor it made: only the returned network's variables remain", () =>
    Effect.gen(function*() {
      const before = tf.memory().numTensors
      const result = yield* trainTiny(tinySpec("haemsa", "lstm", { dropout: 0.1, modalityDropout: 0.2 }), sentiment, { epochs: 2, seed: 1 })
      expect(tf.memory().numTensors).toBe(before + result.net.variables.size)
      Network.dispose(result.net)
      expect(tf.memory().numTensors).toBe(before)
    }))
})

describe("Train.step", () => {
  const { dataset, info } = prepare(sentimentData(3))

  // The check, step 2 vs step 200, on the full HAEMSA network; the other experts and the baselines
  // with fewer steps (a per-step leak shows after any number of steps).
  const cases = [
    ["haemsa", "meanpool", 200],
    ["haemsa", "lstm", 8],
    ["haemsa", "transformer", 8],
    ["haemsa", "tcn", 8],
    ["early-fusion", "lstm", 8],
    ["late-fusion", "transformer", 8]
  ] as const
  for (const [model, kind, last] of cases) {
    it(`${model}/${kind}: the number of live tensors after step 2 and after step ${last} is the same`, () => {
      const spec = tinySpec(model, kind, { dropout: 0.1, weightDecay: 0.01 })
      const net = buildNet(spec, info, 0)
      const optimizer = tf.train.adam(spec.learningRate)
      const rng = Random.makeRng(9)
      const split = dataset.splits.train
      let batches: Int32Array[] = []
      const once = () => {
        if (batches.length === 0) batches = Batching.batchIndices(split.n, 16, rng)
        const part = Batching.subset(split, batches.pop()!)
        const batch = BatchTensors.fromSplit(part, Train.modalityDropout(part.mask, [0, 1, 2], 0.3, rng))
        try {
          const loss = Train.step(net, optimizer, batch, defaultLosses)
          const value = loss.dataSync()[0]
          loss.dispose()
          return value
        } finally {
          BatchTensors.dispose(batch)
        }
      }
      try {
        once()
        once()
        const afterTwo = tf.memory().numTensors
        const values: number[] = []
        for (let i = 3; i <= last; i++) values.push(once())
        expect(tf.memory().numTensors).toBe(afterTwo)
        expect(values.every(Number.isFinite)).toBe(true)
      } finally {
        optimizer.dispose()
        Network.dispose(net)
      }
    })
  }

  it("applies decoupled weight decay after the gradient step", () => {
    const spec = tinySpec("early-fusion", "meanpool", { learningRate: 0.01, weightDecay: 0.5 })
    const batch = BatchTensors.fromSplit(Batching.subset(dataset.splits.train, [0, 1, 2, 3]))
    const plain = buildNet({ ...spec, weightDecay: 0 }, info, 4)
    const decayed = buildNet(spec, info, 4)
    const sgdA = tf.train.sgd(spec.learningRate)
    const sgdB = tf.train.sgd(spec.learningRate)
    try {
      tf.dispose([Train.step(plain, sgdA, batch, defaultLosses), Train.step(decayed, sgdB, batch, defaultLosses)])
      for (const [k, v] of plain.variables) {
        const expected = Array.from(v.dataSync(), (x) => Math.fround(x * (1 - 0.01 * 0.5)))
        const actual = Array.from(decayed.variables.get(k)!.dataSync())
        actual.forEach((x, i) => expect(x).toBeCloseTo(expected[i], 6))
      }
    } finally {
      BatchTensors.dispose(batch)
      Network.dispose(plain)
      Network.dispose(decayed)
      sgdA.dispose()
      sgdB.dispose()
    }
  })
})

describe("Train.modalityDropout", () => {
  const maskArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.tuple(fc.uint8Array({ minLength: 3 * n, maxLength: 3 * n, min: 0, max: 1 }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.integer())
  )

  it("only removes present, used modalities and keeps at least one of each sample's present used ones", () => {
    fc.assert(
      fc.property(maskArb, fc.subarray([0, 1, 2], { minLength: 1 }), ([mask, p, seed], used) => {
        const out = Train.modalityDropout(mask, used, p, Random.makeRng(seed))
        expect(out).toHaveLength(mask.length)
        for (let i = 0; i < mask.length / 3; i++) {
          const present = used.filter((m) => mask[i * 3 + m] === 1)
          for (let m = 0; m < 3; m++) {
            expect(out[i * 3 + m]).toBeLessThanOrEqual(mask[i * 3 + m])
            if (!used.includes(m)) expect(out[i * 3 + m]).toBe(mask[i * 3 + m])
          }
          if (present.length > 0) expect(present.some((m) => out[i * 3 + m] === 1)).toBe(true)
        }
      })
    )
  })

  it("is the identity with p = 0 and drops some modalities with p = 0.9", () => {
    const mask = new Uint8Array(300).fill(1)
    expect(Train.modalityDropout(mask, [0, 1, 2], 0, Random.makeRng(1))).toEqual(mask)
    const dropped = Train.modalityDropout(mask, [0, 1, 2], 0.9, Random.makeRng(1))
    expect(dropped.reduce((a, x) => a + x, 0)).toBeLessThan(200)
  })
})
