import { readFileSync } from "node:fs"
import { readCsd, summary } from "./src/Csd"
import { alignToSegments } from "./src/CsdAlign"
const F = "/work/shared/fixtures/"
const cov = await readCsd(readFileSync(F + "fixture_COVAREP.csd"), "cov")
const lab = await readCsd(readFileSync(F + "fixture_Opinion_Labels.csd"), "lab")
console.log(JSON.stringify(summary(cov)), cov.metadata, cov.nonfiniteReplaced)
console.log(JSON.stringify(summary(lab)), lab.metadata, Array.from(lab.videos.get("trvid0")!.intervals), Array.from(lab.videos.get("trvid0")!.features))
const v = cov.videos.get("trvid0")!
console.log(Array.from(v.intervals).map(x => x.toFixed(3)).join(" "))
const a = alignToSegments(cov, lab)
console.log(a.ids, a.sequences.map(s => s.steps), a.emptySegments, Array.from(a.labels))
// fuzz
const files = ["fixture_COVAREP.csd","fixture_FACET.csd","fixture_Opinion_Labels.csd"].map(f => readFileSync(F + f))
let seed = Number(process.argv[2] ?? 7)
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
const kinds: Record<string, number> = {}
const t0 = performance.now()
for (let i = 0; i < Number(process.argv[3] ?? 200); i++) {
  const src = files[Math.floor(rnd() * 3)]
  let b = new Uint8Array(src)
  if (rnd() < 0.3) b = b.slice(0, Math.floor(rnd() * b.length))
  else { const k = 1 + Math.floor(rnd() * 20); for (let j = 0; j < k; j++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256) }
  const t1 = performance.now()
  try { await readCsd(b, "f" + i, { timeoutMs: 2000 }); kinds.ok = (kinds.ok ?? 0) + 1 }
  catch (e: any) { const k = (e?._tag ?? e?.constructor?.name) + ":" + String(e.reason ?? e.message).replace(/^\/[^:]*: /, "").replace(/[0-9]+/g, "N").slice(0, 70); kinds[k] = (kinds[k] ?? 0) + 1 }
  const dt = performance.now() - t1; if (dt > 500) { console.log("slow", i, dt, files.indexOf(src)); (await import("node:fs")).writeFileSync(`/tmp/loop_${i}.h5`, b) }
}
console.log(kinds, (performance.now() - t0) / 1000)
