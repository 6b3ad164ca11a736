/**
 * WebGPU correctness check: one HAEMSA training step on the `cpu` backend and on `webgpu`, from the
 * same initial weights on the same batch (tiny synthetic data, fixed seed), compared:
 *
 * - the joint loss: relative difference <= 1e-3;
 * - the gradient of every weight: max |difference| <= 1e-3 x the tensor's largest |gradient| + 1e-6;
 * - every weight after three Adam steps with that gradient (`Optimizer.adam`: tfjs's Adam on `cpu`, the
 *   fused one-kernel-per-weight update on `webgpu`, so the bias corrections of steps 1-3 are checked
 *   too): max |difference| <= 1e-3 x the tensor's largest |weight| + 1e-6, over the elements whose
 *   gradient is at least 1e-3 of the tensor's largest (Adam moves a weight by about lr x sign(gradient),
 *   so float noise decides it where the gradient is ~0).
 *
 * Then six whole training steps of the default architecture on both (the per-step losses within 1e-3),
 * so that state carried from step to step (moments, pooled buffers, cached bind groups) is covered,
 * and the training loop itself (`Train.train`, two epochs: the epoch losses and the test MAE).
 * Three architectures: the default (mean-pool experts, mean pooling) without dropout, the default with
 * dropout (the same seeds give the same masks on both backends), and a mixed one (transformer text
 * expert, LSTM audio expert, TCN vision expert, gate pooling, three levels), so most kernels the
 * toolkit uses run, the fused webgpu ones included. Exits 1 on a mismatch, 2 when the webgpu backend cannot be set up (no
 * `navigator.gpu`, no adapter). Runs under Deno (bundled; needs `--unstable-webgpu`) or Node (with
 * the `webgpu` package installed). A software/fallback adapter (lavapipe/llvmpipe, as in CI) is
 * refused unless `--allow-software-adapter` is given:
 *
 *   npx tsx --conditions=source benchmarks/gpu/agreement.ts --deno [--allow-software-adapter]   (bundles, runs under Deno)
 */
import { Normalize, Synthetic } from "@haemsa/datasets"
import { ArchitectureSpec, Backend, BatchTensors, DataInfo, Environment, Evaluate, Network, Optimizer, Progress, Train } from "@haemsa/haemsa-model"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import { argFlag, runtime, scriptEntry } from "../Harness"
import * as DefaultModel from "../haemsa-model/DefaultModel"

/** Relative tolerance of every comparison. */
export const TOLERANCE = 1e-3

/** Adam steps applied with the step's gradient before the weights are compared. */
export const ADAM_STEPS = 3

/** The default architecture without dropout. */
const DEFAULT_NO_DROPOUT: ArchitectureSpec.ArchitectureSpec = { ...ArchitectureSpec.defaultSpec, dropout: 0, modalityDropout: 0 }

const SPECS: ReadonlyArray<readonly [string, ArchitectureSpec.ArchitectureSpec]> = [
  ["default", DEFAULT_NO_DROPOUT],
  // dropout on: tf.dropout and the fused webgpu dropout draw the same noise for a seed, so they agree
  [
    "default with dropout",
    {
      ...ArchitectureSpec.defaultSpec,
      experts: { ...ArchitectureSpec.defaultSpec.experts, text: { kind: "meanpool", hidden: 64, dropout: 0.2 } },
      dropout: 0.3,
      modalityDropout: 0
    }
  ],
  [
    "mixed",
    {
      ...ArchitectureSpec.defaultSpec,
      hidden: 32,
      experts: {
        text: { kind: "transformer", hidden: 32, heads: 4 },
        audio: { kind: "lstm", hidden: 16 },
        vision: { kind: "tcn", hidden: 16, kernel: 3 },
        unified: { kind: "meanpool", hidden: 32 }
      },
      fusion: { depth: 3, pool: "gate", sharedMode: "evolve" },
      dropout: 0,
      modalityDropout: 0
    }
  ]
]

/** What one backend computed. */
interface StepResult {
  readonly loss: number
  readonly gradients: Map<string, Float32Array>
  readonly updated: Map<string, Float32Array>
  readonly initial: Map<string, Float32Array>
}

const read = async (t: tf.Tensor): Promise<Float32Array> => Float32Array.from(await t.data())

/** The values of named variables, read one after the other. */
const readAll = async (vars: ReadonlyArray<readonly [string, tf.Variable]>): Promise<Map<string, Float32Array>> => {
  const out = new Map<string, Float32Array>()
  for (const [k, v] of vars) out.set(k, await read(v))
  return out
}

/**
 * A tiny model (T 10, text 48) on the active backend with its variables and initial weights: `init`
 * (from the other backend) when given, assigned to the variables; else the variables' own, read back.
 */
const tinyModel = async (spec: ArchitectureSpec.ArchitectureSpec, samples: number, seed: number, init?: Map<string, Float32Array>) => {
  const model = DefaultModel.make({ samples, steps: 10, dims: { text: 48, audio: 5, vision: 20 }, spec, seed })
  const vars = [...model.net.variables]
  if (init) for (const [k, v] of vars) tf.tidy(() => v.assign(tf.tensor(init.get(k)!, v.shape)))
  return { model, vars, initial: init ?? (await readAll(vars)) }
}

/** One step on the active backend; `init` (from the other backend) fixes the initial weights. */
const stepOn = async (spec: ArchitectureSpec.ArchitectureSpec, init?: Map<string, Float32Array>): Promise<StepResult> => {
  const { model, vars, initial } = await tinyModel(spec, 16, 7, init)
  const batch = model.batch(16)
  const optimizer = Optimizer.adam(spec.learningRate)
  try {
    const { value, grads } = tf.variableGrads(() => DefaultModel.loss(model, batch), vars.map(([, v]) => v))
    const loss = (await value.data())[0]
    const gradients = new Map<string, Float32Array>()
    // a weight off the loss's path (the last level's shared stream) gets no gradient: zeros
    for (const [k, v] of vars) gradients.set(k, grads[v.name] ? await read(grads[v.name]) : new Float32Array(v.size))
    for (let t = 0; t < ADAM_STEPS; t++) optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })))
    const updated = await readAll(vars)
    tf.dispose([value, ...Object.values(grads)])
    return { loss, gradients, updated, initial }
  } finally {
    optimizer.dispose()
    BatchTensors.dispose(batch)
    Network.dispose(model.net)
  }
}

/** Steps of the multi-step check. */
export const TRAINING_STEPS = 6

/** The losses of {@link TRAINING_STEPS} optimizer steps (alternating two batches) from the weights `init`. */
const trainingLosses = async (spec: ArchitectureSpec.ArchitectureSpec, init?: Map<string, Float32Array>): Promise<{ losses: number[]; initial: Map<string, Float32Array> }> => {
  const { model, initial } = await tinyModel(spec, 32, 11, init)
  const batches = [model.batch(16, 0), model.batch(16, 16)]
  const optimizer = Optimizer.adam(spec.learningRate)
  try {
    const losses: number[] = []
    for (let i = 0; i < TRAINING_STEPS; i++) losses.push(await DefaultModel.step(model, optimizer, batches[i % 2]))
    return { losses, initial }
  } finally {
    optimizer.dispose()
    for (const b of batches) BatchTensors.dispose(b)
    Network.dispose(model.net)
  }
}

/**
 * The training loop itself (`Train.train`: losses read one step late, validation each epoch, the
 * best epoch's weights restored) for two epochs on tiny synthetic data; the test MAE of the result.
 */
const trainedMae = async (spec: ArchitectureSpec.ArchitectureSpec): Promise<{ mae: number; losses: number[] }> => {
  const raw = Synthetic.synthetic({ seed: 3, steps: 10, dims: { text: 48, audio: 5, vision: 20 }, sizes: { train: 64, valid: 16, test: 16 } })
  const { dataset, stats } = Normalize.normalize(raw)
  const info = DataInfo.fromDataset(dataset, stats)
  const result = await Effect.runPromise(
    Train.train(spec, dataset, info, { epochs: 2, batchSize: 16, seed: 5 }).pipe(Effect.provide(Layer.mergeAll(Environment.parts, Progress.Progress.layerSilent)))
  )
  try {
    const metrics = (await Evaluate.evaluate(result.net, dataset.splits.test)) as { mae: number }
    return { mae: metrics.mae, losses: result.history.map((h) => h.loss) }
  } finally {
    Network.dispose(result.net)
  }
}

const maxAbs = (xs: Float32Array, keep?: (i: number) => boolean): number => {
  let m = 0
  for (let i = 0; i < xs.length; i++) if (!keep || keep(i)) m = Math.max(m, Math.abs(xs[i]))
  return m
}

const maxDiff = (a: Float32Array, b: Float32Array, keep?: (i: number) => boolean): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) if (!keep || keep(i)) m = Math.max(m, Math.abs(a[i] - b[i]))
  return Number.isNaN(a.reduce((s, x) => s + x, 0) + b.reduce((s, x) => s + x, 0)) ? NaN : m
}

/**
 * `b` against the reference `a` (over the elements `keep` selects): the largest |difference|, `a`'s
 * largest |value| (all elements), their ratio, and whether the difference is within the tolerance.
 */
const tensorDiff = (a: Float32Array, b: Float32Array, keep?: (i: number) => boolean) => {
  const scale = maxAbs(a)
  const d = maxDiff(a, b, keep)
  return { d, scale, relative: d / Math.max(scale, 1e-12), ok: d <= TOLERANCE * scale + 1e-6 }
}

/** The difference of `b` from the reference `a`, relative to |a|. */
const relDiff = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a), 1e-12)

/** The largest {@link relDiff} of two lists, element by element. */
const worstRelDiff = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => Math.max(...a.map((x, i) => relDiff(x, b[i])))

/** The mismatches of `gpu` against `cpu` (empty when they agree), and the largest relative differences. */
export const compare = (cpu: StepResult, gpu: StepResult): { problems: string[]; worst: { loss: number; gradient: number; weight: number } } => {
  const problems: string[] = []
  const lossRel = relDiff(cpu.loss, gpu.loss)
  if (!(lossRel <= TOLERANCE)) problems.push(`loss: cpu ${cpu.loss} webgpu ${gpu.loss} (relative difference ${lossRel.toExponential(2)})`)
  let worstGradient = 0
  let worstWeight = 0
  for (const [k, g] of cpu.gradients) {
    const gd = tensorDiff(g, gpu.gradients.get(k)!)
    worstGradient = Math.max(worstGradient, gd.relative)
    if (!gd.ok) problems.push(`gradient ${k}: max |difference| ${gd.d.toExponential(2)}, largest |gradient| ${gd.scale.toExponential(2)}`)
    const significant = (i: number) => Math.abs(g[i]) >= TOLERANCE * gd.scale
    const wd = tensorDiff(cpu.updated.get(k)!, gpu.updated.get(k)!, significant)
    worstWeight = Math.max(worstWeight, wd.relative)
    if (!wd.ok) problems.push(`updated weight ${k}: max |difference| ${wd.d.toExponential(2)}, largest |weight| ${wd.scale.toExponential(2)}`)
  }
  return { problems, worst: { loss: lossRel, gradient: worstGradient, weight: worstWeight } }
}


/**
 * The losses on their own (webgpu runs them as fused kernels): value and gradient of each for
 * inputs with the edge cases (zero weights, a row of non-finite logits under a zero weight, all
 * weights zero, an out-of-range class id, large logits, a zero L1 difference), on the active backend.
 */
const lossCases = async (): Promise<Map<string, Float32Array>> => {
  const out = new Map<string, Float32Array>()
  const b = 5
  const c = 7
  const logitsData = Float32Array.from({ length: b * c }, (_, i) => Math.sin(i * 1.7) * 3)
  logitsData[3] = 80 // large logit
  const bad = Float32Array.from(logitsData)
  for (let k = 0; k < c; k++) bad[2 * c + k] = k === 0 ? NaN : Infinity // row 2 non-finite
  const w = () => tf.tensor1d([1, 0.5, 0, 2, 1])
  const zeros = () => tf.zeros([b]) as tf.Tensor1D
  const pred = () => tf.tensor1d([0.5, -1, 2, 0.25, 3])
  const y = () => tf.tensor1d([0.5, 1, -2, 0, 2])
  const ids = () => tf.tensor1d([0, 6, 3, 9, 2], "int32")
  const logits = (data = logitsData) => tf.tensor2d(data, [b, c])
  const record = async (name: string, f: (...xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[]) => {
    const { value, grads } = tf.valueAndGrads(f)(xs)
    out.set(`${name} value`, await read(value))
    for (let i = 0; i < grads.length; i++) out.set(`${name} gradient ${i}`, await read(grads[i]))
    tf.dispose([value, ...grads, ...xs])
  }
  await record("l1", (p) => TaskLosses.l1Loss(p as tf.Tensor1D, y()), [pred()])
  await record("l1 weighted", (p) => TaskLosses.l1Loss(p as tf.Tensor1D, y(), w()), [pred()])
  await record("l1 all weights 0", (p) => TaskLosses.l1Loss(p as tf.Tensor1D, y(), zeros()), [pred()])
  await record("cross-entropy", (z) => TaskLosses.crossEntropy(z as tf.Tensor2D, ids()), [logits()])
  await record("cross-entropy weighted", (z) => TaskLosses.crossEntropy(z as tf.Tensor2D, ids(), w()), [logits()])
  for (const [label, options] of [
    ["kl T 1", { temperature: 1 }],
    ["kl T 2", { temperature: 2 }],
    ["kl T 2 teacher gradient", { temperature: 2, teacherGradient: true }]
  ] as const) {
    // the teacher is an argument of the differentiated function only when it gets a gradient
    const teacher = () => logits(Float32Array.from(logitsData, (x) => x * 0.5))
    const withTeacher = (f: (t: tf.Tensor2D, ...s: tf.Tensor[]) => tf.Scalar, students: tf.Tensor[]) =>
      "teacherGradient" in options
        ? { f: (t: tf.Tensor, ...s: tf.Tensor[]) => f(t as tf.Tensor2D, ...s), xs: [teacher(), ...students] }
        : { f: (...s: tf.Tensor[]) => f(teacher(), ...s), xs: students }
    const two = withTeacher(
      (t, s1, s2) => Distillation.crossModalKl(t, { a: s1 as tf.Tensor2D, b: s2 as tf.Tensor2D }, { ...options, sampleWeights: { a: w() } }),
      [logits(bad), logits(Float32Array.from(logitsData, (x, i) => x - (i % 3)))]
    )
    await record(label, two.f, two.xs)
    const none = withTeacher((t, s1) => Distillation.crossModalKl(t, [s1 as tf.Tensor2D], { ...options, sampleWeights: zeros() }), [logits()])
    await record(`${label} all weights 0`, none.f, none.xs)
  }
  return out
}

/** Compare the loss cases of both backends; the problems found. */
const compareLosses = (cpu: Map<string, Float32Array>, gpu: Map<string, Float32Array>): { problems: string[]; worst: number } => {
  const problems: string[] = []
  let worst = 0
  for (const [k, a] of cpu) {
    const g = gpu.get(k)!
    const diff = tensorDiff(a, g)
    worst = Math.max(worst, diff.relative)
    if (!diff.ok) problems.push(`${k}: cpu [${[...a].map((x) => x.toPrecision(4)).join(", ")}] webgpu [${[...g].map((x) => x.toPrecision(4)).join(", ")}]`)
  }
  return { problems, worst }
}

/** Options of {@link check}. */
export interface CheckOptions {
  /** Accept a software/fallback webgpu adapter (lavapipe in CI); default false. */
  readonly allowSoftwareAdapter?: boolean
}

/** Run the check on this runtime; resolves to the exit code. */
export const check = async (options: CheckOptions = {}): Promise<number> => {
  let failed = false
  // the software-adapter line once, not at every switch to webgpu
  let noted = false
  const webgpu = () =>
    Backend.setup("webgpu", undefined, {
      allowSoftwareAdapter: options.allowSoftwareAdapter === true,
      log: (line) => {
        if (!noted) console.error(line)
        noted = true
      }
    })
  {
    await Backend.setup("cpu")
    const cpu = await lossCases()
    try {
      await webgpu()
    } catch (e) {
      console.error(`webgpu: ${e instanceof Error ? e.message : String(e)}`)
      return 2
    }
    const gpu = await lossCases()
    const { problems, worst } = compareLosses(cpu, gpu)
    console.log(`losses: ${cpu.size} values and gradients (L1, cross-entropy, cross-modal KL; edge cases); largest relative difference ${worst.toExponential(2)}`)
    for (const p of problems) console.log(`  MISMATCH ${p}`)
    failed ||= problems.length > 0
  }
  {
    // several whole training steps: what one step leaves behind (moments, pooled buffers, cached
    // bind groups and uniforms) must not change the next
    await Backend.setup("cpu")
    const cpu = await trainingLosses(DEFAULT_NO_DROPOUT)
    await webgpu()
    const gpu = await trainingLosses(DEFAULT_NO_DROPOUT, cpu.initial)
    const worst = worstRelDiff(cpu.losses, gpu.losses)
    console.log(`${TRAINING_STEPS} training steps (default): losses cpu ${cpu.losses.map((l) => l.toFixed(5)).join(" ")}; largest relative difference ${worst.toExponential(2)}`)
    if (!(worst <= TOLERANCE)) {
      console.log(`  MISMATCH training losses: webgpu ${gpu.losses.map((l) => l.toFixed(5)).join(" ")}`)
      failed = true
    }
  }
  {
    await Backend.setup("cpu")
    const cpu = await trainedMae(DEFAULT_NO_DROPOUT)
    await webgpu()
    const gpu = await trainedMae(DEFAULT_NO_DROPOUT)
    const worst = Math.max(relDiff(cpu.mae, gpu.mae), worstRelDiff(cpu.losses, gpu.losses))
    console.log(`Train.train (2 epochs): epoch losses cpu ${cpu.losses.map((l) => l.toFixed(5)).join(" ")}, test MAE cpu ${cpu.mae.toFixed(5)} webgpu ${gpu.mae.toFixed(5)}; largest relative difference ${worst.toExponential(2)}`)
    if (!(worst <= TOLERANCE)) {
      console.log(`  MISMATCH training loop: webgpu epoch losses ${gpu.losses.map((l) => l.toFixed(5)).join(" ")}`)
      failed = true
    }
  }
  for (const [name, spec] of SPECS) {
    await Backend.setup("cpu")
    const cpu = await stepOn(spec)
    try {
      await webgpu()
    } catch (e) {
      console.error(`webgpu: ${e instanceof Error ? e.message : String(e)}`)
      return 2
    }
    const gpu = await stepOn(spec, cpu.initial)
    const { problems, worst } = compare(cpu, gpu)
    console.log(
      `${name}: ${cpu.gradients.size} weights; loss cpu ${cpu.loss.toFixed(6)} webgpu ${gpu.loss.toFixed(6)}; largest relative differences: loss ${worst.loss.toExponential(2)}, gradient ${worst.gradient.toExponential(2)}, weight after ${ADAM_STEPS} Adam steps ${worst.weight.toExponential(2)}`
    )
    for (const p of problems) console.log(`  MISMATCH ${p}`)
    failed ||= problems.length > 0
  }
  console.log(failed ? `webgpu DISAGREES with cpu (${runtime()})` : `webgpu agrees with cpu within ${TOLERANCE} (${runtime()})`)
  return failed ? 1 : 0
}

if (await scriptEntry(import.meta.url, "benchmarks/gpu/agreement.ts", "agreement.mjs")) {
  const code = await check({ allowSoftwareAdapter: argFlag("allow-software-adapter") })
  process.exit(code)
}
