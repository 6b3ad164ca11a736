/**
 * Model selection is on validation only: the training (its epochs, early stopping and the choice of
 * the best epoch's weights) never reads the test split; only the final scoring does. The dataset's
 * `splits.test` (and `splits.valid`) are getters that record each read, in one log with the
 * training's progress lines, so the log shows when each split was read.
 */
import type { Dataset as D } from "@haemsa/datasets"
import { Effect, Layer } from "effect"
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Progress } from "../src/cli/Progress"
import * as Environment from "../src/Environment"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import * as TrainState from "../src/model/TrainState"
import { prepare, sentimentData, tinySpec } from "./Support"

/** The data with its valid and test splits behind getters that log each read. */
const spied = (data: ReturnType<typeof prepare>, log: string[]): ReturnType<typeof prepare> => {
  const { train, valid, test } = data.dataset.splits
  const splits = {
    train,
    get valid(): D.Split {
      log.push("read valid")
      return valid
    },
    get test(): D.Split {
      log.push("read test")
      return test
    }
  }
  return { ...data, dataset: { ...data.dataset, splits } }
}

const run = (state: boolean) =>
  Effect.gen(function*() {
    const log: string[] = []
    const plain = prepare(sentimentData(3))
    const data = spied(plain, log)
    const dir = state ? yield* Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "haemsa-selection-"))) : undefined
    // patience 1: early stopping decides, on the valid objective, when to stop and which epoch to keep
    const { result } = yield* Experiment.trainOn(tinySpec("haemsa", "meanpool", { learningRate: 0.05 }), data, {
      epochs: 8,
      patience: 1,
      seed: 2,
      ...(dir !== undefined ? { state: { dir, data: TrainState.dataHash(plain.dataset) } } : {})
    }).pipe(Effect.provide(Layer.merge(Environment.test, Progress.layerCollect(log))))
    Network.dispose(result.net)
    if (dir !== undefined) yield* Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
    return log
  })

describe("the test split is read only by the final scoring", () => {
  for (const state of [false, true]) {
    it.effect(`training, early stopping and the choice of the best weights read valid, never test${state ? " (keeping a state in --out)" : ""}`, () =>
      Effect.gen(function*() {
        const log = yield* run(state)
        const trained = log.findIndex((l) => / trained \d+ epochs|^trained \d+ epochs/.test(l))
        expect(trained, log.join("\n")).toBeGreaterThan(0)
        const during = log.slice(0, trained)
        expect(during.some((l) => /^epoch \d+\//.test(l))).toBe(true)
        // validation drives the training: it is read before the end
        expect(during).toContain("read valid")
        // the test split is not
        expect(during).not.toContain("read test")
        // the final scoring reads it
        expect(log.slice(trained)).toContain("read test")
      }))
  }
})
