/**
 * Record the reports a GPU run wrote (`run.ts --json`, see run-gpu.sh) in docs/benchmarks.md, with
 * their own date, machine, runtime and backend:
 *
 *   npx tsx --conditions=source benchmarks/gpu/record.ts FILE.json...
 */
import * as fs from "node:fs"
import { record } from "../Harness"
import type { Report } from "../run"

/** Append the rows of one report. */
export const recordReport = (report: Report): number => {
  const note = [report.quick ? "quick" : undefined, report.adapter ? `adapter ${report.adapter}` : undefined, report.note].filter((s) => s !== undefined && s !== "").join("; ")
  for (const r of report.results) {
    const runtimeText = r.backend === "-" ? report.runtime : `${report.runtime}, tfjs ${report.versions.tfjs}`
    record(r.benchmark, r.backend, runtimeText, r.measurements, {
      date: report.date.slice(0, 10),
      machineText: `${report.machine.cores}x ${report.machine.cpu}`,
      ...(note ? { note } : {})
    })
  }
  return report.results.reduce((n, r) => n + r.measurements.length, 0)
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const file of process.argv.slice(2)) {
    console.log(`${file}: ${recordReport(JSON.parse(fs.readFileSync(file, "utf8")) as Report)} rows`)
  }
}
