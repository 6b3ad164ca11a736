/**
 * One LSTM layer over a whole sequence as a single differentiable op, with a hand-written
 * backward pass through time. Recording each step's ~15 small ops on the tape (and running their
 * generic gradients) costs far more than the arithmetic at MOSI sizes; one op for the layer keeps
 * the forward steps off the tape and runs a lean backward loop. The values and gradients equal
 * those of the step-by-step formulation (the tests compare both).
 *
 * On the wasm backend (with WebAssembly SIMD) the layer runs as two kernels instead (`WasmLstm`:
 * the whole forward pass, then the whole backward pass, each one kernel call), with the same
 * arithmetic up to float rounding; elsewhere it is the composite of tfjs ops below.
 *
 * Gate layout of the 4h pre-activations: input, forget, output (sigmoid), then candidate (tanh).
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import { customOp } from "./CustomOp"
import { splitSteps } from "./Layers"
import * as SimdKernels from "./wasm/SimdKernels"
import * as WasmLstm from "./wasm/WasmLstm"

/**
 * How one time step of a batch is masked: `"all"` when every sample is valid, `"none"` when none
 * is (the step is skipped), else the (B) 0/1 validity of each sample at that step.
 */
export type StepMasking = "all" | "none" | Float32Array

/** Classify each step of a (B, T) step mask (read on the host once: it is small). */
export const stepMasking = (stepMask: tf.Tensor2D): Array<StepMasking> => {
  const [b, t] = stepMask.shape
  const values = stepMask.dataSync()
  const out: Array<StepMasking> = []
  for (let step = 0; step < t; step++) {
    const keep = new Float32Array(b)
    let valid = 0
    for (let i = 0; i < b; i++) {
      keep[i] = values[i * t + step] > 0 ? 1 : 0
      valid += keep[i]
    }
    out.push(valid === b ? "all" : valid === 0 ? "none" : keep)
  }
  return out
}

/** (B, h) bool: true on the rows of the valid samples. */
const keepRows = (keep: Float32Array, h: number): tf.Tensor2D => {
  const wide = new Uint8Array(keep.length * h)
  keep.forEach((k, i) => k === 1 && wide.fill(1, i * h, (i + 1) * h))
  return tf.tensor2d(wide, [keep.length, h], "bool")
}

/**
 * Run an LSTM layer: `gates` (T·B, 4h) are the time-major input projections plus bias, `recurrent`
 * (h, 4h) the recurrent kernel. Step t adds `h_{t-1} · recurrent`; a padded step keeps the previous
 * state (`s = m·s_new + (1 - m)·s_old`), so the final state is the state after the last valid step of
 * each sample, wherever the padding is. Returns the hidden state after every step, (T·B, h)
 * time-major. Differentiable in `gates` and `recurrent`.
 */
export const lstmLayer = (
  gates: tf.Tensor2D,
  recurrent: tf.Tensor2D,
  masking: ReadonlyArray<StepMasking>
): tf.Tensor2D => {
  if (SimdKernels.here() && gates.dtype === "float32" && recurrent.dtype === "float32") return wasmLstmLayer(gates, recurrent, masking)
  const t = masking.length
  const b = gates.shape[0] / t
  const h = recurrent.shape[0]
  return customOp((inputs, save) => {
    const [gateRows, kernel] = inputs as [tf.Tensor2D, tf.Tensor2D]
    const gx = splitSteps(gateRows, t)
    const zeros = tf.zeros([b, h]) as tf.Tensor2D
    let hPrev = zeros
    let cPrev = zeros
    let started = false
    const hs: Array<tf.Tensor2D> = []
    const cs: Array<tf.Tensor2D> = []
    // Per computed step: sigmoid(i, f, o) (B, 3h), tanh(candidate) and tanh(c_new) (B, h).
    const sigmoids: Array<tf.Tensor2D> = []
    const candidates: Array<tf.Tensor2D> = []
    const cellTanhs: Array<tf.Tensor2D> = []
    masking.forEach((mask, step) => {
      if (mask !== "none") {
        const z = started ? tf.add(gx[step], tf.matMul(hPrev, kernel)) : gx[step]
        const [ifoPre, candidatePre] = tf.split(z, [3 * h, h], 1)
        const ifo = tf.sigmoid(ifoPre) as tf.Tensor2D
        const g = tf.tanh(candidatePre) as tf.Tensor2D
        const [i, f, o] = tf.split(ifo, 3, 1)
        const cNew = tf.add(tf.mul(f, cPrev), tf.mul(i, g)) as tf.Tensor2D
        const cellTanh = tf.tanh(cNew) as tf.Tensor2D
        const hNew = tf.mul(o, cellTanh) as tf.Tensor2D
        sigmoids.push(ifo)
        candidates.push(g)
        cellTanhs.push(cellTanh)
        if (mask === "all") {
          cPrev = cNew
          hPrev = hNew
        } else {
          const keep = keepRows(mask, h)
          cPrev = tf.where(keep, cNew, cPrev)
          hPrev = tf.where(keep, hNew, hPrev)
        }
        started = true
      }
      hs.push(hPrev)
      cs.push(cPrev)
    })
    const states = tf.concat(hs, 0) as tf.Tensor2D
    save([kernel, states, ...cs, ...sigmoids, ...candidates, ...cellTanhs])

    const gradFunc = (dStates: tf.Tensor, saved: Array<tf.Tensor>): Array<tf.Tensor> => {
      const [w, savedStates] = saved as Array<tf.Tensor2D>
      const computed = sigmoids.length
      const cAt = saved.slice(2, 2 + t) as Array<tf.Tensor2D>
      const sig = saved.slice(2 + t, 2 + t + computed) as Array<tf.Tensor2D>
      const cand = saved.slice(2 + t + computed, 2 + t + 2 * computed) as Array<tf.Tensor2D>
      const tanhC = saved.slice(2 + t + 2 * computed) as Array<tf.Tensor2D>
      const dOut = splitSteps(dStates as tf.Tensor2D, t)
      const wT = tf.transpose(w)
      const dGates: Array<tf.Tensor2D> = new Array(t)
      let dh: tf.Tensor2D = tf.zeros([b, h])
      let dc: tf.Tensor2D = tf.zeros([b, h])
      // The first computed step has no recurrent term and starts from zero state.
      const firstComputed = masking.findIndex((mask) => mask !== "none")
      let k = computed
      for (let step = t - 1; step >= 0; step--) {
        const mask = masking[step]
        dh = tf.add(dh, dOut[step]) as tf.Tensor2D
        if (mask === "none") {
          dGates[step] = tf.zeros([b, 4 * h])
          continue
        }
        k--
        const [i, f, o] = tf.split(sig[k], 3, 1)
        const g = cand[k]
        const tc = tanhC[k]
        const cBefore = step === firstComputed ? undefined : cAt[step - 1]
        // Split the incoming gradients between the new state and the kept previous state.
        const keepNew = mask === "all" ? undefined : tf.tensor2d(mask, [b, 1])
        const keepOld = mask === "all" ? undefined : tf.tensor2d(mask.map((m) => 1 - m), [b, 1])
        const dhNew = keepNew === undefined ? dh : tf.mul(dh, keepNew)
        const dcNew = keepNew === undefined ? dc : tf.mul(dc, keepNew)
        const dcTotal = tf.add(dcNew, tf.mul(tf.mul(dhNew, o), tf.sub(1, tf.square(tc))))
        const dzI = tf.mul(tf.mul(dcTotal, g), tf.mul(i, tf.sub(1, i)))
        const dzF = cBefore === undefined ? tf.zerosLike(f) : tf.mul(tf.mul(dcTotal, cBefore), tf.mul(f, tf.sub(1, f)))
        const dzO = tf.mul(tf.mul(dhNew, tc), tf.mul(o, tf.sub(1, o)))
        const dzG = tf.mul(tf.mul(dcTotal, i), tf.sub(1, tf.square(g)))
        const dz = tf.concat([dzI, dzF, dzO, dzG], 1) as tf.Tensor2D
        dGates[step] = dz
        const dcPrev: tf.Tensor2D = tf.mul(dcTotal, f)
        if (step === firstComputed) break
        const dhPrev: tf.Tensor2D = tf.matMul(dz, wT)
        dh = keepOld === undefined ? dhPrev : (tf.add(dhPrev, tf.mul(dh, keepOld)) as tf.Tensor2D)
        dc = keepOld === undefined ? dcPrev : (tf.add(dcPrev, tf.mul(dc, keepOld)) as tf.Tensor2D)
      }
      for (let step = 0; step < t; step++) if (dGates[step] === undefined) dGates[step] = tf.zeros([b, 4 * h])
      const dGateRows = tf.concat(dGates, 0) as tf.Tensor2D
      return [dGateRows, recurrentGrad(savedStates, dGateRows, t)]
    }
    return { value: states, gradFunc }
  })(gates, recurrent)
}

/**
 * dU = sum_t h_{t-1}ᵀ dz_t as one matMul: the states (T·B, h) shifted one step down (h_{-1} = 0; a
 * step without a recurrent term has h_{t-1} = 0 or dz_t = 0, so it adds nothing).
 */
const recurrentGrad = (states: tf.Tensor2D, dGateRows: tf.Tensor2D, t: number): tf.Tensor2D => {
  const [rows, h] = states.shape
  const b = rows / t
  const before = t === 1 ? tf.zeros([b, h]) : tf.concat([tf.zeros([b, h]), tf.slice(states, [0, 0], [(t - 1) * b, h])], 0)
  return tf.matMul(tf.transpose(before), dGateRows)
}

/** {@link lstmLayer} on the wasm backend's two kernels (`WasmLstm`): one for the forward steps, one for the backward. */
const wasmLstmLayer = (gates: tf.Tensor2D, recurrent: tf.Tensor2D, masking: ReadonlyArray<StepMasking>): tf.Tensor2D =>
  customOp((inputs, save) => {
    const [gateRows, kernel] = inputs as [tf.Tensor2D, tf.Tensor2D]
    const [states, cells, acts] = WasmLstm.runForward(gateRows, kernel, masking)
    save([kernel, states, cells, acts])
    return {
      value: states,
      gradFunc: (dStates, [w, savedStates, savedCells, savedActs]) => {
        const dGateRows = WasmLstm.runBackward(dStates as tf.Tensor2D, savedActs as tf.Tensor2D, savedCells as tf.Tensor2D, w as tf.Tensor2D, masking)
        return [dGateRows, recurrentGrad(savedStates as tf.Tensor2D, dGateRows, masking.length)]
      }
    }
  })(gates, recurrent)
