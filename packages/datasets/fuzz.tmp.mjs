import { createRequire } from "node:module"; const require = createRequire(import.meta.url);
import h5wasm from "h5wasm";
import { readFileSync } from "node:fs";
const M = await h5wasm.ready;
const files = ["fixture_COVAREP.csd","fixture_FACET.csd","fixture_Opinion_Labels.csd"].map(f=>readFileSync("/work/shared/fixtures/"+f));
let seed = Number(process.argv[2]||1);
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const kinds = {};
let n = 0;
function readAll(bytes, name) {
  M.FS.writeFile(name, bytes);
  let h;
  try {
    h = new h5wasm.File(name, "r");
    const out = [];
    for (const k of h.keys()) { const root = h.get(k); if (!root || !root.keys) continue;
      for (const sub of root.keys()) { const g = root.get(sub); if (!g || !g.keys) continue;
        for (const v of g.keys()) { const e = g.get(v); if (e && e.keys) { for (const d of e.keys()) { const ds = e.get(d); if (ds && ds.shape) { const s = ds.shape.reduce((a,b)=>a*b,1); if (s < 1e6) out.push(ds.value); } } } else if (e && e.shape) out.push(e.value); }
      }
    }
    return out;
  } finally { try { h?.close(); } catch {} M.FS.unlink(name); }
}
const good = JSON.stringify(Array.from(readAll(files[0], "/good")[0]));
for (let i = 0; i < Number(process.argv[3]||300); i++) {
  const src = files[Math.floor(rnd()*3)];
  let b = new Uint8Array(src);
  const mode = rnd();
  if (mode < 0.3) b = b.slice(0, Math.floor(rnd()*b.length));
  else { const k = 1 + Math.floor(rnd()*20); for (let j=0;j<k;j++) b[Math.floor(rnd()*b.length)] = Math.floor(rnd()*256); }
  require("node:fs").writeFileSync("/tmp/cur_"+process.argv[2]+".h5", b); require("node:fs").writeFileSync("/tmp/cur_"+process.argv[2]+".txt", String(i)); const t0 = Date.now();
  try { readAll(b, "/f"+i); kinds.ok = (kinds.ok||0)+1; }
  catch (e) { const key = (e?.constructor?.name) + ":" + String(e?.message ?? e).slice(0,60).replace(/\n/g," "); kinds[key] = (kinds[key]||0)+1; }
  const dt = Date.now()-t0; if (dt > 300) { console.log("slow", i, dt); require("node:fs").writeFileSync("/tmp/slow_"+process.argv[2]+"_"+i+".h5", b); }
  const again = JSON.stringify(Array.from(readAll(files[0], "/good")[0]));
  if (again !== good) { console.log("POISONED after", i); break; }
}
console.log(kinds);
