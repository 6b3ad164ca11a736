import { FormatError, InvalidOption, PickleError } from "../../src/Errors"

/**
 * Run `f`, expect it to throw an instance of `type`, and return that error for further checks
 * (fails with what was thrown instead, or with "nothing was thrown").
 */
export const thrown = <E>(type: abstract new(...args: never[]) => E, f: () => unknown): E => {
  try {
    f()
  } catch (e) {
    if (e instanceof type) return e
    throw new Error(`expected a ${type.name}, got ${String(e)}`)
  }
  throw new Error(`expected a ${type.name}, nothing was thrown`)
}

/** The `InvalidOption` that `f` throws. */
export const invalidOption = (f: () => unknown): InvalidOption => thrown(InvalidOption, f)

/** The `FormatError` that `f` throws. */
export const formatError = (f: () => unknown): FormatError => thrown(FormatError, f)

/** The `PickleError` that `f` throws. */
export const pickleError = (f: () => unknown): PickleError => thrown(PickleError, f)
