/**
 * `haemsa predict`: predictions (values and attention weights) for the samples of a JSON file (the
 * format `Predict` reads), from a checkpoint.
 *
 * @since 0.1.0
 */
import { Errors as DatasetErrors } from "@haemsa/datasets"
import { Effect } from "effect"
import * as fs from "node:fs"
import type { CheckpointError } from "../model/Checkpoint"
import * as Experiment from "../model/Experiment"
import * as Network from "../model/Network"
import * as Predict from "../model/Predict"
import * as Args from "./Args"
import * as Command from "./Command"
import * as SharedFlags from "./SharedFlags"

/** The flags of `haemsa predict`. */
export const flags = {
  checkpoint: Args.string({ metavar: "DIR", required: true, help: "the checkpoint folder (haemsa train --out)" }),
  input: Args.string({ metavar: "FILE", required: true, help: "the samples, as JSON ({ samples: [...] })" }),
  ...SharedFlags.backendFlags
}

/** What `haemsa predict` can fail with (a bad input file is a `FileError` or an `InvalidOption` naming the field). */
export type PredictCommandError = Args.UsageError | DatasetErrors.FileError | DatasetErrors.InvalidOption | Network.ModelError | CheckpointError

/** `haemsa predict`. */
export const command: Command.Command<typeof flags, PredictCommandError> = Command.make({
  spec: { name: "predict", summary: "Predict samples from a JSON file (values and attention weights).", flags },
  backend: SharedFlags.backendChoice,
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      const file = f.input
      const input = yield* Effect.try({
        try: () => JSON.parse(fs.readFileSync(file, "utf8")) as { samples?: ReadonlyArray<Predict.Sample> },
        catch: (e) => new DatasetErrors.FileError({ file, reason: `cannot read JSON: ${e instanceof Error ? e.message : String(e)}` })
      })
      const { net } = yield* Experiment.loadNetwork(f.checkpoint)
      const predictions = yield* Effect.tryPromise({
        try: () => Predict.predictSamples(net, file, input.samples ?? []),
        catch: (e) => e
      }).pipe(
        // a sample that does not fit the model is bad input; anything else is a bug
        Effect.catch((e) => (e instanceof DatasetErrors.InvalidOption ? Effect.fail(e) : Effect.die(e))),
        Effect.ensuring(Effect.sync(() => Network.dispose(net)))
      )
      io.out(JSON.stringify({ model: net.spec.model, predictions }, null, 1))
    })
})
