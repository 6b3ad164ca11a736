/**
 * Bundling a benchmark entry for Deno: esbuild makes one ESM file of it and every workspace package
 * (their TypeScript sources, through the "source" condition) and npm dependency, with a banner that
 * gives CommonJS code `require`, `__filename` and `__dirname`. `import.meta.url` in the sources is
 * replaced by the bundle's URL plus "#bundled" (so `Harness.isMain` and similar checks are false
 * inside it). Data packages (`@haemsa/mosi-real`) are not bundled: they find their files from their
 * own `import.meta.url`, so the bundle imports them at run time from where the sources resolve them.
 * Deno then runs it with `deno run -A [--unstable-webgpu] FILE`. Node-only: it imports esbuild.
 */
import type { Plugin } from "esbuild"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { ROOT } from "../Harness"

/** Where bundles go (ignored by git: `.out/`). */
export const OUT_DIR = path.join(ROOT, "benchmarks/.out")

const BANNER = [
  `import { createRequire as __haemsaCreateRequire } from "node:module";`,
  `import { fileURLToPath as __haemsaFileURLToPath } from "node:url";`,
  `import { dirname as __haemsaDirname } from "node:path";`,
  `const require = __haemsaCreateRequire(import.meta.url);`,
  `const __filename = __haemsaFileURLToPath(import.meta.url);`,
  `const __dirname = __haemsaDirname(__filename);`,
  `const __haemsaBundleUrl = import.meta.url + "#bundled";`
].join("\n")

/** Packages whose code locates its own files (`new URL("./data/", import.meta.url)`): imported, not bundled. */
const DATA_PACKAGES = /^@haemsa\/mosi-real$/

/** Marks the plugin's own resolve call, so that it does not see it again. */
const RESOLVING = Symbol("resolving a data package")

/**
 * Leaves each data package as an import of its own entry file (a file URL, resolved as esbuild resolves
 * it from the importing source), so that its `import.meta.url` stays its own.
 */
const importDataPackages: Plugin = {
  name: "import-data-packages",
  setup(build) {
    build.onResolve({ filter: DATA_PACKAGES }, async (args) => {
      if (args.pluginData === RESOLVING) return undefined
      const found = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: RESOLVING })
      if (found.errors.length > 0) return { errors: found.errors }
      return { path: pathToFileURL(found.path).href, external: true }
    })
  }
}

/** Bundle one `entry` (a path relative to the repository root) to `outfile`. */
const bundleOne = async (entry: string, outfile: string, options: { readonly minify?: boolean } = {}): Promise<string> => {
  const esbuild = await import("esbuild")
  await esbuild.build({
    entryPoints: [path.join(ROOT, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "es2022",
    conditions: ["source"],
    banner: { js: BANNER },
    define: { "import.meta.url": "__haemsaBundleUrl" },
    // optional packages a user may have installed; never bundled
    external: ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu", "webgpu"],
    plugins: [importDataPackages],
    minify: options.minify ?? false,
    logLevel: "warning"
  })
  return outfile
}

/**
 * The worker entries of `@haemsa/haemsa-model` (the search's fitness workers, the training
 * replicas): `parallel/Spawn` starts them from `<Name><extension of the bundle>` next to the bundle it
 * runs in.
 */
const WORKERS = {
  FitnessWorker: "packages/haemsa-model/src/search/FitnessWorker.ts",
  ReplicaWorker: "packages/haemsa-model/src/parallel/ReplicaWorker.ts"
} as const

/**
 * Bundle `entry` (a path relative to the repository root) to `outfile`, and the worker entries of
 * `@haemsa/haemsa-model` beside it (a bundle that trains or searches starts them); resolves to
 * `outfile`.
 */
export const bundle = async (entry: string, outfile: string, options: { readonly minify?: boolean } = {}): Promise<string> => {
  await bundleOne(entry, outfile, options)
  const ext = path.extname(outfile)
  for (const [name, worker] of Object.entries(WORKERS)) {
    if (worker !== entry) await bundleOne(worker, path.join(path.dirname(outfile), `${name}${ext}`), options)
  }
  return outfile
}

/**
 * The folder of the tfjs wasm binaries in this checkout (the GPU stage copies them; a bundle run from
 * the checkout finds them itself, see `Backend.locateWasm` of @haemsa/haemsa-model).
 */
export const wasmDir = (): string =>
  path.dirname(createRequire(path.join(ROOT, "benchmarks/package.json")).resolve("@tensorflow/tfjs-backend-wasm")) + path.sep

/**
 * The Deno binary: `$DENO_BIN`, else the one the `deno` devDependency ships (`@deno/<platform>`),
 * else `deno` on the PATH. Undefined when none runs.
 */
export const denoBinary = (): string | undefined => {
  const candidates: string[] = []
  if (process.env.DENO_BIN) candidates.push(process.env.DENO_BIN)
  try {
    const denoPackage = createRequire(path.join(ROOT, "package.json")).resolve("deno/package.json")
    const platform = `@deno/${os.platform() === "win32" ? "win32" : os.platform()}-${os.arch()}${os.platform() === "linux" ? "-glibc" : ""}`
    const dir = path.dirname(createRequire(denoPackage).resolve(`${platform}/package.json`))
    candidates.push(path.join(dir, os.platform() === "win32" ? "deno.exe" : "deno"))
  } catch {
    // the devDependency is not installed
  }
  candidates.push("deno")
  return candidates.find((c) => spawnSync(c, ["--version"], { stdio: "ignore" }).status === 0)
}

/** The environment a bundle runs in: the repository root and a runtime dir for Vulkan (`HAEMSA_WASM_DIR` only when the caller set it). */
export const bundleEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  HAEMSA_BENCH_ROOT: ROOT,
  XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? os.tmpdir()
})

/**
 * Bundle `entry` to `benchmarks/.out/<name>` and run it under Deno (`-A --unstable-webgpu`) with `args`, output inherited; resolves to its exit code (2 when
 * there is no Deno binary).
 */
export const runUnderDeno = async (entry: string, name: string, args: ReadonlyArray<string>): Promise<number> => {
  const binary = denoBinary()
  if (binary === undefined) {
    console.error("no deno binary (install the root devDependency `deno`, or set DENO_BIN)")
    return 2
  }
  const file = await bundle(entry, outPath(name))
  return spawnSync(binary, ["run", "-A", "--unstable-webgpu", file, ...args], { stdio: "inherit", env: bundleEnv() }).status ?? 1
}

/** Make sure the output folder exists; resolves to the path of `name` in it. */
export const outPath = (name: string): string => {
  fs.mkdirSync(OUT_DIR, { recursive: true })
  return path.join(OUT_DIR, name)
}
