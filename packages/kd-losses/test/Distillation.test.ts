import * as tf from "@tensorflow/tfjs"
import * as fc from "fast-check"
import { Effect, Layer } from "effect"
import { beforeAll, describe, expect, it, layer } from "@effect/vitest"
import { crossModalKl, Distillation, klDivergence } from "../src/Distillation"
import { DistillationError } from "../src/Errors"
import { closeTo, kl64, klGrads64, weightedMean64 } from "./Reference"
import { expectNoLeaks, thrown, useCpu } from "@haemsa/test-helpers"

beforeAll(useCpu)

type Matrix = Array<Array<number>>

/** A (b, c) matrix of float32-representable numbers in [-lim, lim]. */
const matrix = (b: number, c: number, lim: number) =>
  fc
    .array(fc.array(fc.double({ min: -lim, max: lim, noNaN: true }), { minLength: c, maxLength: c }), {
      minLength: b,
      maxLength: b
    })
    .map((rows) => rows.map((r) => r.map(Math.fround)))

/** Teacher and student logits of the same random (B, C) shape. */
const pair = (lim: number, maxB = 4, maxC = 6) =>
  fc
    .record({ b: fc.integer({ min: 1, max: maxB }), c: fc.integer({ min: 2, max: maxC }) })
    .chain(({ b, c }) => fc.tuple(matrix(b, c, lim), matrix(b, c, lim)))

const temperatures = fc.constantFrom(0.5, 1, 2, 4)

const t2 = (m: Matrix) => tf.tensor2d(m)

/** Run a function that returns a tensor, read it back and dispose everything. */
const read = (f: () => tf.Tensor): Float32Array => {
  const out = tf.tidy(f)
  const data = out.dataSync() as Float32Array
  out.dispose()
  return data
}

const maxAbs = (...ms: Array<Matrix>) => Math.max(...ms.flat(2).map(Math.abs))

describe("klDivergence: value", () => {
  it("is >= 0 for random logits, per sample", () => {
    fc.assert(
      fc.property(pair(50), temperatures, ([t, s], temperature) => {
        const rows = read(() => klDivergence(t2(t), t2(s), { temperature, reduction: "none" }))
        expect(Array.from(rows).every((v) => v >= 0)).toBe(true)
      }),
      { numRuns: 60 }
    )
  })

  it("equals the float64 reference for every temperature and scaling", () => {
    fc.assert(
      fc.property(pair(20), temperatures, fc.boolean(), ([t, s], temperature, scale) => {
        const rows = read(() =>
          klDivergence(t2(t), t2(s), { temperature, scaleByTemperatureSquared: scale, reduction: "none" })
        )
        const expected = kl64(t, s, temperature, scale)
        const factor = scale ? temperature * temperature : 1
        // logSoftmax of float32 logits is exact to a few ulps of max|logit| / T.
        const abs = 4e-6 * (1 + maxAbs(t, s) / temperature) * factor
        expect(closeTo(rows, expected, abs, 1e-5)).toBeUndefined()
      }),
      { numRuns: 80 }
    )
  })

  it("is 0 for equal logits and for logits differing by a constant per row", () => {
    fc.assert(
      fc.property(
        pair(10),
        fc.array(fc.integer({ min: -100, max: 100 }), { minLength: 4, maxLength: 4 }),
        temperatures,
        ([t], shifts, temperature) => {
          const shifted = t.map((row, i) => row.map((x) => x + shifts[i]))
          expect(Array.from(read(() => klDivergence(t2(t), t2(t), { temperature, reduction: "none" })))).toEqual(
            t.map(() => 0)
          )
          const rows = read(() => klDivergence(t2(t), t2(shifted), { temperature, reduction: "none" }))
          const abs = 4e-6 * (1 + maxAbs(t, shifted) / temperature) * temperature * temperature
          expect(closeTo(rows, t.map(() => 0), abs)).toBeUndefined()
        }
      ),
      { numRuns: 60 }
    )
  })

  it("is > 0 when the distributions differ", () => {
    fc.assert(
      fc.property(pair(2), fc.integer({ min: 0, max: 100 }), ([t, s], pick) => {
        // Make every student row differ from the teacher row by more than a constant: one class moves by 1.
        const student = t.map((row, i) => row.map((x, c) => (c === pick % row.length ? x + 1 + Math.abs(s[i][c]) : x)))
        const rows = read(() => klDivergence(t2(t), t2(student), { reduction: "none" }))
        expect(Array.from(rows).every((v) => v > 0)).toBe(true)
      }),
      { numRuns: 60 }
    )
  })

  it("is finite and exact for extreme logits (±1e4, mixed)", () => {
    const extreme = fc.constantFrom(1e4, -1e4, 0, 5e3, -5e3, 1, -1)
    const extremeMatrix = (b: number, c: number) =>
      fc.array(fc.array(extreme, { minLength: c, maxLength: c }), { minLength: b, maxLength: b })
    fc.assert(
      fc.property(
        fc
          .record({ b: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 2, max: 5 }) })
          .chain(({ b, c }) => fc.tuple(extremeMatrix(b, c), extremeMatrix(b, c))),
        fc.constantFrom(1, 2),
        fc.boolean(),
        ([t, s], temperature, teacherGradient) => {
          const teacher = t2(t)
          const student = t2(s)
          const rows = read(() => klDivergence(teacher, student, { temperature, reduction: "none" }))
          expect(Array.from(rows).every(Number.isFinite)).toBe(true)
          const abs = 4e-6 * (1 + 1e4 / temperature) * temperature * temperature
          expect(closeTo(rows, kl64(t, s, temperature), abs, 1e-6)).toBeUndefined()
          const grads = tf.tidy(() =>
            tf.grads((a, b) => klDivergence(a as tf.Tensor2D, b as tf.Tensor2D, { temperature, teacherGradient }))([
              teacher,
              student
            ])
          )
          for (const g of grads) expect(Array.from(g.dataSync()).every(Number.isFinite)).toBe(true)
          tf.dispose([teacher, student, ...grads])
        }
      ),
      { numRuns: 60 }
    )
    // One hand-checked case: the teacher is sure of class 0, the student of class 1.
    expect(read(() => klDivergence(t2([[1e4, -1e4, 0]]), t2([[-1e4, 1e4, 0]])))[0]).toBe(2e4)
  })

  it("reduces over the batch: sum = B * mean, none gives (B)", () => {
    const t = [[1, 2, 3], [0, 0, 1], [-1, 2, 0.5]]
    const s = [[0, 1, 0], [2, 0, 1], [1, 1, 1]]
    const none = read(() => klDivergence(t2(t), t2(s), { reduction: "none" }))
    expect(none.length).toBe(3)
    const mean = read(() => klDivergence(t2(t), t2(s)))[0]
    const sum = read(() => klDivergence(t2(t), t2(s), { reduction: "sum" }))[0]
    expect(mean).toBeCloseTo(weightedMean64(kl64(t, s)), 6)
    expect(sum).toBeCloseTo(3 * mean, 5)
  })
})

describe("klDivergence: temperature", () => {
  it("KL at T equals T^2 times the KL of the logits divided by T", () => {
    fc.assert(
      fc.property(pair(10), fc.constantFrom(0.5, 2, 3, 8), ([t, s], temperature) => {
        const atT = read(() => klDivergence(t2(t), t2(s), { temperature, reduction: "none" }))
        const divided = read(() =>
          klDivergence(tf.div(t2(t), temperature) as tf.Tensor2D, tf.div(t2(s), temperature) as tf.Tensor2D, {
            reduction: "none"
          })
        )
        const expected = Array.from(divided, (v) => v * temperature * temperature)
        expect(closeTo(atT, expected, 1e-5 * temperature * temperature, 1e-4)).toBeUndefined()
      }),
      { numRuns: 40 }
    )
  })

  it("without the T^2 factor is the scaled value divided by T^2; at T = 1 both agree", () => {
    fc.assert(
      fc.property(pair(10), fc.constantFrom(1, 2, 5), ([t, s], temperature) => {
        const scaled = read(() => klDivergence(t2(t), t2(s), { temperature }))[0]
        const plain = read(() => klDivergence(t2(t), t2(s), { temperature, scaleByTemperatureSquared: false }))[0]
        expect(Math.abs(plain * temperature * temperature - scaled)).toBeLessThanOrEqual(1e-6 * (1 + scaled))
        if (temperature === 1) expect(plain).toBe(scaled)
      }),
      { numRuns: 30 }
    )
  })

  it("softens the distributions: T^2 KL tends to half the variance of the logit difference", () => {
    // T^2 KL(softmax(t/T) || softmax(s/T)) -> (1/2C) sum_c (d_c - mean d)^2, d = t - s, as T grows.
    const t = [[2, -1, 0.5, 0], [0, 3, -2, 1]]
    const s = [[0, 1, -0.5, 2], [1, -1, 0, 0]]
    const limit = t.map((row, i) => {
      const d = row.map((x, c) => x - s[i][c])
      const mean = d.reduce((a, v) => a + v, 0) / d.length
      return d.reduce((a, v) => a + (v - mean) ** 2, 0) / (2 * d.length)
    })
    const error = (temperature: number) => {
      const rows = read(() => klDivergence(t2(t), t2(s), { temperature, reduction: "none" }))
      return Math.max(...limit.map((l, i) => Math.abs(rows[i] - l) / l))
    }
    expect(error(50)).toBeLessThan(0.05)
    expect(error(50)).toBeLessThan(error(5))
    expect(error(5)).toBeLessThan(error(1))
  })
})

/** Central finite differences of a scalar function of a (b, c) matrix, in float32 through tf. */
const finiteDifferences = (m: Matrix, f: (x: Matrix) => number, eps: number): Matrix =>
  m.map((row, i) =>
    row.map((_, c) => {
      const plus = m.map((r, k) => r.map((x, j) => (k === i && j === c ? x + eps : x)))
      const minus = m.map((r, k) => r.map((x, j) => (k === i && j === c ? x - eps : x)))
      return (f(plus) - f(minus)) / (2 * eps)
    })
  )

describe("klDivergence: gradients", () => {
  const gradsOf = (t: Matrix, s: Matrix, temperature: number, teacherGradient: boolean) =>
    tf.tidy(() =>
      tf
        .grads((a, b) => klDivergence(a as tf.Tensor2D, b as tf.Tensor2D, { temperature, teacherGradient }))([
          t2(t),
          t2(s)
        ])
        .map((g) => Array.from(g.dataSync()))
    )

  it("student gradient matches the analytic float64 gradient and central finite differences", () => {
    fc.assert(
      fc.property(pair(2, 3, 4), fc.constantFrom(0.5, 1, 2), fc.boolean(), ([t, s], temperature, teacherGradient) => {
        const [, gs] = gradsOf(t, s, temperature, teacherGradient)
        const analytic = klGrads64(t, s, temperature).student.flat()
        expect(closeTo(gs, analytic, 1e-6, 1e-4)).toBeUndefined()
        const value = (x: Matrix) => read(() => klDivergence(t2(t), t2(x), { temperature }))[0]
        const fd = finiteDifferences(s, value, 1e-2).flat()
        expect(closeTo(gs, fd, 1e-3, 2e-2)).toBeUndefined()
      }),
      { numRuns: 25 }
    )
  })

  it("with teacherGradient the teacher gradient matches the analytic gradient and finite differences", () => {
    fc.assert(
      fc.property(pair(2, 3, 4), fc.constantFrom(0.5, 1, 2), ([t, s], temperature) => {
        const [gt] = gradsOf(t, s, temperature, true)
        const analytic = klGrads64(t, s, temperature).teacher.flat()
        expect(closeTo(gt, analytic, 1e-6, 1e-4)).toBeUndefined()
        const value = (x: Matrix) => read(() => klDivergence(t2(x), t2(s), { temperature, teacherGradient: true }))[0]
        const fd = finiteDifferences(t, value, 1e-2).flat()
        expect(closeTo(gt, fd, 1e-3, 2e-2)).toBeUndefined()
      }),
      { numRuns: 25 }
    )
  })

  it("without teacherGradient (the default) the teacher gradient is exactly zero", () => {
    fc.assert(
      fc.property(pair(20), temperatures, ([t, s], temperature) => {
        const [gt, gs] = gradsOf(t, s, temperature, false)
        expect(gt.every((g) => g === 0)).toBe(true)
        expect(gs.some((g) => g !== 0) || kl64(t, s).every((v) => v < 1e-6)).toBe(true)
      }),
      { numRuns: 40 }
    )
  })

  it("a teacher used in the loss and elsewhere keeps the gradient of its other uses", () => {
    const t = t2([[1, 0, -1]])
    const s = t2([[0, 1, 0]])
    const [gt] = tf.grads((a, b) => tf.add(klDivergence(a as tf.Tensor2D, b as tf.Tensor2D), tf.sum(a)))([t, s])
    expect(Array.from(gt.dataSync())).toEqual([1, 1, 1])
    tf.dispose([t, s, gt])
  })
})

describe("klDivergence: errors", () => {
  const caught = (f: () => unknown): DistillationError => thrown(DistillationError, f)

  it("names the argument and the value", () => {
    const a = t2([[1, 2, 3]])
    const b = t2([[1, 2]])
    const v = tf.tensor1d([1, 2, 3])
    const i = tf.tensor2d([[1, 2, 3]], undefined, "int32")
    const before = tf.memory().numTensors
    const shape = caught(() => klDivergence(a, b))
    expect(shape._tag).toBe("DistillationError")
    expect(shape.argument).toBe("studentLogits")
    expect(shape.value).toBe("[1,2]")
    expect(shape.message).toContain("[1,3]")
    expect(caught(() => klDivergence(v as unknown as tf.Tensor2D, a)).argument).toBe("teacherLogits")
    expect(caught(() => klDivergence(a, v as unknown as tf.Tensor2D)).value).toBe("[3]")
    expect(caught(() => klDivergence(a, i)).value).toBe("int32")
    for (const temperature of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const e = caught(() => klDivergence(a, a, { temperature }))
      expect(e.argument).toBe("temperature")
      expect(e.value).toBe(String(temperature))
    }
    expect(caught(() => klDivergence(a, a, { reduction: "max" as "mean" })).argument).toBe("reduction")
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose([a, b, v, i])
  })
})

describe("crossModalKl", () => {
  /** Teacher, three students and a 0/1 presence mask per student, all (B, C). */
  const setup = fc
    .record({ b: fc.integer({ min: 1, max: 5 }), c: fc.integer({ min: 2, max: 5 }) })
    .chain(({ b, c }) =>
      fc.tuple(
        matrix(b, c, 5),
        fc.array(matrix(b, c, 5), { minLength: 3, maxLength: 3 }),
        fc.array(fc.array(fc.constantFrom(0, 1), { minLength: b, maxLength: b }), { minLength: 3, maxLength: 3 })
      )
    )

  it("without weights is the sum of the per-student mean KL; a record gives the same as a list", () => {
    fc.assert(
      fc.property(setup, temperatures, ([t, students], temperature) => {
        const expected = students.reduce((acc, s) => acc + weightedMean64(kl64(t, s, temperature)), 0)
        const list = read(() => crossModalKl(t2(t), students.map(t2), { temperature }))[0]
        const record = read(
          () => crossModalKl(t2(t), { text: t2(students[0]), audio: t2(students[1]), vision: t2(students[2]) }, { temperature })
        )[0]
        expect(Math.abs(list - expected)).toBeLessThanOrEqual(1e-4 * (1 + expected) * temperature * temperature)
        expect(record).toBe(list)
      }),
      { numRuns: 40 }
    )
  })

  it("excludes absent samples from each modality's mean; a modality with none present adds 0", () => {
    fc.assert(
      fc.property(setup, ([t, students, masks]) => {
        const expected = students.reduce((acc, s, m) => {
          const present = s.map((_, i) => i).filter((i) => masks[m][i] === 1)
          if (present.length === 0) return acc
          return acc + weightedMean64(kl64(present.map((i) => t[i]), present.map((i) => s[i])))
        }, 0)
        const value = read(() =>
          crossModalKl(t2(t), students.map(t2), { sampleWeights: masks.map((mask) => tf.tensor1d(mask)) })
        )[0]
        expect(Math.abs(value - expected)).toBeLessThanOrEqual(1e-4 * (1 + expected))
        // Garbage (NaN, Infinity) in the absent rows changes nothing.
        const garbage = students.map((s, m) => s.map((row, i) => (masks[m][i] === 1 ? row : row.map((_, c) => (c % 2 === 0 ? Number.NaN : Infinity)))))
        const withGarbage = read(() =>
          crossModalKl(t2(t), garbage.map(t2), { sampleWeights: masks.map((mask) => tf.tensor1d(mask)) })
        )[0]
        expect(withGarbage).toBe(value)
      }),
      { numRuns: 60 }
    )
  })

  it("gives absent samples exactly zero gradient (even non-finite ones), and the teacher zero gradient by default", () => {
    fc.assert(
      fc.property(setup, fc.boolean(), fc.boolean(), ([t, students, masks], garbage, teacherGradient) => {
        const inputs = garbage
          ? students.map((s, m) => s.map((row, i) => (masks[m][i] === 1 ? row : row.map(() => Number.NaN))))
          : students
        const grads = tf.tidy(() =>
          tf
            .grads((teacher, ...xs) =>
              crossModalKl(teacher as tf.Tensor2D, xs as Array<tf.Tensor2D>, {
                teacherGradient,
                sampleWeights: masks.map((mask) => tf.tensor1d(mask))
              })
            )([t2(t), ...inputs.map(t2)])
            .map((g) => g.arraySync() as Matrix)
        )
        expect(grads.flat(2).every(Number.isFinite)).toBe(true)
        if (!teacherGradient) expect(grads[0].flat().every((g) => g === 0)).toBe(true)
        students.forEach((_, m) => {
          masks[m].forEach((present, i) => {
            if (present === 0) expect(grads[m + 1][i].every((g) => g === 0)).toBe(true)
          })
        })
        if (!garbage) {
          // The present rows get the gradient of the mean KL over the present rows only.
          students.forEach((s, m) => {
            const present = masks[m].flatMap((w, i) => (w === 1 ? [i] : []))
            if (present.length === 0) return
            const g = klGrads64(present.map((i) => t[i]), present.map((i) => s[i])).student
            const actual = present.flatMap((i) => grads[m + 1][i])
            expect(closeTo(actual, g.flat(), 1e-6, 1e-4)).toBeUndefined()
          })
        }
      }),
      { numRuns: 40 }
    )
  })

  it("one weight tensor applies to every student; record weights may omit students", () => {
    const t = [[1, 0, 0], [0, 2, 0], [0, 0, 3]]
    const a = [[0, 1, 0], [1, 0, 0], [0, 0, 1]]
    const v = [[2, 0, 0], [0, 0, 1], [1, 1, 1]]
    const mask = [1, 0, 1]
    const shared = read(() => crossModalKl(t2(t), [t2(a), t2(v)], { sampleWeights: tf.tensor1d(mask) }))[0]
    const each = read(() =>
      crossModalKl(t2(t), [t2(a), t2(v)], { sampleWeights: [tf.tensor1d(mask), tf.tensor1d(mask)] })
    )[0]
    expect(shared).toBe(each)
    const partial = read(() =>
      crossModalKl(t2(t), { audio: t2(a), vision: t2(v) }, { sampleWeights: { audio: tf.tensor1d(mask) } })
    )[0]
    const expected = weightedMean64(kl64(t, a), mask) + weightedMean64(kl64(t, v))
    expect(partial).toBeCloseTo(expected, 5)
    expect(read(() => crossModalKl(t2(t), []))[0]).toBe(0)
    expect(read(() => crossModalKl(t2(t), [t2(a)], { sampleWeights: tf.zeros([3]) }))[0]).toBe(0)
  })

  it("rejects weights that do not fit the students with a DistillationError naming them", () => {
    const t = t2([[1, 0], [0, 1]])
    const s = t2([[0, 1], [1, 0]])
    const w2 = tf.tensor1d([1, 0])
    const w3 = tf.tensor1d([1, 0, 1])
    const cases: Array<[() => unknown, string]> = [
      [() => crossModalKl(t, [s], { sampleWeights: w3 }), "sampleWeights"],
      [() => crossModalKl(t, [s], { sampleWeights: [w2, w2] }), "sampleWeights"],
      [() => crossModalKl(t, [s, s], { sampleWeights: [w2, w3] }), "sampleWeights[1]"],
      [() => crossModalKl(t, { text: s }, { sampleWeights: { txt: w2 } }), "sampleWeights.txt"],
      [() => crossModalKl(t, { text: s }, { sampleWeights: [w2] }), "sampleWeights"],
      [() => crossModalKl(t, [s], { sampleWeights: { text: w2 } }), "sampleWeights"],
      [() => crossModalKl(t, { audio: t2([[1, 2, 3]]) }), "students.audio"],
      [() => crossModalKl(t, [s], { temperature: 0 }), "temperature"]
    ]
    for (const [f, argument] of cases) {
      expect(f).toThrow(DistillationError)
      try {
        f()
      } catch (e) {
        expect((e as DistillationError).argument).toBe(argument)
      }
    }
    tf.dispose([t, s, w2, w3])
  })
})

describe("no leaked tensors", () => {
  it("klDivergence and crossModalKl, their gradients, inside tf.tidy and outside", () => {
    const t = t2([[1, 2, 3], [3, 2, 1]])
    const s = t2([[0, 0, 1], [1e4, -1e4, 0]])
    const w = tf.tensor1d([1, 0])
    const calls: Array<() => tf.Tensor | Array<tf.Tensor>> = [
      () => klDivergence(t, s),
      () => klDivergence(t, s, { temperature: 2, reduction: "none" }),
      () => klDivergence(t, s, { teacherGradient: true, reduction: "sum" }),
      () => crossModalKl(t, { a: s, b: t }, { sampleWeights: { a: w } }),
      () => tf.grads((a, b) => klDivergence(a as tf.Tensor2D, b as tf.Tensor2D, { temperature: 3 }))([t, s]),
      () => tf.grads((a, b) => klDivergence(a as tf.Tensor2D, b as tf.Tensor2D, { teacherGradient: true }))([t, s]),
      () => tf.grads((a, b) => crossModalKl(a as tf.Tensor2D, [b as tf.Tensor2D], { sampleWeights: w }))([t, s])
    ]
    expectNoLeaks(calls)
    tf.dispose([t, s, w])
  })
})

layer(Distillation.layer)("the Distillation service", (it) => {
  it.effect("the default layer provides this module's functions", () =>
    Effect.gen(function*() {
      const distillation = yield* Distillation
      expect(distillation.kl).toBe(klDivergence)
      expect(distillation.crossModal).toBe(crossModalKl)
      const t = tf.tensor2d([[2, 0, -1]])
      const s = tf.tensor2d([[0, 1, 0]])
      const viaService = tf.tidy(() => distillation.kl(t, s).dataSync()[0])
      const direct = tf.tidy(() => klDivergence(t, s).dataSync()[0])
      expect(viaService).toBe(direct)
      expect(viaService).toBeGreaterThan(0)
      tf.dispose([t, s])
    }))

  it.effect("a user swaps one loss with Layer.succeed and keeps the others", () =>
    Effect.gen(function*() {
      const halfKl: typeof klDivergence = (teacher, student, options) =>
        tf.tidy(() => tf.mul(klDivergence(teacher, student, options), 0.5))
      const mine = Layer.succeed(Distillation, { ...Distillation.default, kl: halfKl })
      const t = tf.tensor2d([[2, 0, -1]])
      const s = tf.tensor2d([[0, 1, 0]])
      const value = yield* Effect.gen(function*() {
        const distillation = yield* Distillation
        expect(distillation.crossModal).toBe(crossModalKl)
        return tf.tidy(() => distillation.kl(t, s).dataSync()[0])
      }).pipe(Effect.provide(mine))
      const full = tf.tidy(() => klDivergence(t, s).dataSync()[0])
      expect(value).toBeCloseTo(full / 2, 6)
      tf.dispose([t, s])
    }))
})
