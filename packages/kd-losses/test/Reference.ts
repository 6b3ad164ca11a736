/**
 * Float64 reference implementations (plain JS numbers) the tests compare the float32 tensors with.
 * Written independently of the tensor code: different formulas where possible.
 */

/** log softmax of one row, through a float64 log-sum-exp. */
export const logSoftmax64 = (row: ReadonlyArray<number>): Array<number> => {
  const m = Math.max(...row)
  let sum = 0
  for (const x of row) sum += Math.exp(x - m)
  const lse = m + Math.log(sum)
  return row.map((x) => x - lse)
}

const scaled = (row: ReadonlyArray<number>, t: number) => row.map((x) => x / t)

/** Per-row KL(softmax(t/T) || softmax(s/T)), times T^2 when `scale`. */
export const kl64 = (
  teacher: ReadonlyArray<ReadonlyArray<number>>,
  student: ReadonlyArray<ReadonlyArray<number>>,
  temperature = 1,
  scale = true
): Array<number> =>
  teacher.map((tRow, i) => {
    const lp = logSoftmax64(scaled(tRow, temperature))
    const lq = logSoftmax64(scaled(student[i], temperature))
    let kl = 0
    for (let c = 0; c < lp.length; c++) {
      const p = Math.exp(lp[c])
      if (p > 0) kl += p * (lp[c] - lq[c])
    }
    return scale ? kl * temperature * temperature : kl
  })

/**
 * Analytic gradients of the batch-mean KL (with the T^2 factor): student `T (q - p) / B`,
 * teacher `T p (lp - lq - KL_row) / B`.
 */
export const klGrads64 = (
  teacher: ReadonlyArray<ReadonlyArray<number>>,
  student: ReadonlyArray<ReadonlyArray<number>>,
  temperature = 1
): { student: Array<Array<number>>; teacher: Array<Array<number>> } => {
  const b = teacher.length
  const rows = kl64(teacher, student, temperature, false)
  const gs: Array<Array<number>> = []
  const gt: Array<Array<number>> = []
  teacher.forEach((tRow, i) => {
    const lp = logSoftmax64(scaled(tRow, temperature))
    const lq = logSoftmax64(scaled(student[i], temperature))
    gs.push(lp.map((l, c) => (temperature * (Math.exp(lq[c]) - Math.exp(l))) / b))
    gt.push(lp.map((l, c) => (temperature * Math.exp(l) * (l - lq[c] - rows[i])) / b))
  })
  return { student: gs, teacher: gt }
}

/** softplus(u) = log(1 + e^u), without overflow. */
const softplus = (u: number): number => (u > 0 ? u + Math.log1p(Math.exp(-u)) : Math.log1p(Math.exp(u)))

/** Binary cross-entropy of one logit: z softplus(-x) + (1 - z) softplus(x). */
export const bce64 = (x: number, z: number): number => z * softplus(-x) + (1 - z) * softplus(x)

/** Cross-entropy of one row against a class id. */
export const ce64 = (row: ReadonlyArray<number>, label: number): number => -logSoftmax64(row)[label]

/** numpy's round (half to even), written differently from the package: via the distance to the nearest integers. */
export const npRound = (x: number): number => {
  const lo = Math.floor(x)
  const hi = Math.ceil(x)
  const dLo = x - lo
  const dHi = hi - x
  if (dLo < dHi) return lo
  if (dHi < dLo) return hi
  return lo % 2 === 0 ? lo : hi
}

/** Weighted mean with weight-0 samples excluded; 0 when none counts. */
export const weightedMean64 = (values: ReadonlyArray<number>, weights?: ReadonlyArray<number>): number => {
  if (values.length === 0) return 0
  if (weights === undefined) return values.reduce((a, v) => a + v, 0) / values.length
  let num = 0
  let den = 0
  values.forEach((v, i) => {
    if (weights[i] !== 0) {
      num += weights[i] * v
      den += weights[i]
    }
  })
  return den === 0 ? 0 : num / den
}

/** |a - b| <= abs + rel * |b|, element by element, with a message naming the first miss. */
export const closeTo = (
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  abs: number,
  rel = 0
): string | undefined => {
  if (actual.length !== expected.length) return `length ${actual.length} != ${expected.length}`
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]
    const e = expected[i]
    if (!(Math.abs(a - e) <= abs + rel * Math.abs(e))) return `at ${i}: ${a} vs ${e} (abs ${abs}, rel ${rel})`
  }
  return undefined
}
