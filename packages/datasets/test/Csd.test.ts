import { readFileSync } from "node:fs"
import h5wasm, { type File as H5File, type Group as H5Group } from "h5wasm"
import { describe, expect, it } from "vitest"
import { type ComputationalSequence, type CsdVideo, readCsd, summary } from "../src/Csd"
import { alignToSegments, overlaps, SDK_EPSILON, toSequenceBlock } from "../src/CsdAlign"
import { CsdError, InvalidOption } from "../src/Errors"
import { findHdf5Signature } from "../src/Hdf5"
import { fixture as fixtureFile } from "./support/Paths"

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(fixtureFile(name)))
const expected = JSON.parse(readFileSync(fixtureFile("expected.json"), "utf8")) as {
  readonly csd_videos: ReadonlyArray<string>
} & Record<"train" | "valid" | "test", { readonly id: ReadonlyArray<string>; readonly regression_labels: ReadonlyArray<number> }>

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection")
}

let written = 0

/** Write an HDF5 file with h5wasm (h5py's default format version, no checksums) and return its bytes. */
const writeHdf5 = async (build: (file: H5File) => void): Promise<Uint8Array> => {
  const { FS } = await h5wasm.ready
  const name = `/csd-test-${written++}.h5`
  const file = new h5wasm.File(name, "w", { libver: ["earliest", "v108"] })
  try {
    build(file)
  } finally {
    file.close()
  }
  const bytes = FS!.readFile(name)
  FS!.unlink(name)
  return bytes
}

/** Create the group at `path` and any missing parent. */
const makeGroups = (file: H5File, path: string): H5Group => {
  let group: H5Group = file
  for (const name of path.split("/")) {
    group = (group.get(name) as H5Group | null) ?? group.create_group(name)
  }
  return group
}

type Values = { readonly data: Float32Array | Float64Array | ReadonlyArray<string>; readonly shape: Array<number> }

/** Add `/<root>/data/<id>/{features, intervals}`; a value of null leaves that dataset out. */
const addVideo = (file: H5File, root: string, id: string, features: Values | null, intervals: Values | null): void => {
  const group = makeGroups(file, `${root}/data/${id}`)
  const add = (name: string, values: Values | null) => {
    if (values === null) return
    const dtype = values.data instanceof Float32Array ? "<f" : values.data instanceof Float64Array ? "<d" : null
    group.create_dataset({ name, data: values.data as Float32Array | Float64Array | Array<string>, shape: values.shape, ...(dtype === null ? {} : { dtype }) })
  }
  add("features", features)
  add("intervals", intervals)
}

const f32 = (shape: Array<number>, ...data: Array<number>): Values => ({ data: Float32Array.from(data), shape })
const f64 = (shape: Array<number>, ...data: Array<number>): Values => ({ data: Float64Array.from(data), shape })

const csdError = async (bytes: Uint8Array): Promise<CsdError> => {
  const error = await rejection(readCsd(bytes, "made.csd"))
  expect(error).toBeInstanceOf(CsdError)
  expect((error as CsdError).file).toBe("made.csd")
  return error as CsdError
}

/** A hand-built sequence: each video is a list of [start, end, ...features] rows. */
const sequence = (dim: number, videos: Record<string, ReadonlyArray<ReadonlyArray<number>>>): ComputationalSequence => {
  const map = new Map<string, CsdVideo>()
  for (const [id, rows] of Object.entries(videos)) {
    map.set(id, {
      steps: rows.length,
      dim,
      intervals: Float64Array.from(rows.flatMap((row) => row.slice(0, 2))),
      features: Float32Array.from(rows.flatMap((row) => row.slice(2)))
    })
  }
  return { root: "hand", metadata: {}, videos: map, dim, nonfiniteReplaced: 0 }
}

describe("readCsd on the CMU-MultimodalSDK fixtures", () => {
  it("reads COVAREP, FACET and the opinion labels with the layout h5py wrote", async () => {
    for (const name of ["fixture_COVAREP.csd", "fixture_FACET.csd", "fixture_Opinion_Labels.csd"]) {
      const csd = await readCsd(fixture(name), name)
      expect(csd.root).toBe(csd.metadata["root name"])
      expect([...csd.videos.keys()]).toEqual(expected.csd_videos)
      expect(csd.nonfiniteReplaced).toBe(0)
      for (const video of csd.videos.values()) {
        expect(video.dim).toBe(csd.dim)
        expect(video.features.length).toBe(video.steps * video.dim)
        expect(video.intervals.length).toBe(video.steps * 2)
      }
      const s = summary(csd)
      expect(s).toEqual({
        format: "csd",
        root: csd.root,
        dim: csd.dim,
        videos: expected.csd_videos,
        frames: Object.fromEntries(expected.csd_videos.map((id) => [id, csd.videos.get(id)!.steps]))
      })
    }
  })

  it("parses the JSON metadata and matches the feature dimension to its dimension names", async () => {
    const covarep = await readCsd(fixture("fixture_COVAREP.csd"), "fixture_COVAREP.csd")
    expect(covarep.root).toBe("COVAREP")
    expect(covarep.metadata["alignment compatible"]).toBe(true)
    expect(covarep.metadata["computational sequence version"]).toBe("1.0")
    expect(covarep.metadata["md5"]).toBeNull()
    expect(covarep.dim).toBe((covarep.metadata["dimension names"] as Array<string>).length)
    const facet = await readCsd(fixture("fixture_FACET.csd"), "fixture_FACET.csd")
    expect(facet.root).toBe("FACET_4.2")
    expect(facet.dim).toBe((facet.metadata["dimension names"] as Array<string>).length)
  })

  it("holds one sentiment per segment, the MMSA labels of expected.json", async () => {
    const labels = await readCsd(fixture("fixture_Opinion_Labels.csd"), "fixture_Opinion_Labels.csd")
    expect(labels.dim).toBe(1)
    for (const split of ["train", "valid", "test"] as const) {
      expected[split].id.forEach((id, i) => {
        const [video, clip] = id.split("$_$")
        const segments = labels.videos.get(video)!
        expect(segments.features[Number(clip) - 1]).toBeCloseTo(expected[split].regression_labels[i], 6)
      })
    }
    const segmentCount = [...labels.videos.values()].reduce((n, video) => n + video.steps, 0)
    expect(segmentCount).toBe(expected.train.id.length + expected.valid.id.length + expected.test.id.length)
  })

  it("rejects a text file named .csd with a CsdError naming the file", async () => {
    const error = await rejection(readCsd(fixture("bad_not_hdf5.csd"), "bad_not_hdf5.csd"))
    expect(error).toBeInstanceOf(CsdError)
    expect((error as CsdError).file).toBe("bad_not_hdf5.csd")
    expect((error as CsdError).reason).toMatch(/^not an HDF5 file/)
    expect((error as CsdError).message).toContain("bad_not_hdf5.csd")
  })

  it("rejects a truncated file with the HDF5 library's reason", async () => {
    const bytes = fixture("fixture_FACET.csd")
    const error = await rejection(readCsd(bytes.subarray(0, 5000), "cut.csd"))
    expect(error).toBeInstanceOf(CsdError)
    expect((error as CsdError).file).toBe("cut.csd")
    expect((error as CsdError).reason).toContain("truncated file")
  })

  it("stops a read on which the HDF5 library never returns, and the next read works", async () => {
    // This one-byte change in the COVAREP fixture makes the HDF5 C library loop forever.
    const bytes = fixture("fixture_COVAREP.csd")
    bytes[30136] = 0xa9
    const error = await rejection(readCsd(bytes, "loops.csd", { timeoutMs: 1_000 }))
    expect(error).toBeInstanceOf(CsdError)
    expect((error as CsdError).file).toBe("loops.csd")
    expect((error as CsdError).reason).toContain("did not finish within 1000 ms")
    expect((await readCsd(fixture("fixture_FACET.csd"), "fixture_FACET.csd")).root).toBe("FACET_4.2")
  })

  it("finds the HDF5 signature at 0 or after a user block of 512, 1024, ... bytes", () => {
    const bytes = fixture("fixture_COVAREP.csd")
    expect(findHdf5Signature(bytes)).toBe(0)
    const withUserBlock = new Uint8Array(1024 + bytes.length)
    withUserBlock.set(bytes, 1024)
    expect(findHdf5Signature(withUserBlock)).toBe(1024)
    const misplaced = new Uint8Array(700 + bytes.length)
    misplaced.set(bytes, 700)
    expect(findHdf5Signature(misplaced)).toBeUndefined()
  })
})

describe("readCsd on files written with h5wasm", () => {
  it("converts float64 features, replaces and counts non-finite values, reads gzip datasets and plain-string metadata", async () => {
    const bytes = await writeHdf5((file) => {
      const metadata = makeGroups(file, "R/metadata")
      metadata.create_dataset({ name: "root name", data: ['"R"'] })
      metadata.create_dataset({ name: "note", data: ["not json {"] })
      addVideo(file, "R", "b", f64([3, 2], 1, Number.NaN, Number.POSITIVE_INFINITY, 1e300, 2, 3), null)
      ;(file.get("R/data/b") as H5Group).create_dataset({
        name: "intervals",
        data: Float64Array.from([0, 1, 1, 2, 2, 3]),
        shape: [3, 2],
        dtype: "<d",
        chunks: [3, 2],
        compression: "gzip"
      })
      addVideo(file, "R", "a", f32([1, 2], 5, 6), f64([1, 2], 0.5, 0.75))
    })
    const csd = await readCsd(bytes, "made.csd")
    expect(summary(csd)).toEqual({ format: "csd", root: "R", dim: 2, videos: ["a", "b"], frames: { a: 1, b: 3 } })
    expect(csd.metadata).toEqual({ "root name": "R", note: "not json {" })
    // NaN, +inf and 1e300 (infinite in float32) become 0.
    expect(csd.nonfiniteReplaced).toBe(3)
    expect(Array.from(csd.videos.get("b")!.features)).toEqual([1, 0, 0, 0, 2, 3])
    expect(Array.from(csd.videos.get("b")!.intervals)).toEqual([0, 1, 1, 2, 2, 3])
    expect(Array.from(csd.videos.get("a")!.intervals)).toEqual([0.5, 0.75])
  })

  it("picks the root group that has data when there are several top-level groups", async () => {
    const bytes = await writeHdf5((file) => {
      file.create_group("notes")
      addVideo(file, "R", "a", f32([1, 1], 1), f64([1, 2], 0, 1))
    })
    expect((await readCsd(bytes, "made.csd")).root).toBe("R")
    const two = await writeHdf5((file) => {
      addVideo(file, "R", "a", f32([1, 1], 1), f64([1, 2], 0, 1))
      addVideo(file, "S", "a", f32([1, 1], 1), f64([1, 2], 0, 1))
    })
    expect((await csdError(two)).reason).toContain('found 2 groups ("R", "S")')
  })

  it("names the path inside the file for every layout problem", async () => {
    const cases: ReadonlyArray<readonly [string, (file: H5File) => void]> = [
      ["/R/data/a/intervals: missing dataset", (file) => addVideo(file, "R", "a", f32([1, 1], 1), null)],
      ["/R/data/a/features: missing dataset", (file) => addVideo(file, "R", "a", null, f64([1, 2], 0, 1))],
      ["/R/data/a/features: expected a 2-D", (file) => addVideo(file, "R", "a", f32([2], 1, 2), f64([2, 2], 0, 1, 1, 2))],
      ["/R/data/a/intervals: expected shape [2, 2]", (file) => addVideo(file, "R", "a", f32([2, 1], 1, 2), f64([1, 2], 0, 1))],
      ["/R/data/a/intervals: row 1 is [2, 1]", (file) => addVideo(file, "R", "a", f32([2, 1], 1, 2), f64([2, 2], 0, 1, 2, 1))],
      ["/R/data/a/intervals: row 0 is [NaN, 1]", (file) => addVideo(file, "R", "a", f32([1, 1], 1), f64([1, 2], Number.NaN, 1))],
      ["/R/data/a/features: expected numbers, found strings", (file) => addVideo(file, "R", "a", { data: ["x"], shape: [1] }, f64([1, 2], 0, 1))],
      ["/R/data/b/features: dimension 2 differs from 1", (file) => {
        addVideo(file, "R", "a", f32([1, 1], 1), f64([1, 2], 0, 1))
        addVideo(file, "R", "b", f32([1, 2], 1, 2), f64([1, 2], 0, 1))
      }],
      ["/R/data: no videos", (file) => makeGroups(file, "R/data")],
      ["/R/data: missing group", (file) => makeGroups(file, "R/other")]
    ]
    for (const [reason, build] of cases) {
      expect((await csdError(await writeHdf5(build))).reason).toContain(reason)
    }
  })

  it("refuses a corrupt shape larger than the file before allocating it", async () => {
    const bytes = await writeHdf5((file) => {
      addVideo(file, "R", "a", null, f64([1, 2], 0, 1))
      ;(file.get("R/data/a") as H5Group).create_dataset({
        name: "features",
        data: new Float32Array(4099),
        shape: [1, 4099],
        dtype: "<f",
        chunks: [1, 4099]
      })
    })
    // Rewrite the extent 4099 (8-byte little-endian in the dataspace) as 2^40 + 4099.
    let patched = 0
    for (let i = 0; i + 8 <= bytes.length; i++) {
      if ([0x03, 0x10, 0, 0, 0, 0, 0, 0].every((byte, k) => bytes[i + k] === byte)) {
        bytes[i + 5] = 0x01
        patched++
      }
    }
    expect(patched).toBeGreaterThan(0)
    const error = await csdError(bytes)
    expect(error.reason).toContain("/R/data/a/features: dataset shape [1, 1099511631875] needs 4398046527500 bytes")
  })
})

describe("alignToSegments (CMU-MultimodalSDK overlap semantics)", () => {
  const labels = sequence(1, { v: [[1, 2, 0.5], [5, 6, -1]], missing: [[0, 1, 3]] })

  it("keeps frames whose intersection with the segment is longer than epsilon, in start order", () => {
    const features = sequence(1, {
      v: [
        [2, 3, 8], // touches the end of [1, 2]
        [1.5, 2.5, 4], // partial overlap 0.5
        [0, 1, 1], // touches the start of [1, 2]
        [1.2, 1.2, 16], // zero length inside the segment
        [0.5, 1.5, 2] // partial overlap 0.5
      ]
    })
    const aligned = alignToSegments(features, labels)
    expect(aligned.ids).toEqual(["missing[0]", "v[0]", "v[1]"])
    expect(Array.from(aligned.labels)).toEqual([3, 0.5, -1])
    expect(aligned.labelDim).toBe(1)
    expect(aligned.sequences[1]).toEqual({ steps: 2, dim: 1, data: Float32Array.from([2, 4]) })
    expect(aligned.emptySegments).toEqual(["missing[0]", "v[1]"])
    expect(aligned.sequences[0].steps).toBe(0)
    expect(aligned.sequences[2].steps).toBe(0)

    const collapsed = alignToSegments(features, labels, { collapse: "mean" })
    expect(collapsed.sequences[1]).toEqual({ steps: 1, dim: 1, data: Float32Array.from([3]) })
    expect(collapsed.emptySegments).toEqual(["missing[0]", "v[1]"])
  })

  it("uses the SDK's epsilon: an overlap of 5e-6 s does not count unless epsilon is 0", () => {
    const features = sequence(2, { v: [[1.999995, 3, 7, 9]] })
    expect(overlaps(1.999995, 3, 1, 2)).toBe(false)
    expect(alignToSegments(features, labels).sequences[1].steps).toBe(0)
    expect(alignToSegments(features, labels, { epsilon: 0 }).sequences[1]).toEqual({ steps: 1, dim: 2, data: Float32Array.from([7, 9]) })
    expect(() => alignToSegments(features, labels, { epsilon: -1 })).toThrow(InvalidOption)
  })

  it("pads and truncates to a SequenceBlock with lengths", () => {
    const features = sequence(1, { v: [[1, 1.5, 1], [1.2, 1.7, 2], [1.4, 1.9, 3]] })
    const aligned = alignToSegments(features, labels)
    const block = toSequenceBlock(aligned, 2)
    expect(block).toEqual({
      n: 3,
      steps: 2,
      dim: 1,
      data: Float32Array.from([0, 0, 1, 2, 0, 0]),
      lengths: Int32Array.from([0, 2, 0])
    })
    expect(toSequenceBlock(aligned, 4).lengths).toEqual(Int32Array.from([0, 3, 0]))
    expect(() => toSequenceBlock(aligned, 0)).toThrow(InvalidOption)
  })

  it("aligns the COVAREP fixture to the opinion segments", async () => {
    const covarep = await readCsd(fixture("fixture_COVAREP.csd"), "fixture_COVAREP.csd")
    const opinions = await readCsd(fixture("fixture_Opinion_Labels.csd"), "fixture_Opinion_Labels.csd")
    const aligned = alignToSegments(covarep, opinions)
    const rows = [...opinions.videos.values()].reduce((n, video) => n + video.steps, 0)
    expect(aligned.ids.length).toBe(rows)
    expect(aligned.sequences.length).toBe(rows)
    expect(aligned.labels.length).toBe(rows)
    expect(aligned.emptySegments).toEqual([])

    // Hand computation for trvid0[1]: the segment is [1, 2]; frames listed by start whose
    // intersection with it is longer than the SDK's epsilon.
    const segment = opinions.videos.get("trvid0")!
    const [start, end] = [segment.intervals[2], segment.intervals[3]]
    expect([start, end]).toEqual([1, 2])
    const frames = covarep.videos.get("trvid0")!
    const chosen: Array<number> = []
    for (let t = 0; t < frames.steps; t++) {
      const a = frames.intervals[2 * t]
      const b = frames.intervals[2 * t + 1]
      const from = a > start ? a : start
      const to = b < end ? b : end
      if (to - from > SDK_EPSILON) chosen.push(t)
    }
    expect(chosen).toEqual([3, 4, 5])
    const handMean = Array.from({ length: covarep.dim }, (_, k) =>
      chosen.reduce((sum, t) => sum + frames.features[t * covarep.dim + k], 0) / chosen.length)

    const position = aligned.ids.indexOf("trvid0[1]")
    expect(aligned.labels[position]).toBeCloseTo(2.4, 6)
    expect(aligned.sequences[position].steps).toBe(chosen.length)
    expect(Array.from(aligned.sequences[position].data.subarray(0, covarep.dim))).toEqual(
      Array.from(frames.features.subarray(3 * covarep.dim, 4 * covarep.dim))
    )
    const collapsed = alignToSegments(covarep, opinions, { collapse: "mean" })
    expect(collapsed.sequences[position].steps).toBe(1)
    Array.from(collapsed.sequences[position].data).forEach((value, k) => expect(value).toBeCloseTo(handMean[k], 5))
  })
})
