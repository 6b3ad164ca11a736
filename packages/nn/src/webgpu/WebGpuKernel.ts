/**
 * Hand-written WGSL kernels on tfjs's `webgpu` backend, for the fused hot paths of a training step
 * (Adam's update, the losses). A step of the default HAEMSA network is made of many small kernels,
 * and on a GPU each tfjs kernel costs a dispatch of ~85 µs of host time, far more than its GPU
 * time; one WGSL kernel that does the work of a dozen tfjs kernels removes that many dispatches.
 *
 * A kernel here is registered with tfjs (`tf.registerKernel`) for the `webgpu` backend only, so it
 * shows in `tf.profile` like any other kernel and runs through `tf.engine().runKernel`. Its WGSL
 * declares, in this order, the inputs as `var<storage, read>` at bindings 0..n-1, the outputs as
 * `var<storage, read_write>` at n..n+m-1, and (when it has uniforms) one `var<uniform>` struct at
 * n+m. It may write several outputs. Nothing calls a kernel directly to choose it: `Fused.run` runs
 * the kernel on webgpu and the op's composite of tfjs ops on every other backend; the webgpu/cpu
 * agreement check (`benchmarks/gpu/agreement.ts`) compares the two.
 *
 * This relies on internals of tfjs-backend-webgpu 4.22 (its command encoder, buffer map and
 * uniform pool); {@link supported} is false when they are missing, and `Fused.run` falls back.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"

/** A uniform field: one to four numbers of one type (laid out as tfjs-backend-webgpu lays them). */
export interface Uniform {
  readonly type: "float32" | "int32" | "uint32"
  readonly data: ReadonlyArray<number>
}

/** One kernel: its WGSL and how to size its outputs, uniforms and dispatch from its inputs. */
export interface KernelDefinition {
  /** The tfjs kernel name (unique; e.g. "HaemsaFusedAdam"). */
  readonly name: string
  /** The WGSL source, or a function of the attributes when the code depends on them (cached by text). */
  readonly code: string | ((attrs: Readonly<Record<string, unknown>>) => string)
  /** The output shapes and dtypes. */
  readonly outputs: (inputs: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>) => ReadonlyArray<{ readonly shape: ReadonlyArray<number>; readonly dtype: "float32" | "int32" }>
  /** The uniform fields (none: no uniform binding). */
  readonly uniforms?: (inputs: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>) => ReadonlyArray<Uniform>
  /** Workgroups along x. */
  readonly workgroups: (inputs: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>) => number
}

/** The slice of tfjs-backend-webgpu 4.22's backend the kernels use. */
interface Internals {
  readonly device: {
    readonly limits?: { readonly maxStorageBuffersPerShaderStage?: number }
    pushErrorScope?(filter: string): void
    popErrorScope?(): Promise<{ readonly message: string } | null>
    createShaderModule(descriptor: { code: string }): unknown
    createComputePipeline(descriptor: object): { getBindGroupLayout(i: number): unknown }
    createBindGroup(descriptor: object): unknown
  }
  readonly tensorMap: { get(dataId: object): { resource?: unknown } | undefined }
  readonly commandQueueOwnedIds: { add(dataId: object): void }
  computePassEncoder: Pass | null | undefined
  commandEncoder: { beginComputePass(descriptor: object): Pass } | null
  dispatchCountInPass: number
  makeTensorInfo(shape: ReadonlyArray<number>, dtype: string): tf.TensorInfo
  uploadToGPU(dataId: object): void
  ensureCommandEncoderReady(): void
  endComputePassEncoder(): void
  submitQueue(): void
  makeUniforms(fields: ReadonlyArray<{ type: string; data: Array<number> }>): unknown
}
interface Pass {
  setPipeline(pipeline: unknown): void
  setBindGroup(i: number, group: unknown): void
  dispatchWorkgroups(x: number): void
}

const REQUIRED = [
  "device", "tensorMap", "commandQueueOwnedIds", "makeTensorInfo", "uploadToGPU", "ensureCommandEncoderReady",
  "endComputePassEncoder", "submitQueue", "makeUniforms"
] as const

const internalsOf = (backend: unknown): Internals | undefined => {
  const b = backend as Record<string, unknown> | undefined
  return b !== undefined && REQUIRED.every((k) => b[k] !== undefined) ? (b as unknown as Internals) : undefined
}

/** Whether the active backend is `webgpu` with the internals these kernels need. */
export const supported = (): boolean => tf.getBackend() === "webgpu" && internalsOf(tf.backend()) !== undefined

/**
 * The WGSL binding declarations in this module's order: `inputs` (e.g. "x: array<f32>") as read-only
 * storage from binding 0, `outputs` as read-write storage after them, then `struct U { uniform }` as
 * the uniform `u` (omitted when `uniform` is empty).
 */
export const bindings = (inputs: ReadonlyArray<string>, outputs: ReadonlyArray<string>, uniform: string): string =>
  [
    ...inputs.map((d, i) => `@group(0) @binding(${i}) var<storage, read> ${d};`),
    ...outputs.map((d, i) => `@group(0) @binding(${inputs.length + i}) var<storage, read_write> ${d};`),
    ...(uniform === "" ? [] : [`struct U { ${uniform} }`, `@group(0) @binding(${inputs.length + outputs.length}) var<uniform> u: U;`])
  ].join("\n")

/** Largest workgroup count of one dispatch (kernels stride over the rest). */
export const MAX_WORKGROUPS = 4096

/** Workgroups of `size` threads for `n` elements, at most {@link MAX_WORKGROUPS}. */
export const workgroupsFor = (n: number, size = 64): number => Math.max(1, Math.min(MAX_WORKGROUPS, Math.ceil(n / size)))

const pipelines = new WeakMap<object, Map<string, { pipeline: unknown; layout: unknown }>>()

/**
 * The compiled pipeline of `code` (cached per device). WebGPU reports an invalid shader
 * asynchronously (and a command buffer that uses it is dropped whole), so a compile error is
 * printed with the kernel's name as soon as the device reports it.
 */
const pipelineFor = (gpu: Internals, name: string, code: string) => {
  let byCode = pipelines.get(gpu.device)
  if (byCode === undefined) pipelines.set(gpu.device, (byCode = new Map()))
  let entry = byCode.get(code)
  if (entry === undefined) {
    gpu.device.pushErrorScope?.("validation")
    const pipeline = gpu.device.createComputePipeline({
      layout: "auto",
      compute: { module: gpu.device.createShaderModule({ code }), entryPoint: "main" }
    })
    gpu.device.popErrorScope?.().then(
      (error) => { if (error) console.error(`${name}: the WGSL kernel does not compile: ${error.message}`) },
      () => undefined
    )
    entry = { pipeline, layout: pipeline.getBindGroupLayout(0) }
    byCode.set(code, entry)
  }
  return entry
}

/** WebGPU's default storage buffers per shader stage (what tfjs asks the device for). */
const DEFAULT_STORAGE_BUFFERS = 8

/** Record one dispatch of `definition` on the backend's command encoder; returns its outputs. */
const dispatch = (gpu: Internals, definition: KernelDefinition, inputs: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>): tf.TensorInfo[] => {
  const code = typeof definition.code === "string" ? definition.code : definition.code(attrs)
  const shapes = definition.outputs(inputs, attrs)
  const limit = gpu.device.limits?.maxStorageBuffersPerShaderStage ?? DEFAULT_STORAGE_BUFFERS
  if (inputs.length + shapes.length > limit) {
    throw new Error(`${definition.name}: ${inputs.length} inputs and ${shapes.length} outputs exceed the device's ${limit} storage buffers per kernel`)
  }
  const { pipeline, layout } = pipelineFor(gpu, definition.name, code)
  for (const t of inputs) gpu.uploadToGPU(t.dataId)
  const outputs = shapes.map((o) => gpu.makeTensorInfo(o.shape, o.dtype))
  for (const o of outputs) gpu.uploadToGPU(o.dataId)
  const resources: unknown[] = [...inputs, ...outputs].map((t) => ({ buffer: gpu.tensorMap.get(t.dataId)!.resource }))
  const uniforms = definition.uniforms?.(inputs, attrs)
  if (uniforms !== undefined && uniforms.length > 0) resources.push(gpu.makeUniforms(uniforms.map((u) => ({ type: u.type, data: [...u.data] }))))
  const bindGroup = gpu.device.createBindGroup({ layout, entries: resources.map((resource, binding) => ({ binding, resource })) })
  for (const t of [...inputs, ...outputs]) gpu.commandQueueOwnedIds.add(t.dataId)
  gpu.ensureCommandEncoderReady()
  if (gpu.computePassEncoder == null) gpu.computePassEncoder = gpu.commandEncoder!.beginComputePass({})
  gpu.computePassEncoder.setPipeline(pipeline)
  gpu.computePassEncoder.setBindGroup(0, bindGroup)
  gpu.computePassEncoder.dispatchWorkgroups(definition.workgroups(inputs, attrs))
  gpu.dispatchCountInPass++
  if (tf.env().getNumber("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE") <= gpu.dispatchCountInPass) {
    gpu.endComputePassEncoder()
    gpu.submitQueue()
  }
  return outputs
}

/**
 * Register `definition` as a tfjs kernel of the `webgpu` backend (once; later calls do nothing).
 * Returns the function that runs it on tensors: inputs in binding order, attributes for the code,
 * uniforms and sizes; one tensor per output.
 */
export const define = (definition: KernelDefinition) => {
  const register = () => {
    if (tf.getKernel(definition.name, "webgpu") !== undefined) return
    tf.registerKernel({
      kernelName: definition.name,
      backendName: "webgpu",
      kernelFunc: ({ inputs, backend, attrs }) => {
        const gpu = internalsOf(backend)
        if (gpu === undefined) throw new Error(`${definition.name}: the webgpu backend lacks the internals this kernel needs`)
        const list = Object.keys(inputs).sort((a, b) => Number(a) - Number(b)).map((k) => inputs[k] as tf.TensorInfo)
        return dispatch(gpu, definition, list, (attrs ?? {}) as Record<string, unknown>)
      }
    })
  }
  return (inputs: ReadonlyArray<tf.Tensor>, attrs: Record<string, unknown> = {}): tf.Tensor[] => {
    register()
    const named: Record<string, tf.Tensor> = {}
    inputs.forEach((t, i) => (named[String(i)] = t))
    const out = tf.engine().runKernel(definition.name, named as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap)
    return Array.isArray(out) ? out : [out]
  }
}
