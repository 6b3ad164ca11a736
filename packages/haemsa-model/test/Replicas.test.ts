import type { Dataset as D } from "@haemsa/datasets"
import { Batching } from "@haemsa/datasets"
import { ExpertFactory } from "@haemsa/experts"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import * as fc from "fast-check"
import { beforeAll, describe, expect, it, layer } from "@effect/vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as BatchTensors from "../src/model/BatchTensors"
import type * as DataInfo from "../src/model/DataInfo"
import * as Environment from "../src/Environment"
import * as Evaluate from "../src/model/Evaluate"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import * as Objective from "../src/model/Objective"
import * as Optimizer from "../src/model/Optimizer"
import * as Train from "../src/model/Train"
import * as Replicas from "../src/parallel/Replicas"
import * as Spawn from "../src/parallel/Spawn"
import { Progress } from "../src/cli/Progress"
import { buildNet, defaultLosses, emotionData, prepare, sentimentData, tinySpec, tokenData, useCpu } from "./Support"

beforeAll(useCpu)

describe("Replicas.shardRanges", () => {
  it("cuts n rows into at most `count` contiguous non-empty shards, as equal as possible", () =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 16 }), (n, count) => {
        const ranges = Replicas.shardRanges(n, count)
        expect(ranges).toHaveLength(Math.min(n, count))
        expect(ranges[0][0]).toBe(0)
        expect(ranges[ranges.length - 1][1]).toBe(n)
        ranges.forEach(([start, end], i) => {
          expect(end).toBeGreaterThan(start)
          if (i > 0) expect(start).toBe(ranges[i - 1][1])
        })
        const sizes = ranges.map(([s, e]) => e - s)
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
      })
    ))
})

describe("Objective.sharesOf", () => {
  it("gives each shard its part of the samples and of each modality's present samples", () => {
    // 4 rows: text always, audio in rows 0 and 3, vision nowhere
    const mask = Uint8Array.from([1, 1, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0])
    const first = Objective.sharesOf(mask, 0, 2, ["text", "audio", "vision"])
    const second = Objective.sharesOf(mask, 2, 4, ["text", "audio", "vision"])
    expect(first).toEqual({ samples: 0.5, present: { text: 0.5, audio: 0.5, vision: 0 } })
    expect(second).toEqual({ samples: 0.5, present: { text: 0.5, audio: 0.5, vision: 0 } })
    expect(Objective.sharesOf(mask, 0, 1, ["audio"]).present.audio).toBe(0.5)
    expect(Objective.sharesOf(mask, 1, 3, ["audio"]).present.audio).toBe(0)
  })
})

/** The loss and flat gradient of the whole batch `rows` with `mask`, and the sum over `shards` shards. */
const wholeAndShards = (
  net: Network.Network,
  train: D.Split,
  rows: Int32Array,
  mask: Uint8Array,
  shards: number
) => {
  const varList = [...net.variables.values()]
  const gradientOf = (from: number, to: number, shares: Objective.Shares | undefined) => {
    const part = Batching.subset(train, rows.subarray(from, to))
    const batch = BatchTensors.fromSplit(part, mask.slice(from * 3, to * 3))
    try {
      const whole = shares ?? { samples: 1, present: Object.fromEntries(net.modalities.map((m) => [m, 1])) }
      return Replicas.shardGradient(net, batch, defaultLosses, whole, varList)
    } finally {
      BatchTensors.dispose(batch)
    }
  }
  // the whole batch through jointLoss without shares (the one-thread objective)
  const part = Batching.subset(train, rows)
  const batch = BatchTensors.fromSplit(part, mask)
  const whole = tf.tidy(() => {
    const { grads, value } = tf.variableGrads(() => Objective.jointLoss(net, net.apply(batch, true), batch, defaultLosses), varList)
    return { loss: value.dataSync()[0], values: varList.map((v) => Array.from(grads[v.name]?.dataSync() ?? new Float32Array(v.size))) }
  })
  BatchTensors.dispose(batch)
  let loss = 0
  const sum = new Float64Array(varList.reduce((s, v) => s + v.size, 0))
  for (const [from, to] of Replicas.shardRanges(rows.length, shards)) {
    const g = gradientOf(from, to, Objective.sharesOf(mask, from, to, net.modalities))
    loss += g.loss
    g.gradient.values.forEach((x, j) => (sum[j] += x))
  }
  return { whole: { loss: whole.loss, values: whole.values.flat() }, shards: { loss, values: Array.from(sum) } }
}

const expectClose = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>, tolerance: number) => {
  expect(actual).toHaveLength(expected.length)
  let worst = 0
  for (let j = 0; j < actual.length; j++) worst = Math.max(worst, Math.abs(actual[j] - expected[j]) / (1e-3 + Math.abs(expected[j])))
  expect(worst).toBeLessThan(tolerance)
}

describe("data-parallel shards", () => {
  const cases: ReadonlyArray<readonly [string, { dataset: D.Dataset; info: DataInfo.DataInfo }, ArchitectureSpec.ArchitectureSpec]> = [
    ["sentiment, HAEMSA", prepare(sentimentData(3)), tinySpec("haemsa", "meanpool")],
    ["emotions, HAEMSA", prepare(emotionData(3)), tinySpec("haemsa", "meanpool")],
    ["tokens, HAEMSA with an LSTM", prepare(tokenData(3)), tinySpec("haemsa", "lstm")],
    ["sentiment, late fusion", prepare(sentimentData(3)), tinySpec("late-fusion", "meanpool")]
  ]
  for (const [name, data, spec] of cases) {
    it(`the shards' losses and gradients add up to the whole batch's (${name}), whatever the modality mask`, () => {
      const net = buildNet(spec, data.info, 5)
      const train = data.dataset.splits.train
      try {
        fc.assert(
          fc.property(
            fc.integer({ min: 2, max: 4 }),
            fc.uniqueArray(fc.integer({ min: 0, max: train.n - 1 }), { minLength: 5, maxLength: 20 }),
            fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
            (shards, picked, drops) => {
              const rows = Int32Array.from(picked)
              // modality dropout of audio and vision per row (text kept), as training draws it
              const mask = Uint8Array.from(Array.from(rows).flatMap((r, k) => [1, drops[2 * k] ? 0 : train.mask[r * 3 + 1], drops[2 * k + 1] ? 0 : train.mask[r * 3 + 2]]))
              const { shards: sum, whole } = wholeAndShards(net, train, rows, mask, shards)
              expect(sum.loss).toBeCloseTo(whole.loss, 5)
              expectClose(sum.values, whole.values, 1e-4)
            }
          ),
          { numRuns: 8, seed: 7 }
        )
      } finally {
        Network.dispose(net)
      }
    })
  }
})

/** Final weights and per-epoch losses of a short training with `threads`. */
const trained = (spec: ArchitectureSpec.ArchitectureSpec, data: { dataset: D.Dataset; info: DataInfo.DataInfo }, threads: number) =>
  Effect.gen(function*() {
    const result = yield* Train.train(spec, data.dataset, data.info, { epochs: 2, batchSize: 16, seed: 4, patience: 100, threads })
    const weights = yield* Effect.promise(() => Experiment.readWeights(result.net))
    Network.dispose(result.net)
    return {
      losses: result.history.map((h) => h.loss),
      valid: result.history.map((h) => h.valid),
      weights: [...weights].flatMap(([, w]) => Array.from(w.values))
    }
  })

layer(Environment.test)("Train with replica threads", (it) => {
  const data = prepare(sentimentData(2))

  it.effect("two threads train as one thread does, up to float rounding (no dropout)", () =>
    Effect.gen(function*() {
      const spec = tinySpec("haemsa", "meanpool", { modalityDropout: 0.3 })
      const one = yield* trained(spec, data, 1)
      const two = yield* trained(spec, data, 2)
      expectClose(two.losses, one.losses, 1e-4)
      expectClose(two.weights, one.weights, 1e-3)
      // and the update did something: the weights moved from their start
      const start = buildNet(spec, data.info, 4)
      const initial = [...start.variables.values()].flatMap((v) => Array.from(v.dataSync()))
      Network.dispose(start)
      expect(two.weights.some((w, j) => Math.abs(w - initial[j]) > 1e-3)).toBe(true)
    }), 120_000)

  it.effect("a fixed seed and thread count give the same result, bit for bit (with dropout)", () =>
    Effect.gen(function*() {
      const spec = tinySpec("haemsa", "meanpool", { dropout: 0.2, modalityDropout: 0.2 })
      const first = yield* trained(spec, data, 3)
      const second = yield* trained(spec, data, 3)
      expect(second.losses).toEqual(first.losses)
      expect(second.valid).toEqual(first.valid)
      expect(second.weights).toEqual(first.weights)
    }), 120_000)

  it.effect("the replicas' shared prediction is the one-thread prediction, bit for bit (every task and model)", () =>
    Effect.gen(function*() {
      const cases = [
        [prepare(sentimentData(3)), tinySpec("haemsa", "meanpool", { dropout: 0.2 })],
        [prepare(emotionData(3)), tinySpec("haemsa", "meanpool")],
        [prepare(tokenData(3)), tinySpec("haemsa", "lstm")],
        [prepare(sentimentData(3)), tinySpec("late-fusion", "meanpool")]
      ] as const
      for (const [{ dataset, info }, spec] of cases) {
        const net = buildNet(spec, info, 6)
        const { train, valid } = dataset.splits
        yield* Effect.scoped(Effect.gen(function*() {
          const replicas = yield* Replicas.make(3, { backend: tf.getBackend(), spec, info, seed: 6, train, valid })
          yield* replicas.sync(net, Optimizer.adam(spec.learningRate))
          const all = Int32Array.from({ length: valid.n }, (_, i) => i)
          const shared = yield* replicas.predict(net, "valid", all)
          const alone = yield* Effect.promise(() => Evaluate.predict(net, valid))
          expect(Object.keys(shared).sort()).toEqual(Object.keys(alone).sort())
          for (const key of Object.keys(alone) as Array<keyof Evaluate.Predictions>) expect(Array.from(shared[key]!)).toEqual(Array.from(alone[key]!))
          // each replica's shard in batches of 2 rows (a stream of batches): the same predictions
          const batched = yield* replicas.predict(net, "valid", all, 2)
          for (const key of Object.keys(alone) as Array<keyof Evaluate.Predictions>) expect(Array.from(batched[key]!)).toEqual(Array.from(alone[key]!))
          // any rows, in any order, of the train split too
          const rows = Int32Array.from([5, 0, 3, train.n - 1, 2])
          const sharedRows = yield* replicas.predict(net, "train", rows)
          const aloneRows = yield* Effect.promise(() => Evaluate.predictRows(net, train, rows))
          for (const key of Object.keys(aloneRows) as Array<keyof Evaluate.Predictions>) expect(Array.from(sharedRows[key]!)).toEqual(Array.from(aloneRows[key]!))
        }))
        Network.dispose(net)
      }
    }), 120_000)

  it.effect("a prediction before the sync, of a split the replicas do not hold, or in batches of 0 rows is a ReplicaError", () =>
    Effect.gen(function*() {
      const spec = tinySpec()
      const net = buildNet(spec, data.info, 6)
      yield* Effect.scoped(Effect.gen(function*() {
        const replicas = yield* Replicas.make(2, { backend: tf.getBackend(), spec, info: data.info, seed: 6, train: data.dataset.splits.train })
        const early = yield* Effect.flip(replicas.predict(net, "train", Int32Array.from([0, 1])))
        expect(early.message).toContain("before the replicas were synced")
        yield* replicas.sync(net, Optimizer.adam(spec.learningRate))
        const missing = yield* Effect.flip(replicas.predict(net, "valid", Int32Array.from([0, 1])))
        expect(missing.message).toContain("hold no valid split")
        const badBatch = yield* Effect.flip(replicas.predict(net, "train", Int32Array.from([0, 1]), 0))
        expect(badBatch.message).toContain("batch size 0")
      }))
      Network.dispose(net)
    }), 60_000)

  it.effect("parts of the user's own train on one thread, and say so", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const progress = Layer.succeed(Progress, { update: () => {}, log: (line: string) => lines.push(line) } as unknown as Progress["Service"])
      const custom = Layer.succeed(ExpertFactory.ExpertFactory, { ...ExpertFactory.builtIn, make: (options) => ExpertFactory.builtIn.make(options) })
      const result = yield* Train.train(tinySpec(), data.dataset, data.info, { epochs: 1, batchSize: 16, threads: 2 }).pipe(
        Effect.provide(Layer.merge(custom, progress))
      )
      Network.dispose(result.net)
      expect(lines[0]).toContain("training on one thread")
      expect(lines[0]).toContain("parts of your own")
    }))

  it.effect("a bad thread count is a TrainingError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Train.train(tinySpec(), data.dataset, data.info, { epochs: 1, threads: 0 }))
      expect(error._tag).toBe("TrainingError")
      expect(error.message).toContain("threads must be an integer >= 1 (got 0)")
    }))
})

describe("a replica worker's take (the weights copied in right after an update, no reply)", () => {
  it("fails before a sync, and the failure is the reply to the next request, which it does not run", async () => {
    const { dataset, info } = prepare(sentimentData(2))
    const config: Replicas.ReplicaConfig = { backend: "cpu", spec: tinySpec(), info, seed: 1, train: dataset.splits.train }
    const worker = Spawn.spawn("ReplicaWorker", config)
    const replies: Array<Replicas.ReplicaReply> = []
    const next = () => new Promise<Replicas.ReplicaReply>((resolve) => worker.once("message", resolve))
    try {
      replies.push(await next())
      const mask = new Uint8Array([1, 1, 1, 1, 1, 1])
      const step: Replicas.ReplicaRequest = {
        type: "step", rows: Int32Array.from([0, 1]), mask, shares: Objective.sharesOf(mask, 0, 2, ["text", "audio", "vision"]), version: 1
      }
      worker.postMessage({ type: "take", version: 1 } satisfies Replicas.ReplicaRequest)
      const failed = next()
      worker.postMessage(step)
      replies.push(await failed)
      // the request after it runs: here a step before any sync, refused as such
      const refused = next()
      worker.postMessage(step)
      replies.push(await refused)
    } finally {
      await worker.terminate()
    }
    expect(replies[0]).toEqual({ type: "ready" })
    expect(replies[1]).toEqual({ type: "failed", reason: "take: no weights (not synced)" })
    expect(replies[2]).toEqual({ type: "failed", reason: "step: no weights (not synced)" })
  }, 60_000)
})

describe("a training's state and its thread count", () => {
  it("a resume with another --threads is refused, naming both counts", async () => {
    const { checkConfig } = await import("../src/model/TrainState")
    const base = { spec: tinySpec(), data: "x", seed: 1, epochs: 2, batchSize: 16, patience: 3, trainFraction: null, backend: "cpu" }
    const refused = await Effect.runPromise(Effect.flip(checkConfig("/tmp/state", { ...base, threads: 2 }, { ...base, threads: 1 })))
    expect(refused.message).toContain("--threads 1 here, 2 in the state")
    // a state written before threads existed is a one-thread training
    await Effect.runPromise(checkConfig("/tmp/state", base, { ...base, threads: 1 }))
    const older = await Effect.runPromise(Effect.flip(checkConfig("/tmp/state", base, { ...base, threads: 2 })))
    expect(older.message).toContain("--threads 2 here, 1 in the state")
  })
})
