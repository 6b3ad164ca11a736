// Run by Deno.test.ts under Deno: every reader on the shared fixtures, printed as one JSON line.
import { Csd, Mmsa, MosiReal, Mult, Pickle } from "../../src/index"
import * as fs from "node:fs"
import * as path from "node:path"

const shared = process.argv[2]
const bytes = (f: string) => new Uint8Array(fs.readFileSync(path.join(shared, f)))
const mmsa = Mmsa.fromMmsa(Pickle.parse(bytes("fixtures/mmsa_aligned.pkl"), { file: "mmsa" }), "mmsa")
const mult = Mult.fromMult(Pickle.parse(bytes("fixtures/mult_iemocap.pkl"), { file: "iemocap" }), "iemocap")
const csd = await Csd.readCsd(bytes("fixtures/fixture_COVAREP.csd"), "covarep")
const dir = path.join(shared, "data/mosi-real")
const text = (f: string) => fs.readFileSync(path.join(dir, f), "utf8")
const mosi = MosiReal.fromMosiRealFiles({
  labelsCsv: text("labels.csv"),
  transcriptsTsv: text("transcripts.tsv"),
  foldsJson: text("folds.json"),
  audioVideoIdsJson: text("audio_video_ids.json"),
  audio: Pickle.parse(bytes("data/mosi-real/audio_openSMILE.pickle"), { file: "audio", encoding: "latin1" })
}, dir)
let badCsd = ""
try {
  await Csd.readCsd(bytes("fixtures/bad_not_hdf5.csd"), "bad.csd")
} catch (e) {
  badCsd = (e as { _tag?: string })._tag ?? "?"
}
console.log(JSON.stringify({
  mmsa: [mmsa.splits.train.n, mmsa.splits.train.nonfiniteReplaced.audio],
  iemocap: [mult.task, mult.splits.train.n],
  csd: [csd.root, csd.dim, csd.videos.size],
  mosi: [mosi.splits.train.n, mosi.splits.valid.n, mosi.splits.test.n],
  badCsd
}))
process.exit(0)
