/**
 * WebGpuDispatch on a stand-in of tfjs-backend-webgpu's backend (no GPU needed): uniform blocks laid
 * out as tfjs lays them, written once per distinct content, and the bind-group cache. The real
 * backend runs with it in the webgpu/cpu agreement check (WebGpuAgreement.test.ts).
 */
import { describe, expect, it } from "vitest"
import * as WebGpuDispatch from "../src/backends/WebGpuDispatch"

const standIn = () => {
  const writes: Array<{ buffer: unknown; offset: number; bytes: Uint8Array }> = []
  const created: Array<{ size: number; usage: number }> = []
  let groups = 0
  const backend = {
    device: {
      limits: { minUniformBufferOffsetAlignment: 256 },
      createBindGroup: (d: unknown) => ({ group: ++groups, d }),
      createBuffer: (d: { size: number; usage: number }) => {
        created.push(d)
        return { id: created.length, ...d }
      }
    },
    queue: {
      writeBuffer: (buffer: unknown, offset: number, data: ArrayBuffer, dataOffset: number, size: number) =>
        writes.push({ buffer, offset, bytes: new Uint8Array(data.slice(dataOffset, dataOffset + size)) })
    },
    makeUniforms: (_fields: ReadonlyArray<{ type: string; data: ReadonlyArray<number> }>): { offset: number; size: number; buffer: unknown } => {
      throw new Error("the original must not be called")
    }
  }
  return { backend, writes, created }
}

describe("WebGpuDispatch.install", () => {
  it("lays out a uniform block as tfjs does and writes each distinct block once", () => {
    const { backend, writes, created } = standIn()
    expect(WebGpuDispatch.install(backend)).toBe(true)
    const fields = [
      { type: "float32", data: [Number.NaN] },
      { type: "float32", data: [Infinity] },
      { type: "int32", data: [2, 3] },
      { type: "int32", data: [3, 1] },
      { type: "int32", data: [6] }
    ]
    const a = backend.makeUniforms(fields)
    // NaN, Infinity at 0 and 4; the vec2 fields at 8 and 16; the scalar at 24; size rounded to 8
    expect(a.size).toBe(32)
    expect(created).toHaveLength(1)
    expect(created[0].usage & 0x40).toBe(0x40) // UNIFORM
    expect(writes).toHaveLength(1)
    const view = new DataView(writes[0].bytes.buffer)
    expect(Number.isNaN(view.getFloat32(0, true))).toBe(true)
    expect(view.getFloat32(4, true)).toBe(Infinity)
    expect([view.getInt32(8, true), view.getInt32(12, true), view.getInt32(16, true), view.getInt32(20, true), view.getInt32(24, true)]).toEqual([2, 3, 3, 1, 6])
    // the same content again: the same slot, nothing written
    const b = backend.makeUniforms(fields.map((f) => ({ ...f, data: [...f.data] })))
    expect(b).toEqual(a)
    expect(writes).toHaveLength(1)
    // other content: the next aligned slot
    const c = backend.makeUniforms([{ type: "uint32", data: [7] }])
    expect(c.offset).toBe(256)
    expect(c.buffer).toBe(a.buffer)
    expect(writes).toHaveLength(2)
    expect(writes[1].offset).toBe(256)
  })

  it("aligns a vec3/vec4 field and the fields after a 5- or 6-element one to 16 bytes", () => {
    const { backend, writes } = standIn()
    WebGpuDispatch.install(backend)
    backend.makeUniforms([{ type: "int32", data: [1] }, { type: "int32", data: [1, 2, 3] }, { type: "int32", data: [1, 2, 3, 4, 5] }, { type: "int32", data: [9] }])
    const view = new DataView(writes[0].bytes.buffer)
    // [1] at 0, vec3 at 16, 5 elements at 32, then 9 at 16-aligned 64 (after 52)
    expect(view.getInt32(16, true)).toBe(1)
    expect(view.getInt32(32, true)).toBe(1)
    expect(view.getInt32(64, true)).toBe(9)
    expect(writes[0].bytes.length).toBe(80)
  })

  it("reuses a bind group for the same layout and buffers, makes a new one otherwise", () => {
    const { backend } = standIn()
    WebGpuDispatch.install(backend)
    const layout = {}
    const x = {}
    const y = {}
    const one = backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y, offset: 256, size: 16 } }] })
    const again = backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y, offset: 256, size: 16 } }] })
    const otherOffset = backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y, offset: 512, size: 16 } }] })
    const otherBuffer = backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: y } }, { binding: 1, resource: { buffer: y, offset: 256, size: 16 } }] })
    expect(again).toBe(one)
    expect(otherOffset).not.toBe(one)
    expect(otherBuffer).not.toBe(one)
    // a texture view (no buffer) is never cached
    const view = { view: true }
    const t1 = backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: view }] })
    const t2 = backend.device.createBindGroup({ layout, entries: [{ binding: 0, resource: view }] })
    expect(t2).not.toBe(t1)
  })

  it("makes tfjs's buffer pool hand out the free buffer with the lowest id first", () => {
    const { backend } = standIn()
    const freeBuffers = new Map<string, object[]>()
    const pool = {
      freeBuffers,
      // tfjs's releaseBuffer: pushes the buffer onto the free list of its size and usage
      releaseBuffer: (buffer: { size: number; usage: number }) => {
        const key = `${buffer.size}_${buffer.usage}`
        if (!freeBuffers.has(key)) freeBuffers.set(key, [])
        freeBuffers.get(key)!.push(buffer)
      }
    }
    const withPool = { ...backend, bufferManager: pool }
    WebGpuDispatch.install(withPool)
    const a = { size: 64, usage: 1 }
    const b = { size: 64, usage: 1 }
    const c = { size: 64, usage: 1 }
    // ids follow first sight: a, b, c; freed in the order c, a, b
    withPool.device.createBindGroup({ layout: {}, entries: [{ binding: 0, resource: { buffer: a } }, { binding: 1, resource: { buffer: b } }, { binding: 2, resource: { buffer: c } }] })
    pool.releaseBuffer(c)
    pool.releaseBuffer(a)
    pool.releaseBuffer(b)
    // tfjs pops the last element: it must be a, then b, then c
    const free = freeBuffers.get("64_1")!
    expect([free.pop(), free.pop(), free.pop()]).toEqual([a, b, c])
  })

  it("installs once, and not on an object that is not the webgpu backend", () => {
    const { backend } = standIn()
    expect(WebGpuDispatch.install(backend)).toBe(true)
    expect(WebGpuDispatch.install(backend)).toBe(false)
    expect(WebGpuDispatch.install({})).toBe(false)
    expect(WebGpuDispatch.install(undefined)).toBe(false)
  })
})
