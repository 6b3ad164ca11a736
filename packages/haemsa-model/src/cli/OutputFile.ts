/**
 * The commands' output files (`--json`, `--report`): written atomically (a temp file, then a rename),
 * so an interrupted run never leaves a half-written file; a failure is a `UsageError` naming the file.
 *
 * @since 0.1.0
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { UsageError } from "./Args"

/** Writes `text` to `file` atomically (temp file, rename), creating its folder; a failure is a `UsageError`. */
export const writeText = (file: string, text: string): Effect.Effect<void, UsageError> =>
  Effect.try({
    try: () => {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
      const tmp = `${file}.tmp-${process.pid}`
      fs.writeFileSync(tmp, text)
      fs.renameSync(tmp, file)
    },
    catch: (e) => new UsageError({ reason: `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}` })
  })

/** Writes `value` to `file` as indented JSON with a final newline, atomically (see {@link writeText}). */
export const writeJson = (file: string, value: unknown): Effect.Effect<void, UsageError> =>
  writeText(file, JSON.stringify(value, null, 2) + "\n")
