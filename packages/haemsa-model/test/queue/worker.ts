/**
 * A `haemsa worker` process for the integration test and the benchmark, with short lock times.
 * Arguments: the queue URL, the lock duration in ms.
 */
import { Effect, Result } from "effect"
import * as QueueUrl from "../../src/search/queue/QueueUrl"
import * as QueueWorker from "../../src/search/queue/QueueWorker"

const url = Result.getOrThrow(QueueUrl.parse(process.argv[2]))
let signal: () => void = () => undefined
const stop = new Promise<void>((resolve) => (signal = resolve))
process.once("SIGTERM", () => signal())
Effect.runPromise(
  QueueWorker.run({ url, lockMs: Number(process.argv[3] ?? 30_000), discoverMs: 300, log: (line) => process.stdout.write(line + "\n"), stop })
).then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`worker failed: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exit(1)
  }
)
