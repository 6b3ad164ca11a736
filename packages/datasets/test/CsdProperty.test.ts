import { readFileSync } from "node:fs"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type ComputationalSequence, type CsdVideo, readCsd } from "../src/Csd"
import { alignToSegments, SDK_EPSILON } from "../src/CsdAlign"
import { CsdError } from "../src/Errors"
import { fixture } from "./support/Paths"

const NAMES = ["fixture_COVAREP.csd", "fixture_FACET.csd", "fixture_Opinion_Labels.csd"] as const
const FILES = NAMES.map((name) => new Uint8Array(readFileSync(fixture(name))))
// A corrupt file can make the HDF5 library loop: keep each read's deadline short.
const OPTIONS = { timeoutMs: 2_000 }

/** Every invariant a ComputationalSequence promises. */
const expectValid = (csd: ComputationalSequence): void => {
  expect(csd.videos.size).toBeGreaterThan(0)
  expect(csd.dim).toBeGreaterThan(0)
  const ids = [...csd.videos.keys()]
  expect(ids).toEqual([...ids].sort())
  for (const video of csd.videos.values()) {
    expect(video.dim).toBe(csd.dim)
    expect(video.features.length).toBe(video.steps * video.dim)
    expect(video.intervals.length).toBe(video.steps * 2)
    expect(video.features.every(Number.isFinite)).toBe(true)
    for (let t = 0; t < video.steps; t++) {
      const [start, end] = [video.intervals[2 * t], video.intervals[2 * t + 1]]
      expect(Number.isFinite(start) && Number.isFinite(end) && start <= end).toBe(true)
    }
  }
}

/** Read corrupt bytes: a CsdError naming the file, or a sequence satisfying every invariant. */
const readCorrupt = async (bytes: Uint8Array, name: string): Promise<void> => {
  try {
    expectValid(await readCsd(bytes, name, OPTIONS))
  } catch (error) {
    if (!(error instanceof CsdError)) throw error
    expect(error.file).toBe(name)
    expect(error.reason.length).toBeGreaterThan(0)
  }
}

describe("readCsd on damaged files", () => {
  it("a truncated fixture gives a CsdError or a valid sequence", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: NAMES.length - 1 }), fc.double({ min: 0, max: 1, noNaN: true }), async (which, fraction) => {
        const bytes = FILES[which]
        await readCorrupt(bytes.slice(0, Math.floor(fraction * bytes.length)), `cut-${NAMES[which]}`)
      }),
      { numRuns: 60 }
    )
  })

  it("a fixture with random bytes overwritten gives a CsdError or a valid sequence", async () => {
    const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), byte: fc.integer({ min: 0, max: 255 }) })
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: NAMES.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 24 }), async (which, edits) => {
        const bytes = FILES[which].slice()
        for (const { at, byte } of edits) bytes[Math.floor(at * bytes.length)] = byte
        await readCorrupt(bytes, `corrupt-${NAMES[which]}`)
      }),
      { numRuns: 100 }
    )
  })
})

/** Times on a half-second grid (exact boundary touches) or anywhere. */
const time = fc.oneof(fc.integer({ min: 0, max: 16 }).map((k) => k / 2), fc.double({ min: 0, max: 8, noNaN: true }))
const interval = fc.tuple(time, time).map(([a, b]): readonly [number, number] => (a <= b ? [a, b] : [b, a]))

/** A one-video sequence; feature k of frame t is t for k = 0 (to find the frame again) and random otherwise. */
const video = (dim: number, rows: ReadonlyArray<{ readonly span: readonly [number, number]; readonly values: ReadonlyArray<number> }>): CsdVideo => ({
  steps: rows.length,
  dim,
  intervals: Float64Array.from(rows.flatMap((row) => row.span)),
  features: Float32Array.from(rows.flatMap((row, t) => [t, ...row.values]))
})

const frameRows = fc.array(
  fc.record({ span: interval, values: fc.array(fc.float({ min: -100, max: 100, noNaN: true }), { minLength: 2, maxLength: 2 }) }),
  { maxLength: 30 }
)
const segmentRows = fc.array(fc.record({ span: interval, values: fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { minLength: 1, maxLength: 1 }) }), {
  minLength: 1,
  maxLength: 8
})

const overlapLength = (a: number, b: number, start: number, end: number): number => Math.min(b, end) - Math.max(a, start)

describe("alignToSegments properties", () => {
  it("every frame of a segment overlaps it, every overlapping frame is there, in start order", () => {
    fc.assert(
      fc.property(frameRows, segmentRows, (frames, segments) => {
        const features = video(3, frames)
        const labels = { ...video(1, segments), features: Float32Array.from(segments.map((row) => row.values[0])) }
        const aligned = alignToSegments(
          { root: "f", metadata: {}, videos: new Map([["v", features]]), dim: 3, nonfiniteReplaced: 0 },
          { root: "l", metadata: {}, videos: new Map([["v", labels]]), dim: 1, nonfiniteReplaced: 0 }
        )
        expect(aligned.ids).toEqual(segments.map((_, i) => `v[${i}]`))
        segments.forEach(({ span: [start, end] }, i) => {
          const sequence = aligned.sequences[i]
          const taken = Array.from({ length: sequence.steps }, (_, row) => sequence.data[row * 3])
          for (const t of taken) {
            expect(overlapLength(frames[t].span[0], frames[t].span[1], start, end)).toBeGreaterThan(SDK_EPSILON)
          }
          const expected = frames
            .map((frame, t) => ({ t, start: frame.span[0], length: overlapLength(frame.span[0], frame.span[1], start, end) }))
            .filter((frame) => frame.length > SDK_EPSILON)
            .sort((a, b) => a.start - b.start || a.t - b.t)
            .map((frame) => frame.t)
          expect(taken).toEqual(expected)
          expect(aligned.emptySegments.includes(`v[${i}]`)).toBe(expected.length === 0)
          expect(aligned.labels[i]).toBe(labels.features[i])
        })
      }),
      { numRuns: 200 }
    )
  })

  it("collapse mean is the per-dimension mean of the segment's frames", () => {
    fc.assert(
      fc.property(frameRows, segmentRows, (frames, segments) => {
        const features = { root: "f", metadata: {}, videos: new Map([["v", video(3, frames)]]), dim: 3, nonfiniteReplaced: 0 }
        const labels = { root: "l", metadata: {}, videos: new Map([["v", video(1, segments.map(({ span }) => ({ span, values: [] })))]]), dim: 1, nonfiniteReplaced: 0 }
        const all = alignToSegments(features, labels)
        const mean = alignToSegments(features, labels, { collapse: "mean" })
        all.sequences.forEach((sequence, i) => {
          if (sequence.steps === 0) {
            expect(mean.sequences[i].steps).toBe(0)
            return
          }
          expect(mean.sequences[i].steps).toBe(1)
          for (let k = 0; k < 3; k++) {
            let sum = 0
            for (let row = 0; row < sequence.steps; row++) sum += sequence.data[row * 3 + k]
            expect(mean.sequences[i].data[k]).toBeCloseTo(sum / sequence.steps, 3)
          }
        })
      }),
      { numRuns: 200 }
    )
  })
})
