import { fileURLToPath } from "node:url"

/** The folder holding the CMU-MOSI subset (labels.csv, transcripts.tsv, folds.json, audio_openSMILE.pickle, ...). */
export const directory = fileURLToPath(new URL("./data/", import.meta.url))
