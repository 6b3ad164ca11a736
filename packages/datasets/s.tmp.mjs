import h5wasm from "h5wasm";
import { readFileSync } from "node:fs";
const M = await h5wasm.ready;
console.log(Object.keys(M).filter(k=>/stack|Stack/.test(k)));
M.FS.writeFile("/x", readFileSync("/work/shared/fixtures/fixture_COVAREP.csd"));
const f = new h5wasm.File("/x","r");
const sp = () => M._emscripten_stack_get_current?.() ?? M.stackSave?.();
console.log("sp", sp());
for (let i=0;i<1000;i++) { try { M.get_names(f.file_id, "/nope", false) } catch {} }
console.log("sp", sp(), M.HEAPU8.length);
