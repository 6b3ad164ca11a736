import { readFileSync } from "node:fs"
import { readCsd } from "./src/Csd"
const b = new Uint8Array(readFileSync("/work/shared/fixtures/fixture_COVAREP.csd")); b[30136] = 0xa9
const t0 = performance.now()
try { await readCsd(b, "x", { timeoutMs: 20000 }) } catch (e: any) { console.log(e.reason, performance.now() - t0) }
console.log((await readCsd(new Uint8Array(readFileSync("/work/shared/fixtures/fixture_FACET.csd")), "ok")).root, performance.now() - t0)
