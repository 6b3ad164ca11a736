/**
 * Do GloVe word vectors help HAEMSA on mosi-real? Trains named variants (the text features, the
 * modalities, a few architecture settings) over seeds and scores validation and test, one training
 * thread per run; each variant's runs go to one JSON file under benchmarks/results/accuracy/ (with
 * `--record`), so the study runs in parts, two processes side by side on a 2-core machine, and
 * resumes: a seed already in a variant's file is not trained again.
 *
 *   # train (one process per variant list; seeds already recorded are skipped)
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/text-features.ts --variants tokens,glove-lexicon \
 *     --seeds 1,2,3 [--epochs 30] [--vectors glove|PATH] [--record]
 *   # the searched HAEMSA: a search that chooses the modalities and the text features, its winner over seeds
 *   npx -y pnpm@12.4.2 haemsa search --data mosi-real --text-features PATH --population 8 --generations 3 \
 *     --fidelity medium --checkpoint runs/search-text --json runs/search-text.json
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/text-features.ts --variants searched \
 *     --searched runs/search-text.json --seeds 1,2,3 --vectors PATH --record
 *   # a linear probe: ridge on each sample's mean text vector (lexicon, GloVe, GloVe + lexicon[, induced valence + lexicon],
 *   # lexicon + sentence vectors, GloVe + lexicon + sentence vectors)
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/text-features.ts --probe --vectors PATH [--induced FILE]
 *   # an AFINN valence induced from GloVe for every word of mosi-real's transcripts, as a 1-d vector file
 *   # (train the variants on it with --vectors FILE; --out DIR keeps their files apart from the GloVe ones)
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/text-features.ts --induce-lexicon FILE --vectors PATH
 *   # the tables from the recorded files (mean ± sample std over the seeds), for docs/results.md
 *   # (with --record also into benchmarks/results/accuracy/text-features-tables.md)
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/text-features.ts --tables [--extra V,V] [--ten V,V] [--record]
 *   # how sure a test-MAE difference is, over seeds and test samples: train both variants with
 *   # --predictions (their runs keep their test predictions), then
 *   npx -y pnpm@12.4.2 tsx --conditions=source benchmarks/haemsa-model/text-features.ts --paired A,B --seeds 1,2,3 [--out DIR] [--record]
 *
 * Selection (the lexicon setting, any architecture setting) is by validation MAE only, as everywhere
 * in this project; the test columns are reported, not chosen on.
 */
import type { Dataset, Errors } from "@haemsa/datasets"
import { DatasetLoader, Lexicon, Metrics, Normalize, Tokenizer, WordVectors } from "@haemsa/datasets"
import { ArchitectureSpec, DataInfo, Environment, Evaluate, Experiment, Network, SeedStats, SentenceEncoder, TextFeatures } from "@haemsa/haemsa-model"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { argFlag, argOption, machine, MOSI_REAL, ROOT } from "../Harness"

/** The text features of a variant: the tokens (today's default) or word vectors with or without the lexicon. */
type Text = "tokens" | "vectors+lexicon" | "vectors"

interface Variant {
  readonly text: Text
  readonly modalities: ReadonlyArray<"text" | "audio">
  /** Overrides of the default spec. */
  readonly spec?: Partial<ArchitectureSpec.ArchitectureSpec>
  /** Drop the token ids: the text expert reads the word vectors (and lexicon) without a trained token embedding. */
  readonly noTokens?: boolean
  /** Each word's row ends with the transcript's sentence vector (`--text-features use`, `glove+use`). */
  readonly sentence?: boolean
  readonly help: string
}

const base = ArchitectureSpec.defaultSpec
const textExpert = (over: Partial<ArchitectureSpec.ExpertSpec>): Partial<ArchitectureSpec.ArchitectureSpec> => ({
  experts: { ...base.experts, text: { ...base.experts.text, ...over } }
})

/** The variants the study can train. */
const VARIANTS: Record<string, Variant> = {
  tokens: { text: "tokens", modalities: ["text", "audio"], help: "HAEMSA, today's default text features (tokens + lexicon)" },
  "tokens-text": { text: "tokens", modalities: ["text"], help: "HAEMSA text only, tokens + lexicon" },
  "glove-lexicon": { text: "vectors+lexicon", modalities: ["text", "audio"], help: "HAEMSA, GloVe + lexicon" },
  "glove-nolexicon": { text: "vectors", modalities: ["text", "audio"], help: "HAEMSA, GloVe alone" },
  "glove-lexicon-text": { text: "vectors+lexicon", modalities: ["text"], help: "HAEMSA text only, GloVe + lexicon" },
  "glove-nolexicon-text": { text: "vectors", modalities: ["text"], help: "HAEMSA text only, GloVe alone" },
  "glove-lexicon-lstm": { text: "vectors+lexicon", modalities: ["text", "audio"], spec: textExpert({ kind: "lstm" }), help: "GloVe + lexicon, lstm text expert" },
  "glove-lexicon-meanpool": { text: "vectors+lexicon", modalities: ["text", "audio"], spec: textExpert({ kind: "meanpool" }), help: "GloVe + lexicon, mean-pool text expert" },
  "glove-lexicon-dropout-0.3": { text: "vectors+lexicon", modalities: ["text", "audio"], spec: { dropout: 0.3 }, help: "GloVe + lexicon, dropout 0.3" },
  "glove-lexicon-lr-3e-4": { text: "vectors+lexicon", modalities: ["text", "audio"], spec: { learningRate: 3e-4 }, help: "GloVe + lexicon, learning rate 3e-4" },
  "glove-lexicon-emb-8": { text: "vectors+lexicon", modalities: ["text", "audio"], spec: { embedding: 8 }, help: "GloVe + lexicon, token embedding 8 (instead of 64)" },
  "glove-lexicon-lstm-dropout-0.3": {
    text: "vectors+lexicon",
    modalities: ["text", "audio"],
    spec: { ...textExpert({ kind: "lstm" }), dropout: 0.3 },
    help: "GloVe + lexicon, lstm text expert, dropout 0.3"
  },
  "glove-lexicon-text-lr-3e-4": {
    text: "vectors+lexicon",
    modalities: ["text"],
    spec: { learningRate: 3e-4 },
    help: "HAEMSA text only, GloVe + lexicon, learning rate 3e-4"
  },
  "glove-lexicon-notokens": {
    text: "vectors+lexicon",
    modalities: ["text", "audio"],
    noTokens: true,
    help: "GloVe + lexicon without the trained token embedding"
  },
  "glove-lexicon-notokens-text": {
    text: "vectors+lexicon",
    modalities: ["text"],
    noTokens: true,
    help: "text only, GloVe + lexicon without the trained token embedding"
  },
  "glove-lexicon-notokens-lstm": {
    text: "vectors+lexicon",
    modalities: ["text", "audio"],
    spec: textExpert({ kind: "lstm" }),
    noTokens: true,
    help: "GloVe + lexicon without the trained token embedding, lstm text expert"
  },
  "glove-nolexicon-lstm": { text: "vectors", modalities: ["text", "audio"], spec: textExpert({ kind: "lstm" }), help: "GloVe alone, lstm text expert" },
  "glove-nolexicon-meanpool": { text: "vectors", modalities: ["text", "audio"], spec: textExpert({ kind: "meanpool" }), help: "GloVe alone, mean-pool text expert" },
  "glove-nolexicon-dropout-0.3": { text: "vectors", modalities: ["text", "audio"], spec: { dropout: 0.3 }, help: "GloVe alone, dropout 0.3" },
  "glove-nolexicon-lr-3e-4": { text: "vectors", modalities: ["text", "audio"], spec: { learningRate: 3e-4 }, help: "GloVe alone, learning rate 3e-4" },
  use: { text: "tokens", sentence: true, modalities: ["text", "audio"], help: "HAEMSA, tokens + lexicon + sentence vectors (--text-features use)" },
  "use-text": { text: "tokens", sentence: true, modalities: ["text"], help: "HAEMSA text only, tokens + lexicon + sentence vectors" },
  "glove-lexicon-use": { text: "vectors+lexicon", sentence: true, modalities: ["text", "audio"], help: "HAEMSA, GloVe + lexicon + sentence vectors (--text-features glove+use)" },
  "glove-lexicon-use-text": { text: "vectors+lexicon", sentence: true, modalities: ["text"], help: "HAEMSA text only, GloVe + lexicon + sentence vectors" },
  "glove-lexicon-use-dropout-0.3": { text: "vectors+lexicon", sentence: true, modalities: ["text", "audio"], spec: { dropout: 0.3 }, help: "GloVe + lexicon + sentence vectors, dropout 0.3" },
  "glove-lexicon-use-lr-3e-4": { text: "vectors+lexicon", sentence: true, modalities: ["text", "audio"], spec: { learningRate: 3e-4 }, help: "GloVe + lexicon + sentence vectors, learning rate 3e-4" },
  "glove-lexicon-use-lstm": { text: "vectors+lexicon", sentence: true, modalities: ["text", "audio"], spec: textExpert({ kind: "lstm" }), help: "GloVe + lexicon + sentence vectors, lstm text expert" },
  "use-dropout-0.3": { text: "tokens", sentence: true, modalities: ["text", "audio"], spec: { dropout: 0.3 }, help: "tokens + lexicon + sentence vectors, dropout 0.3" }
}

const KEYS = ["acc2_has0", "acc2_non0", "f1_non0", "acc7", "mae", "corr"] as const
type Scores = Record<(typeof KEYS)[number], number>
interface Run {
  readonly seed: number
  readonly epochs: number
  readonly bestEpoch: number
  readonly seconds: number
  readonly valid: Scores
  readonly test: Scores
  /** The test split's predictions (with `--predictions`), for `--paired`. */
  readonly test_predictions?: ReadonlyArray<number>
}
interface VariantFile {
  readonly variant: string
  readonly help: string
  readonly text: Text
  readonly sentence?: boolean
  readonly vectors: string | null
  readonly modalities: ReadonlyArray<string>
  readonly spec: ArchitectureSpec.ArchitectureSpec
  readonly epochs: number
  readonly machine: ReturnType<typeof machine>
  readonly commit: string
  /** The test split's labels (with `--predictions`). */
  test_labels?: ReadonlyArray<number>
  runs: Run[]
}

/** Where the variant files and the tables go: `--out DIR`, default benchmarks/results/accuracy. */
const DIR = path.resolve(argOption("out", path.join(ROOT, "benchmarks/results/accuracy")))
const fileOf = (variant: string) => path.join(DIR, `text-features-${variant}.json`)
const pick = (m: object): Scores => Object.fromEntries(KEYS.map((k) => [k, (m as Record<string, number>)[k]])) as Scores

const commit = (): string => {
  try {
    const head = fs.readFileSync(path.join(ROOT, ".git/HEAD"), "utf8").trim()
    if (!head.startsWith("ref: ")) return head.slice(0, 7)
    return fs.readFileSync(path.join(ROOT, ".git", head.slice(5)), "utf8").trim().slice(0, 7)
  } catch {
    return "unknown"
  }
}

/**
 * The variant `searched`: the winner of a `haemsa search --json FILE` (its architecture, modalities
 * included, and its text features: `best.text_features`, tokens when the search did not choose them),
 * or with `--select-seeds` the finalist chosen on validation (`selection.finalists[selection.chosen]`).
 */
const searchedVariant = (file: string, forced?: Text): Variant & { readonly full: ArchitectureSpec.ArchitectureSpec } => {
  type Winner = { architecture: ArchitectureSpec.ArchitectureSpec; text_features?: string }
  const output = JSON.parse(fs.readFileSync(file, "utf8")) as { best: Winner; selection?: { finalists: ReadonlyArray<Winner>; chosen: number } }
  // with --select-seeds the winner is the finalist chosen on validation over the seeds, else the search's best
  const winner = output.selection !== undefined ? output.selection.finalists[output.selection.chosen] : output.best
  const t = winner.text_features
  // "tokens", "vectors FILE + lexicon", each possibly followed by " + use-lite sentence vectors"
  const sentenceSuffix = ` + ${SentenceEncoder.NAME} sentence vectors`
  const sentence = forced === undefined && t !== undefined && t.endsWith(sentenceSuffix)
  const words = sentence ? t!.slice(0, -sentenceSuffix.length) : t
  const text: Text = forced ?? (words === undefined || words === "tokens" ? "tokens" : words.endsWith("+ lexicon") ? "vectors+lexicon" : "vectors")
  return {
    text,
    ...(sentence ? { sentence: true } : {}),
    modalities: winner.architecture.modalities as ReadonlyArray<"text" | "audio">,
    full: winner.architecture,
    help: forced === undefined
      ? `the winner of the search in ${path.basename(file)} (${t ?? "tokens"})`
      : `the architecture of the winner of the search in ${path.basename(file)}, with ${forced} text features`
  }
}

/** The variants built from a search's winner (`--searched FILE`): its own text features, or GloVe + lexicon instead. */
const SEARCHED: Record<string, Text | undefined> = { searched: undefined, "searched-glove-lexicon": "vectors+lexicon" }

/** mosi-real with word vectors and without its token ids (no trained token embedding), normalised. */
const withoutTokens = (choice: TextFeatures.Choice) =>
  Effect.gen(function*() {
    const resolved = yield* TextFeatures.resolve(choice)
    const raw = yield* DatasetLoader.load(MOSI_REAL, { textFeatures: resolved.loadOptions! })
    const strip = ({ tokens: _t, ...split }: Dataset.Split): Dataset.Split => split
    const { dataset, stats } = Normalize.normalize({ ...raw, splits: { train: strip(raw.splits.train), valid: strip(raw.splits.valid), test: strip(raw.splits.test) } })
    return { dataset, info: DataInfo.fromDataset(dataset, stats, resolved.settings) }
  })

/** Six decimals: a prediction as the variant files keep it (`--predictions`). */
const round6 = (x: number) => Math.round(x * 1e6) / 1e6

/**
 * Train the seeds of one variant not yet in its file; write the file after every run with `--record`
 * (with `predictions`, each run's test predictions and the file's test labels too).
 */
const trainVariant = (name: string, seeds: ReadonlyArray<number>, epochs: number, vectors: string, record: boolean, predictions: boolean) =>
  Effect.gen(function*() {
    const searched = name in SEARCHED ? searchedVariant(argOption("searched", ""), SEARCHED[name]) : undefined
    const v = searched ?? VARIANTS[name]
    const spec: ArchitectureSpec.ArchitectureSpec = searched?.full ??
      { ...base, ...v.spec, modalities: [...v.modalities] as ["text", ...Array<"text" | "audio">] }
    const previous: VariantFile | undefined = fs.existsSync(fileOf(name)) ? JSON.parse(fs.readFileSync(fileOf(name), "utf8")) : undefined
    if (previous !== undefined && (previous.epochs !== epochs || JSON.stringify(previous.spec) !== JSON.stringify(spec))) {
      throw new Error(`${fileOf(name)} holds runs of another spec or epoch count: move it away to rerun`)
    }
    const file: VariantFile = previous ?? {
      variant: name,
      help: v.help,
      text: v.text,
      ...(v.sentence === true ? { sentence: true } : {}),
      vectors: v.text === "tokens" ? null : vectors,
      modalities: v.modalities,
      spec,
      epochs,
      machine: machine(),
      commit: commit(),
      runs: []
    }
    const todo = seeds.filter((s) => !file.runs.some((r) => r.seed === s))
    if (todo.length === 0) return file
    const words: TextFeatures.Choice | undefined = v.text === "tokens" ? undefined : { kind: "vectors", source: vectors, lexicon: v.text === "vectors+lexicon" }
    const choice: TextFeatures.Choice | undefined = v.sentence === true ? { ...(words ?? TextFeatures.TOKENS), sentence: true } : words
    const loaded = v.noTokens === true && choice !== undefined && choice.kind !== "tokens"
      ? yield* withoutTokens(choice)
      : yield* Experiment.loadNormalized(MOSI_REAL, undefined, choice !== undefined ? { choice } : undefined)
    for (const seed of todo) {
      const { result, valid, test } = yield* Experiment.trainOn(spec, loaded, { epochs, seed, threads: 1, label: `${name} seed ${seed}` })
      const testSplit = loaded.dataset.splits.test
      const predicted = predictions ? yield* Effect.promise(() => Evaluate.predict(result.net, testSplit)) : undefined
      Network.dispose(result.net)
      const [v, t] = [pick(valid), pick(test)]
      if (predicted !== undefined) file.test_labels = Array.from(testSplit.labels.regression!, round6)
      file.runs.push({
        seed,
        epochs: result.history.length,
        bestEpoch: result.bestEpoch,
        seconds: Math.round(result.seconds),
        valid: v,
        test: t,
        ...(predicted !== undefined ? { test_predictions: Array.from(predicted.regression!, round6) } : {})
      })
      file.runs.sort((a, b) => a.seed - b.seed)
      console.log(`${name} seed ${seed}: valid MAE ${v.mae.toFixed(3)}, test MAE ${t.mae.toFixed(3)} Acc-2 ${t.acc2_non0.toFixed(3)} Corr ${t.corr.toFixed(3)} (${Math.round(result.seconds)} s)`)
      if (record) {
        fs.mkdirSync(DIR, { recursive: true })
        fs.writeFileSync(fileOf(name), JSON.stringify(file, null, 1) + "\n")
      }
    }
    return file
  })

const cell = (xs: ReadonlyArray<number>) => {
  const { mean, std } = SeedStats.meanStd(xs)
  return xs.length > 1 ? `${mean.toFixed(3)} ± ${std.toFixed(3)}` : mean.toFixed(3)
}

/** The recorded runs of a variant for these seeds (all of them must be there). */
const runsOf = (name: string, seeds: ReadonlyArray<number>): ReadonlyArray<Run> | undefined => {
  if (!fs.existsSync(fileOf(name))) return undefined
  const file: VariantFile = JSON.parse(fs.readFileSync(fileOf(name), "utf8"))
  const runs = seeds.map((s) => file.runs.find((r) => r.seed === s))
  return runs.every((r) => r !== undefined) ? (runs as Run[]) : undefined
}

/** A markdown table of variants over `seeds`: valid MAE and test Acc-2 non0 / MAE / Corr (and more). */
export const table = (names: ReadonlyArray<string>, seeds: ReadonlyArray<number>): string => {
  const rows = names.flatMap((name) => {
    const runs = runsOf(name, seeds)
    if (runs === undefined) return [`| ${name} | (not run for seeds ${seeds.join(",")}) |`]
    return [
      `| ${name} | ${cell(runs.map((r) => r.valid.mae))} | ${cell(runs.map((r) => r.valid.acc2_non0))} | ` +
      `${cell(runs.map((r) => r.test.mae))} | ${cell(runs.map((r) => r.test.acc2_non0))} | ${cell(runs.map((r) => r.test.corr))} | ` +
      `${cell(runs.map((r) => r.test.acc7))} | ${SeedStats.meanStd(runs.map((r) => r.bestEpoch)).mean.toFixed(1)} |`
    ]
  })
  return [
    "| variant | valid MAE | valid Acc-2 non0 | test MAE | test Acc-2 non0 | test Corr | test Acc-7 | best epoch |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ...rows
  ].join("\n")
}

const parseSeeds = (s: string) => s.split(",").map(Number)

/**
 * `--paired A,B`: how sure the test-MAE difference of variant A against variant B is, over the
 * seeds (`--seeds`) and the test samples (`SeedStats.pairedMaeDifference`, 10,000 resamples, seed 0),
 * from the runs' recorded test predictions (trained with `--predictions`). With `--record` the result
 * also goes to `text-features-paired-A-B-seeds-N.json` beside the variant files (N: the number of seeds).
 */
const paired = (names: ReadonlyArray<string>, seeds: ReadonlyArray<number>) => {
  if (names.length !== 2) throw new Error(`--paired takes two variants, got "${names.join(",")}"`)
  const files = names.map((name): VariantFile => {
    if (!fs.existsSync(fileOf(name))) throw new Error(`${fileOf(name)}: no runs of ${name} (train it with --predictions --record)`)
    return JSON.parse(fs.readFileSync(fileOf(name), "utf8"))
  })
  const runs = files.map((file) =>
    seeds.map((seed) => {
      const run = file.runs.find((r) => r.seed === seed)
      if (run?.test_predictions === undefined) throw new Error(`${fileOf(file.variant)}: seed ${seed} has no test predictions (train the variant with --predictions into another --out folder: a seed already recorded is not trained again)`)
      return run.test_predictions
    })
  )
  const labels = files[0].test_labels!
  if (JSON.stringify(labels) !== JSON.stringify(files[1].test_labels)) throw new Error(`${names.join(" and ")} were scored on different test labels`)
  const r = SeedStats.pairedMaeDifference(labels, runs[0], runs[1])
  const mae = (i: number) => SeedStats.meanStd(files[i].runs.filter((x) => seeds.includes(x.seed)).map((x) => x.test.mae)).mean
  console.log(
    `| ${names[0]} against ${names[1]} | ${seeds.length} | ${mae(0).toFixed(4)} | ${mae(1).toFixed(4)} | ` +
      `${r.difference >= 0 ? "+" : ""}${r.difference.toFixed(4)} | [${r.low.toFixed(4)}, ${r.high.toFixed(4)}] | ${r.noWorse.toFixed(2)} |`
  )
  if (argFlag("record")) {
    const out = path.join(DIR, `text-features-paired-${names[0]}-${names[1]}-seeds-${seeds.length}.json`)
    fs.writeFileSync(out, JSON.stringify({ variants: names, seeds, test_mae: [mae(0), mae(1)], ...r, commit: commit() }, null, 1) + "\n")
  }
}

const tables = () => {
  const three = parseSeeds(argOption("seeds", "1,2,3"))
  const ten = parseSeeds(argOption("seeds10", "1,2,3,4,5,6,7,8,9,10"))
  const extra = argOption("extra", "").split(",").filter((s) => s !== "")
  const out = [
    `### HAEMSA (text + audio): text features, mean ± std over seeds ${three.join(", ")}`,
    "",
    table(["tokens", "glove-lexicon", "glove-nolexicon", ...extra], three),
    "",
    `### Text + audio against text only with GloVe, mean ± std over seeds ${ten.join(", ")}`,
    "",
    table(argOption("ten", "glove-lexicon,glove-lexicon-text").split(","), ten),
    "",
    `### The searched HAEMSA against the text-only variants, mean ± std over seeds ${three.join(", ")}`,
    "",
    table(["searched", "tokens-text", "glove-lexicon-text"], three)
  ]
  console.log(out.join("\n"))
  if (argFlag("record")) {
    // the tables as docs/results.md shows them (pasted into its hand-written part, which results.ts keeps)
    fs.writeFileSync(path.join(DIR, "text-features-tables.md"), out.join("\n") + "\n")
  }
}

/** The mean of each sample's valid steps of a block, with a bias column: (n, dim + 1). */
const meanPooled = (b: Dataset.SequenceBlock): Float64Array => {
  const x = new Float64Array(b.n * (b.dim + 1))
  for (let i = 0; i < b.n; i++) {
    const len = Math.max(1, b.lengths[i])
    for (let t = 0; t < len; t++) for (let d = 0; d < b.dim; d++) x[i * (b.dim + 1) + d] += b.data[(i * b.steps + t) * b.dim + d] / len
    x[i * (b.dim + 1) + b.dim] = 1
  }
  return x
}

/** Ridge regression weights: (XᵀX + λI) w = Xᵀy by Gaussian elimination (the bias not penalised). */
const ridge = (x: Float64Array, y: ArrayLike<number>, n: number, k: number, lambda: number): Float64Array => {
  const a = new Float64Array(k * (k + 1))
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < k; p++) {
      const xp = x[i * k + p]
      for (let q = 0; q < k; q++) a[p * (k + 1) + q] += xp * x[i * k + q]
      a[p * (k + 1) + k] += xp * y[i]
    }
  }
  for (let p = 0; p < k - 1; p++) a[p * (k + 1) + p] += lambda
  for (let c = 0; c < k; c++) {
    let piv = c
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r * (k + 1) + c]) > Math.abs(a[piv * (k + 1) + c])) piv = r
    for (let j = 0; j <= k; j++) [a[c * (k + 1) + j], a[piv * (k + 1) + j]] = [a[piv * (k + 1) + j], a[c * (k + 1) + j]]
    for (let r = 0; r < k; r++) {
      if (r === c) continue
      const f = a[r * (k + 1) + c] / a[c * (k + 1) + c]
      for (let j = c; j <= k; j++) a[r * (k + 1) + j] -= f * a[c * (k + 1) + j]
    }
  }
  return Float64Array.from({ length: k }, (_, p) => a[p * (k + 1) + k] / a[p * (k + 1) + p])
}

/**
 * A linear probe of the text features alone: ridge regression on each sample's mean text vector
 * (normalised features), lambda chosen on validation MAE, for the lexicon, GloVe and GloVe + lexicon.
 * How much sentiment a bag of the words' vectors carries, without any training noise.
 */
const probe = (vectors: string, induced?: string) =>
  Effect.gen(function*() {
    const lines = ["| text features (mean over words) | lambda | valid MAE | valid Corr | test MAE | test Corr | test Acc-2 non0 |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for (const [name, choice] of [
      ["lexicon (tokens' dense features)", undefined],
      ["GloVe", { kind: "vectors" as const, source: vectors, lexicon: false }],
      ["GloVe + lexicon", { kind: "vectors" as const, source: vectors, lexicon: true }],
      ...(induced === undefined ? [] : [["induced valence + lexicon", { kind: "vectors" as const, source: induced, lexicon: true }] as const]),
      ["lexicon + sentence vectors (use)", { kind: "tokens" as const, sentence: true }],
      ["GloVe + lexicon + sentence vectors (glove+use)", { kind: "vectors" as const, source: vectors, lexicon: true, sentence: true }]
    ] as const) {
      const { dataset } = yield* Experiment.loadNormalized(MOSI_REAL, undefined, choice !== undefined ? { choice } : undefined)
      const split = (s: Dataset.Split) => ({ x: meanPooled(s.features.text!), y: s.labels.regression!, n: s.n })
      const [tr, va, te] = [split(dataset.splits.train), split(dataset.splits.valid), split(dataset.splits.test)]
      const k = dataset.splits.train.features.text!.dim + 1
      const predict = (w: Float64Array, d: { x: Float64Array; n: number }) =>
        Float32Array.from({ length: d.n }, (_, i) => w.reduce((acc, wj, j) => acc + wj * d.x[i * k + j], 0))
      let best: { lambda: number; w: Float64Array; mae: number } | undefined
      for (const lambda of [0.1, 1, 10, 100, 1000, 10000]) {
        const w = ridge(tr.x, tr.y, tr.n, k, lambda)
        const mae = Metrics.regressionMetrics(predict(w, va), va.y).mae
        if (best === undefined || mae < best.mae) best = { lambda, w, mae }
      }
      const v = Metrics.regressionMetrics(predict(best!.w, va), va.y)
      const t = Metrics.regressionMetrics(predict(best!.w, te), te.y)
      lines.push(`| ${name} | ${best!.lambda} | ${v.mae.toFixed(3)} | ${v.corr.toFixed(3)} | ${t.mae.toFixed(3)} | ${t.corr.toFixed(3)} | ${t.acc2_non0.toFixed(3)} |`)
    }
    console.log(lines.join("\n"))
  })

/** Neutral words (valence 0) among the induction's examples: the most frequent all-letter words of the vectors outside AFINN. */
const INDUCTION_NEUTRAL = 10000

/** The ridge penalty of the induction (100-d vectors, about 13,000 examples). */
const INDUCTION_LAMBDA = 1

/**
 * An AFINN valence for words outside AFINN, induced from word vectors (lexicon induction): ridge
 * regression from a word's vector to `valence / 5`, fitted on the AFINN words that have a vector and
 * on {@link INDUCTION_NEUTRAL} frequent words outside AFINN as 0 (the vectors' order is by frequency
 * in GloVe and wink). A word of AFINN keeps `valence / 5`; a word with no vector gets 0. No label of
 * the data set is read: the words come from the transcripts, the targets from AFINN.
 */
const inducedValence = (v: WordVectors.WordVectors): ((word: string) => number) => {
  const rows: Array<number> = []
  const targets: Array<number> = []
  let neutral = 0
  v.words.forEach((word, i) => {
    const valence = Lexicon.valence(word)
    const isNeutral = valence === 0 && neutral < INDUCTION_NEUTRAL && /^[a-z]+$/.test(word)
    if (valence === 0 && !isNeutral) return
    if (isNeutral) neutral++
    rows.push(i)
    targets.push(valence / 5)
  })
  const k = v.dim + 1
  const x = new Float64Array(rows.length * k)
  rows.forEach((row, r) => {
    for (let d = 0; d < v.dim; d++) x[r * k + d] = v.matrix[row * v.dim + d]
    x[r * k + v.dim] = 1
  })
  const w = ridge(x, targets, rows.length, k, INDUCTION_LAMBDA)
  const index = new Map(v.words.map((word, i) => [word, i]))
  return (word) => {
    const valence = Lexicon.valence(word)
    if (valence !== 0) return valence / 5
    const i = index.get(word)
    if (i === undefined) return 0
    let y = w[v.dim]
    for (let d = 0; d < v.dim; d++) y += w[d] * v.matrix[i * v.dim + d]
    return y
  }
}

/** Writes the induced valence of every word of mosi-real's transcripts (all splits) as a 1-d vector file. */
const induceLexicon = (out: string, vectors: string) =>
  Effect.gen(function*() {
    const v = yield* WordVectors.load(vectors)
    const valenceOf = inducedValence(v)
    const raw = yield* DatasetLoader.load(MOSI_REAL)
    const words = new Set<string>()
    for (const split of [raw.splits.train, raw.splits.valid, raw.splits.test]) {
      for (const text of split.rawText ?? []) for (const word of Tokenizer.tokenize(text)) words.add(word)
    }
    const lines = [...words].sort().map((word) => `${word} ${valenceOf(word).toFixed(5)}`)
    fs.writeFileSync(out, lines.join("\n") + "\n")
    console.log(`${out}: the induced valence of ${lines.length} words (${v.words.length} vectors of ${vectors})`)
  })

const program = Effect.gen(function*() {
  const induceTo = argOption("induce-lexicon", "")
  if (argFlag("probe")) return yield* probe(argOption("vectors", "glove"), argOption("induced", "") || undefined)
  if (induceTo !== "") return yield* induceLexicon(induceTo, argOption("vectors", "glove"))
  const names = argOption("variants", "").split(",").filter((s) => s !== "")
  for (const n of names) {
    if (!(n in VARIANTS) && !(n in SEARCHED)) throw new Error(`unknown variant "${n}" (known: ${[...Object.keys(VARIANTS), ...Object.keys(SEARCHED)].join(", ")})`)
  }
  const seeds = parseSeeds(argOption("seeds", "1,2,3"))
  const epochs = Number(argOption("epochs", "30"))
  const vectors = argOption("vectors", "glove")
  for (const name of names) yield* trainVariant(name, seeds, epochs, vectors, argFlag("record"), argFlag("predictions"))
})

if (argFlag("tables")) {
  tables()
} else if (argOption("paired", "") !== "") {
  paired(argOption("paired", "").split(","), parseSeeds(argOption("seeds", "1,2,3")))
} else {
  Effect.runPromise(program.pipe(Effect.provide(Environment.make("wasm"))) as Effect.Effect<void, Errors.DatasetError>).catch((e) => {
    console.error(String(e))
    process.exitCode = 1
  })
}
