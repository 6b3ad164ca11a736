/**
 * The computational-sequence value of CMU-MultimodalSDK `.csd` files and its pure decoding: the
 * validation of an HDF5 tree (`/<root>/data/<video_id>/{features (T,d), intervals (T,2)}` and
 * `/<root>/metadata/<key>`) into typed arrays, and the summary printed by `haemsa data inspect`.
 * No file or HDF5 library access: reading the HDF5 bytes is `Csd.readCsd` (Node, Deno).
 *
 * @since 0.2.0
 */
import { CsdError, quote } from "./Errors"
import type { Hdf5Child, Hdf5Node, Hdf5Value } from "./Hdf5Worker"

export type { Hdf5Child, Hdf5Node, Hdf5Value } from "./Hdf5Worker"

/** The frames of one video: `features` is (steps, dim) row-major, `intervals` (steps, 2) start/end in seconds. */
export interface CsdVideo {
  readonly features: Float32Array
  readonly steps: number
  readonly dim: number
  readonly intervals: Float64Array
}

/** A computational sequence: one feature set (or the labels) for every video. */
export interface ComputationalSequence {
  /** The name of the root group, e.g. "COVAREP" or "Opinion Segment Labels". */
  readonly root: string
  /** Metadata values: parsed JSON, or the raw string when it is not JSON. */
  readonly metadata: Readonly<Record<string, unknown>>
  /** Videos by id, in sorted id order. */
  readonly videos: ReadonlyMap<string, CsdVideo>
  /** The feature dimension, the same for every video. */
  readonly dim: number
  /** How many non-finite feature values (NaN, +-inf) were replaced by 0. */
  readonly nonfiniteReplaced: number
}

/** What `haemsa data inspect x.csd --json` prints. */
export interface CsdSummary {
  readonly format: "csd"
  readonly root: string
  readonly dim: number
  readonly videos: ReadonlyArray<string>
  readonly frames: Readonly<Record<string, number>>
}

type Group = { readonly kind: "group"; readonly children: ReadonlyArray<Hdf5Child> | null }
type Dataset = Extract<Hdf5Node, { kind: "dataset" }>

const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

const childrenOf = (group: Group, path: string, file: string): ReadonlyArray<Hdf5Child> => {
  if (group.children === null) throw new CsdError({ file, reason: `${path}: group nested too deep to be part of a computational sequence` })
  return group.children
}

const findChild = (group: Group, name: string): Hdf5Node | undefined =>
  group.children?.find((child) => child.name === name)?.node

const kindName = (node: Hdf5Node): string => (node.kind === "other" ? "link or named datatype" : node.kind)

const requireGroup = (node: Hdf5Node | undefined, path: string, file: string): Group => {
  if (node === undefined) throw new CsdError({ file, reason: `${path}: missing group` })
  if (node.kind !== "group") throw new CsdError({ file, reason: `${path}: expected a group, found a ${kindName(node)}` })
  return node
}

const requireNumeric = (node: Hdf5Node | undefined, path: string, file: string): Dataset & { value: { data: Float32Array | Float64Array } } => {
  if (node === undefined) throw new CsdError({ file, reason: `${path}: missing dataset` })
  if (node.kind !== "dataset") throw new CsdError({ file, reason: `${path}: expected a dataset, found a ${kindName(node)}` })
  const { value } = node
  if (value.type !== "float32" && value.type !== "float64") {
    const what = value.type === "strings" ? "strings" : value.description
    throw new CsdError({ file, reason: `${path}: expected numbers, found ${what}` })
  }
  return node as Dataset & { value: { data: Float32Array | Float64Array } }
}

const shapeText = (shape: ReadonlyArray<number>): string => `[${shape.join(", ")}]`

/** Pick the root group: the only top-level group, or else the only one that has a `data` group. */
const findRoot = (tree: Hdf5Node, file: string): { readonly name: string; readonly group: Group } => {
  const top = requireGroup(tree, "/", file)
  const groups = childrenOf(top, "/", file).filter((child) => child.node.kind === "group")
  const candidates = groups.length === 1 ? groups : groups.filter((child) => findChild(child.node as Group, "data")?.kind === "group")
  if (candidates.length !== 1) {
    const names = groups.map((child) => quote(child.name, 40)).join(", ")
    throw new CsdError({
      file,
      reason: `/: expected one computational-sequence root group with a "data" group, found ${groups.length} groups${names === "" ? "" : ` (${names})`}`
    })
  }
  return { name: candidates[0].name, group: candidates[0].node as Group }
}

const parseMetadataString = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const metadataValue = (value: Hdf5Value): unknown => {
  switch (value.type) {
    case "strings":
      return value.data.length === 1 ? parseMetadataString(value.data[0]) : value.data.map(parseMetadataString)
    case "float32":
    case "float64":
      return value.data.length === 1 ? value.data[0] : Array.from(value.data)
    case "unsupported":
      return `<unsupported HDF5 value: ${value.description}>`
  }
}

const decodeMetadata = (root: Group, rootPath: string, file: string): Record<string, unknown> => {
  const node = findChild(root, "metadata")
  if (node === undefined) return {}
  const group = requireGroup(node, `${rootPath}/metadata`, file)
  const entries: Array<[string, unknown]> = []
  for (const { name, node: child } of childrenOf(group, `${rootPath}/metadata`, file)) {
    if (child.kind === "dataset") entries.push([name, metadataValue(child.value)])
  }
  return Object.fromEntries(entries)
}

/** Check one video's datasets and copy them into a `CsdVideo`; returns the number of replaced values too. */
const decodeVideo = (video: Hdf5Node, path: string, file: string): { readonly video: CsdVideo; readonly replaced: number } => {
  const group = requireGroup(video, path, file)
  const features = requireNumeric(findChild(group, "features"), `${path}/features`, file)
  const intervals = requireNumeric(findChild(group, "intervals"), `${path}/intervals`, file)
  if (features.shape.length !== 2) {
    throw new CsdError({ file, reason: `${path}/features: expected a 2-D (steps, dim) dataset, got shape ${shapeText(features.shape)}` })
  }
  const [steps, dim] = features.shape
  if (dim < 1) throw new CsdError({ file, reason: `${path}/features: feature dimension is 0` })
  if (intervals.shape.length !== 2 || intervals.shape[0] !== steps || intervals.shape[1] !== 2) {
    throw new CsdError({
      file,
      reason: `${path}/intervals: expected shape [${steps}, 2] to match features ${shapeText(features.shape)}, got ${shapeText(intervals.shape)}`
    })
  }
  const times = Float64Array.from(intervals.value.data)
  for (let t = 0; t < steps; t++) {
    const start = times[2 * t]
    const end = times[2 * t + 1]
    if (!Number.isFinite(start) || !Number.isFinite(end) || start > end) {
      throw new CsdError({ file, reason: `${path}/intervals: row ${t} is [${start}, ${end}], expected finite start <= end` })
    }
  }
  const data = features.value.data instanceof Float32Array ? features.value.data : Float32Array.from(features.value.data)
  let replaced = 0
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      data[i] = 0
      replaced++
    }
  }
  return { video: { features: data, steps, dim, intervals: times }, replaced }
}

/**
 * Validate the HDF5 tree of a `.csd` file and build the computational sequence: one root group (or
 * the only one with `data`), every video a group with `features` (T, d) and `intervals` (T, 2) of the
 * same T, finite intervals with start <= end, the same d for every video, at least one video.
 * Non-finite feature values become 0 and are counted. Throws a `CsdError` naming `file` and the path
 * inside the file.
 */
export const decodeComputationalSequence = (tree: Hdf5Node, file: string): ComputationalSequence => {
  const root = findRoot(tree, file)
  const rootPath = `/${root.name}`
  const data = requireGroup(findChild(root.group, "data"), `${rootPath}/data`, file)
  const entries = [...childrenOf(data, `${rootPath}/data`, file)].sort((a, b) => compareIds(a.name, b.name))
  if (entries.length === 0) throw new CsdError({ file, reason: `${rootPath}/data: no videos` })
  const videos = new Map<string, CsdVideo>()
  let dim = -1
  let nonfiniteReplaced = 0
  for (const entry of entries) {
    const path = `${rootPath}/data/${entry.name}`
    const { replaced, video } = decodeVideo(entry.node, path, file)
    if (dim >= 0 && video.dim !== dim) {
      throw new CsdError({ file, reason: `${path}/features: dimension ${video.dim} differs from ${dim} in the other videos` })
    }
    dim = video.dim
    nonfiniteReplaced += replaced
    videos.set(entry.name, video)
  }
  return { root: root.name, metadata: decodeMetadata(root.group, rootPath, file), videos, dim, nonfiniteReplaced }
}

/** The summary printed by `haemsa data inspect x.csd --json`. */
export const summary = (sequence: ComputationalSequence): CsdSummary => {
  const videos = [...sequence.videos.keys()].sort(compareIds)
  return {
    format: "csd",
    root: sequence.root,
    dim: sequence.dim,
    videos,
    frames: Object.fromEntries(videos.map((id) => [id, sequence.videos.get(id)!.steps]))
  }
}
