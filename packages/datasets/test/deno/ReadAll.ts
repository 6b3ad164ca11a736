// Run by Deno.test.ts under Deno: every reader on the repository's test fixtures and the mosi-real
// data package, through DatasetLoader as a user would call it, printed as one JSON line.
import { Effect } from "effect"
import { DatasetLoader } from "../../src/index"
import { fixture, MOSI_REAL } from "../support/Paths"

const { badCsd, csd, mmsa, mosi, mult } = await Effect.runPromise(Effect.all({
  mmsa: DatasetLoader.loadPickle(fixture("mmsa_aligned.pkl")),
  mult: DatasetLoader.loadPickle(fixture("mult_iemocap.pkl")),
  csd: DatasetLoader.loadCsd(fixture("fixture_COVAREP.csd")),
  mosi: DatasetLoader.loadMosiReal(MOSI_REAL),
  badCsd: Effect.flip(DatasetLoader.loadCsd(fixture("bad_not_hdf5.csd")))
}))
console.log(JSON.stringify({
  mmsa: [mmsa.splits.train.n, mmsa.splits.train.nonfiniteReplaced.audio],
  iemocap: [mult.task, mult.splits.train.n],
  csd: [csd.root, csd.dim, csd.videos.size],
  mosi: [mosi.splits.train.n, mosi.splits.valid.n, mosi.splits.test.n],
  badCsd: badCsd._tag
}))
process.exit(0)
