/**
 * The webgpu backend's setup in Node, where `navigator.gpu` comes from the optional `webgpu` package
 * (Dawn), and the shims for tfjs-backend-webgpu outside a browser. Fake modules stand in for Dawn:
 * the real one finds no adapter on lavapipe (Mesa 22.3 lacks shaderUniform*ArrayDynamicIndexing),
 * so there is no machine here where the real path could succeed.
 */
import { afterEach, describe, expect, it } from "vitest"
import * as Backend from "../src/Backend"
import { setupError } from "./Support"

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
