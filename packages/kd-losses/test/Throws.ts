import { expect } from "vitest"

/** Run `f`, expect it to throw an instance of `type`, and return that error for further checks. */
export const thrown = <E>(type: abstract new (...args: never[]) => E, f: () => unknown): E => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(type)
    return e as E
  }
  throw new Error(`expected a ${type.name}`)
}
