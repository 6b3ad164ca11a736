/**
 * The bundle build step of the GPU run: everything `run-gpu.sh` needs on a GPU machine that has no
 * Node, no npm and no network, in `benchmarks/.out/gpu/` (ignored by git; about 50 MB):
 *
 * - `run.mjs`, `agreement.mjs`, `profile.mjs`, `step.mjs`, `dispatch.mjs`: the runner, the cpu/webgpu
 *   agreement check, the kernel profile, the training-step timer and the dispatch-cost timer, each
 *   bundled for Deno (benchmarks/deno/Bundle.ts), minified;
 * - `deno.xz`: the Deno binary of the `deno` devDependency, xz-compressed (95 MB -> about 31 MB);
 * - `wasm/`: the tfjs wasm binaries (for a wasm baseline on the GPU machine's CPU);
 * - `debs/`: the Vulkan loader and GL dispatch packages of `benchmarks/gpu/debs/` (without them
 *   Deno's adapter is null on the NVIDIA driver).
 *
 *   npx tsx --conditions=source benchmarks/gpu/build.ts
 *
 * then run `bash benchmarks/gpu/run-gpu.sh` there with `benchmarks/.out/gpu` carried along.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Bundle from "../deno/Bundle"
import { isMain, ROOT } from "../Harness"

/** The staging folder. */
export const STAGE = path.join(Bundle.OUT_DIR, "gpu")

const size = (file: string) => `${(fs.statSync(file).size / 2 ** 20).toFixed(1)} MB`

/** Build the stage; resolves to the list of files with their sizes. */
export const build = async (): Promise<string[]> => {
  fs.mkdirSync(path.join(STAGE, "wasm"), { recursive: true })
  fs.mkdirSync(path.join(STAGE, "debs"), { recursive: true })
  const files: string[] = []
  const entries = [
    ["benchmarks/run.ts", "run.mjs"],
    ["benchmarks/gpu/agreement.ts", "agreement.mjs"],
    ["benchmarks/gpu/profile.ts", "profile.mjs"],
    ["benchmarks/gpu/step.ts", "step.mjs"],
    ["benchmarks/gpu/dispatch.ts", "dispatch.mjs"]
  ]
  for (const [entry, name] of entries) {
    files.push(await Bundle.bundle(entry, path.join(STAGE, name), { minify: true }))
  }
  const wasm = Bundle.wasmDir()
  for (const f of fs.readdirSync(wasm).filter((f) => f.endsWith(".wasm"))) {
    fs.copyFileSync(path.join(wasm, f), path.join(STAGE, "wasm", f))
    files.push(path.join(STAGE, "wasm", f))
  }
  const debs = path.join(ROOT, "benchmarks/gpu/debs")
  if (!fs.existsSync(debs)) throw new Error(`${debs} is missing: the Vulkan loader and GL dispatch .deb files come from there`)
  for (const f of fs.readdirSync(debs).filter((f) => f.endsWith(".deb"))) {
    fs.copyFileSync(path.join(debs, f), path.join(STAGE, "debs", f))
    files.push(path.join(STAGE, "debs", f))
  }
  const deno = Bundle.denoBinary()
  if (deno === undefined || deno === "deno") throw new Error("no Deno binary from the `deno` devDependency (or DENO_BIN)")
  const xz = path.join(STAGE, "deno.xz")
  if (!fs.existsSync(xz) || fs.statSync(xz).mtimeMs < fs.statSync(deno).mtimeMs) {
    execFileSync("sh", ["-c", `xz -6 -T0 -c "${deno}" > "${xz}.part" && mv "${xz}.part" "${xz}"`], { stdio: "inherit" })
  }
  files.push(xz)
  return files.map((f) => `${path.relative(STAGE, f)} ${size(f)}`)
}

if (isMain(import.meta.url)) {
  for (const line of await build()) console.log(line)
  console.log(`staged in ${STAGE}; on the GPU machine: bash benchmarks/gpu/run-gpu.sh (carry benchmarks/.out/gpu)`)
}
