/**
 * @haemsa/datasets: real multimodal-sentiment file formats in, validated typed arrays out.
 * No TensorFlow.js: usable in workers, Deno and browsers.
 *
 * @since 0.1.0
 */

/** Splits of the batch/subset/modality-mask helpers. */
export * as Batching from "./Batching"
/** CMU-MultimodalSDK `.csd` (HDF5) computational sequences. */
export * as Csd from "./Csd"
/** Alignment of `.csd` feature sequences to label segments (the SDK's interval overlap and collapse). */
export * as CsdAlign from "./CsdAlign"
/** The Dataset value and its constants. */
export * as Dataset from "./Dataset"
/** The DatasetLoader service (file I/O, format detection). */
export * as DatasetLoader from "./DatasetLoader"
/** Typed errors. */
export * as Errors from "./Errors"
/** The HDF5 reader behind `.csd` files (h5wasm in a worker thread with a deadline). */
export * as Hdf5 from "./Hdf5"
/** Reports for `haemsa data inspect`. */
export * as Inspect from "./Inspect"
/** Token-level sentiment lexicon features. */
export * as Lexicon from "./Lexicon"
/** MMSA toolkit metrics (Acc-2/5/7, F1, MAE, Corr; IEMOCAP per-emotion acc/F1). */
export * as Metrics from "./Metrics"
/** MMSA `aligned_50.pkl` / `unaligned_50.pkl` layout. */
export * as Mmsa from "./Mmsa"
/** The real CMU-MOSI text + audio subset. */
export * as MosiReal from "./MosiReal"
/** MulT `mosi_data.pkl` / `mosei_senti_data.pkl` / `iemocap_data.pkl` layout. */
export * as Mult from "./Mult"
/** N-d arrays as typed arrays. */
export * as NdArray from "./NdArray"
/** Train-fitted standardisation. */
export * as Normalize from "./Normalize"
/** A safe Python pickle reader (numpy arrays included). */
export * as Pickle from "./Pickle"
/** Seeded randomness. */
export * as Random from "./Random"
/** The embedded synthetic default dataset. */
export * as Synthetic from "./Synthetic"
/** Tokenizer fitted on the train split. */
export * as Tokenizer from "./Tokenizer"
