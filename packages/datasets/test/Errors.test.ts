import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as DatasetLoader from "../src/DatasetLoader"
import * as Errors from "../src/Errors"
import { fixture, FIXTURES } from "./support/Paths"

/** The error classes that `Errors` exports (every class whose instances are Errors). */
const errorClasses = (Object.values(Errors) as ReadonlyArray<unknown>).filter(
  (v): v is new(...args: never[]) => Error => typeof v === "function" && v.prototype instanceof Error
)

/** One instance of every error class. */
const instances: ReadonlyArray<Errors.DatasetError> = [
  new Errors.PickleError({ file: "a.pkl", offset: 3, reason: "truncated" }),
  new Errors.CsdError({ file: "a.csd", reason: "not HDF5" }),
  new Errors.FormatError({ file: "a.pkl", format: "mmsa-pickle", reason: "missing key" }),
  new Errors.FileError({ file: "a", reason: "no such file or folder" }),
  new Errors.InvalidOption({ option: "seed", value: "x", reason: "not an integer" }),
  new Errors.PackageMissing({ packageName: "some-package", install: "npm install some-package", reason: "not found" })
]

describe("Errors.DatasetErrorSchema", () => {
  it("is the union of every error class of the module, so a new class cannot be left out", () => {
    expect(errorClasses.length).toBe(instances.length)
    expect(new Set(Errors.DatasetErrorSchema.members)).toEqual(new Set(errorClasses))
    expect(new Set(instances.map((e) => e.constructor))).toEqual(new Set(errorClasses))
  })

  it("isDatasetError recognises the instances of those classes and nothing else", () => {
    for (const e of instances) expect(Errors.isDatasetError(e), e._tag).toBe(true)
    for (const other of [new Error("boom"), { _tag: "FileError", file: "a", reason: "r" }, "FileError", null, undefined, 1]) {
      expect(Errors.isDatasetError(other)).toBe(false)
    }
  })

  it("keeps a cause without changing the message", () => {
    const cause = new Error("EACCES: permission denied")
    const e = new Errors.FileError({ file: "a.pkl", reason: "cannot read: EACCES", cause })
    expect(e.cause).toBe(cause)
    expect(e.message).toBe("a.pkl: cannot read: EACCES")
    expect(new Errors.FileError({ file: "a.pkl", reason: "r" }).cause).toBeUndefined()
  })
})

describe("DatasetLoader errors", () => {
  it.effect("passes an error of a reader through as it is", () =>
    Effect.gen(function*() {
      const e = yield* Effect.flip(DatasetLoader.loadPickle(fixture("bad_truncated.pkl")))
      expect(e).toBeInstanceOf(Errors.PickleError)
      expect(e.message).toMatch(/bad_truncated\.pkl: pickle error at byte \d+: truncated/)
    }))

  it.effect("keeps the file system's error as the cause of a FileError", () =>
    Effect.gen(function*() {
      const missing = fixture("no-such-file.pkl")
      const notFound = yield* Effect.flip(DatasetLoader.detect(missing))
      expect(notFound).toBeInstanceOf(Errors.FileError)
      expect(notFound.reason).toBe("no such file or folder")
      expect((notFound.cause as NodeJS.ErrnoException).code).toBe("ENOENT")

      const unreadable = yield* Effect.flip(DatasetLoader.loadPickle(FIXTURES))
      expect(unreadable).toBeInstanceOf(Errors.FileError)
      expect(unreadable.message).toMatch(/^.*fixtures\/?: cannot read: EISDIR/)
      expect((unreadable.cause as NodeJS.ErrnoException).code).toBe("EISDIR")
    }))
})
