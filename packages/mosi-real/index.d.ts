/**
 * @haemsa/mosi-real: a real CMU-MOSI subset (text and audio features, sentiment labels, the standard
 * folds) as files on disk, for `haemsa train --data mosi-real`. The data follow CMU-MOSI's terms,
 * not MIT (see the package's LICENSE).
 *
 * @module @haemsa/mosi-real
 */

/** The folder holding the CMU-MOSI subset (labels.csv, transcripts.tsv, folds.json, audio_openSMILE.pickle, ...), ending in a path separator. */
export declare const directory: string
