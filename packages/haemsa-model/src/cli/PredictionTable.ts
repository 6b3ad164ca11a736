/**
 * The table `haemsa predict` prints without `--json`: per sample its id, the sentiment and 7-class
 * label (or each emotion's probability), the words read and how many were unknown (models that read
 * raw text), the modality gates, then one line per task with the attention weight of each expert, and
 * the transcript (cut to {@link TRANSCRIPT_WIDTH} characters). The columns depend only on the model,
 * so the table is written a batch at a time, its header first.
 *
 * @since 0.2.0
 */
import type * as Predict from "../model/Predict"

/** Characters of a transcript shown (longer ones end with `...`). */
export const TRANSCRIPT_WIDTH = 40

/** What the columns of a model's table are. */
export interface Layout {
  /** Sentiment and class (sentiment models) or the emotions' probabilities (emotion models). */
  readonly emotions?: ReadonlyArray<string>
  /** The modalities with a gate column (models with learned gates). */
  readonly gates?: ReadonlyArray<string>
  /** The words / unknown columns (models that read raw text). */
  readonly words: boolean
  /** The task attention columns: tasks (one line each) and experts (HAEMSA). */
  readonly attention?: { readonly tasks: ReadonlyArray<string>; readonly experts: ReadonlyArray<string> }
}

const ID = 18
const width = (name: string) => Math.max(name.length + 2, 9)
const num = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(4))

interface Column {
  readonly name: string
  readonly width: number
  readonly cell: (p: Predict.Prediction) => string
}

const columnsOf = (layout: Layout): Column[] => [
  ...(layout.emotions
    ? layout.emotions.map((e): Column => ({ name: e, width: width(e), cell: (p) => num(p.emotions?.[e]) }))
    : [
      { name: "sentiment", width: 11, cell: (p: Predict.Prediction) => num(p.sentiment) },
      { name: "class7", width: 8, cell: (p: Predict.Prediction) => (p.class7 === undefined ? "-" : String(p.class7)) }
    ]),
  ...(layout.words
    ? [
      { name: "words", width: 7, cell: (p: Predict.Prediction) => (p.tokens === undefined ? "-" : String(p.tokens)) },
      { name: "unknown", width: 9, cell: (p: Predict.Prediction) => (p.unknownTokens === undefined ? "-" : String(p.unknownTokens)) }
    ]
    : []),
  ...(layout.gates ?? []).map((m): Column => ({ name: `gate ${m}`, width: width(`gate ${m}`), cell: (p) => num(p.gates?.[m]) }))
]

const TASK = 16

/** The header line of a model's table. */
export const header = (layout: Layout): string =>
  [
    "id".padEnd(ID),
    ...columnsOf(layout).map((c) => c.name.padStart(c.width)),
    ...(layout.attention ? ["  ", "task".padEnd(TASK), ...layout.attention.experts.map((e) => e.padStart(width(e)))] : []),
    "  transcript"
  ].join("").trimEnd()

/** The transcript as shown: on one line, cut to {@link TRANSCRIPT_WIDTH} characters. */
export const shortTranscript = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  return flat.length <= TRANSCRIPT_WIDTH ? flat : `${flat.slice(0, TRANSCRIPT_WIDTH - 3)}...`
}

/** The lines of one prediction: one per task with attention weights (the first carries the rest), else one. */
export const lines = (layout: Layout, p: Predict.Prediction): string[] => {
  const columns = columnsOf(layout)
  const lead = p.id.padEnd(ID - 1) + " " + columns.map((c) => c.cell(p).padStart(c.width)).join("")
  const blank = " ".repeat(lead.length)
  const transcript = p.transcript === undefined ? "" : `  ${JSON.stringify(shortTranscript(p.transcript))}`
  const attention = layout.attention
  if (!attention) return [(lead + transcript).trimEnd()]
  return attention.tasks.map((task, k) => {
    const weights = attention.experts.map((e) => num(p.attention?.[task]?.[e]).padStart(width(e))).join("")
    return ((k === 0 ? lead : blank) + "  " + task.padEnd(TASK) + weights + (k === 0 ? transcript : "")).trimEnd()
  })
}
