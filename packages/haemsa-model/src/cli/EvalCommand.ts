/**
 * `haemsa eval`: score a checkpoint on a dataset (valid and test splits), with the missing-modality
 * table of the test split.
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
import { type OutputError, writeJson } from "./OutputFile"
import * as SharedFlags from "./SharedFlags"

/** The flags of `haemsa eval`. */
export const flags = {
  checkpoint: Args.string({ metavar: "DIR", required: true, help: "the checkpoint folder (haemsa train --out)" }),
  ...SharedFlags.dataFlags,
  modalities: SharedFlags.modalities,
  ...SharedFlags.backendFlags,
  json: SharedFlags.json
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
  spec: { name: "eval", summary: "Score a checkpoint, with the missing-modality table.", flags },
  backend: SharedFlags.backendChoice,
  outputs: (f) => [{ option: "--json", path: f.json, kind: "file" }],
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      const source = yield* resolveDataSource(f.data)
      const loadOptions = SharedFlags.loadOptions(f)
      const report = yield* Experiment.evalJob({
        checkpoint: f.checkpoint,
        source,
        ...(loadOptions !== undefined ? { loadOptions } : {}),
        ...(f.modalities !== undefined ? { modalities: f.modalities } : {})
      })
      io.out(`${report.model} from ${report.checkpoint} on ${report.data} (${report.modalities.join("+")})`)
      io.out(metricsTable([["valid", report.valid], ["test", report.test]]))
      io.out("\nmissing modalities (test split, others masked):")
      io.out(metricsTable(report.missing_modalities.map((r) => [r.modalities.join("+"), r.metrics] as const)))
      if (f.json) yield* writeJson(f.json, report, { stdout: io.stdout })
    })
})
