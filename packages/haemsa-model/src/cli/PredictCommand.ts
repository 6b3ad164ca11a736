/**
 * `haemsa predict`: predictions (values and attention weights) for the samples of a JSON or JSON Lines
 * file (the format `Predict` reads), from a checkpoint. The samples are read, predicted and written a
 * batch at a time: with JSON Lines in (`--input FILE.jsonl`, or detected from the first line), memory
 * stays bounded whatever the number of samples, and the predictions go out as they are made.
 *
 * Output (stdout, or `--json FILE`, written as `OutputFile` says): for a JSON input one JSON document
 * `{ "model": ..., "predictions": [ ... ] }`, one prediction per line; for a JSON Lines input JSON Lines,
 * one prediction per line. A sequence longer than the model's steps is cut to its first steps with a
 * warning on stderr naming the sample (the first 10 are named, then a count), or refused with
 * `--strict-steps`.
 *
 * @since 0.1.0
 */
import { Errors as DatasetErrors } from "@haemsa/datasets"
import { Effect } from "effect"
import type { CheckpointError } from "../model/Checkpoint"
import * as Experiment from "../model/Experiment"
import * as Network from "../model/Network"
import * as Predict from "../model/Predict"
import * as Args from "./Args"
import * as Command from "./Command"
import * as OutputFile from "./OutputFile"
import * as SharedFlags from "./SharedFlags"

/** Samples read, predicted and written at a time. */
export const BATCH_SIZE = 256

/** Cut sequences named one by one on stderr; the rest are counted. */
export const MAX_CUT_WARNINGS = 10

/** The flags of `haemsa predict`. */
export const flags = {
  checkpoint: Args.string({ metavar: "DIR", required: true, help: "the checkpoint folder (haemsa train --out)" }),
  input: Args.string({
    metavar: "FILE",
    required: true,
    help: "the samples: JSON ({ samples: [...] }) or JSON Lines (one sample per line: FILE.jsonl, or detected), streamed"
  }),
  json: Args.string({
    metavar: "FILE",
    help: "write the predictions to FILE instead of stdout (- is stdout): JSON, or JSON Lines for a JSON Lines input"
  }),
  "strict-steps": Args.flag({ help: "refuse a sequence longer than the model's steps (by default it is cut, with a warning)" }),
  ...SharedFlags.backendFlags
}

/** What `haemsa predict` can fail with (a bad input file is a `FileError` or an `InvalidOption` naming the file and the sample). */
export type PredictCommandError =
  | Args.UsageError
  | DatasetErrors.FileError
  | DatasetErrors.InvalidOption
  | Network.ModelError
  | CheckpointError
  | OutputFile.OutputError

/** A failure reading the input: the typed errors of `Predict` as they are, anything else (the file system's) a `FileError`. */
const inputError = (file: string) => (e: unknown): DatasetErrors.FileError | DatasetErrors.InvalidOption =>
  e instanceof DatasetErrors.FileError || e instanceof DatasetErrors.InvalidOption
    ? e
    : new DatasetErrors.FileError({ file, reason: `cannot read: ${OutputFile.describeError(e)}`, cause: e })

/** `haemsa predict`. */
export const command: Command.Command<typeof flags, PredictCommandError> = Command.make({
  spec: { name: "predict", summary: "Predict samples from a JSON or JSON Lines file (values and attention weights).", flags },
  backend: SharedFlags.backendChoice,
  outputs: (f) => [{ option: "--json", path: f.json, kind: "file" }],
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      const file = f.input
      const input = yield* Effect.try({ try: () => Predict.readInput(file), catch: inputError(file) })
      return yield* Effect.gen(function*() {
        const { net } = yield* Experiment.loadNetwork(f.checkpoint)
        let cuts = 0
        const onCut = (cut: Predict.Cut) => {
          cuts++
          if (cuts > MAX_CUT_WARNINGS) return
          io.err(
            `haemsa: warning: --input ${file}: ${cut.sample} (id ${DatasetErrors.quote(cut.id)}): ${cut.modality} has ${cut.steps} steps, ` +
              `the model reads ${cut.modelSteps}: cut to the first ${cut.modelSteps} (--strict-steps refuses it)`
          )
        }
        const jsonLines = input.format === "jsonl"
        const written = yield* OutputFile.withOutput(f.json ?? OutputFile.STDOUT, (sink) =>
          Effect.gen(function*() {
            // the document's head goes out with the first predictions: a first batch that fails writes nothing
            const head = jsonLines ? "" : `{\n "model": ${JSON.stringify(net.spec.model)},\n "predictions": [`
            let n = 0
            for (;;) {
              const batch = yield* Effect.tryPromise({ try: () => input.next(BATCH_SIZE), catch: inputError(file) })
              if (batch.length === 0) break
              const offset = batch[0].index
              const predictions = yield* Effect.tryPromise({
                try: () =>
                  Predict.predictSamples(net, file, batch.map((s) => s.sample), {
                    offset,
                    where: (index) => batch[index - offset].where,
                    strictSteps: f["strict-steps"],
                    onCut
                  }),
                catch: (e) => e
              }).pipe(
                // a sample that does not fit the model is bad input; anything else is a bug
                Effect.catch((e) => (e instanceof DatasetErrors.InvalidOption ? Effect.fail(e) : Effect.die(e)))
              )
              yield* sink.write(
                (n === 0 ? head : "") +
                  predictions.map((p, i) => (jsonLines ? `${JSON.stringify(p)}\n` : `${n + i === 0 ? "\n" : ",\n"}  ${JSON.stringify(p)}`)).join("")
              )
              n += predictions.length
            }
            if (!jsonLines) yield* sink.write(`${n === 0 ? head : ""}\n ]\n}\n`)
            return n
          }), { stdout: io.stdout }).pipe(Effect.ensuring(Effect.sync(() => Network.dispose(net))))
        if (cuts > MAX_CUT_WARNINGS) {
          io.err(`haemsa: warning: --input ${file}: ${cuts - MAX_CUT_WARNINGS} more sequences cut to the model's steps (${cuts} in all)`)
        }
        if (f.json !== undefined && !OutputFile.isStdout(f.json)) io.out(`${written} predictions: ${f.json}`)
      }).pipe(Effect.ensuring(Effect.sync(() => input.close())))
    })
})
