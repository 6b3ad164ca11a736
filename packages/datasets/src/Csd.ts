/**
 * CMU-MultimodalSDK computational sequences (`.csd` files): HDF5 files with the layout
 * `/<root>/data/<video_id>/{features (T,d), intervals (T,2)}` and `/<root>/metadata/<key>` (one
 * variable-length string holding JSON). `readCsd` reads one with h5wasm in a worker thread (see
 * `Hdf5.ts`; Node and Deno only); the pure validation of the HDF5 tree, `decodeComputationalSequence`,
 * and `summary` live in `CsdSequence.ts` and are re-exported here.
 *
 * @since 0.1.0
 */
import * as CsdSequence from "./CsdSequence"
import { readHdf5 } from "./Hdf5"

export { decodeComputationalSequence, summary } from "./CsdSequence"

// Type aliases rather than `export type { ... } from`: the declaration bundler turns a type re-exported
// from the chunk shared with the browser entry into a value (`typeof X`).

/** The frames of one video (see `CsdSequence.CsdVideo`). */
export type CsdVideo = CsdSequence.CsdVideo
/** A computational sequence: one feature set (or the labels) for every video (see `CsdSequence.ComputationalSequence`). */
export type ComputationalSequence = CsdSequence.ComputationalSequence
/** What `haemsa data inspect x.csd --json` prints (see `CsdSequence.CsdSummary`). */
export type CsdSummary = CsdSequence.CsdSummary

/** Options of `readCsd`. */
export interface ReadCsdOptions {
  /** Deadline for the HDF5 read in milliseconds (default: 10 s plus 1 s per 10 MB). */
  readonly timeoutMs?: number
}

/** Link levels of the layout: root group / data / video / dataset. */
const CSD_DEPTH = 4

/**
 * Read a `.csd` file (its whole content as bytes) into a `ComputationalSequence`. Rejects with a
 * `CsdError` naming `file` (and the path inside the HDF5 file) when the bytes are not HDF5, are
 * corrupt or truncated, or do not have the computational-sequence layout.
 */
export const readCsd = async (bytes: Uint8Array, file: string, options: ReadCsdOptions = {}): Promise<ComputationalSequence> => {
  const tree = await readHdf5(bytes, file, { maxDepth: CSD_DEPTH, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
  return CsdSequence.decodeComputationalSequence(tree, file)
}
