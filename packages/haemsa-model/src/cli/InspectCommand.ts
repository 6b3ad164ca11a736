/**
 * `haemsa data inspect PATH`: detect a dataset's format (MMSA or MulT pickle, `.csd`, mosi-real folder,
 * synthetic) and summarise it, as text or JSON. A dataset the loader refuses (a pickle over its object
 * limit, an empty split, features of other sizes in another split) is its one-line error. It runs no
 * tensors (cpu backend).
 *
 * @since 0.1.0
 */
import { DatasetLoader, type Errors as DatasetErrors, Inspect } from "@haemsa/datasets"
import { Effect } from "effect"
import * as Args from "./Args"
import * as Command from "./Command"
import { type DataPackageMissing, resolveDataSource } from "./DataSource"
import * as SharedFlags from "./SharedFlags"

/** The flags of `haemsa data inspect`. */
export const flags = {
  json: Args.flag({ help: "print the summary as JSON" }),
  "max-pickle-objects": SharedFlags.maxPickleObjects
}

/** What `haemsa data inspect` can fail with. */
export type InspectCommandError = Args.UsageError | DataPackageMissing | DatasetErrors.DatasetError

/** `haemsa data inspect`. */
export const command: Command.Command<typeof flags, InspectCommandError> = Command.make({
  spec: {
    name: "data inspect",
    summary: "Detect a dataset's format and summarise it.",
    details: "Formats: MMSA or MulT pickle, CMU-MultimodalSDK .csd, mosi-real folder, synthetic.",
    positional: { metavar: "PATH|synthetic|mosi-real", help: "the dataset: a file or folder, synthetic, or mosi-real" },
    flags
  },
  handler: ({ flags: f, positional }, io) =>
    Effect.gen(function*() {
      const source = yield* resolveDataSource(positional ?? "")
      const loader = yield* DatasetLoader.DatasetLoader
      const found = yield* loader.detect(source)
      if (found.kind === "csd") {
        const report = Inspect.csdReport(yield* loader.loadCsd(found.file))
        io.out(f.json ? JSON.stringify(report) : Inspect.formatCsd(report, source))
        return
      }
      const dataset = yield* loader.load(source, SharedFlags.loadOptions(f))
      io.out(f.json ? JSON.stringify(Inspect.datasetReport(dataset)) : Inspect.formatDataset(dataset, source))
    })
})
