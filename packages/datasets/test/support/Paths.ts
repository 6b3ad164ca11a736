import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The folder of the datasets test fixtures (files in the real on-disk formats, see its README). */
export const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url))

/** The absolute path of the test fixture `name` (e.g. `mmsa_aligned.pkl`). */
export const fixture = (name: string): string => path.join(FIXTURES, name)

/** The real CMU-MOSI subset of the `@haemsa/mosi-real` data package, inside this repository. */
export const MOSI_REAL = fileURLToPath(new URL("../../../mosi-real/data/", import.meta.url))
