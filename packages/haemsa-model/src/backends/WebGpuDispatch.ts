/**
 * Cheaper dispatches on tfjs-backend-webgpu 4.22, for training steps made of a few hundred small
 * kernels, where the host cost per dispatch, not the GPU, bounds the step. Measured on an H200 under
 * Deno (docs/benchmarks.md): per dispatch, `device.createBindGroup` took ~44 µs and the uniform
 * upload (`queue.writeBuffer`) ~21 µs, of a step's ~100 µs per dispatch.
 *
 * - **Bind-group cache.** tfjs makes a bind group for every dispatch. Here the bind group of
 *   (layout, buffers, offsets) is looked up in a cache and made only on a miss. For the lookups to hit,
 *   tfjs's buffer pool is made to hand out, of its free buffers of a size, the one with the lowest id
 *   (tfjs takes the last one freed, an order that changes from step to step): then each step gets the
 *   same buffers for the same dispatches as an earlier step, and (measured on lavapipe, the default
 *   step) 4553 of 4608 bind groups over 12 steps come from the cache (1053 without the ordering).
 *   `getBindGroupLayout` is cached per pipeline so the layout is one object. A cached group only
 *   names buffers, which the pool never destroys while the backend lives.
 * - **Uniform blocks written once.** tfjs writes each dispatch's small uniform block (shapes, sizes)
 *   into a fresh buffer with `queue.writeBuffer`. A step repeats the same blocks every time, so here
 *   each distinct block gets one aligned slot of one uniform buffer, written when first seen and
 *   shared from then on (which also keeps the bind groups the same from step to step). A slot is
 *   never rewritten; when the buffer is full a fresh one starts (and the bind-group cache is emptied).
 *
 * The kernels and their results are unchanged (the cpu/webgpu agreement check runs with this on).
 *
 * @since 0.1.0
 */

/** The tfjs-backend-webgpu internals patched here. */
interface Backend {
  readonly device: Device
  readonly queue: { writeBuffer(buffer: unknown, offset: number, data: ArrayBuffer, dataOffset: number, size: number): void }
  makeUniforms(fields: ReadonlyArray<{ type: string; data: ReadonlyArray<number> }>): { offset: number; size: number; buffer: unknown }
  readonly bufferManager?: { releaseBuffer(buffer: object, reuse?: boolean): void; readonly freeBuffers: Map<string, object[]> }
  __haemsaDispatch?: true
}
interface Device {
  readonly limits?: { readonly minUniformBufferOffsetAlignment?: number }
  createBindGroup(descriptor: { layout: object; entries: ReadonlyArray<{ binding: number; resource: unknown }> }): unknown
  createBuffer(descriptor: { size: number; usage: number }): unknown
}

/** Cached bind groups at most (the cache is emptied when full). */
export const BIND_GROUP_CACHE_SIZE = 16384

/** Bytes of the uniform arena (distinct uniform blocks; when full, a fresh arena starts). */
export const ARENA_BYTES = 1 << 18

const ids = new WeakMap<object, number>()
let nextId = 1
const idOf = (o: object): number => {
  let id = ids.get(o)
  if (id === undefined) ids.set(o, (id = nextId++))
  return id
}

/** The cache key of a bind group descriptor, or undefined when an entry is not a plain buffer binding. */
const keyOf = (descriptor: { layout: object; entries: ReadonlyArray<{ binding: number; resource: unknown }> }): string | undefined => {
  let key = String(idOf(descriptor.layout))
  for (const e of descriptor.entries) {
    const r = e.resource as { buffer?: object; offset?: number; size?: number } | null
    if (r === null || typeof r !== "object" || r.buffer === undefined) return undefined
    key += `|${e.binding}:${idOf(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`
  }
  return key
}

/** Counters since {@link install}: bind groups made and reused, uniform uploads. */
export const stats = { bindGroupsMade: 0, bindGroupsReused: 0, uncachable: 0, uniformUploads: 0, arenaResets: 0 }

/** Install both on a tfjs `webgpu` backend (once; later calls do nothing). Returns whether it did. */
export const install = (backendObject: unknown): boolean => {
  const backend = backendObject as Backend
  const required = [backend?.device?.createBindGroup, backend?.device?.createBuffer, backend?.makeUniforms, backend?.queue?.writeBuffer]
  if (required.some((f) => typeof f !== "function") || backend.__haemsaDispatch) return false
  backend.__haemsaDispatch = true

  // deterministic buffer reuse: the pool hands out its free buffer of a size with the lowest id (tfjs
  // takes the last one freed), so a step's dispatches get the same buffers as a step before and their
  // bind groups come from the cache
  const pool = backend.bufferManager
  if (pool !== undefined && typeof pool.releaseBuffer === "function" && pool.freeBuffers instanceof Map) {
    const release = pool.releaseBuffer.bind(pool)
    pool.releaseBuffer = (buffer: object, reuse = true) => {
      release(buffer, reuse)
      if (!reuse) return
      const key = `${(buffer as { size: number }).size}_${(buffer as { usage: number }).usage}`
      const free = pool.freeBuffers.get(key)
      if (free !== undefined && free.length > 1) free.sort((a, b) => idOf(b) - idOf(a))
    }
  }

  // stable layouts: one object per (pipeline, group)
  const pipelineClass = (globalThis as { GPUComputePipeline?: { prototype: { getBindGroupLayout(i: number): object } } }).GPUComputePipeline
  if (pipelineClass !== undefined) {
    const proto = pipelineClass.prototype
    const original = proto.getBindGroupLayout
    if (!(original as { __haemsa?: true }).__haemsa) {
      const layouts = new WeakMap<object, Map<number, object>>()
      const cached = function(this: object, index: number): object {
        let byIndex = layouts.get(this)
        if (byIndex === undefined) layouts.set(this, (byIndex = new Map()))
        let layout = byIndex.get(index)
        if (layout === undefined) byIndex.set(index, (layout = original.call(this, index)))
        return layout
      }
      ;(cached as { __haemsa?: true }).__haemsa = true
      proto.getBindGroupLayout = cached
    }
  }

  // bind-group cache
  const device = backend.device
  const create = device.createBindGroup.bind(device)
  const groups = new Map<string, unknown>()
  device.createBindGroup = (descriptor) => {
    const key = keyOf(descriptor)
    if (key === undefined) {
      stats.uncachable++
      return create(descriptor)
    }
    let group = groups.get(key)
    if (group === undefined) {
      if (groups.size >= BIND_GROUP_CACHE_SIZE) groups.clear()
      group = create(descriptor)
      groups.set(key, group)
      stats.bindGroupsMade++
    } else {
      stats.bindGroupsReused++
    }
    return group
  }

  // uniform blocks, content-addressed: one slot per distinct block, written once
  const align = device.limits?.minUniformBufferOffsetAlignment ?? 256
  const UNIFORM = 0x40
  const COPY_DST = 0x08
  let arena = device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM | COPY_DST })
  let slots = new Map<string, number>()
  let used = 0
  backend.makeUniforms = (fields) => {
    // tfjs's layout rules (WGSL alignment of 1-6 element fields), as its makeUniforms computes them
    let offset = 0
    let maxAlign = 1
    let previous = 0
    const offsets: number[] = []
    for (const f of fields) {
      const n = Math.max(f.data.length, 1)
      let a = n === 1 ? 4 : n === 2 ? 8 : 16
      if (previous === 5 || previous === 6) a = 16
      maxAlign = Math.max(maxAlign, a)
      offset = Math.ceil(offset / a) * a
      offsets.push(offset)
      offset += n * 4
      previous = n
    }
    const size = Math.ceil(offset / maxAlign) * maxAlign
    const block = new ArrayBuffer(size)
    fields.forEach((f, i) => {
      const data = f.data.length === 0 ? [1] : f.data
      if (f.type === "int32") new Int32Array(block, offsets[i], data.length).set(data)
      else if (f.type === "uint32") new Uint32Array(block, offsets[i], data.length).set(data)
      else new Float32Array(block, offsets[i], data.length).set(data)
    })
    const key = String.fromCharCode(...new Uint16Array(block))
    let at = slots.get(key)
    if (at === undefined) {
      if (used + size > ARENA_BYTES) {
        // full: a fresh arena (work already recorded keeps the old one), and no cached group may
        // point into the old one's offsets any more
        arena = device.createBuffer({ size: ARENA_BYTES, usage: UNIFORM | COPY_DST })
        slots = new Map()
        groups.clear()
        used = 0
        stats.arenaResets++
      }
      at = used
      used = Math.ceil((used + size) / align) * align
      slots.set(key, at)
      backend.queue.writeBuffer(arena, at, block, 0, size)
      stats.uniformUploads++
    }
    return { offset: at, size, buffer: arena }
  }
  return true
}
