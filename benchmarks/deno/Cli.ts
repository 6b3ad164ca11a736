/**
 * The `haemsa` command under Deno: bundles `packages/haemsa-model/src/bin.ts` with esbuild and runs it
 * with `deno run -A --unstable-webgpu`, passing the arguments through. Every backend but `tensorflow`
 * (Node only) works there: `wasm` (the default; the bundle finds its binaries), `cpu`, and `webgpu`
 * (Deno has WebGPU built in; Node needs the `webgpu` package), which refuses a software/fallback
 * adapter such as lavapipe unless `--allow-software-adapter` is given. `search`'s fitness workers run
 * from a second bundle, `FitnessWorker.mjs`, beside the first.
 *
 *   npx -y pnpm@12.4.2 haemsa:deno train --data synthetic --backend webgpu --epochs 5
 */
import { bundle, outPath, runUnderDeno } from "./Bundle"

// `search` starts its fitness workers from `FitnessWorker.mjs` next to the bundle (SearchEvaluator.spawnWorker)
await bundle("packages/haemsa-model/src/search/FitnessWorker.ts", outPath("FitnessWorker.mjs"))
process.exit(await runUnderDeno("packages/haemsa-model/src/bin.ts", "haemsa.mjs", process.argv.slice(2)))
