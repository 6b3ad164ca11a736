/**
 * `gatherRows(x, index)`: rows `index` of a 2-D tensor, as `tf.gather(x, index)` on axis 0 but with
 * a host index and, on the wasm and cpu backends, a kernel of its own that copies each run of
 * consecutive rows with one memory move. The wasm backend's `GatherV2` walks every element with
 * index arithmetic (about 4 ms for 1100 rows of 768 floats, more than the product it feeds); this
 * kernel copies the same rows in a small fraction of that. No gradient: callers wrap it (see
 * `Layers.takeRows`).
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"

/** The kernel's name in tfjs's registry. */
export const KERNEL = "HaemsaGatherRows"

/** The slice of tfjs-backend-wasm's backend the kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: Array<number>, dtype: tf.DataType): tf.TensorInfo
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array
}

/** The slice of tfjs's cpu backend the kernel uses. */
interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } }
  makeTensorInfo(shape: Array<number>, dtype: tf.DataType, values: Float32Array): tf.TensorInfo
}

/**
 * Copy rows `index` (rows of width `d`) one run of consecutive rows at a time: `copy(from, to, at)`
 * copies source elements [from, to) to target element `at`.
 */
export const copyRuns = (index: Int32Array, d: number, copy: (from: number, to: number, at: number) => void): void => {
  let r = 0
  while (r < index.length) {
    let end = r + 1
    while (end < index.length && index[end] === index[end - 1] + 1) end++
    copy(index[r] * d, (index[end - 1] + 1) * d, r * d)
    r = end
  }
}

/** Check the index against the row count (the kernel copies memory: an index out of range would read past the tensor). */
const checkIndex = (index: Int32Array, n: number): void => {
  for (let i = 0; i < index.length; i++) {
    if (!(index[i] >= 0 && index[i] < n)) throw new RangeError(`gatherRows: index ${index[i]} at ${i} is outside [0, ${n})`)
  }
}

/** Where a backend's kernel reads x and writes its (rows, d) output, and how it hands the output back. */
interface Buffers {
  readonly source: Float32Array
  readonly target: Float32Array
  readonly output: () => tf.TensorInfo
}

/** The kernel over a backend's {@link Buffers}: check the index, copy the runs, return the output. */
const kernelOver = (buffers: (backend: unknown, x: tf.TensorInfo, shape: [number, number]) => Buffers): tf.KernelFunc =>
({ attrs, backend, inputs }) => {
  const x = inputs.x as tf.TensorInfo
  const index = (attrs as unknown as { index: Int32Array }).index
  const [n, d] = x.shape
  checkIndex(index, n)
  const { output, source, target } = buffers(backend, x, [index.length, d])
  copyRuns(index, d, (from, to, at) => target.set(source.subarray(from, to), at))
  return output()
}

/** On wasm: views of the heap (the output is made first). */
const wasmKernel = kernelOver((backend, x, shape) => {
  const wasm = backend as WasmBackendLike
  const out = wasm.makeOutput(shape, "float32")
  return { source: wasm.typedArrayFromHeap(x), target: wasm.typedArrayFromHeap(out), output: () => out }
})

/** On cpu: the input's values, and a new array that becomes the output. */
const cpuKernel = kernelOver((backend, x, shape) => {
  const cpu = backend as CpuBackendLike
  const target = new Float32Array(shape[0] * shape[1])
  return { source: cpu.data.get(x.dataId).values, target, output: () => cpu.makeTensorInfo(shape, "float32", target) }
})

for (const [backendName, kernelFunc] of [["wasm", wasmKernel], ["cpu", cpuKernel]] as const) {
  if (tf.getKernel(KERNEL, backendName) === undefined) tf.registerKernel({ kernelName: KERNEL, backendName, kernelFunc })
}

/** Rows `index` of the float32 (N, d) `x` -> (index.length, d); `tf.gather` on backends without the kernel. */
export const gatherRows = (x: tf.Tensor2D, index: Int32Array): tf.Tensor2D => {
  const backend = tf.getBackend()
  if (x.dtype === "float32" && (backend === "wasm" || backend === "cpu")) {
    return tf.engine().runKernel(KERNEL, { x }, { index } as unknown as tf.NamedAttrMap) as tf.Tensor2D
  }
  return tf.tidy(() => tf.gather(x, tf.tensor1d(index, "int32")))
}
