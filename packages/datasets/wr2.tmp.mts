import h5wasm from "h5wasm"
import { readCsd } from "./src/Csd"
const M = await h5wasm.ready
const f = new h5wasm.File("/t.h5", "w", { libver: ["earliest", "v108"] })
const v = f.create_group("R").create_group("data").create_group("a")
v.create_dataset({ name: "features", data: new Float32Array(4099), shape: [1, 4099], dtype: "<f", chunks: [1, 4099] })
v.create_dataset({ name: "intervals", data: Float64Array.from([0, 1]), shape: [1, 2], dtype: "<d" })
f.close()
const bytes = M.FS.readFile("/t.h5") as Uint8Array
const pattern = [0x03, 0x10, 0, 0, 0, 0, 0, 0]
let n = 0
for (let i = 0; i + 8 <= bytes.length; i++) if (pattern.every((b, k) => bytes[i + k] === b)) { bytes[i + 5] = 0x01; n++ }
console.log("patched", n)
try { await readCsd(bytes, "big.csd") } catch (e) { console.log(String(e)) }
