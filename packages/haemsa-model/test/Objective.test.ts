import type { Dataset as D } from "@haemsa/datasets"
import { Batching } from "@haemsa/datasets"
import * as tf from "@tensorflow/tfjs"
import { beforeAll, describe, expect, it } from "vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as BatchTensors from "../src/model/BatchTensors"
import type * as DataInfo from "../src/model/DataInfo"
import * as Network from "../src/model/Network"
import * as Objective from "../src/model/Objective"
import { buildNet, defaultLosses, emotionData, prepare, sentimentData, tinySpec, tokenData, useCpu } from "./Support"

beforeAll(useCpu)

/**
 * 63 training samples: an odd batch, so that the L1 gradient of a regression bias, the mean of
 * sign(prediction - label), cannot be exactly 0 (with an even batch it is 0 whenever half the
 * predictions are above their labels: the L1 loss is flat in the bias there, a zero by design).
 */
const oddBatch = (split: D.Split): D.Split => Batching.subset(split, Int32Array.from({ length: 63 }, (_, i) => i))

/** The joint loss and its gradient for every variable (by variable path; absent: not connected to the loss). */
const gradients = (spec: ArchitectureSpec.ArchitectureSpec, info: DataInfo.DataInfo, split: D.Split, seed = 0) => {
  const net = buildNet(spec, info, seed)
  const batch = BatchTensors.fromSplit(split)
  try {
    const { value, grads } = tf.variableGrads(
      () => Objective.jointLoss(net, net.apply(batch, true), batch, defaultLosses),
      [...net.variables.values()]
    )
    const out = new Map<string, Float32Array>()
    for (const [path, v] of net.variables) {
      const g = grads[v.name]
      if (g) out.set(path, g.dataSync() as Float32Array)
    }
    const loss = value.dataSync()[0]
    tf.dispose([value, ...Object.values(grads)])
    return { loss, grads: out, paths: [...net.variables.keys()] }
  } finally {
    BatchTensors.dispose(batch)
    Network.dispose(net)
  }
}

/** The paths whose gradient is absent, not finite, or all zero. */
const withoutGradient = (g: ReturnType<typeof gradients>) =>
  g.paths.filter((p) => {
    const v = g.grads.get(p)
    return v === undefined || !v.every(Number.isFinite) || v.every((x) => x === 0)
  })

/**
 * Zero by design: in "evolve" mode the last fusion level also updates the shared stream,
 * h_s^(n) = g_s^(n)([h_s^(n-1); h_l^(n-1)]), but h_s^(n) is not among the experts the task attention
 * reads (E = {h_t, h_a, h_v, h_s, h_l^(1..n)}, spec part 4), so that level's shared weights are not
 * connected to the loss.
 */
const lastSharedLevel = (depth: number) => [
  `hierarchy/level${depth}/shared/part0/kernel`,
  `hierarchy/level${depth}/shared/part1/kernel`,
  `hierarchy/level${depth}/shared/bias`
]

describe("Objective gradients", () => {
  const sentiment = prepare(sentimentData())
  const batch = oddBatch(sentiment.dataset.splits.train)

  for (const kind of ["meanpool", "lstm", "transformer", "tcn"] as const) {
    it(`haemsa/${kind}: every variable gets a finite, non-zero gradient (gamma > 0, unimodal lambda > 0)`, () => {
      const g = gradients(tinySpec("haemsa", kind, { gamma: 0.5, lambdas: { regression: 1, classification: 0.5, unimodal: 0.5, emotion: 1, teacher: 0.5 } }), sentiment.info, batch)
      expect(Number.isFinite(g.loss)).toBe(true)
      expect(withoutGradient(g)).toEqual(lastSharedLevel(2))
    })
  }

  it("haemsa with fixed shared stream, gate pooling and token text: every variable, embedding included", () => {
    const tokens = prepare(tokenData())
    const spec = tinySpec("haemsa", "lstm", { fusion: { depth: 3, pool: "gate", sharedMode: "fixed" } })
    const g = gradients(spec, tokens.info, oddBatch(tokens.dataset.splits.train))
    expect(g.paths).toContain("embedding/table")
    expect(g.paths).toContain("hierarchy/pool/score")
    expect(withoutGradient(g)).toEqual([])
  })

  it("haemsa on emotions: every variable but the unused last shared level", () => {
    const emotions = prepare(emotionData())
    const g = gradients(tinySpec("haemsa", "transformer"), emotions.info, oddBatch(emotions.dataset.splits.train))
    expect(Number.isFinite(g.loss)).toBe(true)
    expect(withoutGradient(g)).toEqual(lastSharedLevel(2))
  })

  for (const model of ["early-fusion", "late-fusion"] as const) {
    it(`${model}: every variable gets a finite, non-zero gradient`, () => {
      expect(withoutGradient(gradients(tinySpec(model, "tcn"), sentiment.info, batch))).toEqual([])
    })
  }

  it("a modality missing from every sample gives its expert and unimodal head no gradient, and the loss stays finite", () => {
    const g = gradients(tinySpec("haemsa", "meanpool"), sentiment.info, Batching.keepModalities(batch, ["audio", "vision"]))
    expect(Number.isFinite(g.loss)).toBe(true)
    const none = withoutGradient(g)
    expect(none.filter((p) => p.startsWith("expert/text/") || p.startsWith("head/text/"))).toEqual(
      g.paths.filter((p) => p.startsWith("expert/text/") || p.startsWith("head/text/"))
    )
    expect(none).toContain("unified/input/text/kernel")
    expect(none.some((p) => p.startsWith("expert/audio/") || p.startsWith("head/audio/"))).toBe(false)
  })
})

describe("Objective: the cross-modal KL and the teacher", () => {
  const { info, dataset } = prepare(sentimentData())
  const batch = oddBatch(dataset.splits.train)
  const teacher = (p: string) => p.startsWith("unified/") || p.startsWith("head/unified/")
  const student = (p: string) => p.startsWith("head/text/") || p.startsWith("expert/text/")
  const run = (gamma: number, teacherGradient: boolean) =>
    gradients(tinySpec("haemsa", "meanpool", { gamma, teacherGradient }), info, batch, 7).grads
  let noKl: Map<string, Float32Array>
  let stopped: Map<string, Float32Array>
  let flowing: Map<string, Float32Array>
  beforeAll(() => {
    noKl = run(0, false)
    stopped = run(2, false)
    flowing = run(2, true)
  })
  const pick = (g: Map<string, Float32Array>, keep: (p: string) => boolean) =>
    Object.fromEntries([...g].filter(([p]) => keep(p)).map(([p, v]) => [p, Array.from(v)]))

  it("with teacherGradient=false the KL term adds exactly nothing to the unified expert's and teacher head's gradients", () => {
    const a = pick(noKl, teacher)
    expect(Object.keys(a).length).toBeGreaterThan(4)
    expect(pick(stopped, teacher)).toEqual(a)
  })

  it("the KL term does pull the students (their gradients change with gamma)", () => {
    expect(pick(stopped, student)).not.toEqual(pick(noKl, student))
  })

  it("with teacherGradient=true the KL term reaches the teacher head and the unified expert", () => {
    const a = pick(stopped, teacher)
    const b = pick(flowing, teacher)
    for (const p of ["head/unified/kernel", "head/unified/bias", "unified/input/bias"]) expect(b[p], p).not.toEqual(a[p])
    // the students' gradient is the same either way: only the teacher side is switched
    expect(pick(flowing, student)).toEqual(pick(stopped, student))
  })
})

describe("Objective value", () => {
  const { info, dataset } = prepare(sentimentData())
  const split = oddBatch(dataset.splits.train)

  /** The joint loss and the outputs' parts, for one spec, computed on the same network weights (seed 3). */
  const evaluate = (spec: ArchitectureSpec.ArchitectureSpec) => {
    const net = buildNet(spec, info, 3)
    const batch = BatchTensors.fromSplit(split)
    try {
      return tf.tidy(() => {
        const out = net.apply(batch, false)
        const joint = Objective.jointLoss(net, out, batch, defaultLosses).dataSync()[0]
        const l1 = defaultLosses.task.l1(out.regression!, batch.regression!).dataSync()[0]
        const teacherCe = defaultLosses.task.crossEntropy(out.teacherLogits!, batch.classes!).dataSync()[0]
        const kl = defaultLosses.kd.crossModal(
          out.teacherLogits!,
          Object.fromEntries(net.modalities.map((m) => [m, out.unimodal[m]!.logits])),
          { temperature: spec.temperature }
        ).dataSync()[0]
        return { joint, l1, teacherCe, kl }
      })
    } finally {
      BatchTensors.dispose(batch)
      Network.dispose(net)
    }
  }

  it("with only the regression task: L1 plus the teacher's own cross-entropy, weighted by lambda_teacher", () => {
    const only = (teacher: number) => ({ regression: 1, classification: 0, unimodal: 0, emotion: 1, teacher })
    const r = evaluate(tinySpec("haemsa", "meanpool", { gamma: 0, lambdas: only(0.1) }))
    expect(r.joint).toBeCloseTo(r.l1 + 0.1 * r.teacherCe, 5)
    expect(evaluate(tinySpec("haemsa", "meanpool", { gamma: 0, lambdas: only(0.7) })).joint).toBeCloseTo(r.l1 + 0.7 * r.teacherCe, 5)
    expect(evaluate(tinySpec("haemsa", "meanpool", { gamma: 0, lambdas: only(0) })).joint).toBeCloseTo(r.l1, 6)
  })

  it("each lambda scales its own term: L is linear in lambda_reg, lambda_cls and lambda_uni", () => {
    const base = { regression: 1, classification: 0.5, unimodal: 0.5, emotion: 1, teacher: 0.5 }
    const at = (lambdas: Partial<typeof base>) => evaluate(tinySpec("haemsa", "meanpool", { gamma: 0.5, lambdas: { ...base, ...lambdas } })).joint
    const l0 = at({})
    // halving lambda_reg takes half the L1 term away
    expect(l0 - at({ regression: 0.5 })).toBeCloseTo(evaluate(tinySpec("haemsa", "meanpool", { gamma: 0.5, lambdas: base })).l1 / 2, 4)
    for (const name of ["classification", "unimodal"] as const) {
      const step = at({ [name]: 1 }) - l0 // + 0.5 L_name
      expect(step, name).toBeGreaterThan(0)
      expect(at({ [name]: 0.75 }) - l0, name).toBeCloseTo(step / 2, 4)
    }
    // the emotion weight plays no part on sentiment data
    expect(at({ emotion: 0.3 })).toBe(l0)
  })

  it("gamma scales the cross-modal KL term: L(gamma) - L(0) = gamma * sum_m KL(p_s || p_m)", () => {
    const base = { lambdas: { regression: 1, classification: 0.5, unimodal: 0.5, emotion: 1, teacher: 0.5 } }
    const l0 = evaluate(tinySpec("haemsa", "meanpool", { ...base, gamma: 0 }))
    const l2 = evaluate(tinySpec("haemsa", "meanpool", { ...base, gamma: 2 }))
    expect(l2.kl).toBeGreaterThan(0)
    expect(l2.joint - l0.joint).toBeCloseTo(2 * l2.kl, 4)
  })
})

describe("Objective value on emotion data", () => {
  const { info, dataset } = prepare(emotionData())
  const split = oddBatch(dataset.splits.train)
  const base = { regression: 1, classification: 0.5, unimodal: 0.5, emotion: 1, teacher: 0.5 }

  /** The joint loss and the emotion term L_emo for one spec, on the same network weights (seed 5). */
  const evaluate = (lambdas: typeof base) => {
    const net = buildNet(tinySpec("haemsa", "meanpool", { gamma: 0.5, lambdas }), info, 5)
    const batch = BatchTensors.fromSplit(split)
    try {
      return tf.tidy(() => {
        const out = net.apply(batch, false)
        const labels = tf.cast(tf.reshape(batch.emotions!, [-1]), "int32") as tf.Tensor1D
        const emotion = defaultLosses.task.crossEntropy(tf.reshape(out.emotionLogits!, [-1, 2]) as tf.Tensor2D, labels).dataSync()[0]
        return { joint: Objective.jointLoss(net, out, batch, defaultLosses).dataSync()[0], emotion }
      })
    } finally {
      BatchTensors.dispose(batch)
      Network.dispose(net)
    }
  }

  it("lambda_emo weighs the emotion term; lambda_reg and lambda_cls play no part", () => {
    const l0 = evaluate(base)
    expect(l0.joint - evaluate({ ...base, emotion: 0.5 }).joint).toBeCloseTo(l0.emotion / 2, 4)
    expect(evaluate({ ...base, regression: 0.2, classification: 0.1 }).joint).toBe(l0.joint)
  })
})
