import { readFileSync } from "node:fs"
import { readHdf5 } from "./src/Hdf5"
for (const f of ["fixture_COVAREP.csd", "fixture_Opinion_Labels.csd", "bad_not_hdf5.csd"]) {
  const t0 = performance.now()
  try {
    const root = await readHdf5(readFileSync("/work/shared/fixtures/" + f), f, { maxDepth: 4 })
    console.log(f, performance.now() - t0, JSON.stringify(root, (k, v) => ArrayBuffer.isView(v) ? `${v.constructor.name}(${(v as Float32Array).length})` : v).slice(0, 600))
  } catch (e) { console.log(f, "ERR", String(e), (e as any)._tag) }
}
const t0 = performance.now()
try { await readHdf5(readFileSync("/tmp/hang1.h5"), "hang1.h5", { maxDepth: 4, timeoutMs: 3000 }) } catch (e) { console.log("hang", performance.now() - t0, String(e)) }
const root = await readHdf5(readFileSync("/work/shared/fixtures/fixture_FACET.csd"), "f", { maxDepth: 4 })
console.log("after", JSON.stringify(root).length)
try { await readHdf5(readFileSync("/work/shared/fixtures/fixture_FACET.csd").subarray(0, 5000), "trunc.csd", { maxDepth: 4 }) } catch (e) { console.log(String(e)) }
