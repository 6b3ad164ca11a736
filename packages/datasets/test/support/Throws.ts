import { thrown } from "@haemsa/test-helpers"
import { FormatError, InvalidOption, PickleError } from "../../src/Errors"

/** The `InvalidOption` that `f` throws. */
export const invalidOption = (f: () => unknown): InvalidOption => thrown(InvalidOption, f)

/** The `FormatError` that `f` throws. */
export const formatError = (f: () => unknown): FormatError => thrown(FormatError, f)

/** The `PickleError` that `f` throws. */
export const pickleError = (f: () => unknown): PickleError => thrown(PickleError, f)
