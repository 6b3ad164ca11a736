/**
 * CMU-MultimodalSDK alignment of a feature computational sequence to a label (segment) sequence,
 * as `mmdataset.align(reference, collapse_functions)` does it, and the padding of the aligned
 * segments into a `SequenceBlock`.
 *
 * @since 0.1.0
 */
import type { ComputationalSequence, CsdVideo } from "./CsdSequence"
import type { SequenceBlock } from "./Dataset"
import { InvalidOption } from "./Errors"

/** The SDK's tolerance for interval comparisons (`epsilon = 10e-6` in mmdatasdk/dataset/dataset.py). */
export const SDK_EPSILON = 1e-5

/** The frames of one segment: `data` is (steps, dim) row-major. */
export interface AlignedSequence {
  readonly steps: number
  readonly dim: number
  readonly data: Float32Array
}

/** Feature frames grouped by label segment. */
export interface AlignedSegments {
  /** Segment ids `${video}[${index}]`, the SDK's names: videos in sorted order, segments in label-row order. */
  readonly ids: ReadonlyArray<string>
  /** (ids.length, labelDim) the label features of each segment (the sentiment for Opinion Segment Labels). */
  readonly labels: Float32Array
  readonly labelDim: number
  /** The feature dimension. */
  readonly dim: number
  /** The frames of each segment (one row per segment with collapse "mean", zero rows when empty). */
  readonly sequences: ReadonlyArray<AlignedSequence>
  /** Ids of the segments no feature frame overlaps (kept with zero steps). */
  readonly emptySegments: ReadonlyArray<string>
}

/** Options of `alignToSegments`. */
export interface AlignOptions {
  /** "none" keeps every overlapping frame; "mean" averages them into one vector (the SDK's collapse with a mean). */
  readonly collapse?: "none" | "mean"
  /** Overlap tolerance in seconds (default `SDK_EPSILON`). */
  readonly epsilon?: number
}

/**
 * The SDK's overlap test: a frame belongs to a segment when their intersection is longer than
 * `epsilon`. Frames that only touch the segment at a boundary, and zero-length frames, do not.
 */
export const overlaps = (frameStart: number, frameEnd: number, segmentStart: number, segmentEnd: number, epsilon: number = SDK_EPSILON): boolean =>
  Math.min(frameEnd, segmentEnd) - Math.max(frameStart, segmentStart) > epsilon

/** Frame indices of a video sorted by start time (stable, as the SDK sorts), with the starts and the longest frame. */
interface FrameIndex {
  readonly order: Int32Array
  readonly starts: Float64Array
  readonly longest: number
}

const indexFrames = (video: CsdVideo): FrameIndex => {
  const order = Int32Array.from({ length: video.steps }, (_, t) => t)
  order.sort((a, b) => video.intervals[2 * a] - video.intervals[2 * b] || a - b)
  const starts = Float64Array.from(order, (t) => video.intervals[2 * t])
  let longest = 0
  for (let t = 0; t < video.steps; t++) longest = Math.max(longest, video.intervals[2 * t + 1] - video.intervals[2 * t])
  return { order, starts, longest }
}

/** First position whose start is >= `value`. */
const lowerBound = (starts: Float64Array, value: number): number => {
  let lo = 0
  let hi = starts.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (starts[mid] < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Frames (in start order) overlapping the segment. */
const framesIn = (video: CsdVideo, index: FrameIndex, start: number, end: number, epsilon: number): Array<number> => {
  const frames: Array<number> = []
  // A frame starting before start - longest ends before start; twice the margin absorbs rounding.
  for (let i = lowerBound(index.starts, start - 2 * index.longest); i < index.starts.length && index.starts[i] < end; i++) {
    const t = index.order[i]
    if (overlaps(video.intervals[2 * t], video.intervals[2 * t + 1], start, end, epsilon)) frames.push(t)
  }
  return frames
}

const gather = (video: CsdVideo, frames: ReadonlyArray<number>): Float32Array => {
  const data = new Float32Array(frames.length * video.dim)
  frames.forEach((t, row) => data.set(video.features.subarray(t * video.dim, (t + 1) * video.dim), row * video.dim))
  return data
}

const mean = (video: CsdVideo, frames: ReadonlyArray<number>): Float32Array => {
  const sums = new Float64Array(video.dim)
  for (const t of frames) {
    for (let k = 0; k < video.dim; k++) sums[k] += video.features[t * video.dim + k]
  }
  return Float32Array.from(sums, (sum) => sum / frames.length)
}

/**
 * Align `features` to the segments of `labels` (CMU-MultimodalSDK `align`): for every label row of
 * every label video, the feature frames of the same video that overlap the row's interval by more than
 * `epsilon`, in start-time order. With `collapse: "mean"` they are averaged per dimension into one
 * frame. Segments without any overlapping frame (including every segment of a video the feature
 * sequence lacks) are kept with zero steps and listed in `emptySegments`. Throws `InvalidOption` for a
 * negative or non-finite `epsilon`.
 */
export const alignToSegments = (features: ComputationalSequence, labels: ComputationalSequence, options: AlignOptions = {}): AlignedSegments => {
  const collapse = options.collapse ?? "none"
  const epsilon = options.epsilon ?? SDK_EPSILON
  if (!(epsilon >= 0 && Number.isFinite(epsilon))) {
    throw new InvalidOption({ option: "epsilon", value: String(epsilon), reason: "must be a finite number >= 0" })
  }
  const ids: Array<string> = []
  const labelRows: Array<Float32Array> = []
  const sequences: Array<AlignedSequence> = []
  const emptySegments: Array<string> = []
  const videoIds = [...labels.videos.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  for (const videoId of videoIds) {
    const segments = labels.videos.get(videoId)!
    const video = features.videos.get(videoId)
    const index = video === undefined ? undefined : indexFrames(video)
    for (let i = 0; i < segments.steps; i++) {
      const id = `${videoId}[${i}]`
      const start = segments.intervals[2 * i]
      const end = segments.intervals[2 * i + 1]
      const frames = video === undefined || index === undefined ? [] : framesIn(video, index, start, end, epsilon)
      ids.push(id)
      labelRows.push(segments.features.subarray(i * segments.dim, (i + 1) * segments.dim))
      if (frames.length === 0) {
        emptySegments.push(id)
        sequences.push({ steps: 0, dim: features.dim, data: new Float32Array(0) })
      } else if (collapse === "mean") {
        sequences.push({ steps: 1, dim: features.dim, data: mean(video!, frames) })
      } else {
        sequences.push({ steps: frames.length, dim: features.dim, data: gather(video!, frames) })
      }
    }
  }
  const labelsOut = new Float32Array(ids.length * labels.dim)
  labelRows.forEach((row, i) => labelsOut.set(row, i * labels.dim))
  return { ids, labels: labelsOut, labelDim: labels.dim, dim: features.dim, sequences, emptySegments }
}

/**
 * Pad (with zeros) or truncate every aligned segment to `maxSteps` frames, keeping the leading frames:
 * `lengths[i]` is min(steps, maxSteps). Throws `InvalidOption` when `maxSteps` is not a positive integer.
 */
export const toSequenceBlock = (aligned: AlignedSegments, maxSteps: number): SequenceBlock => {
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) {
    throw new InvalidOption({ option: "maxSteps", value: String(maxSteps), reason: "must be a positive integer" })
  }
  const { dim } = aligned
  const n = aligned.sequences.length
  const data = new Float32Array(n * maxSteps * dim)
  const lengths = new Int32Array(n)
  aligned.sequences.forEach((sequence, i) => {
    const steps = Math.min(sequence.steps, maxSteps)
    lengths[i] = steps
    data.set(sequence.data.subarray(0, steps * dim), i * maxSteps * dim)
  })
  return { n, steps: maxSteps, dim, data, lengths }
}
