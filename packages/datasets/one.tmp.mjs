import h5wasm from "h5wasm";
import { readFileSync } from "node:fs";
const M = await h5wasm.ready;
const b = readFileSync(process.argv[2]);
M.FS.writeFile("/x", b);
const log = (...a) => process.stdout.write(a.map(String).join(" ")+"\n");
const h = new h5wasm.File("/x", "r"); log("opened");
const ks = h.keys(); log("keys", ks);
for (const k of ks) { log("type", k, M.get_type(h.file_id, "/"+k)); const root = h.get(k); log("got", k);
  for (const sub of root.keys()) { log(" sub", sub); const g = root.get(sub); 
    for (const v of g.keys()) { log("  v", v); const e = g.get(v); if (e.keys) for (const d of e.keys()) { log("   d", d); const ds = e.get(d); log("   md", JSON.stringify(ds.metadata)); const val = ds.value; log("   val", val?.length); } else { log("   md", JSON.stringify(e.metadata)); log("   val", e.value?.length) } }
  }
}
