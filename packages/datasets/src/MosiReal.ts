/**
 * The real CMU-MOSI subset (text and audio, no vision) laid out like the `data/` folder of the
 * `@haemsa/mosi-real` package (`packages/mosi-real/data` in this repository):
 * `labels.csv`, `transcripts.tsv`, `folds.json`, `audio_openSMILE.pickle` and
 * `audio_video_ids.json`. Pure: the caller reads the files (and parses the pickle) and passes their
 * contents.
 *
 * @since 0.1.0
 */
import type { Dataset, SequenceBlock, Split, SplitName } from "./Dataset"
import { appendSteps, MODALITIES, SPLITS } from "./Dataset"
import { checkSplits } from "./DatasetCheck"
import { FormatError, InvalidOption, jsonError, quote } from "./Errors"
import { lexiconFeatures } from "./Lexicon"
import type { NumericNdArray } from "./NdArray"
import { isNumeric } from "./NdArray"
import type { PyValue } from "./Pickle"
import { isList, isTuple, typeName } from "./Pickle"
import { encodeWords, fitTokenizer, tokenize } from "./Tokenizer"
import { embed, type WordVectors } from "./WordVectorsFormat"

/** The contents of the five files of a mosi-real folder. */
export interface MosiRealFiles {
  /** `labels.csv`: no header, `start_s,end_s,video_id,segment_index,sentiment` per line. */
  readonly labelsCsv: string
  /** `transcripts.tsv`: header `segment_id<TAB>text`, segment id `<video_id>_<segment_index>`. */
  readonly transcriptsTsv: string
  /** `folds.json`: `{"train": [video ids], "valid": [...], "test": [...]}`. */
  readonly foldsJson: string
  /** `audio_video_ids.json`: `{"train": [...], "test": [...]}`, the video of each row of the pickle's `train_x` / `test_x`. */
  readonly audioVideoIdsJson: string
  /** `audio_openSMILE.pickle` parsed (encoding latin1): `(train_x, train_y, test_x, test_y, max_len, train_len, test_len)`. */
  readonly audio: PyValue
}

/** Options of {@link fromMosiRealFiles}. */
export interface MosiRealOptions {
  /**
   * Padded text length in words (default: the 95th percentile, nearest rank, of the word counts of the
   * train transcripts; 28 on the standard data). Longer transcripts are truncated.
   */
  readonly maxSteps?: number
  /** Minimum count of a train word to enter the vocabulary (default 2). */
  readonly minCount?: number
  /** Maximum vocabulary size, not counting `<pad>` and `<unk>` (default 5000). */
  readonly maxVocab?: number
  /**
   * Pretrained word vectors as the text features: `features.text` becomes (n, maxSteps, dim), the
   * vector of each word (`WordVectorsFormat.embed`), with the 4 lexicon features appended per step
   * when `lexicon` is true (dim + 4). Without it, `features.text` is the lexicon features alone.
   */
  readonly textFeatures?: TextFeatures
}

/** Word vectors as mosi-real's text features ({@link MosiRealOptions.textFeatures}). */
export interface TextFeatures {
  readonly vectors: WordVectors
  /** Append the 4 lexicon features (`Lexicon.LEXICON_FEATURES`) after each word's vector. */
  readonly lexicon: boolean
}

/** Words of a split's transcripts, and those without a vector. */
export interface TokenCount {
  readonly unknown: number
  readonly total: number
}

/** What {@link readMosiReal} found besides the dataset. */
export interface MosiRealReport {
  /** The text length used (given or chosen). */
  readonly maxSteps: number
  /** Vocabulary size including `<pad>` and `<unk>`. */
  readonly vocabularySize: number
  /** Per split, the segments that have no audio row (their audio is zeros, length 0, mask 0). */
  readonly missingAudio: Readonly<Record<SplitName, ReadonlyArray<string>>>
  /** Per split, the words of the transcripts without a word vector (only with `textFeatures`). */
  readonly unknownTokens?: Readonly<Record<SplitName, TokenCount>>
}

/** One labelled segment of `labels.csv`. */
interface Segment {
  readonly id: string
  readonly video: string
  readonly index: number
  readonly label: number
  readonly line: number
}

/** Where the audio of one video is: row `row` of `array`, `length` utterances. */
interface AudioRow {
  readonly array: NumericNdArray
  readonly row: number
  readonly length: number
}

const FORMAT = "mosi-real"

/** Feature count of the openSMILE utterance descriptors in the standard file. */
export const AUDIO_DIM = 73

/**
 * Build the mosi-real Dataset (format "mosi-real", name "mosi-real", task "sentiment") from the
 * contents of its files; `dir` is only used to name files in errors (`${dir}/labels.csv`...).
 * Per split (videos from `folds.json`, segments in `labels.csv` order, ids `<video>_<segment>`):
 * - `labels.regression`: the sentiment, float32;
 * - `features.text`: AFINN lexicon features per word (n, maxSteps, 4), see `lexiconFeatures`; with
 *   `options.textFeatures`, the word vectors (n, maxSteps, dim), lexicon features appended if asked;
 * - `tokens`: word ids from a tokenizer fitted on the TRAIN transcripts only;
 * - `features.audio`: (n, 1, 73) utterance-level openSMILE features, float64 rounded to float32 with
 *   non-finite values replaced by 0 and counted in `nonfiniteReplaced.audio`; a segment with no audio
 *   row keeps zeros, length 0 and audio mask 0 (listed in the report of {@link readMosiReal});
 * - no vision (mask column 0); `rawText` the transcripts as written.
 *
 * @throws FormatError naming the file and the line or key of the first problem found (malformed line,
 * label NaN or outside [-3, 3], duplicate segment, segment without transcript, fold video unknown, a
 * fold with too few segments: see `DatasetCheck.checkSplits`).
 * @throws InvalidOption for a bad `maxSteps`, `minCount` or `maxVocab`.
 */
export const fromMosiRealFiles = (files: MosiRealFiles, dir: string, options: MosiRealOptions = {}): Dataset =>
  readMosiReal(files, dir, options).dataset

/** {@link fromMosiRealFiles}, also returning what was found (missing audio, the text length used). */
export const readMosiReal = (
  files: MosiRealFiles,
  dir: string,
  options: MosiRealOptions = {}
): { readonly dataset: Dataset; readonly report: MosiRealReport } => {
  const file = {
    labels: `${dir}/labels.csv`,
    transcripts: `${dir}/transcripts.tsv`,
    folds: `${dir}/folds.json`,
    audioIds: `${dir}/audio_video_ids.json`,
    audio: `${dir}/audio_openSMILE.pickle`
  }
  const segments = parseLabels(files.labelsCsv, file.labels)
  const transcripts = parseTranscripts(files.transcriptsTsv, file.transcripts)
  const segmentsOf = new Map<string, Array<Segment>>()
  for (const s of segments) {
    const list = segmentsOf.get(s.video)
    if (list === undefined) segmentsOf.set(s.video, [s])
    else list.push(s)
  }
  const byId = new Map(segments.map((s) => [s.id, s] as const))
  for (const s of segments) {
    if (!transcripts.has(s.id)) {
      throw formatError(file.transcripts, `no transcript for segment ${s.id} (${file.labels} line ${s.line})`)
    }
  }
  for (const [id, { line }] of transcripts) {
    if (!byId.has(id)) throw formatError(file.transcripts, `line ${line}: segment ${id} has no label in ${file.labels}`)
  }
  const splitOf = parseFolds(files.foldsJson, file.folds, segmentsOf)
  for (const [video, list] of segmentsOf) {
    if (!splitOf.has(video)) {
      throw formatError(file.folds, `video ${video} (${file.labels} line ${list[0].line}) is in no fold`)
    }
  }
  const audio = parseAudio(files.audio, files.audioVideoIdsJson, file, segmentsOf)

  const members: Record<SplitName, Array<Segment>> = { train: [], valid: [], test: [] }
  for (const s of segments) members[splitOf.get(s.video)!].push(s)
  const words = (split: SplitName) => members[split].map((s) => tokenize(transcripts.get(s.id)!.text))
  const trainWords = words("train")
  const maxSteps = options.maxSteps ?? percentileLength(trainWords, 0.95)
  if (!Number.isInteger(maxSteps) || maxSteps < 1) {
    throw new InvalidOption({ option: "maxSteps", value: String(maxSteps), reason: "must be an integer >= 1" })
  }
  const tokenizer = fitTokenizer(
    members.train.map((s) => transcripts.get(s.id)!.text),
    { minCount: options.minCount ?? 2, maxVocab: options.maxVocab ?? 5000 }
  )

  const missingAudio: Record<SplitName, Array<string>> = { train: [], valid: [], test: [] }
  const unknownTokens = {} as Record<SplitName, TokenCount>
  const textBlock = (name: SplitName, w: ReadonlyArray<ReadonlyArray<string>>): SequenceBlock => {
    const lexicon = lexiconFeatures(w, maxSteps)
    const vectors = options.textFeatures
    if (vectors === undefined) return lexicon
    const embedded = embed(vectors.vectors, w, maxSteps)
    unknownTokens[name] = { unknown: embedded.unknownTokens, total: embedded.totalTokens }
    return vectors.lexicon ? appendSteps(embedded.block, lexicon) : embedded.block
  }
  const splits = {} as Record<SplitName, Split>
  for (const name of SPLITS) {
    const list = members[name]
    const n = list.length
    const w = name === "train" ? trainWords : words(name)
    const audioBlock = audioFeatures(list, audio)
    for (const i of audioBlock.missing) missingAudio[name].push(list[i].id)
    const mask = new Uint8Array(n * MODALITIES.length)
    for (let i = 0; i < n; i++) {
      mask[i * 3] = 1
      mask[i * 3 + 1] = audioBlock.block.lengths[i]
    }
    splits[name] = {
      n,
      ids: list.map((s) => s.id),
      features: { text: textBlock(name, w), audio: audioBlock.block },
      tokens: encodeWords(tokenizer, w, maxSteps),
      mask,
      labels: { regression: Float32Array.from(list, (s) => s.label) },
      nonfiniteReplaced: { text: 0, audio: audioBlock.nonfinite, vision: 0 },
      rawText: list.map((s) => transcripts.get(s.id)!.text)
    }
  }
  const dataset: Dataset = { name: "mosi-real", format: "mosi-real", task: "sentiment", splits }
  // the folds decide the splits: an empty or too small one is the folds file's problem
  checkSplits(dataset, file.folds)
  const report: MosiRealReport = { maxSteps, vocabularySize: tokenizer.vocabulary.length, missingAudio }
  return { dataset, report: options.textFeatures === undefined ? report : { ...report, unknownTokens } }
}

const formatError = (file: string, reason: string): FormatError => new FormatError({ file, format: FORMAT, reason })

/** Lines of a text file without their line ends; a final newline does not make an empty last line. */
const lines = (text: string): Array<string> => {
  const out = text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
  if (out.length > 0 && out[out.length - 1] === "") out.pop()
  return out
}

const isNumber = (field: string): boolean => field.trim() !== "" && Number.isFinite(Number(field))

const parseLabels = (text: string, file: string): Array<Segment> => {
  const segments: Array<Segment> = []
  const seen = new Map<string, number>()
  lines(text).forEach((content, k) => {
    const line = k + 1
    const fields = content.split(",")
    if (fields.length !== 5) {
      throw formatError(
        file,
        `line ${line}: expected 5 fields start_s,end_s,video_id,segment_index,sentiment, got ${fields.length}`
      )
    }
    const [start, end, video, index, sentiment] = fields
    if (!isNumber(start) || !isNumber(end)) throw formatError(file, `line ${line}: start_s/end_s must be numbers`)
    if (video === "" || /\s/.test(video)) throw formatError(file, `line ${line}: bad video_id ${quote(video)}`)
    if (!/^[1-9][0-9]*$/.test(index)) {
      throw formatError(file, `line ${line}: segment_index must be an integer >= 1, got ${quote(index)}`)
    }
    const label = Number(sentiment)
    if (!isNumber(sentiment) || label < -3 || label > 3) {
      throw formatError(file, `line ${line}: sentiment must be a number in [-3, 3], got ${quote(sentiment)}`)
    }
    const id = `${video}_${index}`
    const previous = seen.get(id)
    if (previous !== undefined) throw formatError(file, `line ${line}: segment ${quote(id)} repeats line ${previous}`)
    seen.set(id, line)
    segments.push({ id, video, index: Number(index), label, line })
  })
  if (segments.length === 0) throw formatError(file, "no segment")
  return segments
}

const parseTranscripts = (text: string, file: string): Map<string, { text: string; line: number }> => {
  const all = lines(text)
  if (all[0] !== "segment_id\ttext") {
    throw formatError(file, `line 1: expected the header "segment_id<TAB>text", got ${quote(all[0] ?? "")}`)
  }
  const out = new Map<string, { text: string; line: number }>()
  for (let k = 1; k < all.length; k++) {
    const line = k + 1
    const fields = all[k].split("\t")
    if (fields.length !== 2 || fields[0] === "") {
      throw formatError(file, `line ${line}: expected segment_id<TAB>text, got ${fields.length} field(s)`)
    }
    const previous = out.get(fields[0])
    if (previous !== undefined) throw formatError(file, `line ${line}: segment ${quote(fields[0])} repeats line ${previous.line}`)
    out.set(fields[0], { text: fields[1], line })
  }
  return out
}

const parseJson = (text: string, file: string): unknown => {
  try {
    return JSON.parse(text)
  } catch (e) {
    throw formatError(file, `invalid JSON: ${jsonError(e)}`)
  }
}

/** A JSON value in a message: a number or boolean as it is, anything else by kind (its text is the file's). */
const describeValue = (v: unknown): string =>
  typeof v === "number" || typeof v === "boolean" || v === null
    ? String(v)
    : Array.isArray(v)
    ? "a list"
    : typeof v === "object"
    ? "an object"
    : quote(String(v))

const stringList = (value: unknown, file: string, key: string): Array<string> => {
  if (!Array.isArray(value)) throw formatError(file, `key ${key}: expected a list of video ids`)
  value.forEach((v, i) => {
    if (typeof v !== "string") throw formatError(file, `key ${key}[${i}]: expected a string, got ${describeValue(v)}`)
  })
  return value as Array<string>
}

const parseFolds = (text: string, file: string, segmentsOf: ReadonlyMap<string, unknown>): Map<string, SplitName> => {
  const json = parseJson(text, file)
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw formatError(file, "expected an object with keys train, valid, test")
  }
  const splitOf = new Map<string, SplitName>()
  for (const name of SPLITS) {
    const videos = stringList((json as Record<string, unknown>)[name], file, name)
    videos.forEach((video, i) => {
      const key = `${name}[${i}]`
      if (!segmentsOf.has(video)) throw formatError(file, `key ${key}: video ${video} has no segment in labels.csv`)
      const other = splitOf.get(video)
      if (other !== undefined) throw formatError(file, `key ${key}: video ${video} is also in ${other}`)
      splitOf.set(video, name)
    })
  }
  return splitOf
}

const parseAudio = (
  audio: PyValue,
  idsJson: string,
  file: { readonly audio: string; readonly audioIds: string; readonly labels: string },
  segmentsOf: ReadonlyMap<string, ReadonlyArray<Segment>>
): Map<string, AudioRow> => {
  if (!isTuple(audio) || audio.items.length !== 7) {
    throw formatError(file.audio, `expected a 7-tuple (train_x, train_y, test_x, test_y, max_len, train_len, test_len), got ${typeName(audio)}`)
  }
  const json = parseJson(idsJson, file.audioIds)
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw formatError(file.audioIds, "expected an object with keys train, test")
  }
  const rows = new Map<string, AudioRow>()
  const parts = [
    { key: "train", x: audio.items[0], len: audio.items[5], name: "train_x" },
    { key: "test", x: audio.items[2], len: audio.items[6], name: "test_x" }
  ]
  for (const { key, len, name, x } of parts) {
    if (!isNumeric(x) || x.shape.length !== 3 || x.shape[2] !== AUDIO_DIM) {
      throw formatError(file.audio, `${name}: expected a numeric array (videos, max_len, ${AUDIO_DIM}), got ${typeName(x)}`)
    }
    const [count, maxLen] = x.shape
    const lengthName = `${key}_len`
    if (!isList(len) || len.length !== count) {
      throw formatError(file.audio, `${lengthName}: expected a list of ${count} ints, got ${typeName(len)}`)
    }
    const videos = stringList((json as Record<string, unknown>)[key], file.audioIds, key)
    if (videos.length !== count) {
      throw formatError(file.audioIds, `key ${key}: ${videos.length} video ids for the ${count} rows of ${name}`)
    }
    videos.forEach((video, row) => {
      const length = len[row]
      if (typeof length !== "number" || !Number.isInteger(length) || length < 0 || length > maxLen) {
        throw formatError(file.audio, `${lengthName}[${row}]: expected an int in [0, ${maxLen}], got ${String(length)}`)
      }
      const segments = segmentsOf.get(video)
      if (segments === undefined) throw formatError(file.audioIds, `key ${key}[${row}]: video ${video} has no segment in labels.csv`)
      if (rows.has(video)) throw formatError(file.audioIds, `key ${key}[${row}]: video ${video} has two audio rows`)
      if (length > segments.length) {
        throw formatError(
          file.audio,
          `${name} row ${row} (video ${video}) has ${length} utterances but ${file.labels} has ${segments.length} segments`
        )
      }
      rows.set(video, { array: x, row, length })
    })
  }
  return rows
}

/** Audio (n, 1, dim) of segments: utterance `index - 1` of the video's row, or zeros and length 0. */
const audioFeatures = (
  segments: ReadonlyArray<Segment>,
  rows: ReadonlyMap<string, AudioRow>
): { block: SequenceBlock; missing: Array<number>; nonfinite: number } => {
  const n = segments.length
  const data = new Float32Array(n * AUDIO_DIM)
  const lengths = new Int32Array(n)
  const missing: Array<number> = []
  let nonfinite = 0
  segments.forEach((s, i) => {
    const r = rows.get(s.video)
    if (r === undefined || s.index > r.length) {
      missing.push(i)
      return
    }
    const source = r.array.data
    const offset = (r.row * r.array.shape[1] + s.index - 1) * AUDIO_DIM
    for (let d = 0; d < AUDIO_DIM; d++) {
      const v = Math.fround(source[offset + d])
      if (Number.isFinite(v)) data[i * AUDIO_DIM + d] = v
      else nonfinite++
    }
    lengths[i] = 1
  })
  return { block: { n, steps: 1, dim: AUDIO_DIM, data, lengths }, missing, nonfinite }
}

/** The `q` quantile (nearest rank) of the word counts, at least 1. */
const percentileLength = (words: ReadonlyArray<ReadonlyArray<string>>, q: number): number => {
  if (words.length === 0) return 1
  const counts = words.map((w) => w.length).sort((a, b) => a - b)
  return Math.max(1, counts[Math.ceil(q * counts.length) - 1])
}
