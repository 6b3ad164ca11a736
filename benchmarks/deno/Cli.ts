/**
 * The `haemsa` command under Deno, for the `webgpu` backend (Deno has WebGPU built in; Node needs
 * the `webgpu` package): bundles `packages/haemsa-model/src/bin.ts` with esbuild and runs it with
 * `deno run -A --unstable-webgpu`, passing the arguments through.
 *
 *   npx -y pnpm@12.4.2 haemsa:deno train --data synthetic --backend webgpu --epochs 5
 */
import { runUnderDeno } from "./Bundle"

process.exit(await runUnderDeno("packages/haemsa-model/src/bin.ts", "haemsa.mjs", process.argv.slice(2)))
