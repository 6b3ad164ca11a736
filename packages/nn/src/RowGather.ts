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

/** Copy rows `index` of `source` (rows of width `d`) into `target`, one `copyWithin`/`set` per run of consecutive rows. */
const copyRuns = (index: Int32Array, d: number, copy: (from: number, to: number, at: number) => void): void => {
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

const wasmKernel: tf.KernelFunc = ({ attrs, backend, inputs }) => {
  const x = inputs.x as tf.TensorInfo
  const index = (attrs as unknown as { index: Int32Array }).index
  const [n, d] = x.shape
  checkIndex(index, n)
  const wasm = backend as unknown as WasmBackendLike
  const out = wasm.makeOutput([index.length, d], "float32")
  const source = wasm.typedArrayFromHeap(x)
  const target = wasm.typedArrayFromHeap(out)
  copyRuns(index, d, (from, to, at) => target.set(source.subarray(from, to), at))
  return out
}

const cpuKernel: tf.KernelFunc = ({ attrs, backend, inputs }) => {
  const x = inputs.x as tf.TensorInfo
  const index = (attrs as unknown as { index: Int32Array }).index
  const [n, d] = x.shape
  checkIndex(index, n)
  const cpu = backend as unknown as CpuBackendLike
  const source = cpu.data.get(x.dataId).values
  const target = new Float32Array(index.length * d)
  copyRuns(index, d, (from, to, at) => target.set(source.subarray(from, to), at))
  return cpu.makeTensorInfo([index.length, d], "float32", target)
}

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
