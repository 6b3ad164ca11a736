/**
 * A Dataset from a parsed dataset pickle, whichever of the two layouts it has: MMSA
 * (`aligned_50.pkl` / `unaligned_50.pkl`) or MulT (`mosi_data.pkl`, `mosei_senti_data.pkl`,
 * `iemocap_data.pkl`). Pure: the caller reads the bytes (a file, a `fetch`, a browser `File`) and
 * parses them with `Pickle.parse`.
 *
 * @since 0.2.0
 */
import type { Dataset } from "./Dataset"
import { FormatError } from "./Errors"
import * as Mmsa from "./Mmsa"
import * as Mult from "./Mult"
import type { PyValue } from "./Pickle"

/**
 * Build the Dataset of a parsed MMSA or MulT pickle; `file` names the source in errors. Throws the
 * readers' typed errors (`FormatError`, `PickleError`...), or a `FormatError` when the value has
 * neither layout.
 */
export const fromPickle = (value: PyValue, file: string): Dataset => {
  if (Mmsa.isMmsa(value)) return Mmsa.fromMmsa(value, file)
  if (Mult.isMult(value)) return Mult.fromMult(value, file)
  throw new FormatError({
    file,
    format: "mmsa-pickle or mult-pickle",
    reason: "expected a dict with train/valid/test splits holding MMSA (raw_text, regression_labels, ...) or MulT (labels, id, ...) keys"
  })
}
