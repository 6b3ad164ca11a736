import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as fc from "fast-check"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Checkpoint from "../src/model/Checkpoint"
import * as Evaluate from "../src/model/Evaluate"
import * as Experiment from "../src/model/Experiment"
import * as Environment from "../src/Environment"
import * as Network from "../src/model/Network"
import * as Train from "../src/model/Train"
import { prepare, tinySpec, tokenData, useCpu } from "./Support"

const data = prepare(tokenData(4))
const spec: ArchitectureSpec.ArchitectureSpec = tinySpec("haemsa", "lstm", { fusion: { depth: 2, pool: "gate", sharedMode: "evolve" } })
const testSplit = data.dataset.splits.test

let root: string
let good: string
let trained: Network.Network
let expected: Evaluate.Predictions

const load = (dir: string) => Effect.runPromise(Experiment.loadNetwork(dir).pipe(Effect.provide(Environment.parts)))
const loadError = (dir: string) => Effect.runPromise(Effect.flip(Experiment.loadNetwork(dir)).pipe(Effect.provide(Environment.parts)))

const saveNet = async (dir: string, net: Network.Network, theSpec = spec) => {
  const metrics = await Evaluate.evaluate(net, data.dataset.splits.valid)
  const extra: Experiment.CheckpointExtra = { info: data.info, seed: 11, source: "tiny-tokens", valid: metrics, test: metrics }
  return Checkpoint.save(dir, { spec: theSpec, extra, weights: await Experiment.readWeights(net) })
}

/** Bit-level view of a prediction array (so -0/+0 and NaN payloads would count as different). */
const bits = (a: Float32Array | undefined) => Array.from(new Uint32Array(a!.buffer, a!.byteOffset, a!.length))

let copies = 0
/** A fresh copy of the good checkpoint, modified by `edit`. */
const corrupted = async (edit: (dir: string) => Promise<void>): Promise<string> => {
  const dir = path.join(root, `bad-${++copies}`)
  await fs.cp(good, dir, { recursive: true })
  await edit(dir)
  return dir
}

const manifestOf = (dir: string) => path.join(dir, Checkpoint.MANIFEST)
const readManifest = async (dir: string) => JSON.parse(await fs.readFile(manifestOf(dir), "utf8"))
const writeManifest = (dir: string, m: unknown) => fs.writeFile(manifestOf(dir), JSON.stringify(m))
/** Edit the manifest and seal it again (a new integrity hash), so the checks behind the integrity check are reached. */
const editManifest = (f: (m: any) => void) => async (dir: string) => {
  const m = await readManifest(dir)
  f(m)
  if (m.integrity !== undefined) m.integrity = { sha256: Checkpoint.integrityOf(m) }
  await writeManifest(dir, m)
}
const weightsOf = async (dir: string) => path.join(dir, (await readManifest(dir)).weights.file as string)

beforeAll(async () => {
  await useCpu()
  root = await fs.mkdtemp(path.join(os.tmpdir(), "haemsa-ckpt-"))
  good = path.join(root, "good")
  const result = await Effect.runPromise(
    Train.train(spec, data.dataset, data.info, { epochs: 2, batchSize: 16, seed: 11 }).pipe(Effect.provide(Environment.test))
  )
  trained = result.net
  expected = await Evaluate.predict(trained, testSplit)
  await saveNet(good, trained)
})

afterAll(async () => {
  if (trained) Network.dispose(trained)
  if (root) await fs.rm(root, { recursive: true, force: true })
})

describe("Checkpoint round trip", () => {
  it("a trained network saved and loaded predicts bit for bit the same", async () => {
    const { net, extra } = await load(good)
    try {
      expect(net.spec).toEqual(spec)
      expect(extra.info).toEqual(JSON.parse(JSON.stringify(data.info)))
      expect(extra.seed).toBe(11)
      const p = await Evaluate.predict(net, testSplit)
      expect(bits(p.regression)).toEqual(bits(expected.regression))
      expect(bits(p.attention)).toEqual(bits(expected.attention))
      for (const [k, v] of trained.variables) expect(Array.from(net.variables.get(k)!.dataSync()), k).toEqual(Array.from(v.dataSync()))
    } finally {
      Network.dispose(net)
    }
  })

  it("the folder holds the manifest and one weights file named after its hash", async () => {
    const files = (await fs.readdir(good)).sort()
    const m = await readManifest(good)
    expect(files).toEqual([Checkpoint.MANIFEST, m.weights.file].sort())
    expect(m.weights.file).toBe(`weights-${m.weights.sha256.slice(0, 16)}.bin`)
    expect((await fs.stat(path.join(good, m.weights.file))).size).toBe(m.weights.elements * 4)
  })

  it("Checkpoint.save then load returns the same spec, extra and weights (any weights)", async () => {
    const dir = path.join(root, "prop")
    const weightsArb = fc.uniqueArray(
      fc.record({
        name: fc.stringMatching(/^[a-z]{1,6}(\/[a-z0-9]{1,6}){0,2}$/),
        shape: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 })
      }),
      { selector: (w) => w.name, maxLength: 6 }
    ).chain((entries) =>
      fc.tuple(
        ...entries.map((e) =>
          fc.float32Array({ minLength: e.shape.reduce((a, b) => a * b, 1), maxLength: e.shape.reduce((a, b) => a * b, 1), noNaN: true, noDefaultInfinity: true })
            .map((values) => [e.name, { shape: e.shape, values }] as const)
        )
      )
    )
    await fc.assert(
      fc.asyncProperty(weightsArb, fc.jsonValue(), async (entries, extra) => {
        const weights = new Map(entries)
        await Checkpoint.save(dir, { spec, extra, weights })
        const back = await Checkpoint.load(dir)
        expect(back.spec).toEqual(spec)
        expect(back.extra).toEqual(JSON.parse(JSON.stringify(extra)))
        expect([...back.weights.keys()]).toEqual([...weights.keys()])
        for (const [k, w] of weights) {
          expect(back.weights.get(k)!.shape).toEqual(w.shape)
          expect(bits(back.weights.get(k)!.values)).toEqual(bits(w.values))
        }
        // never more than one weights file: the previous one is removed after the new manifest is in place
        expect((await fs.readdir(dir)).filter((f) => f.startsWith("weights-"))).toHaveLength(1)
      }),
      { numRuns: 25 }
    )
  })
})

describe("haemsa eval on data that does not fit the checkpoint", () => {
  it("fails with a ModelError and frees the network it loaded", async () => {
    const before = tf.memory().numTensors
    const error = await Effect.runPromise(
      Effect.flip(Experiment.evalJob({ checkpoint: good, source: "synthetic" })).pipe(Effect.provide(Environment.test))
    )
    expect(error).toBeInstanceOf(Network.ModelError)
    expect(String((error as Error).message)).toContain("does not fit checkpoint")
    expect(tf.memory().numTensors).toBe(before)
  })
})

describe("Bad checkpoints are a CheckpointError naming the file", () => {
  const expectLoadFailure = async (dir: string, file: string, reason: RegExp | string) => {
    const before = tf.memory().numTensors
    const failure = await loadError(dir)
    expect(failure).toBeInstanceOf(Checkpoint.CheckpointError)
    const error = failure as Checkpoint.CheckpointError
    expect(error.file).toBe(file)
    expect(error.message.startsWith(`${file}: `)).toBe(true)
    expect(error.message).toMatch(reason)
    // a failed load leaves no tensors behind
    expect(tf.memory().numTensors).toBe(before)
    return error
  }

  it("missing manifest", async () => {
    const dir = await corrupted((d) => fs.rm(manifestOf(d)))
    await expectLoadFailure(dir, manifestOf(dir), /cannot read/)
  })

  it("a folder that does not exist", async () => {
    const dir = path.join(root, "nowhere")
    await expectLoadFailure(dir, manifestOf(dir), /cannot read/)
  })

  it("manifest that is not JSON", async () => {
    const dir = await corrupted((d) => fs.writeFile(manifestOf(d), `{"format": "haemsa-checkpoint", `))
    await expectLoadFailure(dir, manifestOf(dir), /not JSON/)
  })

  it("manifest of another format", async () => {
    const other = await corrupted(editManifest((m) => { m.format = "keras" }))
    await expectLoadFailure(other, manifestOf(other), /not a haemsa checkpoint \(format "keras"\)/)
  })

  it("a format version this code does not read: the version found and the one needed", async () => {
    const newer = await corrupted(editManifest((m) => { m.version = 4 }))
    const error = await expectLoadFailure(newer, manifestOf(newer), /checkpoint format version 4: .* needs format version 3 \(or 1 or 2, which it upgrades\): written by a newer/)
    expect(error.message).toContain(manifestOf(newer))
    const unversioned = await corrupted(editManifest((m) => { delete m.version }))
    await expectLoadFailure(unversioned, manifestOf(unversioned), /checkpoint without a format version: .* needs format version 3/)
    const text = await corrupted(editManifest((m) => { m.version = "3" }))
    await expectLoadFailure(text, manifestOf(text), /checkpoint format version "3": .* needs format version 3/)
  })

  it("an invalid spec field, named", async () => {
    const dir = await corrupted(editManifest((m) => { m.spec.fusion.depth = 9 }))
    await expectLoadFailure(dir, manifestOf(dir), /invalid architecture spec[\s\S]*\["fusion"\]\["depth"\]/)
  })

  it("a weights file name that is not a weights file (no path escapes)", async () => {
    const dir = await corrupted(editManifest((m) => { m.weights.file = "../good/checkpoint.json" }))
    await expectLoadFailure(dir, manifestOf(dir), /invalid weights manifest/)
  })

  it("missing weights file", async () => {
    const dir = await corrupted(async (d) => fs.rm(await weightsOf(d)))
    await expectLoadFailure(dir, path.join(dir, (await readManifest(dir)).weights.file), /cannot read/)
  })

  it("truncated weights file", async () => {
    const dir = await corrupted(async (d) => {
      const f = await weightsOf(d)
      await fs.truncate(f, Math.floor((await fs.stat(f)).size / 2))
    })
    await expectLoadFailure(dir, await weightsOf(dir), /size \d+ bytes, manifest says \d+/)
  })

  it("one flipped byte in the weights (sha256 mismatch)", async () => {
    const dir = await corrupted(async (d) => {
      const f = await weightsOf(d)
      const bytes = await fs.readFile(f)
      bytes[Math.floor(bytes.length / 2)] ^= 0x01
      await fs.writeFile(f, bytes)
    })
    await expectLoadFailure(dir, await weightsOf(dir), /sha256 mismatch/)
  })

  it("a tensor outside the weights file", async () => {
    const dir = await corrupted(editManifest((m) => { m.weights.tensors[0].offset = m.weights.elements }))
    await expectLoadFailure(dir, manifestOf(dir), /out of range/)
  })

  it("a malformed tensor entry (shape not a list of sizes, no name)", async () => {
    for (const edit of [
      (m: any) => { m.weights.tensors[0].shape = "8x8" },
      (m: any) => { m.weights.tensors[0].shape = [2.5, 2] },
      (m: any) => { delete m.weights.tensors[1].name }
    ]) {
      const dir = await corrupted(editManifest(edit))
      const error = await Checkpoint.load(dir).then(() => undefined, (e) => e)
      expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
      expect(error.file).toBe(manifestOf(dir))
      expect(error.message).toContain("invalid tensor entry")
      await expectLoadFailure(dir, manifestOf(dir), /invalid tensor entry/)
    }
  })

  it("a tensor shape that does not fit the model (the spec's hidden size edited)", async () => {
    const dir = await corrupted(editManifest((m) => { m.spec.hidden = 12 }))
    const error = await expectLoadFailure(dir, dir, /checkpoint shape \[[\d, ]+\], model shape \[[\d, ]+\]/)
    expect(error.message).toMatch(/variable \S+:/)
  })

  it("an extra tensor the model does not have", async () => {
    const dir = await corrupted(editManifest((m) => { m.weights.tensors.push({ name: "bogus/kernel", shape: [2], offset: 0 }) }))
    await expectLoadFailure(dir, dir, /checkpoint has weights bogus\/kernel that the model does not have/)
  })

  it("a missing tensor", async () => {
    let removed = ""
    const dir = await corrupted(editManifest((m) => { removed = m.weights.tensors.splice(3, 1)[0].name }))
    await expectLoadFailure(dir, dir, `missing weights for variable ${removed}`)
  })

  it("no data info", async () => {
    const dir = await corrupted(editManifest((m) => { delete m.extra.info }))
    await expectLoadFailure(dir, dir, /no data info/)
  })
})

describe("Checkpoint format versions", () => {
  it("writes the current format version", async () => {
    expect((await readManifest(good)).version).toBe(Checkpoint.FORMAT_VERSION)
    expect(Checkpoint.FORMAT_VERSION).toBe(3)
  })

  /** The good checkpoint rewritten as format version 1 wrote it: no emotion and teacher lambdas in the spec. */
  const version1 = (classification?: number) =>
    corrupted(editManifest((m) => {
      delete m.integrity
      m.version = 1
      delete m.spec.lambdas.emotion
      delete m.spec.lambdas.teacher
      if (classification !== undefined) m.spec.lambdas.classification = classification
    }))

  it("a version 1 checkpoint loads, with the lambdas its objective had (emotion = regression, teacher = max(classification, 0.1))", async () => {
    const dir = await version1()
    const { net } = await load(dir)
    try {
      expect(net.spec).toEqual(spec)
      expect(net.spec.lambdas).toMatchObject({ emotion: spec.lambdas.regression, teacher: Math.max(spec.lambdas.classification, 0.1) })
      expect(bits((await Evaluate.predict(net, testSplit)).regression)).toEqual(bits(expected.regression))
    } finally {
      Network.dispose(net)
    }
    const low = await Checkpoint.load(await version1(0.05))
    expect(low.spec.lambdas).toMatchObject({ classification: 0.05, teacher: 0.1, emotion: spec.lambdas.regression })
  })

  it("a version 1 checkpoint saved again is written as the current version", async () => {
    const dir = await version1()
    const old = await Checkpoint.load(dir)
    await Checkpoint.save(dir, old)
    const m = await readManifest(dir)
    expect(m.version).toBe(Checkpoint.FORMAT_VERSION)
    expect(m.spec.lambdas).toEqual(spec.lambdas)
  })
})

describe("Checkpoint atomicity", () => {
  it("leftover temporary files of an interrupted save do not disturb the previous checkpoint", async () => {
    const dir = await corrupted(async (d) => {
      await fs.writeFile(path.join(d, "weights-00112233aabbccdd.bin.tmp-999-1"), new Uint8Array(17).fill(7))
      await fs.writeFile(path.join(d, `${Checkpoint.MANIFEST}.tmp-999-1`), "{ half a manif")
    })
    const { net } = await load(dir)
    try {
      expect(bits((await Evaluate.predict(net, testSplit)).regression)).toEqual(bits(expected.regression))
    } finally {
      Network.dispose(net)
    }
  })

  it("saving over a checkpoint replaces it whole and removes the old weights file", async () => {
    const dir = await corrupted(async () => {})
    const oldWeights = (await readManifest(dir)).weights.file
    const { net } = await load(dir)
    try {
      // change the weights: one more step of training would do; scaling every variable is simpler
      tf.tidy(() => { for (const v of net.variables.values()) v.assign(tf.mul(v, 0.5)) })
      const changed = await Evaluate.predict(net, testSplit)
      expect(bits(changed.regression)).not.toEqual(bits(expected.regression))
      await saveNet(dir, net)
      const files = await fs.readdir(dir)
      expect(files).not.toContain(oldWeights)
      expect(files.filter((f) => f.startsWith("weights-"))).toHaveLength(1)
      const reloaded = await load(dir)
      try {
        expect(bits((await Evaluate.predict(reloaded.net, testSplit)).regression)).toEqual(bits(changed.regression))
      } finally {
        Network.dispose(reloaded.net)
      }
    } finally {
      Network.dispose(net)
    }
  })

  it("a save into a path that cannot be a folder fails with a CheckpointError naming it", async () => {
    const file = path.join(root, "a-file")
    await fs.writeFile(file, "not a folder")
    const error = await Checkpoint.save(file, { spec, extra: {}, weights: new Map() }).then(() => undefined, (e) => e)
    expect(error).toBeInstanceOf(Checkpoint.CheckpointError)
    expect(error.file).toBe(file)
    expect(error.message).toContain("cannot write checkpoint")
  })
})
