/**
 * An LSTM layer's forward and backward passes through time as two kernels of the wasm backend,
 * for `LstmLayer.lstmLayer`: the tfjs composite runs about 11 kernels per step forward and 25
 * backward (a 50-step, 2-layer expert: ~3500 kernel calls per training step, most of its time in
 * per-call overhead). Here each pass is one kernel: the gate arithmetic runs in JavaScript on the
 * tensors in the wasm heap, the recurrent products on the SIMD kernel of `SimdKernels`. The
 * arithmetic is the composite's, each gate and state rounded to float32 (the activations are
 * computed in double precision, so the values equal the composite's up to float rounding).
 *
 * Layouts (T steps, B samples, h units; time-major rows): gates (T·B, 4h) in the order input,
 * forget, output, candidate; the recurrent kernel (h, 4h); the states and cells after every step
 * (T·B, h); the activations of every computed step (T·B, 5h): sigmoid(i, f, o), tanh(candidate),
 * tanh(cell).
 *
 * @since 0.3.0
 */
import * as tf from "@tensorflow/tfjs"
import type { StepMasking } from "../LstmLayer"
import * as KernelOverride from "./KernelOverride"
import * as SimdKernels from "./SimdKernels"

/** The forward kernel's name: gates, recurrent -> states, cells, activations. */
export const FORWARD = "HaemsaLstmForward"
/** The backward kernel's name: dStates, activations, cells, recurrent -> dGates. */
export const BACKWARD = "HaemsaLstmBackward"

interface Attrs {
  readonly masking: ReadonlyArray<StepMasking>
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x))

/** tanh by one exponential of a non-positive argument (V8's Math.tanh is several times slower). */
const tanh = (x: number): number => {
  const e = Math.exp(-2 * Math.abs(x))
  const y = (1 - e) / (1 + e)
  return x < 0 ? -y : y
}

/** Whether sample `i` is valid at a step of this masking. */
const valid = (mask: StepMasking, i: number): boolean => mask === "all" || (mask !== "none" && mask[i] === 1)

/** What both kernels start from: the backend and its SIMD kernels, the masking, the recurrent kernel and the sizes (B from `rows`, T·B rows). */
const prologue = ({ attrs, backend, inputs }: Parameters<tf.KernelFunc>[0], rows: tf.TensorInfo) => {
  const wasm = backend as unknown as SimdKernels.WasmBackend & { disposeData(dataId: object): void }
  const { masking } = attrs as unknown as Attrs
  const recurrentInfo = inputs.recurrent as tf.TensorInfo
  const t = masking.length
  return { wasm, kernels: SimdKernels.of(wasm)!, masking, recurrentInfo, t, h: recurrentInfo.shape[0], b: rows.shape[0] / t }
}

const forward: tf.KernelFunc = (args) => {
  const gatesInfo = args.inputs.gates as tf.TensorInfo
  const { b, h, kernels, masking, recurrentInfo, t, wasm } = prologue(args, gatesInfo)
  const statesInfo = wasm.makeOutput([t * b, h], "float32")
  const cellsInfo = wasm.makeOutput([t * b, h], "float32")
  const actsInfo = wasm.makeOutput([t * b, 5 * h], "float32")
  const zInfo = wasm.makeOutput([b, 4 * h], "float32")
  // views after every allocation (an allocation may grow the heap and detach earlier views)
  const [gates, states, cells, acts, z] = [gatesInfo, statesInfo, cellsInfo, actsInfo, zInfo].map((x) => wasm.typedArrayFromHeap(x))
  // the same buffers' byte offsets, for the SIMD kernels
  const [pStates, pActs, pZ, pRecurrent] = [states.byteOffset, acts.byteOffset, z.byteOffset, SimdKernels.address(wasm, recurrentInfo)]
  acts.fill(0)
  const bytes = Float32Array.BYTES_PER_ELEMENT
  let started = false
  for (let step = 0; step < t; step++) {
    const mask = masking[step]
    const row = step * b
    if (mask === "none") {
      // the state carries over (zero before the first computed step)
      if (step === 0) {
        states.fill(0, 0, b * h)
        cells.fill(0, 0, b * h)
      } else {
        states.copyWithin(row * h, (row - b) * h, row * h)
        cells.copyWithin(row * h, (row - b) * h, row * h)
      }
      continue
    }
    // z = gates_t + h_{t-1} · U (no recurrent term before the first computed step: h_{t-1} = 0)
    if (started) {
      kernels.nn(pStates + (row - b) * h * bytes, h, 1, pRecurrent, pZ, b, h, 4 * h)
      for (let k = 0; k < b * 4 * h; k++) z[k] = gates[row * 4 * h + k] + z[k]
    } else {
      z.set(gates.subarray(row * 4 * h, (row + b) * 4 * h))
    }
    // the gate activations: four lanes at a time on the SIMD kernel when h allows, else here (acts is
    // float32: each value is rounded as it is stored)
    if (h % 4 === 0) {
      kernels.lstmact(pZ, pActs + row * 5 * h * bytes, b, h)
    } else {
      for (let i = 0; i < b; i++) {
        const zi = i * 4 * h
        const ai = (row + i) * 5 * h
        for (let j = 0; j < 3 * h; j++) acts[ai + j] = sigmoid(z[zi + j])
        for (let j = 3 * h; j < 4 * h; j++) acts[ai + j] = tanh(z[zi + j])
      }
    }
    // c = f·c_{t-1} + i·g, h = o·tanh(c); a padded sample keeps its state
    for (let i = 0; i < b; i++) {
      const ai = (row + i) * 5 * h
      const si = (row + i) * h
      const before = step === 0 ? -1 : si - b * h
      const keep = valid(mask, i)
      for (let j = 0; j < h; j++) {
        const cPrev = before < 0 ? 0 : cells[before + j]
        const c = Math.fround(Math.fround(acts[ai + h + j] * cPrev) + Math.fround(acts[ai + j] * acts[ai + 3 * h + j]))
        const tc = Math.fround(tanh(c))
        acts[ai + 4 * h + j] = tc
        cells[si + j] = keep ? c : cPrev
        states[si + j] = keep ? acts[ai + 2 * h + j] * tc : before < 0 ? 0 : states[before + j]
      }
    }
    started = true
  }
  wasm.disposeData(zInfo.dataId)
  return [statesInfo, cellsInfo, actsInfo]
}

const backward: tf.KernelFunc = (args) => {
  const dStatesInfo = args.inputs.dStates as tf.TensorInfo
  const actsInfo = args.inputs.acts as tf.TensorInfo
  const cellsInfo = args.inputs.cells as tf.TensorInfo
  const { b, h, kernels, masking, recurrentInfo, t, wasm } = prologue(args, dStatesInfo)
  const dGatesInfo = wasm.makeOutput([t * b, 4 * h], "float32")
  const carryInfo = wasm.makeOutput([2, b, h], "float32")
  const recurInfo = wasm.makeOutput([b, h], "float32")
  const [dStates, acts, cells, dGates, carry, recur] = [dStatesInfo, actsInfo, cellsInfo, dGatesInfo, carryInfo, recurInfo].map((x) => wasm.typedArrayFromHeap(x))
  // the byte offsets the SIMD kernel reads and writes
  const [pDGates, pCarry, pRecurrent] = [dGates.byteOffset, carry.byteOffset, SimdKernels.address(wasm, recurrentInfo)]
  dGates.fill(0)
  carry.fill(0)
  // dh, dc: the gradients flowing into step t's state and cell from later steps
  const dh = carry.subarray(0, b * h)
  const dc = carry.subarray(b * h)
  const first = masking.findIndex((mask) => mask !== "none")
  const bytes = Float32Array.BYTES_PER_ELEMENT
  for (let step = t - 1; step >= 0; step--) {
    const mask = masking[step]
    const row = step * b
    for (let k = 0; k < b * h; k++) dh[k] = Math.fround(dh[k] + dStates[row * h + k])
    if (mask === "none") continue
    for (let i = 0; i < b; i++) {
      const ai = (row + i) * 5 * h
      const gi4 = (row + i) * 4 * h
      const before = step === first ? -1 : (row - b + i) * h
      const keep = valid(mask, i)
      for (let j = 0; j < h; j++) {
        const k = i * h + j
        const gi = acts[ai + j]
        const gf = acts[ai + h + j]
        const go = acts[ai + 2 * h + j]
        const gg = acts[ai + 3 * h + j]
        const tc = acts[ai + 4 * h + j]
        const dhNew = keep ? dh[k] : 0
        const dcNew = keep ? dc[k] : 0
        const dcTotal = Math.fround(dcNew + Math.fround(Math.fround(dhNew * go) * Math.fround(1 - Math.fround(tc * tc))))
        dGates[gi4 + j] = Math.fround(Math.fround(dcTotal * gg) * Math.fround(gi * Math.fround(1 - gi)))
        dGates[gi4 + h + j] = before < 0 ? 0 : Math.fround(Math.fround(dcTotal * cells[before + j]) * Math.fround(gf * Math.fround(1 - gf)))
        dGates[gi4 + 2 * h + j] = Math.fround(Math.fround(dhNew * tc) * Math.fround(go * Math.fround(1 - go)))
        dGates[gi4 + 3 * h + j] = Math.fround(Math.fround(dcTotal * gi) * Math.fround(1 - Math.fround(gg * gg)))
        // what flows on to step t - 1: the cell through the forget gate, the kept state and cell as they are
        dc[k] = Math.fround(Math.fround(dcTotal * gf) + (keep ? 0 : dc[k]))
        if (!keep) recur[k] = dh[k]
      }
    }
    if (step === first) break
    // dh_{t-1} = dz_t · Uᵀ (+ dh_t where the sample kept its state)
    kernels.nt(pDGates + row * 4 * h * bytes, pRecurrent, pCarry, b, 4 * h, h)
    for (let i = 0; i < b; i++) {
      if (valid(mask, i)) continue
      for (let j = 0; j < h; j++) dh[i * h + j] = Math.fround(dh[i * h + j] + recur[i * h + j])
    }
  }
  wasm.disposeData(carryInfo.dataId)
  wasm.disposeData(recurInfo.dataId)
  return dGatesInfo
}

KernelOverride.registerNew("wasm", { [FORWARD]: forward, [BACKWARD]: backward })

/** The states, cells and activations of every step (float32 gates and recurrent kernel). */
export const runForward = (gates: tf.Tensor2D, recurrent: tf.Tensor2D, masking: ReadonlyArray<StepMasking>): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] =>
  tf.engine().runKernel(FORWARD, { gates, recurrent }, { masking } as unknown as tf.NamedAttrMap) as unknown as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D]

/** The gradient for the gates (T·B, 4h) from the states' gradient. */
export const runBackward = (dStates: tf.Tensor2D, acts: tf.Tensor2D, cells: tf.Tensor2D, recurrent: tf.Tensor2D, masking: ReadonlyArray<StepMasking>): tf.Tensor2D =>
  tf.engine().runKernel(BACKWARD, { dStates, acts, cells, recurrent }, { masking } as unknown as tf.NamedAttrMap) as tf.Tensor2D
