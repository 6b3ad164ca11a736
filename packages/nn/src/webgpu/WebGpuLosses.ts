/**
 * The losses of a training step as fused WGSL kernels on the `webgpu` backend: the weighted L1, the
 * weighted softmax cross-entropy with class ids, and the cross-modal KL over all students. Each is
 * one kernel forward (to the scalar) and one backward (to every logit gradient), where the tfjs
 * composites take 10-60 dispatches each (log-softmax, masks, weighted means and their gradients):
 * for the default HAEMSA objective about 290 of a step's dispatches become 14.
 *
 * The losses of `@haemsa/kd-losses` (`TaskLosses.l1Loss`, `TaskLosses.crossEntropy` with int32
 * class ids, `Distillation.crossModalKl`, `Reduction.linearCombination`) run these through
 * `Fused.run`, which picks them on webgpu when they take the inputs (at least one row, float32 (B)
 * weights, at most {@link MAX_STUDENTS} students or {@link MAX_TERMS} terms) and the tfjs
 * composites otherwise. The math is the same as the composites', including the edge cases:
 * zero-weight rows add nothing to the value or any gradient (even with non-finite logits), all
 * weights zero gives 0, an id outside [0, C) adds 0, the KL's rounding negatives are clamped at 0
 * with the gradient passed straight, tfjs's `abs` gradient (-1 at 0). Each kernel runs in one
 * workgroup of 256 threads, a row per thread, so it suits batches up to a few thousand rows.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs"
import * as CustomOp from "../CustomOp"
import * as WebGpuKernel from "./WebGpuKernel"

const WG = 256

const bindings = WebGpuKernel.bindings

/** WGSL: the workgroup sum of `name[k*256 + lid]` for k < count, into `name[k*256]` (all threads call it). */
const reduce = (names: ReadonlyArray<string>) => `
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) {
${names.map((n) => `      ${n}[lid] = ${n}[lid] + ${n}[lid + s];`).join("\n")}
    }
    workgroupBarrier();
  }`

/** WGSL: `den` = 1 where the weight sum is 0 (0 / 1 = 0 when nothing counts). */
const safeDen = (d: string) => `select(${d}, 1.0, ${d} == 0.0)`

/**
 * WGSL: `fn name(row: u32) -> f32`, the stable log-sum-exp of row `row` of the (n, u.c) `logits`,
 * each logit read as `logits[..]` followed by `scale` (e.g. " * u.invT" for a temperature).
 */
const logSumExp = (name: string, logits: string, scale = "") => `fn ${name}(row: u32) -> f32 {
  var m = ${logits}[row * u.c]${scale};
  for (var k = 1u; k < u.c; k = k + 1u) { m = max(m, ${logits}[row * u.c + k]${scale}); }
  var s = 0.0;
  for (var k = 0u; k < u.c; k = k + 1u) { s = s + exp(${logits}[row * u.c + k]${scale} - m); }
  return m + log(s);
}`

// ---------------------------------------------------------------------------------------------
// weighted means over rows: L1 and cross-entropy

/** What a weighted row loss puts into the shared kernel skeleton. */
interface RowLoss {
  /** The differentiable input and the constant, as WGSL declarations ("pred: array<f32>"). */
  readonly input: string
  readonly constant: string
  /** The gradient output's declaration. */
  readonly gradient: string
  /** The uniform struct's fields (starting with `n: u32`, the rows). */
  readonly uniform: string
  /** WGSL functions the pieces use. */
  readonly helpers?: string
  /** Forward: statements that add `wi * loss_i` to `a` for row `i` (only called where wi != 0). */
  readonly accumulate: string
  /** Backward: statements that write row `i`'s gradient, given `scale` = dy·wi/sum(w) and `keep` = wi != 0. */
  readonly writeGradient: string
}

/**
 * WGSL of a weighted mean over rows in one workgroup of 256 threads: forward `out = sum_i w_i loss_i /
 * sum_i w_i` (0 when no weight), backward each row's gradient; `w_i` is 1 without weights.
 */
const rowLossCode = (loss: RowLoss) => (weighted: boolean, backward: boolean): string => {
  const inputs = [loss.input, loss.constant, ...(weighted ? ["weight: array<f32>"] : []), ...(backward ? ["dy: array<f32>"] : [])]
  const w = weighted ? "weight[i]" : "1.0"
  return `${bindings(inputs, [backward ? loss.gradient : "out: array<f32>"], loss.uniform)}
var<workgroup> num: array<f32, ${WG}>;
var<workgroup> den: array<f32, ${WG}>;
${loss.helpers ?? ""}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
  var a = 0.0;
  var d = 0.0;
  for (var i = lid; i < u.n; i = i + ${WG}u) {
    let wi = ${w};
    ${backward ? "" : `if (wi != 0.0) { ${loss.accumulate} }`}
    d = d + wi;
  }
  num[lid] = a;
  den[lid] = d;
  workgroupBarrier();
  ${reduce(backward ? ["den"] : ["num", "den"])}
  let total = ${safeDen("den[0]")};
  ${backward
    ? `for (var i = lid; i < u.n; i = i + ${WG}u) {
    let wi = ${w};
    let keep = wi != 0.0;
    let scale = dy[0] * wi / total;
    ${loss.writeGradient}
  }`
    : "if (lid == 0u) { out[0] = num[0] / total; }"}
}`
}

/**
 * A weighted loss of one differentiable input `x` and constants (labels or targets, then optional
 * (B) weights): its forward kernel (to the scalar) and backward kernel (inputs, then dy, to dx). The
 * constants go through `save` too: tensors made inside a taped function are gone by the time the
 * backward pass runs.
 */
const weightedLoss = (name: string, loss: RowLoss, uniforms: (x: tf.TensorInfo) => ReadonlyArray<WebGpuKernel.Uniform>) => {
  const code = rowLossCode(loss)
  const forward = WebGpuKernel.define({
    name,
    code: (a) => code(a.weighted === true, false),
    outputs: () => [{ shape: [], dtype: "float32" }],
    uniforms: ([x]) => uniforms(x),
    workgroups: () => 1
  })
  const backward = WebGpuKernel.define({
    name: `${name}Grad`,
    code: (a) => code(a.weighted === true, true),
    outputs: ([x]) => [{ shape: x.shape, dtype: "float32" }],
    uniforms: ([x]) => uniforms(x),
    workgroups: () => 1
  })
  return (x: tf.Tensor, constant: tf.Tensor, weights: tf.Tensor1D | undefined): tf.Scalar => {
    const constants = weights === undefined ? [constant] : [constant, weights]
    const attrs = { weighted: weights !== undefined }
    const op = CustomOp.customOp(([input], save) => {
      save([input, ...constants])
      return {
        value: forward([input, ...constants], attrs)[0] as tf.Scalar,
        gradFunc: (dy, saved) => backward([...saved, dy], attrs)[0]
      }
    })
    return op(x)
  }
}

const l1Op = weightedLoss(
  "HaemsaL1",
  {
    input: "pred: array<f32>",
    constant: "truth: array<f32>",
    gradient: "dpred: array<f32>",
    uniform: "n: u32, pad: u32",
    accumulate: "a = a + wi * abs(pred[i] - truth[i]);",
    // tfjs's abs gradient: -1 at 0
    writeGradient: "dpred[i] = select(0.0, scale * select(-1.0, 1.0, pred[i] - truth[i] > 0.0), keep);"
  },
  (pred) => [{ type: "uint32", data: [pred.shape[0]] }, { type: "uint32", data: [0] }]
)

/** Weighted L1 `sum_i w_i |pred_i - target_i| / sum w` of (B) tensors, fused (gradient to `pred` only). */
export const l1 = (pred: tf.Tensor1D, target: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar => l1Op(pred, target, weights)

const crossEntropyOp = weightedLoss(
  "HaemsaCrossEntropy",
  {
    input: "logits: array<f32>",
    constant: "labels: array<i32>",
    gradient: "dlogits: array<f32>",
    uniform: "n: u32, c: u32",
    helpers: logSumExp("logSumExp", "logits"),
    // an id outside [0, C) has an all-zero one-hot row: it adds 0 and gets 0 gradient
    accumulate: `let y = labels[i];
    if (y >= 0 && u32(y) < u.c) { a = a + wi * (logSumExp(i) - logits[i * u.c + u32(y)]); }`,
    writeGradient: `let y = labels[i];
    let valid = y >= 0 && u32(y) < u.c;
    let lse = logSumExp(i);
    for (var k = 0u; k < u.c; k = k + 1u) {
      let p = exp(logits[i * u.c + k] - lse);
      let t = select(0.0, 1.0, valid && u32(y) == k);
      dlogits[i * u.c + k] = select(0.0, scale * (p * select(0.0, 1.0, valid) - t), keep);
    }`
  },
  (logits) => [{ type: "uint32", data: [logits.shape[0]] }, { type: "uint32", data: [logits.shape[1]] }]
)

/** Weighted cross-entropy of (B, C) logits with int32 (B) class ids, fused (gradient to `logits` only). */
export const crossEntropy = (logits: tf.Tensor2D, labels: tf.Tensor1D, weights?: tf.Tensor1D): tf.Scalar =>
  crossEntropyOp(logits, labels, weights)

// ---------------------------------------------------------------------------------------------
// cross-modal KL, all students at once

/** Which of the students have weights (the code is specialised on it). */
type Layout = ReadonlyArray<boolean>

/**
 * The KL kernels. Inputs: the teacher, the S students, then (when any student has weights) their
 * weights stacked as (K, B) for the K weighted students; the backward pass adds `dy`. Its output
 * is one (S [+1], B, C) tensor: each student's gradient, then the teacher's with `teacherGradient`
 * (so the kernel stays within WebGPU's default 8 storage buffers for up to 4 students).
 */
const klCode = (layout: Layout, backward: boolean, teacherGradient: boolean): string => {
  const weightRow: number[] = []
  let rows = 0
  for (const weighted of layout) weightRow.push(weighted ? rows++ : -1)
  const inputs = [
    "teacher: array<f32>",
    ...layout.map((_, m) => `student${m}: array<f32>`),
    ...(rows > 0 ? ["weights: array<f32>"] : []),
    ...(backward ? ["dy: array<f32>"] : [])
  ]
  const outputs = [backward ? "grads: array<f32>" : "out: array<f32>"]
  const w = (m: number) => (layout[m] ? `weights[${weightRow[m]}u * u.n + i]` : "1.0")
  // per row: log-sum-exp at temperature, and KL(p_teacher || p_student) before scaling
  const lse = (name: string) => `
${logSumExp(`lse_${name}`, name, " * u.invT")}
fn kl_${name}(row: u32, lt: f32, ls: f32) -> f32 {
  var acc = 0.0;
  for (var k = 0u; k < u.c; k = k + 1u) {
    let logP = teacher[row * u.c + k] * u.invT - lt;
    let logQ = ${name}[row * u.c + k] * u.invT - ls;
    acc = acc + exp(logP) * (logP - logQ);
  }
  return acc;
}`
  const students = layout.map((_, m) => `student${m}`)
  const sums = layout.flatMap((_, m) => [`num${m}`, `den${m}`])
  const forwardBody = `
  for (var i = lid; i < u.n; i = i + ${WG}u) {
    let lt = lse_teacher(i);
${layout.map((_, m) => `    let w${m} = ${w(m)};
    if (w${m} != 0.0) { num${m}[lid] = num${m}[lid] + w${m} * u.scale * max(kl_student${m}(i, lt, lse_student${m}(i)), 0.0); }
    den${m}[lid] = den${m}[lid] + w${m};`).join("\n")}
  }
  workgroupBarrier();
  ${reduce(sums)}
  if (lid == 0u) {
    var total = 0.0;
${layout.map((_, m) => `    total = total + num${m}[0] / ${safeDen(`den${m}[0]`)};`).join("\n")}
    out[0] = total;
  }`
  const slab = (m: number | string) => `(${m}u * u.n + i) * u.c + k`
  const backwardBody = `
  for (var i = lid; i < u.n; i = i + ${WG}u) {
${layout.map((_, m) => `    den${m}[lid] = den${m}[lid] + ${w(m)};`).join("\n")}
  }
  workgroupBarrier();
  ${reduce(layout.map((_, m) => `den${m}`))}
  for (var i = lid; i < u.n; i = i + ${WG}u) {
    let lt = lse_teacher(i);
${layout.map((_, m) => `    let w${m} = ${w(m)};
    let g${m} = select(0.0, dy[0] * w${m} / ${safeDen(`den${m}[0]`)} * u.scale * u.invT, w${m} != 0.0);
    let ls${m} = select(0.0, lse_student${m}(i), w${m} != 0.0);
    let kl${m} = select(0.0, kl_student${m}(i, lt, ls${m}), w${m} != 0.0);`).join("\n")}
    for (var k = 0u; k < u.c; k = k + 1u) {
      let logP = teacher[i * u.c + k] * u.invT - lt;
      let p = exp(logP);
      ${teacherGradient ? "var dt = 0.0;" : ""}
${layout.map((_, m) => `      if (w${m} != 0.0) {
        let logQ${m} = student${m}[i * u.c + k] * u.invT - ls${m};
        grads[${slab(m)}] = g${m} * (exp(logQ${m}) - p);
        ${teacherGradient ? `dt = dt + g${m} * p * ((logP - logQ${m}) - kl${m});` : ""}
      } else {
        grads[${slab(m)}] = 0.0;
      }`).join("\n")}
      ${teacherGradient ? `grads[${slab(layout.length)}] = dt;` : ""}
    }
  }`
  return `${bindings(inputs, outputs, "n: u32, c: u32, invT: f32, scale: f32")}
${sums.map((n) => `var<workgroup> ${n}: array<f32, ${WG}>;`).join("\n")}
${["teacher", ...students].map(lse).join("\n")}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_index) lid: u32) {
${sums.map((n) => `  ${n}[lid] = 0.0;`).join("\n")}
${backward ? backwardBody : forwardBody}
}`
}

const klUniforms = ([teacher]: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>): ReadonlyArray<WebGpuKernel.Uniform> => [
  { type: "uint32", data: [teacher.shape[0]] },
  { type: "uint32", data: [teacher.shape[1]] },
  { type: "float32", data: [1 / (attrs.temperature as number)] },
  { type: "float32", data: [attrs.scale as number] }
]

const layoutOf = (attrs: Readonly<Record<string, unknown>>): Layout => (attrs.layout as ReadonlyArray<number>).map((x) => x === 1)

const klForward = WebGpuKernel.define({
  name: "HaemsaCrossModalKl",
  code: (a) => klCode(layoutOf(a), false, false),
  outputs: () => [{ shape: [], dtype: "float32" }],
  uniforms: klUniforms,
  workgroups: () => 1
})

const klBackward = WebGpuKernel.define({
  name: "HaemsaCrossModalKlGrad",
  code: (a) => klCode(layoutOf(a), true, a.teacherGradient === true),
  outputs: ([teacher], a) => [{ shape: [layoutOf(a).length + (a.teacherGradient === true ? 1 : 0), ...teacher.shape], dtype: "float32" }],
  uniforms: klUniforms,
  workgroups: () => 1
})

/** Most students the fused KL takes (WebGPU's default limit of 8 storage buffers per kernel). */
export const MAX_STUDENTS = 4

/** Options of the fused {@link crossModalKl}. */
export interface KlOptions {
  readonly temperature: number
  /** The factor on every row (T^2 when scaling by the squared temperature, else 1). */
  readonly scale: number
  readonly teacherGradient: boolean
}

/**
 * `sum_m sum_i w_mi KL(p_s || p_m)_i / sum_i w_mi` over (B, C) logits, fused: one kernel for the
 * value, one for the gradients of every student (and of the teacher with `teacherGradient`), split
 * per student afterwards. At most {@link MAX_STUDENTS} students.
 */
export const crossModalKl = (
  teacher: tf.Tensor2D,
  students: ReadonlyArray<{ readonly logits: tf.Tensor2D; readonly weights: tf.Tensor1D | undefined }>,
  options: KlOptions
): tf.Scalar => {
  if (students.length > MAX_STUDENTS) throw new Error(`WebGpuLosses.crossModalKl: at most ${MAX_STUDENTS} students, got ${students.length}`)
  const given = students.flatMap((s) => (s.weights === undefined ? [] : [s.weights]))
  const weights = given.length === 0 ? [] : [given.length === 1 ? tf.reshape(given[0], [1, -1]) : tf.stack(given)]
  const attrs = {
    layout: students.map((s) => (s.weights === undefined ? 0 : 1)),
    temperature: options.temperature,
    scale: options.scale,
    teacherGradient: options.teacherGradient
  }
  const op = CustomOp.customOp((logits, save) => {
    const t = options.teacherGradient ? logits[0] : teacher
    const ss = options.teacherGradient ? logits.slice(1) : logits
    save([t, ...ss, ...weights])
    return {
      value: klForward([t, ...ss, ...weights], attrs)[0] as tf.Scalar,
      gradFunc: (dy, saved) => {
        const grads = tf.unstack(klBackward([...saved, dy], attrs)[0])
        // the slab order is students then teacher; the inputs are [teacher,] students
        return options.teacherGradient ? [grads[grads.length - 1], ...grads.slice(0, -1)] : grads
      }
    }
  })
  const inputs = options.teacherGradient ? [teacher, ...students.map((s) => s.logits)] : students.map((s) => s.logits)
  return op(...inputs)
}

// ---------------------------------------------------------------------------------------------
// the joint objective's sum of weighted terms

/** Most terms of the fused {@link linearCombination} (1 + terms storage buffers in the backward pass). */
export const MAX_TERMS = 7

const combinationCode = (k: number, backward: boolean): string => {
  const inputs = backward ? ["dy: array<f32>"] : Array.from({ length: k }, (_, i) => `t${i}: array<f32>`)
  const outputs = backward ? Array.from({ length: k }, (_, i) => `g${i}: array<f32>`) : ["out: array<f32>"]
  const uniform = Array.from({ length: k }, (_, i) => `c${i}: f32`).join(", ")
  const body = backward
    ? Array.from({ length: k }, (_, i) => `g${i}[0] = dy[0] * u.c${i};`).join("\n  ")
    : `out[0] = ${Array.from({ length: k }, (_, i) => `t${i}[0] * u.c${i}`).join(" + ")};`
  return `${bindings(inputs, outputs, uniform)}
@compute @workgroup_size(1)
fn main() {
  ${body}
}`
}

const combinationUniforms = (_: ReadonlyArray<tf.TensorInfo>, attrs: Readonly<Record<string, unknown>>): ReadonlyArray<WebGpuKernel.Uniform> =>
  (attrs.coefficients as ReadonlyArray<number>).map((c) => ({ type: "float32" as const, data: [c] }))

const combinationForward = WebGpuKernel.define({
  name: "HaemsaLinearCombination",
  code: (a) => combinationCode((a.coefficients as ReadonlyArray<number>).length, false),
  outputs: () => [{ shape: [], dtype: "float32" }],
  uniforms: combinationUniforms,
  workgroups: () => 1
})

const combinationBackward = WebGpuKernel.define({
  name: "HaemsaLinearCombinationGrad",
  code: (a) => combinationCode((a.coefficients as ReadonlyArray<number>).length, true),
  outputs: (_, a) => (a.coefficients as ReadonlyArray<number>).map(() => ({ shape: [], dtype: "float32" as const })),
  uniforms: combinationUniforms,
  workgroups: () => 1
})

/** `sum_k c_k t_k` of 2..{@link MAX_TERMS} scalars, fused: one kernel each way. */
export const linearCombination = (terms: ReadonlyArray<tf.Scalar>, coefficients: ReadonlyArray<number>): tf.Scalar => {
  const attrs = { coefficients: [...coefficients] }
  const op = CustomOp.customOp((inputs) => ({
    value: combinationForward(inputs, attrs)[0] as tf.Scalar,
    gradFunc: (dy) => combinationBackward([dy], attrs)
  }))
  return op(...terms)
}
