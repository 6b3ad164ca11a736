// Assemble WebAssembly text kernels and write their bytes (base64) into the TypeScript module of the
// same name beside each (`export const BYTES = "..."`):
//   node scripts/assemble-wat.mjs packages/nn/src/wasm/SimdKernels.wat packages/haemsa-model/src/model/AdamKernel.wat
// Tests import `assemble` to check that the embedded bytes are the source assembled.
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import wabtInit from "wabt"

/** The bytes of the `.wat` file `file` (SIMD enabled, validated), base64. */
export const assemble = async (file) => {
  const wabt = await wabtInit()
  const parsed = wabt.parseWat(file, fs.readFileSync(file, "utf8"), { simd: true })
  try {
    parsed.validate()
    return Buffer.from(parsed.toBinary({}).buffer).toString("base64")
  } finally {
    parsed.destroy()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  for (const source of process.argv.slice(2)) {
    const target = source.replace(/\.wat$/, ".ts")
    const bytes = await assemble(source)
    const text = fs.readFileSync(target, "utf8")
    const updated = text.replace(/export const BYTES =\n  "[^"]*"/, `export const BYTES =\n  "${bytes}"`)
    if (updated === text && !text.includes(bytes)) throw new Error(`no BYTES constant found in ${target}`)
    fs.writeFileSync(target, updated)
    console.log(`${path.relative(process.cwd(), target)}: ${Buffer.from(bytes, "base64").length} bytes`)
  }
}
