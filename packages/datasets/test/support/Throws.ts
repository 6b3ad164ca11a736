import { expect } from "vitest"
import { InvalidOption } from "../../src/Errors"

/** Run `f`, expect it to throw an `InvalidOption`, and return that error for further checks. */
export const invalidOption = (f: () => unknown): InvalidOption => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidOption)
    return e as InvalidOption
  }
  throw new Error("expected InvalidOption")
}
