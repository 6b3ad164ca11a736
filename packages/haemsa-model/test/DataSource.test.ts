import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { DataPackageMissing, MOSI_REAL_ENV, resolveDataSource, type PackageImporter } from "../src/cli/DataSource"
import { MOSI_REAL } from "./Support"

const MISSING_MESSAGE =
  "--data mosi-real needs the data package: npm install @haemsa/mosi-real (or pass a mosi-real folder path, or set HAEMSA_MOSI_REAL)"

/** Resolve `data` with the given environment (only these variables) and importer. */
const resolve = (data: string, env: Record<string, string>, importer?: PackageImporter) =>
  resolveDataSource(data, importer).pipe(Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env)))

/** An importer that fails as Node's does when a package is not installed. */
const notInstalled: PackageImporter = () =>
  Promise.reject(Object.assign(new Error("Cannot find package '@haemsa/mosi-real' imported from /app/dist/index.js"), { code: "ERR_MODULE_NOT_FOUND" }))

/** An importer the test expects never to be called. */
const unused: PackageImporter = () => Promise.reject(new Error("the data package was imported"))

describe("resolveDataSource", () => {
  it.effect("returns synthetic and paths as they are, without importing the data package", () =>
    Effect.gen(function*() {
      for (const data of ["synthetic", "runs/aligned_50.pkl", "/data/mosi-real"]) {
        expect(yield* resolve(data, {}, unused)).toBe(data)
      }
    }))

  it.effect("mosi-real: the installed @haemsa/mosi-real package's folder, which holds the data", () =>
    Effect.gen(function*() {
      const dir = yield* resolve("mosi-real", {})
      expect(path.resolve(dir)).toBe(path.resolve(MOSI_REAL))
      expect(fs.existsSync(path.join(dir, "labels.csv"))).toBe(true)
    }))

  it.effect("mosi-real: $HAEMSA_MOSI_REAL wins over the package (an empty value does not)", () =>
    Effect.gen(function*() {
      expect(yield* resolve("mosi-real", { [MOSI_REAL_ENV]: "/data/my-mosi" }, unused)).toBe("/data/my-mosi")
      const fake: PackageImporter = () => Promise.resolve({ directory: "/from/the/package/" })
      expect(yield* resolve("mosi-real", { [MOSI_REAL_ENV]: "" }, fake)).toBe("/from/the/package/")
    }))

  it.effect("mosi-real without the package: a DataPackageMissing that says how to install it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(resolve("mosi-real", {}, notInstalled))
      expect(error).toBeInstanceOf(DataPackageMissing)
      expect(error.message).toBe(MISSING_MESSAGE)
      expect(error.reason).toContain("Cannot find package '@haemsa/mosi-real'")
    }))

  it.effect("mosi-real with a package that exports no folder: a DataPackageMissing too", () =>
    Effect.gen(function*() {
      for (const module of [{}, { directory: 3 }, { directory: "" }, null]) {
        const error = yield* Effect.flip(resolve("mosi-real", {}, () => Promise.resolve(module)))
        expect(error).toBeInstanceOf(DataPackageMissing)
        expect(error.reason).toBe("@haemsa/mosi-real exports no directory")
      }
    }))
})
