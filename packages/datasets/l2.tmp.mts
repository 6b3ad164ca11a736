import { readFileSync } from "node:fs"
import { readCsd } from "./src/Csd"
const base = new Uint8Array(readFileSync("/work/shared/fixtures/fixture_COVAREP.csd"))
const edits: Array<[number, number]> = [[7103, 0o347], [16035, 0o133], [19871, 0o53], [24367, 0o135], [26909, 0o133], [30137, 0o251], [32865, 0o250]]
for (const [pos, val] of edits) {
  const b = base.slice(); b[pos - 1] = val
  const t0 = performance.now()
  try { await readCsd(b, "x", { timeoutMs: 3000 }); console.log(pos, "ok", performance.now() - t0) } catch (e: any) { console.log(pos, e.reason, performance.now() - t0) }
}
