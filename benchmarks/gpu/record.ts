/**
 * Record the reports a GPU run wrote (`run.ts --json`, see run-gpu.sh) in docs/benchmarks.md, with
 * their own date, machine, runtime and backend:
 *
 *   npx tsx --conditions=source benchmarks/gpu/record.ts FILE.json...
 */
import * as fs from "node:fs"
import { isMain, recordReport } from "../Harness"
import type { Report } from "../run"

if (isMain(import.meta.url)) {
  for (const file of process.argv.slice(2)) {
    console.log(`${file}: ${recordReport(JSON.parse(fs.readFileSync(file, "utf8")) as Report)} rows`)
  }
}
