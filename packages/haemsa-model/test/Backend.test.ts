import * as tf from "@tensorflow/tfjs"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, afterEach, describe, expect, it } from "@effect/vitest"
import * as Backend from "../src/backends/Backend"
import * as Environment from "../src/Environment"
import * as Network from "../src/model/Network"
import { Progress } from "../src/cli/Progress"
import * as Train from "../src/model/Train"
import { prepare, sentimentData, setupError, tinySpec, useCpu } from "./Support"

const NODE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]

/** An importer where no module is installed; records what was asked for. */
const nothingInstalled = (asked: string[]): Backend.Importer => async (specifier) => {
  asked.push(specifier)
  throw new Error(`Cannot find module '${specifier}'`)
}

/**
 * A stand-in for `@tensorflow/tfjs-node`: importing it registers a backend named "tensorflow" (here the
 * cpu backend's factory and kernels under that name), as the real package does with libtensorflow.
 */
const fakeTfjsNode = (asked: string[]): Backend.Importer => async (specifier) => {
  asked.push(specifier)
  if (specifier !== "@tensorflow/tfjs-node") throw new Error(`Cannot find module '${specifier}'`)
  if (!tf.findBackendFactory("tensorflow")) {
    for (const kernel of tf.getKernelsForBackend("cpu")) tf.registerKernel({ ...kernel, backendName: "tensorflow" })
    tf.registerBackend("tensorflow", tf.findBackendFactory("cpu")!, 0)
  }
  return {}
}

afterEach(useCpu)
afterAll(() => {
  if (tf.findBackendFactory("tensorflow")) {
    for (const kernel of tf.getKernelsForBackend("tensorflow")) tf.unregisterKernel(kernel.kernelName, "tensorflow")
    tf.removeBackend("tensorflow")
  }
})

describe("Backend.setup", () => {
  it("cpu always works", async () => {
    expect(await Backend.setup("cpu")).toBe("cpu")
    expect(tf.getBackend()).toBe("cpu")
  })

  it("an unknown backend name is a BackendError listing the choices", async () => {
    const error = await setupError("cuda")
    expect(error.backend).toBe("cuda")
    expect(error.message).toContain("unknown backend")
    for (const b of Backend.BACKENDS) expect(error.message).toContain(b)
  })

  it("tensorflow without tfjs-node installed: a BackendError naming both packages, both tried in order", async () => {
    const asked: string[] = []
    const error = await setupError("tensorflow", nothingInstalled(asked))
    expect(asked).toEqual(NODE_PACKAGES)
    expect(error.backend).toBe("tensorflow")
    for (const p of NODE_PACKAGES) expect(error.message).toContain(p)
    expect(tf.getBackend()).toBe("cpu")
  })

  it("webgpu without navigator.gpu is a BackendError saying so (only the optional webgpu package is tried)", async () => {
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined()
    const asked: string[] = []
    const error = await setupError("webgpu", nothingInstalled(asked))
    expect(error.message).toContain("navigator.gpu")
    expect(asked).toEqual(["webgpu"])
  })

  it("a backend whose package loads but registers nothing is a BackendError, not a silent fallback", async () => {
    const error = await setupError("wasm", async () => ({}))
    expect(error.backend).toBe("wasm")
    expect(error.message).toContain("tf.setBackend failed")
    expect(tf.getBackend()).toBe("cpu")
  })

  it.effect("Backend.layer fails with the BackendError (typed, in the error channel)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.gen(function*() {
        return yield* Backend.Backend
      }).pipe(Effect.provide(Backend.Backend.layer("tensorflow", nothingInstalled([])))))
      expect(error).toBeInstanceOf(Backend.BackendError)
      expect(error.message).toContain("@tensorflow/tfjs-node")
    }))
})

describe("the wasm binaries (Backend.locateWasm)", () => {
  const made: Array<string> = []
  const tmp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-wasm-"))
    made.push(dir)
    return dir
  }
  afterAll(() => {
    for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true })
  })

  it("found from this module: tfjs-backend-wasm's dist folder, as a prefix ending in a separator", () => {
    const found = Backend.locateWasm({ env: {} })
    expect(found._tag).toBe("Found")
    if (found._tag !== "Found") return
    expect(found.dir.endsWith(path.sep)).toBe(true)
    expect(found.dir).toContain(path.join("@tensorflow", "tfjs-backend-wasm", "dist"))
    for (const binary of Backend.WASM_BINARIES) expect(fs.existsSync(found.dir + binary), binary).toBe(true)
  })

  it("the first place whose tfjs-backend-wasm has the binaries wins (a copy without them is skipped)", () => {
    const elsewhere = tmp()
    const stripped = path.join(elsewhere, "node_modules", "@tensorflow", "tfjs-backend-wasm")
    fs.mkdirSync(path.join(stripped, "dist"), { recursive: true })
    fs.writeFileSync(path.join(stripped, "package.json"), JSON.stringify({ name: "@tensorflow/tfjs-backend-wasm", main: "dist/index.js" }))
    fs.writeFileSync(path.join(stripped, "dist", "index.js"), "")
    const found = Backend.locateWasm({ env: {}, from: [path.join(elsewhere, "bundle.mjs"), path.join(process.cwd(), "package.json")] })
    expect(found).toMatchObject({ _tag: "Found", via: path.join(process.cwd(), "package.json") })
  })

  it("HAEMSA_WASM_DIR overrides the lookup (a separator added), and must hold the binaries", () => {
    const dir = tmp()
    fs.writeFileSync(path.join(dir, "tfjs-backend-wasm-simd.wasm"), "")
    expect(Backend.locateWasm({ env: { HAEMSA_WASM_DIR: dir }, from: [] })).toEqual({ _tag: "Found", dir: dir + path.sep, via: "HAEMSA_WASM_DIR" })
    const empty = tmp()
    const missing = Backend.locateWasm({ env: { HAEMSA_WASM_DIR: empty } })
    expect(missing._tag).toBe("Missing")
    expect(missing._tag === "Missing" && missing.reason).toContain(`HAEMSA_WASM_DIR=${empty} holds none of`)
  })

  it("nowhere to be found: Missing, with a reason that names HAEMSA_WASM_DIR", () => {
    // (no place to resolve from: pnpm's NODE_PATH would make any folder resolve the package in this test)
    const missing = Backend.locateWasm({ env: {}, from: [] })
    expect(missing._tag).toBe("Missing")
    expect(missing._tag === "Missing" && missing.reason).toContain("set HAEMSA_WASM_DIR")
  })

  it("Backend.setup('wasm') hands the folder to setWasmPaths before tf.setBackend", async () => {
    const paths: string[] = []
    const error = await setupError("wasm", async () => ({ setWasmPaths: (p: string) => void paths.push(p) }))
    const found = Backend.locateWasm()
    expect(found._tag).toBe("Found")
    expect(paths).toEqual([found._tag === "Found" ? found.dir : ""])
    // the stand-in registers no backend: the failure comes after the paths were set
    expect(error.message).toContain("tf.setBackend failed")
  })

  it("Backend.setup('wasm') with a HAEMSA_WASM_DIR without the binaries: a BackendError naming it, nothing imported", async () => {
    const empty = tmp()
    const before = process.env.HAEMSA_WASM_DIR
    process.env.HAEMSA_WASM_DIR = empty
    try {
      const asked: string[] = []
      const error = await setupError("wasm", nothingInstalled(asked))
      expect(error.message).toContain(`HAEMSA_WASM_DIR=${empty}`)
      expect(asked).toEqual([])
    } finally {
      if (before === undefined) delete process.env.HAEMSA_WASM_DIR
      else process.env.HAEMSA_WASM_DIR = before
    }
  })
})

describe("the tensorflow backend under Deno", () => {
  it("is a BackendError saying it needs Node, without trying to load tfjs-node", async () => {
    const asked: string[] = []
    const error = await Backend.setup("tensorflow", fakeTfjsNode(asked), { runtime: "deno" }).then(() => undefined, (e) => e)
    expect(error).toBeInstanceOf(Backend.BackendError)
    expect(error.message).toContain("not supported under Deno")
    expect(error.message).toContain("wasm, cpu or webgpu")
    expect(asked).toEqual([])
  })

  it("the runtime is detected from globalThis.Deno (Node here)", () => {
    expect(Backend.currentRuntime()).toBe("node")
  })
})

describe("the tensorflow backend path (with a stand-in tfjs-node)", () => {
  it.effect("falls back from tfjs-node-gpu to tfjs-node, becomes the active backend and trains", () =>
    Effect.gen(function*() {
      const asked: string[] = []
      const { info, dataset } = prepare(sentimentData())
      const layer = Layer.mergeAll(Environment.parts, Progress.layerSilent, Backend.Backend.layer("tensorflow", fakeTfjsNode(asked)))
      const result = yield* Effect.gen(function*() {
        const backend = yield* Backend.Backend
        const trained = yield* Train.train(tinySpec("haemsa", "meanpool"), dataset, info, { epochs: 1, batchSize: 32, seed: 0 })
        return { name: backend.name, active: tf.getBackend(), trained }
      }).pipe(Effect.provide(layer))
      try {
        expect(asked).toEqual(NODE_PACKAGES)
        expect(result.name).toBe("tensorflow")
        expect(result.active).toBe("tensorflow")
        expect(result.trained.steps).toBe(2)
        expect(Number.isFinite(result.trained.history[0].loss)).toBe(true)
        expect(tf.getBackend()).toBe("tensorflow")
        for (const v of result.trained.net.variables.values()) expect(v.dataSync().every(Number.isFinite)).toBe(true)
      } finally {
        Network.dispose(result.trained.net)
      }
    }))
})
