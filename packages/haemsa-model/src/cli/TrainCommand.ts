/**
 * `haemsa train`: train a model (the default architecture of `--model`, or `--spec FILE`) and report
 * its valid and test metrics; `--out DIR` saves a checkpoint. `--seeds 1,2,3` trains one model per
 * seed and reports each run with the mean and sample standard deviation (n - 1) of each metric (with
 * `--out DIR`, a checkpoint per seed in `DIR/seed-S`). Every report and checkpoint carries the run card
 * (`RunCard`). `--text-features glove|tokens|PATH` picks the text features of data with raw
 * transcripts (`TextFeatures`; the checkpoint stores them, so `haemsa eval` and `haemsa predict` rebuild them).
 *
 * @since 0.1.0
 */
import { type Dataset, Errors as DatasetErrors } from "@haemsa/datasets"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as ArchitectureSpec from "../model/ArchitectureSpec"
import type { CheckpointError } from "../model/Checkpoint"
import * as Experiment from "../model/Experiment"
import type { ModelError } from "../model/Network"
import * as Train from "../model/Train"
import * as TrainState from "../model/TrainState"
import * as Args from "./Args"
import * as Command from "./Command"
import { type DataPackageMissing, resolveDataSource } from "./DataSource"
import { meanStdTable, metricsTable } from "./MetricsTable"
import { type OutputError, writeJson } from "./OutputFile"
import * as SharedFlags from "./SharedFlags"

/** The flags of `haemsa train`. */
export const flags = {
  ...SharedFlags.dataFlags,
  model: Args.choice({
    values: ["haemsa", "early-fusion", "late-fusion"] satisfies ReadonlyArray<ArchitectureSpec.ModelKind>,
    help: "the model's default architecture (default haemsa; with --spec, replaces the spec's model)"
  }),
  modalities: SharedFlags.modalities,
  epochs: Args.int({ metavar: "N", min: 1, default: 20, help: "the most epochs to train" }),
  "batch-size": Args.int({ metavar: "N", min: 1, help: "samples per step (default: the training's)" }),
  threads: Args.int({
    metavar: "N",
    min: 1,
    help: "threads sharing each training step, data-parallel, on the wasm and cpu backends (default: every core, at most one per 8 samples of a batch)"
  }),
  patience: Args.int({ metavar: "N", min: 1, help: "stop after N epochs without a better validation objective (default: the training's)" }),
  seed: Args.int({ metavar: "S", default: 0, help: "the seed of the weights, shuffles and dropout" }),
  seeds: Args.string({ metavar: "S,S,...", help: "train one model per seed and report the mean ± std (sample, n-1) of each metric (not with --seed)" }),
  ...SharedFlags.backendFlags,
  spec: Args.string({ metavar: "FILE", help: "an architecture spec (JSON) instead of the model's default" }),
  out: Args.string({ metavar: "DIR", help: "save a checkpoint in DIR (and the training's state after each epoch, until it finishes)" }),
  resume: Args.flag({ help: "continue the interrupted training whose state is in --out DIR (the same command line plus --resume)" }),
  force: Args.flag({
    help: "start over when --out DIR holds an interrupted training's state (it is replaced), and write into an --out DIR that holds files not haemsa's"
  }),
  json: SharedFlags.json
}

/** What `haemsa train` can fail with. */
export type TrainCommandError =
  | Args.UsageError
  | DataPackageMissing
  | DatasetErrors.DatasetError
  | Train.TrainingError
  | ModelError
  | CheckpointError
  | OutputError
  | TrainState.TrainStateError

const readSpecFile = (file: string) =>
  Effect.try({
    try: () => ArchitectureSpec.decode(JSON.parse(fs.readFileSync(file, "utf8"))),
    // a JSON parser's message quotes the file: printable characters only
    catch: (e) => new Args.UsageError({ reason: `--spec ${file}: ${DatasetErrors.jsonError(e)}` })
  })

/** Whether the command line names `--seed` itself (its default is 0, so the parsed value cannot tell). */
const givesSeed = (argv: ReadonlyArray<string>) => argv.some((a) => a === "--seed" || a.startsWith("--seed="))

/** `haemsa train`. */
export const command: Command.Command<typeof flags, TrainCommandError> = Command.make({
  spec: { name: "train", summary: "Train a model and report valid/test metrics.", flags },
  backend: SharedFlags.backendChoice,
  outputs: (f) => [{ option: "--out", path: f.out, kind: "folder", ownFilesOnly: f.force ? false : "checkpoint" }, { option: "--json", path: f.json, kind: "file" }],
  handler: ({ argv, flags: f }, io) =>
    Effect.gen(function*() {
      if (f.seeds !== undefined && givesSeed(argv)) {
        return yield* new Args.UsageError({ reason: "--seeds and --seed exclude each other (--seed S trains one seed, --seeds S,S,... several)" })
      }
      const seeds = f.seeds !== undefined ? yield* SharedFlags.parseSeeds("--seeds", f.seeds) : undefined
      if (seeds !== undefined && f.resume) return yield* new Args.UsageError({ reason: "--resume continues a single-seed training: it does not take --seeds" })
      const command = ["haemsa", "train", ...argv]
      // the state in --out is checked before any data is read or trained on
      if (f.resume && f.out === undefined) return yield* new Args.UsageError({ reason: "--resume needs --out DIR (the folder with the training's state)" })
      if (f.resume && f.force) return yield* new Args.UsageError({ reason: "--resume and --force exclude each other (continue the training, or start it over)" })
      const outs = f.out === undefined ? [] : seeds !== undefined ? seeds.map((s) => Experiment.seedFolder(f.out!, s)) : [f.out]
      for (const out of outs) {
        if (!f.resume && !f.force && TrainState.exists(out)) {
          return yield* new TrainState.TrainStateError({
            file: path.join(out, TrainState.FILE),
            reason: "an interrupted training's state is here: pass --resume to continue it, or --force to start over"
          })
        }
      }
      if (f.resume && !TrainState.exists(f.out!)) yield* TrainState.load(f.out!).pipe(Effect.asVoid)
      const model = f.model ?? "haemsa"
      let spec = f.spec !== undefined ? yield* readSpecFile(f.spec) : ArchitectureSpec.defaultFor(model)
      if (f.spec !== undefined && f.model !== undefined) spec = { ...spec, model }
      if (f.modalities !== undefined) spec = { ...spec, modalities: f.modalities as [Dataset.Modality, ...Array<Dataset.Modality>] }
      const source = yield* resolveDataSource(f.data)
      const loadOptions = SharedFlags.loadOptions(f)
      const textFeatures = yield* SharedFlags.textChoice(f, source)
      const job = {
        source,
        spec,
        out: f.out,
        resume: f.resume,
        command,
        ...(loadOptions !== undefined ? { loadOptions } : {}),
        ...(textFeatures !== undefined ? { textFeatures } : {}),
        train: {
          epochs: f.epochs,
          seed: f.seed,
          ...(f["batch-size"] !== undefined ? { batchSize: f["batch-size"] } : {}),
          ...(f.patience !== undefined ? { patience: f.patience } : {}),
          threads: f.threads ?? Train.defaultThreads(f["batch-size"] ?? Train.DEFAULT_BATCH_SIZE)
        }
      }
      if (seeds !== undefined) {
        const report = yield* Experiment.trainSeedsJob({ ...job, seeds })
        io.out(`${report.model} on ${source} (${spec.modalities.join("+")}), backend ${report.backend}, seeds ${seeds.join(",")}:`)
        io.out(metricsTable(report.runs.flatMap((r) => [[`seed ${r.seed} valid`, r.valid], [`seed ${r.seed} test`, r.test]] as const)))
        io.out(`\nmean ± std over ${seeds.length} seeds (sample std, n-1):`)
        io.out(meanStdTable([["valid", report.mean.valid, report.std.valid], ["test", report.mean.test, report.std.test]]))
        if (f.out) io.out(`checkpoints: ${seeds.map((s) => Experiment.seedFolder(f.out!, s)).join(", ")}`)
        if (f.json) yield* writeJson(f.json, report, { stdout: io.stdout })
        return
      }
      const report = yield* Experiment.trainJob(job)
      io.out(
        `${report.model} on ${report.data} (${report.modalities.join("+")}), backend ${report.backend}, seed ${report.seed}: ` +
          `${report.epochs} epochs in ${report.seconds}s (best epoch ${report.best_epoch})`
      )
      io.out(metricsTable([["valid", report.valid], ["test", report.test]]))
      if (f.out) io.out(`checkpoint: ${f.out}`)
      if (f.json) yield* writeJson(f.json, report, { stdout: io.stdout })
    })
})
