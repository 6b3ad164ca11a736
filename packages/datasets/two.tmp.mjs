import h5wasm from "h5wasm";
import { readFileSync } from "node:fs";
const M = await h5wasm.ready;
M.FS.writeFile("/x", readFileSync(process.argv[2]));
const log = (...a) => process.stdout.write(a.map(String).join(" ")+"\n");
const h = new h5wasm.File("/x", "r");
const k = h.keys()[0]; log(JSON.stringify(k));
const p = "/" + k + "/metadata/root name";
const ds = h.get(p); log(JSON.stringify(ds.metadata));
const ptr = M._malloc(4); new Uint32Array(M.HEAPU8.buffer, ptr, 1)[0] = 0;
log("reading", M.HEAPU8.length);
const t0 = Date.now();
let st;
try { st = M.get_dataset_data(h.file_id, p, null, null, null, BigInt(ptr)); } catch (e) { log("threw", e); }
log("status", st, M.HEAPU8.length, Date.now()-t0);
const sp = new Uint32Array(M.HEAPU8.buffer, ptr, 1)[0]; log("strptr", sp);
let n = 0; while (M.HEAPU8[sp+n] !== 0) n++; log("strlen", n);
