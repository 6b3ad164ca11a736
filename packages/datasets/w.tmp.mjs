import { Worker } from "node:worker_threads";
const url = import.meta.resolve("h5wasm");
for (let i = 0; i < 3; i++) {
const t0 = performance.now();
const w = new Worker(`const { parentPort } = require("node:worker_threads"); const diag = []; console.error = (...a) => diag.push(a.join(" "));
import(${JSON.stringify(url)}).then(async (m) => { const M = await m.default.ready; parentPort.postMessage({ ok: true, keys: typeof M.get_names }) })`, { eval: true });
const msg = await new Promise(r => w.once("message", r));
console.log(msg, performance.now() - t0);
await w.terminate();
}
