/**
 * `haemsa eval`: score a checkpoint on a dataset (valid and test splits), with the missing-modality
 * table of the test split; with `--robustness`, the robustness grid of the test split (each modality
 * dropped per frame and whole at rates 0-0.5, seeded), as a table, in the JSON (`rows`) and as an SVG
 * plot (`--plot`). A warning on stderr when the data's hash differs from the checkpoint's run card.
 * The text features are the checkpoint's own (its stored text settings: tokens, or word vectors read
 * again from the source they name); `--text-features glove|PATH` only says where the vectors are now.
 *
 * @since 0.1.0
 */
import type { Errors as DatasetErrors } from "@haemsa/datasets"
import { Effect } from "effect"
import type { CheckpointError } from "../model/Checkpoint"
import * as Experiment from "../model/Experiment"
import type { ModelError } from "../model/Network"
import * as Args from "./Args"
import * as Command from "./Command"
import { type DataPackageMissing, resolveDataSource } from "./DataSource"
import { metricsTable } from "./MetricsTable"
import { type OutputError, writeJson, writeText } from "./OutputFile"
import * as RobustnessPlot from "./RobustnessPlot"
import * as SharedFlags from "./SharedFlags"

/** The flags of `haemsa eval`. */
export const flags = {
  checkpoint: Args.string({ metavar: "DIR", required: true, help: "the checkpoint folder (haemsa train --out)" }),
  ...SharedFlags.dataFlags,
  modalities: SharedFlags.modalities,
  ...SharedFlags.backendFlags,
  json: SharedFlags.json,
  robustness: Args.flag({
    help: "also score the test split with each modality dropped at rates 0-0.5, per frame and whole (masked, seeded by --seed)"
  }),
  seed: Args.int({ metavar: "S", default: 0, help: "the seed of the --robustness masks" }),
  plot: Args.string({ metavar: "FILE.svg", help: "with --robustness: write the grid as an SVG plot" })
}

/** What `haemsa eval` can fail with. */
export type EvalCommandError =
  | Args.UsageError
  | DataPackageMissing
  | DatasetErrors.DatasetError
  | ModelError
  | CheckpointError
  | OutputError

/** `haemsa eval`. */
export const command: Command.Command<typeof flags, EvalCommandError> = Command.make({
  spec: { name: "eval", summary: "Score a checkpoint, with the missing-modality table (and the robustness grid).", flags },
  backend: SharedFlags.backendChoice,
  outputs: (f) => [{ option: "--json", path: f.json, kind: "file" }, { option: "--plot", path: f.plot, kind: "file" }],
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      if (f.plot !== undefined && !f.robustness) return yield* new Args.UsageError({ reason: "--plot needs --robustness" })
      const source = yield* resolveDataSource(f.data)
      const loadOptions = SharedFlags.loadOptions(f)
      const report = yield* Experiment.evalJob({
        checkpoint: f.checkpoint,
        source,
        ...(loadOptions !== undefined ? { loadOptions } : {}),
        ...(f.modalities !== undefined ? { modalities: f.modalities } : {}),
        ...(f.robustness ? { robustness: { seed: f.seed } } : {}),
        warn: (line) => io.err(`haemsa: warning: ${line}`),
        ...(f["text-features"] !== undefined ? { textFeatures: f["text-features"] } : {}),
        // the first load's start, end and notes (not every parsing step)
        onProgress: (fraction, message) => {
          if (fraction === 0 || fraction >= 1 || !message.startsWith("parsing")) io.err(`haemsa: word vectors: ${message}`)
        }
      })
      io.out(`${report.model} from ${report.checkpoint} on ${report.data} (${report.modalities.join("+")})`)
      io.out(metricsTable([["valid", report.valid], ["test", report.test]]))
      io.out("\nmissing modalities (test split, others masked):")
      io.out(metricsTable(report.missing_modalities.map((r) => [r.modalities.join("+"), r.metrics] as const)))
      if (report.rows !== undefined) {
        io.out(`\nrobustness (test split, seed ${f.seed}; frames: that fraction of each sample's steps masked, whole: the modality masked for that fraction of the samples):`)
        io.out(metricsTable(report.rows.map((r) => [`${r.modality} ${r.mode} ${r.rate.toFixed(1)}`, r.test] as const)))
        if (f.plot !== undefined) {
          const title = `${report.model} on ${report.data}: robustness to missing modalities (seed ${f.seed})`
          yield* writeText(f.plot, RobustnessPlot.svg(report.rows, title), { stdout: io.stdout })
        }
      }
      if (f.json) yield* writeJson(f.json, report, { stdout: io.stdout })
    })
})
