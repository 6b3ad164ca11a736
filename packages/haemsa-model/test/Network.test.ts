import type { Dataset as D } from "@haemsa/datasets"
import { ExpertFactory } from "@haemsa/experts"
import { Effect, Layer, Result } from "effect"
import { beforeAll, describe, expect, it } from "vitest"
import * as tf from "@tensorflow/tfjs"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as BatchTensors from "../src/model/BatchTensors"
import * as Objective from "../src/model/Objective"
import * as Environment from "../src/Environment"
import * as Network from "../src/model/Network"
import { buildNet, defaultLosses, emotionData, EMOTIONS, forward, perturb, prepare, sentimentData, tinySpec, tokenData, useCpu, VOCABULARY } from "./Support"

const KINDS = ["meanpool", "lstm", "transformer", "tcn"] as const
const MODELS = ["haemsa", "early-fusion", "late-fusion"] as const
const DATA = {
  sentiment: prepare(sentimentData()),
  emotions: prepare(emotionData()),
  "tokens + dense text": prepare(tokenData()),
  "tokens only": prepare(tokenData(1, false))
} as const

beforeAll(useCpu)

/** The split with modality `m` masked (mask column set to 0) for the given samples. */
const maskFor = (split: D.Split, column: number, samples: ReadonlyArray<number>): D.Split => {
  const mask = new Uint8Array(split.mask)
  for (const i of samples) mask[i * 3 + column] = 0
  return { ...split, mask }
}

const EVEN = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => i % 2 === 0)

/** Whether two forward passes agree bit for bit on every output. */
const sameOutputs = (a: ReturnType<typeof forward>, b: ReturnType<typeof forward>) => {
  expect([...a.keys()]).toEqual([...b.keys()])
  for (const [k, v] of a) expect(Array.from(b.get(k)!.values), k).toEqual(Array.from(v.values))
}

const changedAny = (a: ReturnType<typeof forward>, b: ReturnType<typeof forward>) =>
  [...a].some(([k, v]) => v.values.some((x, i) => x !== b.get(k)!.values[i]))

describe("Network shapes", () => {
  for (const kind of KINDS) {
    for (const model of MODELS) {
      for (const [dataName, { dataset, info }] of Object.entries(DATA)) {
        it(`${model} with ${kind} experts on ${dataName} data`, () => {
          const net = buildNet(tinySpec(model, kind), info)
          try {
            const split = dataset.splits.test
            const B = split.n
            const out = forward(net, split)
            for (const [k, v] of out) expect(v.values.every(Number.isFinite), `${k} finite`).toBe(true)
            if (info.task === "emotions") {
              expect(out.get("emotionLogits")!.shape).toEqual([B, EMOTIONS.length, 2])
              expect(out.has("regression")).toBe(false)
              expect(out.has("classLogits")).toBe(false)
              expect(net.tasks).toEqual([...EMOTIONS])
              expect(net.kdClasses).toBe(2 * EMOTIONS.length)
            } else {
              expect(out.get("regression")!.shape).toEqual([B])
              expect(out.get("classLogits")!.shape).toEqual([B, Network.SENTIMENT_CLASSES])
              expect(out.has("emotionLogits")).toBe(false)
              expect(net.tasks).toEqual(["regression", "classification"])
            }
            expect(net.modalities).toEqual(["text", "audio", "vision"])
            if (info.tokens) expect(net.variables.get("embedding/table")!.shape).toEqual([VOCABULARY.length, 6])
            else expect(net.variables.has("embedding/table")).toBe(false)
            if (model !== "haemsa") {
              expect(out.has("attention")).toBe(false)
              expect(out.has("teacherLogits")).toBe(false)
              expect([...out.keys()].some((k) => k.startsWith("unimodal/"))).toBe(false)
              return
            }
            const K = net.tasks.length
            const J = 3 + 1 + 2 // text, audio, vision, unified, level1, level2
            expect(net.experts).toEqual(["text", "audio", "vision", "unified", "level1", "level2"])
            const attention = out.get("attention")!
            expect(attention.shape).toEqual([B, K, J])
            for (let r = 0; r < B * K; r++) {
              const row = attention.values.subarray(r * J, (r + 1) * J)
              expect(row.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5)
              expect(row.every((x) => x >= 0)).toBe(true)
            }
            expect(out.get("teacherLogits")!.shape).toEqual([B, net.kdClasses])
            for (const m of ["text", "audio", "vision"]) {
              expect(out.get(`unimodal/${m}/logits`)!.shape).toEqual([B, net.kdClasses])
              if (info.task === "sentiment") expect(out.get(`unimodal/${m}/regression`)!.shape).toEqual([B])
            }
          } finally {
            Network.dispose(net)
          }
        })
      }
    }
  }

  it("reads the token ids: changing a sample's tokens changes its prediction (tokens-only text)", () => {
    const { dataset, info } = DATA["tokens only"]
    const net = buildNet(tinySpec("haemsa", "meanpool"), info)
    try {
      const split = dataset.splits.test
      const tokens = split.tokens!
      const ids = new Int32Array(tokens.ids)
      for (let t = 0; t < tokens.lengths[0]; t++) ids[t] = ids[t] === 2 ? 3 : 2
      const before = forward(net, split).get("regression")!.values
      const after = forward(net, { ...split, tokens: { ...tokens, ids } }).get("regression")!.values
      expect(after[0]).not.toBe(before[0])
      expect(Array.from(after.subarray(1))).toEqual(Array.from(before.subarray(1)))
    } finally {
      Network.dispose(net)
    }
  })

  it("builds the same initial weights from the same seed and different ones from another seed", () => {
    const { info } = DATA.sentiment
    const values = (seed: number) => {
      const net = buildNet(tinySpec("haemsa", "lstm"), info, seed)
      const out = new Map([...net.variables].map(([k, v]) => [k, Array.from(v.dataSync())]))
      Network.dispose(net)
      return out
    }
    const a = values(3)
    expect(values(3)).toEqual(a)
    expect(values(4)).not.toEqual(a)
  })

  it("asks the ExpertFactory for each modality's expert by modality, with that modality's spec and input size", () => {
    const { info } = DATA.sentiment
    const requests = (model: (typeof MODELS)[number]) => {
      const asked: Array<string> = []
      const recording = Layer.succeed(ExpertFactory.ExpertFactory, {
        make: (request) => {
          asked.push(`${request.modality} ${request.spec.hidden} ${request.inputDim}->${request.outDim}`)
          return ExpertFactory.builtIn.make(request)
        },
        makeUnified: (request) => {
          asked.push(`unified ${request.spec.hidden} ${JSON.stringify(request.inputDims)}->${request.outDim}`)
          return ExpertFactory.builtIn.makeUnified(request)
        }
      })
      const base = tinySpec(model)
      const spec = { ...base, experts: { ...base.experts, audio: { kind: "meanpool" as const, hidden: 5 }, vision: { kind: "meanpool" as const, hidden: 7 } } }
      const net = Effect.runSync(Network.build(spec, info, 0).pipe(Effect.provide(Layer.merge(Environment.parts, recording))))
      Network.dispose(net)
      return asked
    }
    const [t, a, v] = (["text", "audio", "vision"] as const).map((m) => info.features[m]!.dim)
    const unified = `unified 8 ${JSON.stringify({ text: t, audio: a, vision: v })}->8`
    expect(requests("haemsa")).toEqual([`text 8 ${t}->8`, `audio 5 ${a}->8`, `vision 7 ${v}->8`, unified])
    expect(requests("late-fusion")).toEqual([`text 8 ${t}->8`, `audio 5 ${a}->8`, `vision 7 ${v}->8`])
    expect(requests("early-fusion")).toEqual([unified])
  })

  it("fails with a ModelError naming the modalities when the spec's modalities are not in the data", () => {
    const { info } = DATA.sentiment
    const noVision = { ...info, features: { text: info.features.text, audio: info.features.audio } }
    const exit = Effect.runSync(
      Network.build(tinySpec("haemsa", "meanpool", { modalities: ["vision"] }), noVision, 0).pipe(Effect.provide(Environment.parts), Effect.result)
    )
    expect(Result.isFailure(exit)).toBe(true)
    if (Result.isFailure(exit)) {
      expect(exit.failure).toBeInstanceOf(Network.ModelError)
      expect(exit.failure.message).toContain("[vision]")
      expect(exit.failure.message).toContain("[text, audio]")
    }
  })
})

describe("Network masking", () => {
  const { dataset, info } = DATA.sentiment
  const split = dataset.splits.test
  const masked = EVEN(split.n)

  for (const kind of KINDS) {
    for (const model of MODELS) {
      it(`${model}/${kind}: the features of a masked modality do not reach any output`, () => {
        const net = buildNet(tinySpec(model, kind), info)
        try {
          const base = maskFor(split, 0, masked)
          const before = forward(net, base)
          sameOutputs(before, forward(net, perturb(base, "text", masked)))
          // the same change on samples where text is present does change the outputs (the check can fail)
          expect(changedAny(before, forward(net, perturb(base, "text", [1, 3])))).toBe(true)
          if (model === "haemsa") {
            const attention = before.get("attention")!
            const [, K, J] = attention.shape
            for (let i = 0; i < split.n; i++) {
              for (let k = 0; k < K; k++) {
                const onText = attention.values[(i * K + k) * J + net.experts.indexOf("text")]
                if (i % 2 === 0) expect(onText).toBe(0)
                else expect(onText).toBeGreaterThan(0)
              }
            }
          }
        } finally {
          Network.dispose(net)
        }
      })
    }
  }

  it("a masked token text modality ignores its tokens too", () => {
    const tok = DATA["tokens only"]
    const net = buildNet(tinySpec("haemsa", "transformer"), tok.info)
    try {
      const base = maskFor(tok.dataset.splits.test, 0, masked)
      const tokens = base.tokens!
      const ids = new Int32Array(tokens.ids).map((id, j) => (Math.floor(j / tokens.steps) % 2 === 0 ? (id + 3) % VOCABULARY.length : id))
      sameOutputs(forward(net, base), forward(net, { ...base, tokens: { ...tokens, ids } }))
    } finally {
      Network.dispose(net)
    }
  })

  for (const model of MODELS) {
    it(`${model}: a spec with modalities [text] reads text only`, () => {
      const spec: ArchitectureSpec.ArchitectureSpec = tinySpec(model, "lstm", { modalities: ["text"] })
      const net = buildNet(spec, info)
      try {
        expect(net.modalities).toEqual(["text"])
        const names = [...net.variables.keys()]
        expect(names.some((k) => /(^|\/)(audio|vision)\//.test(k))).toBe(false)
        if (model === "haemsa") expect(net.experts).toEqual(["text", "unified", "level1", "level2"])
        const before = forward(net, split)
        if (model === "haemsa") {
          expect(before.get("attention")!.shape).toEqual([split.n, 2, 4])
          expect([...before.keys()].filter((k) => k.startsWith("unimodal/"))).toEqual(["unimodal/text/regression", "unimodal/text/logits"])
        }
        sameOutputs(before, forward(net, perturb(perturb(split, "audio"), "vision")))
        // masking audio and vision changes nothing either; changing text does change the outputs
        sameOutputs(before, forward(net, maskFor(maskFor(split, 1, EVEN(split.n)), 2, [1, 2, 3])))
        expect(changedAny(before, forward(net, perturb(split, "text", [0])))).toBe(true)
      } finally {
        Network.dispose(net)
      }
    })
  }
})

describe("modality gates", () => {
  const { dataset, info } = DATA.sentiment
  const split = dataset.splits.test
  const gated = (init: number) => tinySpec("haemsa", "meanpool", { modalityGates: { anchor: "text", init } })

  it("has one gate variable per non-anchor modality, at its initial value, and the usual output shapes", () => {
    const net = buildNet(gated(0.2), info)
    try {
      expect([...net.variables.keys()].filter((k) => k.startsWith("gate/"))).toEqual(["gate/audio", "gate/vision"])
      const a = net.variables.get("gate/audio")!.dataSync()[0]
      expect(1 / (1 + Math.exp(-Network.GATE_SCALE * a))).toBeCloseTo(0.2, 6)
      const out = forward(net, split)
      expect(out.get("regression")!.shape).toEqual([split.n])
      expect(out.get("attention")!.shape).toEqual([split.n, 2, 3 + 1 + 2])
      for (const [k, v] of out) expect(v.values.every(Number.isFinite), k).toBe(true)
    } finally {
      Network.dispose(net)
    }
  })

  it("has no gates without the anchor among the used modalities, or with one modality", () => {
    for (const modalities of [["audio", "vision"], ["text"]] as const) {
      const net = buildNet(tinySpec("haemsa", "meanpool", { modalities: [...modalities], modalityGates: { anchor: "text", init: 0.2 } }), info)
      try {
        expect([...net.variables.keys()].some((k) => k.startsWith("gate/"))).toBe(false)
      } finally {
        Network.dispose(net)
      }
    }
  })

  it("a closed gate switches its modality out of the fusion: its features no longer reach the task outputs", () => {
    const net = buildNet(gated(0.5), info)
    try {
      const open = forward(net, split)
      const changed = forward(net, perturb(split, "audio"))
      expect(changedAny(new Map([["regression", open.get("regression")!]]), new Map([["regression", changed.get("regression")!]]))).toBe(true)
      net.variables.get("gate/audio")!.assign(tf.scalar(-5)) // g = sigmoid(-50)
      const before = forward(net, split)
      const after = forward(net, perturb(split, "audio"))
      for (const k of ["regression", "classLogits"]) {
        const a = before.get(k)!.values
        const b = after.get(k)!.values
        expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]))), k).toBeLessThan(1e-4)
      }
      // the attention on the audio expert is (almost) 0
      const attention = before.get("attention")!
      const j = net.experts.indexOf("audio")
      const [, K, J] = attention.shape
      for (let i = 0; i < split.n * K; i++) expect(attention.values[i * J + j]).toBeLessThan(1e-5)
    } finally {
      Network.dispose(net)
    }
  })

  it("gives the gates finite, non-zero gradients of the joint loss", () => {
    const net = buildNet(gated(0.3), info)
    try {
      const batch = BatchTensors.fromSplit(dataset.splits.train)
      const gates = [...net.variables].filter(([k]) => k.startsWith("gate/")).map(([, v]) => v)
      const { value, grads } = tf.variableGrads(() => Objective.jointLoss(net, net.apply(batch, true), batch, defaultLosses), gates)
      value.dispose()
      BatchTensors.dispose(batch)
      for (const v of gates) {
        const g = grads[v.name].dataSync()[0]
        expect(Number.isFinite(g)).toBe(true)
        expect(g).not.toBe(0)
      }
    } finally {
      Network.dispose(net)
    }
  })

  it("decodes specs without modalityGates (older specs) and rejects a bad gate", () => {
    const { modalityGates: _gates, ...old } = ArchitectureSpec.defaultSpec
    expect(ArchitectureSpec.decode(old).modalityGates).toBeUndefined()
    expect(() => ArchitectureSpec.decode({ ...old, modalityGates: { anchor: "text", init: 0 } })).toThrow(/init/)
    expect(() => ArchitectureSpec.decode({ ...old, modalityGates: { anchor: "smell", init: 0.1 } })).toThrow(/anchor/)
  })
})

describe("text input", () => {
  it("token steps that differ from the dense text steps are a ModelError", async () => {
    // a checkpoint or dataset whose token and dense text steps disagree fails at build time, not in tfjs
    const info = {
      name: "t",
      task: "sentiment" as const,
      features: { text: { steps: 5, dim: 4 } },
      tokens: { steps: 6, vocabulary: ["<pad>", "<unk>", "good"] },
      normalization: {}
    }
    const error = await Effect.runPromise(Effect.flip(Network.build(tinySpec(), info, 1)).pipe(Effect.provide(Environment.parts)))
    expect(error.message).toContain("must match")
  })
})
