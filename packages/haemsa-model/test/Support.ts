/**
 * Shared test data and helpers: tiny datasets (sentiment, emotions, tokens), tiny specs, the
 * services a network needs (all on the deterministic cpu backend), the default losses, and the
 * command line and backend setup run for their output or error.
 */
import type { Dataset as D } from "@haemsa/datasets"
import { Normalize, Synthetic, Tokenizer } from "@haemsa/datasets"
import { Distillation, TaskLosses } from "@haemsa/kd-losses"
import { directory } from "@haemsa/mosi-real"
import { FIXTURES } from "@haemsa/test-helpers"
import * as tf from "@tensorflow/tfjs"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { expect } from "vitest"
import type * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as Backend from "../src/backends/Backend"
import * as BatchTensors from "../src/model/BatchTensors"
import * as Cli from "../src/cli/Cli"
import * as DataInfo from "../src/model/DataInfo"
import * as Environment from "../src/Environment"
import * as Network from "../src/model/Network"
import type { Outputs } from "../src/model/Network"
import type * as Objective from "../src/model/Objective"

/** The datasets package's test fixtures (files in the real MMSA, MulT and .csd formats). */
export { FIXTURES }

/** The real CMU-MOSI subset: the `@haemsa/mosi-real` data package (a devDependency). */
export const MOSI_REAL = directory

/** The 12-sample MMSA pickle fixture (text and audio). */
export const MMSA = path.join(FIXTURES, "mmsa_aligned.pkl")

/** The emotions of the hand-made emotions dataset (IEMOCAP's). */
export const EMOTIONS = ["neutral", "happy", "sad", "angry"] as const

/** A tiny synthetic sentiment dataset (64/32/32 samples, 8 steps, dims 12/5/6). */
export const sentimentData = (seed = 1): D.Dataset =>
  Synthetic.synthetic({ sizes: { train: 64, valid: 32, test: 32 }, steps: 8, dims: { text: 12, audio: 5, vision: 6 }, seed })

/** Emotion labels (n, 4) derived from a sentiment label: neutral |y| < 0.6, happy y > 0.6, sad y < -0.6, angry y < -1.4. */
const emotionLabels = (regression: Float32Array): Uint8Array => {
  const out = new Uint8Array(regression.length * EMOTIONS.length)
  regression.forEach((y, i) => {
    out[i * 4] = Math.abs(y) < 0.6 ? 1 : 0
    out[i * 4 + 1] = y > 0.6 ? 1 : 0
    out[i * 4 + 2] = y < -0.6 ? 1 : 0
    out[i * 4 + 3] = y < -1.4 ? 1 : 0
  })
  return out
}

/** The tiny synthetic data relabelled as an IEMOCAP-like emotions dataset (task "emotions", 4 emotions). */
export const emotionData = (seed = 1): D.Dataset => {
  const base = sentimentData(seed)
  const relabel = (s: D.Split): D.Split => ({ ...s, labels: { emotions: emotionLabels(s.labels.regression!) } })
  return {
    ...base,
    name: "tiny-emotions",
    task: "emotions",
    emotions: [...EMOTIONS],
    splits: { train: relabel(base.splits.train), valid: relabel(base.splits.valid), test: relabel(base.splits.test) }
  }
}

/** The vocabulary of the hand-made token dataset (0 = pad, 1 = unk, like the Tokenizer). */
export const VOCABULARY = ["<pad>", "<unk>", "good", "bad", "movie", "really", "not", "fine", "great", "awful"]

/**
 * The tiny sentiment data with raw text as token ids (like mosi-real): words chosen from the label's
 * sign, padded to the feature steps (the model concatenates the token embedding with the dense text
 * features step by step, as mosi-real's per-word lexicon features are). With `denseText: false` the text
 * modality is tokens only (no dense text features).
 */
export const tokenData = (seed = 1, denseText = true): D.Dataset => {
  const base = sentimentData(seed)
  const steps = base.splits.train.features.text!.steps
  const withTokens = (s: D.Split): D.Split => {
    const ids = new Int32Array(s.n * steps)
    const lengths = new Int32Array(s.n)
    for (let i = 0; i < s.n; i++) {
      const y = s.labels.regression![i]
      const len = 2 + (i % (steps - 1))
      lengths[i] = len
      for (let t = 0; t < len; t++) {
        ids[i * steps + t] = y > 0 ? [2, 4, 5, 7, 8][(i + t) % 5] : [3, 4, 6, 9, 1][(i + t) % 5]
      }
    }
    const features = denseText ? s.features : { audio: s.features.audio, vision: s.features.vision }
    return { ...s, features, tokens: { n: s.n, steps, ids, lengths, vocabulary: VOCABULARY } }
  }
  return {
    ...base,
    name: "tiny-tokens",
    splits: { train: withTokens(base.splits.train), valid: withTokens(base.splits.valid), test: withTokens(base.splits.test) }
  }
}

/** Normalise a dataset on its train split and read its DataInfo. */
export const prepare = (dataset: D.Dataset): { readonly dataset: D.Dataset; readonly info: DataInfo.DataInfo } => {
  const { dataset: normalized, stats } = Normalize.normalize(dataset)
  return { dataset: normalized, info: DataInfo.fromDataset(normalized, stats) }
}

/** A tiny spec (hidden 8) of the given model, with every expert of `kind`. */
export const tinySpec = (
  model: ArchitectureSpec.ModelKind = "haemsa",
  kind: ArchitectureSpec.ExpertSpec["kind"] = "meanpool",
  overrides: Partial<ArchitectureSpec.ArchitectureSpec> = {}
): ArchitectureSpec.ArchitectureSpec => {
  const expert = { kind, hidden: 8, ...(kind === "transformer" ? { heads: 2 } : {}), ...(kind === "tcn" ? { kernel: 3 } : {}) }
  return {
    model,
    modalities: ["text", "audio", "vision"],
    hidden: 8,
    experts: { text: expert, audio: expert, vision: expert, unified: expert },
    embedding: 6,
    fusion: { depth: 2, pool: "mean", sharedMode: "evolve" },
    attention: true,
    tower: { depth: 1, width: 8 },
    dropout: 0,
    modalityDropout: 0,
    learningRate: 1e-2,
    weightDecay: 0,
    gamma: 0.5,
    temperature: 2,
    teacherGradient: false,
    lambdas: { regression: 1, classification: 0.5, unimodal: 0.5, emotion: 1, teacher: 0.5 },
    ...overrides
  }
}

/** Switch tfjs to the cpu backend (deterministic). */
export { useCpu } from "@haemsa/test-helpers"

/** Build a network with the default parts (throws the ModelError on failure). */
export const buildNet = (spec: ArchitectureSpec.ArchitectureSpec, info: DataInfo.DataInfo, seed = 0): Network.Network =>
  Effect.runSync(Network.build(spec, info, seed).pipe(Effect.provide(Environment.parts)))

/** Every tensor of a forward pass by a stable name ("regression", "unimodal/text/logits", ...). */
export const flatten = (out: Outputs): Map<string, tf.Tensor> => {
  const flat = new Map<string, tf.Tensor>()
  for (const [k, v] of Object.entries(out)) {
    if (v instanceof tf.Tensor) flat.set(k, v)
  }
  for (const [m, u] of Object.entries(out.unimodal)) {
    if (u?.regression) flat.set(`unimodal/${m}/regression`, u.regression)
    if (u) flat.set(`unimodal/${m}/logits`, u.logits)
  }
  return flat
}

/** Run a forward pass (no dropout) on a split and read every output back as plain arrays. */
export const forward = (net: Network.Network, split: D.Split): Map<string, { readonly shape: number[]; readonly values: Float32Array }> => {
  const batch = BatchTensors.fromSplit(split)
  try {
    const out = net.apply(batch, false)
    const read = new Map([...flatten(out)].map(([k, t]) => [k, { shape: t.shape, values: t.dataSync() as Float32Array }]))
    tf.dispose(out as unknown as tf.TensorContainer)
    return read
  } finally {
    BatchTensors.dispose(batch)
  }
}

/** A copy of a split whose `modality` features are replaced (data of the given samples only, or all). */
export const perturb = (split: D.Split, modality: D.Modality, samples?: ReadonlyArray<number>): D.Split => {
  const b = split.features[modality]!
  const data = new Float32Array(b.data)
  const row = b.steps * b.dim
  const which = samples ?? Array.from({ length: split.n }, (_, i) => i)
  for (const i of which) {
    for (let j = 0; j < row; j++) data[i * row + j] = 5 * Math.sin(7 * (i * row + j) + 1)
  }
  return { ...split, features: { ...split.features, [modality]: { ...b, data } } }
}

/** The default task and distillation losses of the joint objective. */
export const defaultLosses: Objective.Losses = { task: TaskLosses.TaskLosses.default, kd: Distillation.Distillation.default }

/** Run the command line with in-memory output. */
export const cli = async (...argv: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = await Cli.run(argv, { out: (s) => void out.push(s), err: (s) => void err.push(s) })
  return { code, out, err, stderr: err.join("\n") }
}

/** The error of a backend setup that must fail, checked to be a BackendError. */
export const setupError = async (name: string, importer?: Backend.Importer): Promise<Backend.BackendError> => {
  const error = await Backend.setup(name, importer).then(() => undefined, (e) => e)
  expect(error).toBeInstanceOf(Backend.BackendError)
  return error
}

/** The distinct tokens of a split's raw transcripts. */
export const transcriptWords = (split: D.Split): Set<string> => new Set(split.rawText!.flatMap((t) => Tokenizer.tokenize(t)))

/** Write a GloVe-format file of `words`, each with a seeded 3-d vector (word i: sin(i·k + 1), k = 1, 2, 3). */
export const writeVectorFile = (file: string, words: ReadonlyArray<string>): void =>
  fs.writeFileSync(file, words.map((w, i) => `${w} ${[1, 2, 3].map((k) => Math.sin(i * k + 1).toFixed(4)).join(" ")}`).join("\n") + "\n")

/**
 * A temporary folder for one test file, with the word-vector cache (`HAEMSA_CACHE`) inside it:
 * `make()` (in beforeAll) creates it and points the cache there; `restore()` (in afterAll) puts the
 * previous `HAEMSA_CACHE` back and removes the folder.
 */
export const tempCacheFolder = (prefix: string) => {
  const previous = process.env["HAEMSA_CACHE"]
  let root: string | undefined
  return {
    make: (): string => {
      root = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
      process.env["HAEMSA_CACHE"] = path.join(root, "cache")
      return root
    },
    restore: (): void => {
      if (previous === undefined) delete process.env["HAEMSA_CACHE"]
      else process.env["HAEMSA_CACHE"] = previous
      if (root !== undefined) fs.rmSync(root, { recursive: true, force: true })
    }
  }
}
