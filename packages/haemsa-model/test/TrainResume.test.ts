/**
 * Resuming a training from its state (`TrainOptions.state`): the state kept after each epoch of an
 * uninterrupted run is copied aside, and a training resumed from each copy ends with the weights,
 * history, best epoch and step count of the uninterrupted run, bit for bit (cpu backend), with
 * dropout, modality dropout, weight decay and a train fraction on. A state of another configuration,
 * none, or a corrupt one is a `TrainStateError` naming the file and the problem.
 */
import type { Dataset as D } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import type * as DataInfo from "../src/model/DataInfo"
import * as Environment from "../src/Environment"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import * as Train from "../src/model/Train"
import * as TrainState from "../src/model/TrainState"
import { Progress } from "../src/cli/Progress"
import { prepare, sentimentData, tinySpec, useCpu } from "./Support"

beforeAll(useCpu)

let root: string
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-resume-"))
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const EPOCHS = 4
const spec = tinySpec("haemsa", "meanpool", { dropout: 0.2, modalityDropout: 0.3, weightDecay: 0.01 })
const data = prepare(sentimentData(2))
const options: Train.TrainOptions = { epochs: EPOCHS, batchSize: 16, patience: 100, seed: 5, trainFraction: 0.75 }

/** Progress that copies the state folder `dir` to `dir-after-K` when epoch K is logged (the state is kept before). */
const copyingProgress = (dir: string) =>
  Layer.succeed(Progress, {
    update: () => {},
    log: (line: string) => {
      const m = /^epoch (\d+)\/\d+ .*\| valid/.exec(line)
      if (m) fs.cpSync(dir, `${dir}-after-${m[1]}`, { recursive: true })
    }
  })

/** Train and read what must match: the history without timings, the weights, the best epoch and the steps. */
const run = (
  dir: string,
  resume: boolean,
  progress: Layer.Layer<Progress> = Progress.layerSilent,
  overrides: { spec?: ArchitectureSpec.ArchitectureSpec; data?: { dataset: D.Dataset; info: DataInfo.DataInfo }; options?: Train.TrainOptions } = {}
) =>
  Effect.gen(function*() {
    const d = overrides.data ?? data
    const { final: _final, ...outcome } = yield* readOutcome(
      yield* Train.train(overrides.spec ?? spec, d.dataset, d.info, { ...options, ...overrides.options, state: { dir, resume } })
    )
    return outcome
  }).pipe(Effect.provide(Layer.merge(Environment.parts, progress)))

/** What must match between two trainings (the history without timings, the weights, the best epoch, the steps), and the final state; the network is freed. */
const readOutcome = (result: Train.TrainResult) =>
  Effect.gen(function*() {
    const weights = yield* Effect.promise(() => Experiment.readWeights(result.net))
    Network.dispose(result.net)
    return {
      history: result.history.map(({ seconds: _seconds, ...rest }) => rest),
      weights: new Map([...weights].map(([k, w]) => [k, Array.from(w.values)])),
      bestEpoch: result.bestEpoch,
      bestObjective: result.bestObjective,
      steps: result.steps,
      final: result.final
    }
  })

describe("Train resume", () => {
  it.effect("resuming after any epoch gives the weights, history and best epoch of an uninterrupted run; tensors are freed", () =>
    Effect.gen(function*() {
      const dir = path.join(root, "full")
      const full = yield* run(dir, false, copyingProgress(dir))
      expect(full.history).toHaveLength(EPOCHS)
      const before = tf.memory().numTensors
      for (let k = 1; k <= EPOCHS; k++) {
        const resumed = yield* run(`${dir}-after-${k}`, true)
        expect(resumed.history).toEqual(full.history)
        expect(resumed.weights).toEqual(full.weights)
        expect(resumed.bestEpoch).toBe(full.bestEpoch)
        expect(resumed.bestObjective).toBe(full.bestObjective)
        expect(resumed.steps).toBe(full.steps)
        // nothing of the state, the optimizer or the best weights stays allocated
        expect(tf.memory().numTensors).toBe(before)
      }
      // the state of the last epoch says so
      const last = yield* TrainState.load(`${dir}-after-${EPOCHS}`)
      expect(last.epoch).toBe(EPOCHS)
      expect(last.optimizer.iterations).toBe(full.steps)
    }))

  it.effect("a state kept after the early stop resumes to the same result without training again", () =>
    Effect.gen(function*() {
      const dir = path.join(root, "early")
      const early = { options: { ...options, patience: 1, epochs: 8 }, spec: tinySpec("early-fusion", "meanpool", { learningRate: 0.3 }) }
      const full = yield* run(dir, false, copyingProgress(dir), early)
      expect(full.history.length).toBeLessThan(8)
      const resumed = yield* run(`${dir}-after-${full.history.length}`, true, Progress.layerSilent, early)
      expect(resumed).toEqual(full)
    }))

  it.effect("a state of another configuration, none, or a corrupt one is a TrainStateError naming the file and the problem", () =>
    Effect.gen(function*() {
      const dir = path.join(root, "config")
      yield* run(dir, false, copyingProgress(dir), { options: { ...options, epochs: 2 } })
      const state = `${dir}-after-1`
      const file = path.join(state, TrainState.FILE)
      const failure = (overrides: Parameters<typeof run>[3], at = state) =>
        run(at, true, Progress.layerSilent, overrides).pipe(Effect.flip)
      const seed = yield* failure({ options: { ...options, epochs: 2, seed: 6 } })
      expect(seed).toBeInstanceOf(TrainState.TrainStateError)
      expect(seed.message).toBe(`${file}: the state is of another training: --seed 6 here, 5 in the state; resume with the same command line, or pass --force to start over`)
      expect((yield* failure({ options: { ...options, epochs: 3 } })).message).toContain("--epochs 3 here, 2 in the state")
      expect((yield* failure({ options: { ...options, epochs: 2, batchSize: 8 } })).message).toContain("--batch-size 8 here, 16 in the state")
      expect((yield* failure({ options: { ...options, epochs: 2 }, spec: { ...spec, learningRate: 0.02 } })).message).toContain(
        "the architecture spec differs (learningRate: 0.02 here, 0.01 in the state)"
      )
      expect((yield* failure({ options: { ...options, epochs: 2 }, data: prepare(sentimentData(3)) })).message).toContain(
        `${file}: the state is of another training: the data differ`
      )
      const none = yield* failure({ options: { ...options, epochs: 2 } }, path.join(root, "nothing-here"))
      expect(none.message).toBe(`${path.join(root, "nothing-here", TrainState.FILE)}: no training state to resume; run without --resume to train from the start`)
      // a corrupt tensor file
      const bin = fs.readdirSync(state).find((f) => f.startsWith("train-state-"))!
      const bytes = fs.readFileSync(path.join(state, bin))
      bytes[0] ^= 1
      fs.writeFileSync(path.join(state, bin), bytes)
      expect((yield* failure({ options: { ...options, epochs: 2 } })).message).toBe(`${path.join(state, bin)}: sha256 mismatch: the file is corrupt`)
    }))

  it.effect("a longer training continuing a shorter one's final state (keepFinal, continueFrom) ends as an uninterrupted one", () =>
    Effect.gen(function*() {
      /** Train without a state folder; read what must match, and the final state. */
      const plain = (trainOptions: Train.TrainOptions) =>
        Train.train(spec, data.dataset, data.info, trainOptions).pipe(
          Effect.flatMap(readOutcome),
          Effect.provide(Layer.merge(Environment.parts, Progress.layerSilent))
        )
      const before = tf.memory().numTensors
      const { final: noState, ...full } = yield* plain(options)
      expect(noState).toBeUndefined()
      const short = yield* plain({ ...options, epochs: 2, keepFinal: true })
      expect(short.final!.epoch).toBe(2)
      expect(short.final!.history).toHaveLength(2)
      const { final, ...continued } = yield* plain({ ...options, continueFrom: short.final!, keepFinal: true })
      expect(continued).toEqual(full)
      expect(final!.epoch).toBe(EPOCHS)
      // a state with nothing left to train is its own final state, and the result is the same
      const { final: again, ...same } = yield* plain({ ...options, continueFrom: final!, keepFinal: true })
      expect(same).toEqual(full)
      expect(again).toBe(final)
      expect(tf.memory().numTensors).toBe(before)
      // another configuration, or more epochs done than asked, is refused
      const refused = (trainOptions: Train.TrainOptions) => Effect.flip(plain(trainOptions))
      const seed = yield* refused({ ...options, seed: 6, continueFrom: short.final! })
      expect(seed).toBeInstanceOf(TrainState.TrainStateError)
      expect(seed.message).toBe(`${TrainState.IN_MEMORY}: cannot continue a training of another configuration: --seed 6 here, 5 in the state`)
      expect((yield* refused({ ...options, trainFraction: 0.5, continueFrom: short.final! })).message).toContain("the train fraction 0.5 here, 0.75 in the state")
      expect((yield* refused({ ...options, epochs: 1, continueFrom: short.final! })).message).toBe(
        `${TrainState.IN_MEMORY}: the state is after epoch 2: it cannot continue a training of 1 epochs`
      )
      // two states to go on from: neither is silently dropped
      const both = yield* refused({ ...options, continueFrom: short.final!, state: { dir: path.join(root, "both"), resume: true } })
      expect(both).toBeInstanceOf(Train.TrainingError)
      expect(both.message).toBe("both state.resume and continueFrom name a state to go on from: pass one")
      expect(tf.memory().numTensors).toBe(before)
    }))

  it.effect("the state keeps non-finite numbers and -0 exactly; a state is replaced atomically and the older tensor file removed", () =>
    Effect.gen(function*() {
      const dir = path.join(root, "numbers")
      const weights = new Map([["w", { shape: [2], values: new Float32Array([1, -0]) }]])
      const snapshot: TrainState.Snapshot = {
        config: { spec, data: "x", seed: 0, epochs: 1, batchSize: 1, patience: 1, trainFraction: null, backend: "cpu" },
        epoch: 1,
        steps: 1,
        seconds: 0.5,
        history: [{ epoch: 1, loss: NaN, valid: { mae: -0, corr: NaN }, objective: Infinity, seconds: 0.5 }],
        best: { epoch: 0, objective: Infinity, weights: undefined },
        rng: { shuffle: 4294967295, dropout: 7 },
        weights,
        optimizer: { iterations: 1, accBeta1: 0.9, accBeta2: 0.999, moments: [{ shape: [2], m: new Float32Array([0.5, -1]), v: new Float32Array([2, 3]) }] }
      }
      yield* TrainState.save(dir, snapshot)
      yield* TrainState.save(dir, { ...snapshot, epoch: 2 })
      const back = yield* TrainState.load(dir)
      expect(back).toEqual({ ...snapshot, epoch: 2 })
      expect(Object.is((back.history[0].valid as { mae: number }).mae, -0)).toBe(true)
      const files = fs.readdirSync(dir).sort()
      expect(files).toHaveLength(2)
      expect(files[0]).toMatch(/^train-state-[0-9a-f]{16}\.bin$/)
      expect(files[1]).toBe(TrainState.FILE)
      yield* TrainState.remove(dir)
      expect(fs.readdirSync(dir)).toEqual([])
    }))
})
