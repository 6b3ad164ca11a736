/** The folder holding the CMU-MOSI subset (labels.csv, transcripts.tsv, folds.json, audio_openSMILE.pickle, ...), ending in a path separator. */
export declare const directory: string
