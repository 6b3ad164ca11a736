/**
 * A small search for the resume test (`test/Resume.test.ts`), run in a child process:
 *
 *   node --conditions=source --import tsx ResumeSearch.ts <checkpointDir> <logFile> <resultFile>
 *
 * Sphere fitness with a short sleep per evaluation (so a kill lands mid-run). Every finished
 * evaluation appends `<level> <genome JSON>` to the log; the result (without its timing) goes to
 * the result file. Rerunning the same command resumes from the checkpoint.
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { FitnessEvaluator, Search } from "@haemsa/evo-search"

const [checkpointDir, logFile, resultFile] = process.argv.slice(2)
if (resultFile === undefined) throw new Error("usage: ResumeSearch.ts <checkpointDir> <logFile> <resultFile>")

/** The search every run of this script performs. */
const options: Search.SearchOptions = {
  strategy: { dimension: 4, populationSize: 8, elitism: 1 },
  seed: 2024,
  generations: 6,
  concurrency: 3,
  fidelity: { levels: [{ epochs: 1 }, { epochs: 3 }], eta: 2 },
  checkpointDir
}

const evaluator = Layer.succeed(FitnessEvaluator.FitnessEvaluator, {
  evaluate: (genome, fidelity) =>
    Effect.sleep(10 + Math.floor(genome[0] * 30)).pipe(
      Effect.map(() => {
        fs.appendFileSync(logFile, `${fidelity.level} ${JSON.stringify(genome)}\n`)
        return genome.reduce((s, x) => s + (x - 0.3) ** 2, 0) + 0.01 / (fidelity.epochs ?? 1)
      })
    )
})

const result = await Effect.runPromise(Search.run(options).pipe(Effect.provide(evaluator)))
const { seconds: _seconds, ...timeless } = result
fs.writeFileSync(resultFile, JSON.stringify(timeless))
