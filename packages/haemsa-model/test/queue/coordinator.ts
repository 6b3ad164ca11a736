/**
 * A queue coordinator process for the integration test and the benchmark: runs (or resumes)
 * `SearchCommand.searchJob` on the job queue and writes its output as JSON. Arguments: a JSON object
 * `{ url, checkpointDir, out, options }` (the URL as text; `options` extend the search options).
 */
import { DatasetLoader } from "@haemsa/datasets"
import { Effect, Layer, Result } from "effect"
import * as fs from "node:fs"
import { Backend } from "../../src/backends/Backend"
import { Progress } from "../../src/cli/Progress"
import * as Environment from "../../src/Environment"
import * as QueueUrl from "../../src/search/queue/QueueUrl"
import * as SearchCommand from "../../src/search/SearchCommand"

const args = JSON.parse(process.argv[2]) as {
  readonly url: string
  readonly out: string
  readonly options: SearchCommand.SearchJobOptions
}
const url = Result.getOrThrow(QueueUrl.parse(args.url))
const job = { ...args.options, queue: { url, name: SearchCommand.searchQueueName(args.options), attempts: 3 } }
const services = Layer.mergeAll(Environment.parts, DatasetLoader.DatasetLoader.layer, Backend.layerTest, Layer.succeed(Progress, {
  update: () => undefined,
  log: (line) => void process.stdout.write(line + "\n")
}))
Effect.runPromise(SearchCommand.searchJob(job).pipe(Effect.provide(services))).then(
  (output) => {
    fs.writeFileSync(args.out, JSON.stringify(output))
    process.exit(0)
  },
  (e) => {
    process.stderr.write(`coordinator failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
