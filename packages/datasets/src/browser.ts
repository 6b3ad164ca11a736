/**
 * @haemsa/datasets for browsers (and any runtime without Node built-ins): every module that works on
 * values and bytes in memory. Bundlers pick this entry through the `"browser"` export condition.
 * Reading files (`DatasetLoader`) and the HDF5 reader behind `.csd` files (`Csd.readCsd`, `Hdf5`:
 * h5wasm in a `node:worker_threads` worker) are in the Node/Deno entry only.
 *
 * @since 0.2.0
 */

/** Splits of the batch/subset/modality-mask helpers. */
export * as Batching from "./Batching"
/** Alignment of `.csd` feature sequences to label segments (the SDK's interval overlap and collapse). */
export * as CsdAlign from "./CsdAlign"
/** The `.csd` computational-sequence value: validation of an HDF5 tree, summary. */
export * as CsdSequence from "./CsdSequence"
/** The Dataset value and its constants. */
export * as Dataset from "./Dataset"
/** The checks every dataset's splits pass when read (sizes, feature shapes, labels). */
export * as DatasetCheck from "./DatasetCheck"
/** Typed errors. */
export * as Errors from "./Errors"
/** Reports for `haemsa data inspect`. */
export * as Inspect from "./Inspect"
/** Token-level sentiment lexicon features. */
export * as Lexicon from "./Lexicon"
/** MMSA toolkit metrics (Acc-2/5/7, F1, MAE, Corr; IEMOCAP per-emotion acc/F1). */
export * as Metrics from "./Metrics"
/** MMSA `aligned_50.pkl` / `unaligned_50.pkl` layout. */
export * as Mmsa from "./Mmsa"
/** The real CMU-MOSI text + audio subset, from the contents of its files. */
export * as MosiReal from "./MosiReal"
/** MulT `mosi_data.pkl` / `mosei_senti_data.pkl` / `iemocap_data.pkl` layout. */
export * as Mult from "./Mult"
/** N-d arrays as typed arrays. */
export * as NdArray from "./NdArray"
/** Train-fitted standardisation. */
export * as Normalize from "./Normalize"
/** A safe Python pickle reader (numpy arrays included). */
export * as Pickle from "./Pickle"
/** A Dataset from a parsed MMSA or MulT pickle, whichever layout it has. */
export * as PickleDataset from "./PickleDataset"
/** Seeded randomness. */
export * as Random from "./Random"
/** The embedded synthetic default dataset. */
export * as Synthetic from "./Synthetic"
/** Tokenizer fitted on the train split. */
export * as Tokenizer from "./Tokenizer"
/** Pretrained word vectors as values: lookup, the GloVe text and wink JSON parsers, embedding, plain-data form (files: `WordVectors` in the Node entry). */
export * as WordVectorsFormat from "./WordVectorsFormat"
