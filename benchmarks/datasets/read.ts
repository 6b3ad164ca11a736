/**
 * Read throughput (MB/s) of the pickle reader (MMSA, MulT and the Python 2 mosi-real audio pickle)
 * and the `.csd` (HDF5) reader, on the datasets test fixtures and the mosi-real data package.
 *
 *   pnpm bench --package datasets          (or: pnpm tsx --conditions=source benchmarks/datasets/read.ts)
 */
import { Csd, Pickle } from "@haemsa/datasets"
import h5wasm, { type Group as H5Group } from "h5wasm"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, FIXTURES, measure, MOSI_REAL, record, type Measurement } from "../Harness"

const files = [
  { name: "pickle mmsa_aligned.pkl", file: path.join(FIXTURES, "mmsa_aligned.pkl"), read: (b: Uint8Array, f: string) => Pickle.parse(b, { file: f }) },
  { name: "pickle mult_mosi.pkl", file: path.join(FIXTURES, "mult_mosi.pkl"), read: (b: Uint8Array, f: string) => Pickle.parse(b, { file: f }) },
  { name: "pickle py2 audio_openSMILE.pickle", file: path.join(MOSI_REAL, "audio_openSMILE.pickle"), read: (b: Uint8Array, f: string) => Pickle.parse(b, { file: f, encoding: "latin1" }) },
  { name: "csd fixture_COVAREP.csd", file: path.join(FIXTURES, "fixture_COVAREP.csd"), read: (b: Uint8Array, f: string) => Csd.readCsd(b, f) },
  { name: "csd fixture_FACET.csd", file: path.join(FIXTURES, "fixture_FACET.csd"), read: (b: Uint8Array, f: string) => Csd.readCsd(b, f) }
]

/**
 * A COVAREP-sized computational sequence written with h5wasm (as h5py lays it out): 40 videos of
 * 1500 frames x 74 features, about 18 MB, so per-file overhead does not dominate the throughput.
 */
const largeCsd = async (): Promise<Uint8Array> => {
  const { FS } = await h5wasm.ready
  const name = "/bench-large.csd"
  const file = new h5wasm.File(name, "w", { libver: ["earliest", "v108"] })
  try {
    const meta = file.create_group("COVAREP").create_group("metadata")
    meta.create_dataset({ name: "root name", data: ['"COVAREP"'] })
    const data = (file.get("COVAREP") as H5Group).create_group("data")
    let seed = 1
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5
    for (let v = 0; v < 40; v++) {
      const frames = 1500
      const group = data.create_group(`video${v}`)
      group.create_dataset({ name: "features", data: Float32Array.from({ length: frames * 74 }, rand), shape: [frames, 74], dtype: "<f" })
      group.create_dataset({ name: "intervals", data: Float64Array.from({ length: frames * 2 }, (_, i) => Math.floor(i / 2) * 0.01 + (i % 2) * 0.01), shape: [frames, 2], dtype: "<d" })
    }
  } finally {
    file.close()
  }
  const bytes = FS!.readFile(name)
  FS!.unlink(name)
  return bytes
}

export const run = async (): Promise<Measurement[]> => {
  const out: Measurement[] = []
  const large = await largeCsd()
  const lm = await measure("csd generated 40 videos x 1500 x 74", () => Csd.readCsd(large, "generated.csd"), {
    warmup: 1,
    repeats: 5,
    figure: (s) => ({ value: large.byteLength / 1e6 / s, unit: "MB/s" })
  })
  console.log(describe(lm))
  out.push(lm)
  for (const { name, file, read } of files) {
    const bytes = new Uint8Array(fs.readFileSync(file))
    const mb = bytes.byteLength / 1e6
    const m = await measure(name, () => read(bytes, file), { warmup: 3, repeats: 20, figure: (s) => ({ value: mb / s, unit: "MB/s" }) })
    console.log(describe(m))
    out.push(m)
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ms = await run()
  if (process.argv.includes("--record")) record("datasets/read", "-", `node ${process.version}`, ms)
}
