// Text from a file never reaches an error message raw: `Errors.quote` (up to 25 characters, escaped)
// and `Errors.printable` (a whole message, e.g. a JSON parser's, which quotes the file itself).
import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "vitest"
import * as Errors from "../src/Errors"
import { fromMosiRealFiles, type MosiRealFiles } from "../src/MosiReal"
import * as Pickle from "../src/Pickle"
import { Reject } from "../src/pickle/Reject"
import * as Text from "../src/pickle/Text"
import { MOSI_REAL } from "./support/Paths"
import { formatError } from "./support/Throws"

/** Characters a terminal may act on: C0/C1 controls, DEL, bidirectional overrides, line separators. */
const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/

/** A title-setting OSC sequence, a screen clear, an 8-bit CSI and a right-to-left override. */
const HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil"

describe("Errors.quote and Errors.printable", () => {
  it("escape every non-printable character, keep the rest, and quote at most 25 characters", () => {
    expect(Errors.printable(HOSTILE)).toBe("\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202eevil")
    expect(Errors.printable("caf\u00e9 \u65e5\u672c \u{1f600} C:\\path")).toBe("caf\u00e9 \u65e5\u672c \u{1f600} C:\\path")
    expect(Errors.printable("\ud800x")).toBe("\\ud800x")
    expect(Errors.quote(HOSTILE)).toBe("\"\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202eevil\"")
    expect(Errors.quote("a\"b\\c")).toBe("\"a\\\"b\\\\c\"")
    expect(Errors.quote("x".repeat(30))).toBe(`"${"x".repeat(25)}"...`)
    expect(Errors.quote("\u{1f600}".repeat(26))).toBe(`"${"\u{1f600}".repeat(25)}"...`)
    expect(Errors.quote("abc", 2)).toBe("\"ab\"...")
  })

  it("a JSON parser's message, which quotes the text around the error, made printable", () => {
    let message = ""
    try {
      JSON.parse(HOSTILE)
    } catch (e) {
      message = Errors.jsonError(e)
    }
    expect(message).toContain("\\x1b")
    expect(message).not.toMatch(RAW_CONTROL)
  })
})

describe("messages that quote a file's content print no control characters", () => {
  const read = (f: string) => readFileSync(path.join(MOSI_REAL, f), "utf8")
  const files = (): MosiRealFiles => ({
    labelsCsv: read("labels.csv"),
    transcriptsTsv: read("transcripts.tsv"),
    foldsJson: read("folds.json"),
    audioVideoIdsJson: read("audio_video_ids.json"),
    audio: Pickle.parse(new Uint8Array(readFileSync(path.join(MOSI_REAL, "audio_openSMILE.pickle"))), { encoding: "latin1" })
  })

  it("mosi-real: a bad label, a bad header, a folds file that is not JSON", () => {
    const good = files()
    const labels = good.labelsCsv.split("\n")
    labels[2] = labels[2].replace(/,[^,]*$/, `,${HOSTILE}`)
    const cases: ReadonlyArray<Partial<MosiRealFiles>> = [
      { labelsCsv: labels.join("\n") },
      { transcriptsTsv: `${HOSTILE}\n` },
      { foldsJson: HOSTILE }
    ]
    for (const edit of cases) {
      const e = formatError(() => fromMosiRealFiles({ ...good, ...edit }, MOSI_REAL))
      expect(e.message).toContain("\\x1b")
      expect(e.message).not.toMatch(RAW_CONTROL)
    }
  })

  it("pickle: an INT line that is not a number", () => {
    let reason = ""
    try {
      Text.parseInteger(`1${HOSTILE}`)
    } catch (e) {
      if (e instanceof Reject) reason = e.reason
    }
    expect(reason).toBe(`invalid integer ${Errors.quote(`1${HOSTILE}`, 40)}`)
    expect(reason).not.toMatch(RAW_CONTROL)
  })
})
