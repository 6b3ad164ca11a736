// Run by Deno.test.ts under Deno: every reader on the shared fixtures, through DatasetLoader as a
// user would call it, printed as one JSON line.
import { Effect } from "effect"
import * as path from "node:path"
import { DatasetLoader } from "../../src/index"

const shared = process.argv[2]
const fixture = (f: string) => path.join(shared, "fixtures", f)
const { badCsd, csd, mmsa, mosi, mult } = await Effect.runPromise(Effect.all({
  mmsa: DatasetLoader.loadPickle(fixture("mmsa_aligned.pkl")),
  mult: DatasetLoader.loadPickle(fixture("mult_iemocap.pkl")),
  csd: DatasetLoader.loadCsd(fixture("fixture_COVAREP.csd")),
  mosi: DatasetLoader.loadMosiReal(path.join(shared, "data/mosi-real")),
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
