/**
 * The `haemsa` command under Deno: bundles `packages/haemsa-model/src/bin.ts` with esbuild and runs it
 * with `deno run -A --unstable-webgpu`, passing the arguments through. Every backend but `tensorflow`
 * (Node only) works there: `wasm` (the default; the bundle finds its binaries), `cpu`, and `webgpu`
 * (Deno has WebGPU built in; Node needs the `webgpu` package), which refuses a software/fallback
 * adapter such as lavapipe unless `--allow-software-adapter` is given. `search`'s fitness workers and
 * `train`'s replica threads run from their own bundles beside the first (`Bundle.bundle` makes them).
 *
 *   npx -y pnpm@12.4.2 haemsa:deno train --data synthetic --backend webgpu --epochs 5
 */
import { runUnderDeno } from "./Bundle"

process.exit(await runUnderDeno("packages/haemsa-model/src/bin.ts", "haemsa.mjs", process.argv.slice(2)))
