/**
 * Read throughput (MB/s) of the pickle reader (MMSA, MulT and the Python 2 mosi-real audio pickle)
 * and the `.csd` (HDF5) reader, on the shared fixtures and data.
 *
 *   pnpm bench --package datasets          (or: pnpm tsx --conditions=source benchmarks/datasets/read.ts)
 */
import { Csd, Pickle } from "@haemsa/datasets"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, measure, record, SHARED, type Measurement } from "../Harness"

const files = [
  { name: "pickle mmsa_aligned.pkl", file: "fixtures/mmsa_aligned.pkl", read: (b: Uint8Array, f: string) => Pickle.parse(b, { file: f }) },
  { name: "pickle mult_mosi.pkl", file: "fixtures/mult_mosi.pkl", read: (b: Uint8Array, f: string) => Pickle.parse(b, { file: f }) },
  { name: "pickle py2 audio_openSMILE.pickle", file: "data/mosi-real/audio_openSMILE.pickle", read: (b: Uint8Array, f: string) => Pickle.parse(b, { file: f, encoding: "latin1" }) },
  { name: "csd fixture_COVAREP.csd", file: "fixtures/fixture_COVAREP.csd", read: (b: Uint8Array, f: string) => Csd.readCsd(b, f) },
  { name: "csd fixture_FACET.csd", file: "fixtures/fixture_FACET.csd", read: (b: Uint8Array, f: string) => Csd.readCsd(b, f) }
]

export const run = async (): Promise<Measurement[]> => {
  const out: Measurement[] = []
  for (const { name, file, read } of files) {
    const full = path.join(SHARED, file)
    const bytes = new Uint8Array(fs.readFileSync(full))
    const mb = bytes.byteLength / 1e6
    const m = await measure(name, () => read(bytes, full), { warmup: 3, repeats: 20, figure: (s) => ({ value: mb / s, unit: "MB/s" }) })
    console.log(describe(m))
    out.push(m)
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ms = await run()
  if (process.argv.includes("--record")) record("datasets/read", "-", `node ${process.version}`, ms)
}
