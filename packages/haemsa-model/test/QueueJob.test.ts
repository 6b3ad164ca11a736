import { Synthetic } from "@haemsa/datasets"
import { Effect, Result } from "effect"
import { describe, expect, it } from "vitest"
import { defaultSpec } from "../src/model/ArchitectureSpec"
import * as Bull from "../src/search/queue/Bull"
import * as QueueJob from "../src/search/queue/QueueJob"
import * as QueueUrl from "../src/search/queue/QueueUrl"

const versions = QueueJob.localVersions()
const payload = (overrides: Partial<QueueJob.JobPayload> = {}): QueueJob.JobPayload => ({
  versions,
  key: "k",
  spec: defaultSpec,
  fidelity: { level: 0, epochs: 2, fraction: 0.25 },
  seed: 0,
  data: { source: "synthetic", hash: "abc" },
  backend: "wasm",
  threads: 1,
  ...overrides
})

describe("QueueJob.validate", () => {
  it("accepts a payload and refuses one whose architecture breaks the spec's Schema", () => {
    const good = payload()
    expect(Result.getOrThrow(QueueJob.validate(JSON.parse(JSON.stringify(good))))).toEqual(good)
    const bad = QueueJob.validate({ ...good, spec: { ...defaultSpec, hidden: -3 } })
    expect(Result.isFailure(bad)).toBe(true)
    if (Result.isFailure(bad)) expect(bad.failure.reason).toContain("invalid payload")
    expect(Result.isFailure(QueueJob.validate({ ...good, spec: { ...defaultSpec, model: "mystery" } }))).toBe(true)
    expect(Result.isFailure(QueueJob.validate({ spec: defaultSpec }))).toBe(true)
    expect(Result.isFailure(QueueJob.validate("not an object"))).toBe(true)
  })

  it("takes a full training (retrain) instead of a fidelity, and refuses a job with both or neither", () => {
    const { fidelity: _fidelity, ...common } = payload()
    const training = { ...common, retrain: { epochs: 20, seed: 3 } }
    expect(Result.getOrThrow(QueueJob.validate(JSON.parse(JSON.stringify(training))))).toEqual(training)
    for (const bad of [common, { ...training, fidelity: { level: 0 } }]) {
      const refused = QueueJob.validate(bad)
      expect(Result.isFailure(refused)).toBe(true)
      if (Result.isFailure(refused)) expect(refused.failure.reason).toContain("either a fidelity (an evaluation) or retrain (a full training)")
    }
    expect(Result.isFailure(QueueJob.validate({ ...training, retrain: { epochs: 2.5 } }))).toBe(true)
  })
})

describe("QueueJob.incompatibility", () => {
  it("refuses another haemsa or tfjs version and a backend the worker lacks", () => {
    expect(QueueJob.incompatibility(payload(), { versions })).toBeUndefined()
    expect(QueueJob.incompatibility(payload({ versions: { ...versions, haemsa: "9.9.9" } }), { versions })).toContain("haemsa 9.9.9")
    expect(QueueJob.incompatibility(payload({ versions: { ...versions, tfjs: "0.0.1" } }), { versions })).toContain("tfjs 0.0.1")
    expect(QueueJob.incompatibility(payload({ backend: "webgpu" }), { versions, backends: ["wasm", "cpu"] })).toContain("backend webgpu")
  })

  it("reads this process's versions", () => {
    expect(versions.haemsa).toMatch(/^\d+\.\d+\.\d+/)
    expect(versions.tfjs).toBe("4.22.0")
  })
})

describe("QueueJob.dataHash", () => {
  it("is the same for the same data and differs when one value changes", () => {
    const a = Synthetic.synthetic({ seed: 3, steps: 4, sizes: { train: 8, valid: 4, test: 4 } })
    const b = Synthetic.synthetic({ seed: 3, steps: 4, sizes: { train: 8, valid: 4, test: 4 } })
    const c = Synthetic.synthetic({ seed: 4, steps: 4, sizes: { train: 8, valid: 4, test: 4 } })
    expect(QueueJob.dataHash(a)).toBe(QueueJob.dataHash(b))
    expect(QueueJob.dataHash(a)).not.toBe(QueueJob.dataHash(c))
    const h = QueueJob.dataHash(a)
    expect(QueueJob.dataMismatch({ source: "synthetic", hash: h }, h)).toBeUndefined()
    expect(QueueJob.dataMismatch({ source: "synthetic", hash: h }, QueueJob.dataHash(c))).toContain("differs from the coordinator's")
  })
})

describe("QueueJob.describeWork", () => {
  it("names the candidate and its level, or the full training with its epochs and seed, whatever the stored data", () => {
    expect(QueueJob.describeWork(payload())).toBe("k (level 0)")
    const { fidelity: _fidelity, ...common } = payload()
    expect(QueueJob.describeWork({ ...common, retrain: { epochs: 20, seed: 3 } })).toBe("k (full training, up to 20 epochs, seed 3)")
    expect(QueueJob.describeWork({ ...common, seed: 7, retrain: { epochs: 20 } })).toBe("k (full training, up to 20 epochs, seed 7)")
    expect(QueueJob.describeWork(null)).toBe("?")
    expect(QueueJob.describeWork({ key: 5 })).toBe("?")
  })
})

describe("QueueJob.jobId and queueName", () => {
  it("are deterministic per candidate and fidelity, distinct otherwise", () => {
    const p = payload()
    expect(QueueJob.jobId(p)).toBe(QueueJob.jobId(payload()))
    expect(QueueJob.jobId(p)).not.toBe(QueueJob.jobId(payload({ fidelity: { level: 1, epochs: 4, fraction: 0.5 } })))
    expect(QueueJob.jobId(p)).not.toBe(QueueJob.jobId(payload({ key: "other" })))
    expect(QueueJob.jobId(p)).not.toContain(":")
    expect(QueueJob.jobId(p)).toMatch(/^c-[0-9a-f]{32}$/)
    // a full training's id: its epochs and training seed, apart from the evaluations'
    const { fidelity: _fidelity, ...common } = p
    const training = (retrain: QueueJob.JobPayload["retrain"]) => QueueJob.jobId({ ...common, retrain })
    expect(training({ epochs: 20, seed: 3 })).toMatch(/^r-[0-9a-f]{32}$/)
    expect(training({ epochs: 20, seed: 3 })).toBe(training({ epochs: 20, seed: 3 }))
    const ids = [training({ epochs: 20, seed: 3 }), training({ epochs: 20, seed: 4 }), training({ epochs: 20 }), training({ epochs: 30, seed: 3 })]
    expect(new Set(ids).size).toBe(4)
    expect(QueueJob.queueName({ seed: 1 }, "/a")).toBe(QueueJob.queueName({ seed: 1 }, "/a"))
    expect(QueueJob.queueName({ seed: 1 }, "/a")).not.toBe(QueueJob.queueName({ seed: 2 }, "/a"))
  })
})

describe("Bull.loadWith", () => {
  it("a missing bullmq is a QueueError that says how to install it", async () => {
    const missing = Object.assign(new Error("Cannot find package 'bullmq' imported from x"), { code: "ERR_MODULE_NOT_FOUND" })
    const error = await Effect.runPromise(Effect.flip(Bull.loadWith(() => Promise.reject(missing))))
    expect(error._tag).toBe("QueueError")
    expect(error.message).toContain("npm install bullmq")
    const broken = await Effect.runPromise(Effect.flip(Bull.loadWith(() => Promise.reject(new Error("boom")))))
    expect(broken.message).toContain("cannot load bullmq: boom")
  })

  it("QueueError.redacted removes the URL's password", () => {
    const url = Result.getOrThrow(QueueUrl.parse("redis://:sekrit@h:1"))
    expect(Bull.QueueError.redacted(url, new Error("WRONGPASS sekrit")).message).toBe("job queue: WRONGPASS ***")
  })
})
