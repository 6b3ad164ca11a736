/**
 * The webgpu backend's setup in Node, where `navigator.gpu` comes from the optional `webgpu` package
 * (Dawn), and the shims for tfjs-backend-webgpu outside a browser. Fake modules stand in for Dawn:
 * the real one finds no adapter on lavapipe (Mesa 22.3 lacks shaderUniform*ArrayDynamicIndexing),
 * so there is no machine here where the real path could succeed.
 */
import { afterEach, describe, expect, it } from "vitest"
import * as Backend from "../src/backends/Backend"
import { cli, setupError } from "./Support"

type Global = Record<string, unknown> & { navigator?: { gpu?: unknown } }
const g = globalThis as unknown as Global
const hadNavigator = "navigator" in g

afterEach(() => {
  if (!hadNavigator) delete g.navigator
  else if (g.navigator) delete g.navigator.gpu
  delete g.GPUBufferUsage
})

/** A stand-in for the `webgpu` package whose GPU has the given adapter. */
const fakeDawn = (asked: string[], adapter: unknown, created: string[][] = []): Backend.Importer => async (specifier) => {
  asked.push(specifier)
  if (specifier !== "webgpu") throw new Error(`Cannot find module '${specifier}'`)
  return {
    create: (flags: string[]) => {
      created.push(flags)
      return { requestAdapter: async () => adapter }
    },
    globals: { GPUBufferUsage: { STORAGE: 128 } }
  }
}

describe("provideNavigatorGpu", () => {
  it("installs the webgpu package's GPU as navigator.gpu and its GPU* constants as globals", async () => {
    expect(g.navigator?.gpu).toBeUndefined()
    const asked: string[] = []
    const created: string[][] = []
    expect(await Backend.provideNavigatorGpu(fakeDawn(asked, null, created))).toContain("webgpu package")
    expect(asked).toEqual(["webgpu"])
    expect(created).toEqual([[]])
    expect(typeof (g.navigator?.gpu as { requestAdapter?: unknown })?.requestAdapter).toBe("function")
    expect(g.GPUBufferUsage).toEqual({ STORAGE: 128 })
  })

  it("keeps an existing navigator.gpu (Deno's) and imports nothing", async () => {
    const existing = { requestAdapter: async () => null }
    Object.defineProperty(g, "navigator", { value: { gpu: existing }, configurable: true, writable: true })
    const asked: string[] = []
    expect(await Backend.provideNavigatorGpu(fakeDawn(asked, null))).toBe("navigator.gpu")
    expect(asked).toEqual([])
    expect(g.navigator?.gpu).toBe(existing)
  })

  it("is undefined when the package is not installed", async () => {
    expect(await Backend.provideNavigatorGpu(async () => { throw new Error("Cannot find module 'webgpu'") })).toBeUndefined()
    expect(g.navigator?.gpu).toBeUndefined()
  })
})

describe("Backend.setup('webgpu') in Node", () => {
  it("no adapter (Dawn on lavapipe) is a BackendError before the tfjs backend is imported", async () => {
    const asked: string[] = []
    const error = await setupError("webgpu", fakeDawn(asked, null))
    expect(error.message).toContain("no GPU adapter")
    expect(error.message).toContain("webgpu package")
    expect(asked).toEqual(["webgpu"])
  })
})

/** Adapters as runtimes report them: Deno 2.9 on Mesa's llvmpipe (measured), lavapipe without the flag, SwiftShader, an NVIDIA GPU. */
const ADAPTERS = {
  denoLlvmpipe: { info: { vendor: "65541", architecture: "", device: "0", description: "llvmpipe (LLVM 15.0.6, 256 bits)", isFallbackAdapter: true } },
  flagOnly: { info: { vendor: "", architecture: "", device: "", description: "", isFallbackAdapter: true } },
  oldFlag: { isFallbackAdapter: true, info: { description: "Some Adapter" } },
  llvmpipeUnflagged: { info: { vendor: "mesa", architecture: "", device: "llvmpipe (LLVM 15.0.6, 256 bits)", description: "" } },
  swiftShader: { info: { vendor: "google", architecture: "swiftshader", device: "", description: "SwiftShader Device (Subzero)" } },
  nvidia: { info: { vendor: "nvidia", architecture: "hopper", device: "8837", description: "NVIDIA H200", isFallbackAdapter: false } }
} satisfies Record<string, Backend.AdapterLike>

describe("describeAdapter", () => {
  it("the runtime's fallback flag (in info, or on the adapter in older runtimes) makes it software", () => {
    expect(Backend.describeAdapter(ADAPTERS.flagOnly)).toEqual({ name: "unnamed adapter", software: "the runtime flags it isFallbackAdapter" })
    expect(Backend.describeAdapter(ADAPTERS.oldFlag).software).toContain("isFallbackAdapter")
  })

  it("llvmpipe (lavapipe's adapter name) and SwiftShader in the info are software, with or without the flag", () => {
    const deno = Backend.describeAdapter(ADAPTERS.denoLlvmpipe)
    expect(deno.name).toBe("llvmpipe (LLVM 15.0.6, 256 bits)")
    expect(deno.software).toBe("the runtime flags it isFallbackAdapter; llvmpipe is a software rasteriser")
    expect(Backend.describeAdapter(ADAPTERS.llvmpipeUnflagged)).toEqual({ name: "llvmpipe (LLVM 15.0.6, 256 bits) / mesa", software: "llvmpipe is a software rasteriser" })
    expect(Backend.describeAdapter(ADAPTERS.swiftShader)).toEqual({ name: "SwiftShader Device (Subzero)", software: "SwiftShader is a software rasteriser" })
    expect(Backend.describeAdapter({ info: { description: "lavapipe" } }).software).toBe("lavapipe is a software rasteriser")
  })

  it("a real GPU is not software", () => {
    expect(Backend.describeAdapter(ADAPTERS.nvidia)).toEqual({ name: "NVIDIA H200" })
    expect(Backend.describeAdapter({})).toEqual({ name: "unnamed adapter" })
  })
})

describe("Backend.setup('webgpu') on a software/fallback adapter", () => {
  /** Set up webgpu on the fake Dawn's `adapter`; what was imported, logged, and the outcome. */
  const attempt = async (adapter: unknown, options: Backend.SetupOptions = {}) => {
    const asked: string[] = []
    const logged: string[] = []
    const error = await Backend.setup("webgpu", fakeDawn(asked, adapter), { ...options, log: (line) => void logged.push(line) }).then(() => undefined, (e) => e)
    return { asked, logged, error }
  }

  it.each(["denoLlvmpipe", "llvmpipeUnflagged", "swiftShader", "flagOnly"] as const)(
    "%s is refused by default: the adapter named in the log line first, then a BackendError, before the tfjs backend is imported",
    async (which) => {
      const { asked, logged, error } = await attempt(ADAPTERS[which])
      const name = Backend.describeAdapter(ADAPTERS[which]).name
      expect(logged).toHaveLength(1)
      expect(logged[0]).toContain(`"${name}" is a software/fallback adapter`)
      expect(error).toBeInstanceOf(Backend.BackendError)
      expect(error.message).toContain("--allow-software-adapter")
      expect(error.message).toContain(name)
      expect(asked).toEqual(["webgpu"])
    }
  )

  it("is accepted with allowSoftwareAdapter (still named in the log): the setup goes on to import the tfjs backend", async () => {
    const { asked, logged, error } = await attempt(ADAPTERS.denoLlvmpipe, { allowSoftwareAdapter: true })
    expect(logged).toHaveLength(1)
    expect(logged[0]).toContain("llvmpipe")
    // the fake importer has no tfjs-backend-webgpu: the failure is that import, past the adapter check
    expect(asked).toEqual(["webgpu", "@tensorflow/tfjs-backend-webgpu"])
    expect(error).not.toBeInstanceOf(Backend.BackendError)
    expect(String(error)).toContain("Cannot find module '@tensorflow/tfjs-backend-webgpu'")
  })

  it("a hardware adapter logs nothing and goes on without the option", async () => {
    const { asked, logged } = await attempt(ADAPTERS.nvidia)
    expect(logged).toEqual([])
    expect(asked).toEqual(["webgpu", "@tensorflow/tfjs-backend-webgpu"])
  })

  it("haemsa train --backend webgpu on it: the first line of output names the adapter, exit 1 with the BackendError, nothing trained", async () => {
    const gpu = { requestAdapter: async () => ADAPTERS.denoLlvmpipe }
    Object.defineProperty(g, "navigator", { value: { gpu }, configurable: true, writable: true })
    const r = await cli("train", "--data", "synthetic", "--epochs", "1", "--backend", "webgpu")
    expect(r.code).toBe(1)
    expect(r.out).toEqual([])
    expect(r.err).toHaveLength(2)
    expect(r.err[0]).toBe(`haemsa: webgpu adapter "llvmpipe (LLVM 15.0.6, 256 bits)" is a software/fallback adapter (the runtime flags it isFallbackAdapter; llvmpipe is a software rasteriser): no GPU, much slower than --backend wasm`)
    expect(r.err[1]).toMatch(/^haemsa: backend webgpu: refusing the software\/fallback adapter "llvmpipe .*--allow-software-adapter/)
  })
})

describe("installWebGpuShims", () => {
  /** A stand-in for tfjs's WebGPUBackend: upload drops the host copy, readSync needs a canvas. */
  const fakeBackend = () => {
    const tensorMap = new Map<object, { values?: unknown; resource?: unknown }>()
    return {
      tensorMap,
      uploadToGPU(dataId: object) {
        const d = tensorMap.get(dataId)!
        d.resource = "buffer"
        d.values = null
      },
      readSync(dataId: object) {
        const d = tensorMap.get(dataId)!
        if (d.values != null) return d.values
        throw new TypeError("Cannot read properties of null (reading 'clearRect')")
      }
    }
  }

  it("host data stays readable synchronously after its upload", () => {
    const b = fakeBackend()
    const input = {}
    b.tensorMap.set(input, { values: new Float32Array([1, 2]) })
    Backend.installWebGpuShims(b)
    b.uploadToGPU(input)
    expect(b.tensorMap.get(input)!.resource).toBe("buffer")
    expect(b.readSync(input)).toEqual(new Float32Array([1, 2]))
  })

  it("a synchronous read of GPU-computed data says to use await data()", () => {
    const b = fakeBackend()
    const computed = {}
    b.tensorMap.set(computed, { values: null, resource: "buffer" })
    Backend.installWebGpuShims(b)
    expect(() => b.readSync(computed)).toThrow(/await tensor\.data\(\)/)
  })

  it("installs once, and leaves objects that are not a WebGPU backend alone", () => {
    const b = fakeBackend()
    Backend.installWebGpuShims(b)
    const upload = b.uploadToGPU
    Backend.installWebGpuShims(b)
    expect(b.uploadToGPU).toBe(upload)
    const other = { readSync: () => 1 }
    Backend.installWebGpuShims(other)
    expect(other).toEqual({ readSync: other.readSync })
  })
})
