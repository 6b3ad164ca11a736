// Assemble src/model/AdamKernel.wat and write its bytes (base64) into src/model/AdamKernel.ts.
//   node packages/haemsa-model/scripts/assemble-adam-kernel.mjs
// (a test checks that the embedded bytes are the source assembled)
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import wabtInit from "wabt"

const model = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "src", "model")
const source = path.join(model, "AdamKernel.wat")
const target = path.join(model, "AdamKernel.ts")
const wabt = await wabtInit()
const parsed = wabt.parseWat(source, fs.readFileSync(source, "utf8"), { simd: true })
parsed.validate()
const bytes = Buffer.from(parsed.toBinary({}).buffer).toString("base64")
parsed.destroy()
const text = fs.readFileSync(target, "utf8")
const updated = text.replace(/export const BYTES =\n  "[^"]*"/, `export const BYTES =\n  "${bytes}"`)
if (updated === text && !text.includes(bytes)) throw new Error(`no BYTES constant found in ${target}`)
fs.writeFileSync(target, updated)
console.log(`${path.relative(process.cwd(), target)}: ${Buffer.from(bytes, "base64").length} bytes`)
