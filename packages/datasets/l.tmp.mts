import { readFileSync } from "node:fs"
import { readCsd } from "./src/Csd"
const t0 = performance.now()
try { await readCsd(readFileSync("/tmp/loop_1035.h5"), "loop", { timeoutMs: 30000 }) } catch (e) { console.log(String(e), performance.now() - t0) }
