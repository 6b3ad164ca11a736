"use strict"
const path = require("node:path")

/** The folder holding the CMU-MOSI subset (labels.csv, transcripts.tsv, folds.json, audio_openSMILE.pickle, ...). */
exports.directory = path.join(__dirname, "data") + path.sep
