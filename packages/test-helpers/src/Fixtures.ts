/**
 * The test fixtures: small files in the real on-disk formats (MMSA and MulT pickles, CMU .csd), kept
 * with the datasets tests (see the README there) and read by the tests of other packages too.
 */
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The folder of the test fixtures, `packages/datasets/test/fixtures/`. */
export const FIXTURES = fileURLToPath(new URL("../../datasets/test/fixtures/", import.meta.url))

/** The absolute path of the test fixture `name` (e.g. `mmsa_aligned.pkl`). */
export const fixture = (name: string): string => path.join(FIXTURES, name)
