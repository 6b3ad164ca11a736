/** Run cards: secrets redacted from the command line, hashes, versions, and the card's fields. */
import * as tf from "@tensorflow/tfjs"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as RunCard from "../src/model/RunCard"
import { sentimentData, tinySpec } from "./Support"

describe("RunCard.redactArgv", () => {
  it("replaces URL userinfo passwords and the values of token/password/secret flags with ***", () => {
    expect(
      RunCard.redactArgv([
        "haemsa",
        "train",
        "--queue",
        "redis://worker:hunter2@queue.local:6379/0",
        "--api-token",
        "abc123",
        "--db-password=s3cr3t",
        "--client-secret",
        "xyz",
        "--seed",
        "3",
        "--data",
        "https://user:pw@example.com/data.pkl"
      ])
    ).toEqual([
      "haemsa",
      "train",
      "--queue",
      "redis://worker:***@queue.local:6379/0",
      "--api-token",
      "***",
      "--db-password=***",
      "--client-secret",
      "***",
      "--seed",
      "3",
      "--data",
      "https://user:***@example.com/data.pkl"
    ])
  })

  it("leaves what holds no secret as it is (a URL without password, a flag value that is not a secret's)", () => {
    const argv = ["haemsa", "train", "--data", "redis://queue.local:6379", "--out", "runs/user@host", "--seeds", "1,2", "--spec=a.json"]
    expect(RunCard.redactArgv(argv)).toEqual(argv)
    // a secret flag with an inline value that itself looks like a flag value, and one at the very end
    expect(RunCard.redactArgv(["--token=--x", "--password"])).toEqual(["--token=***", "--password"])
    expect(RunCard.redactArgv(["--TOKEN", "t"])).toEqual(["--TOKEN", "***"])
  })
})

describe("RunCard.make", () => {
  const raw = sentimentData(1)
  const card = RunCard.make({ command: ["haemsa", "train", "--token", "t0p"], spec: tinySpec(), source: "tiny", raw, seeds: [1, 2], backend: "cpu" })

  it("holds every field", () => {
    expect(Object.keys(card).sort()).toEqual(["backend", "command", "data", "packages", "runtime", "seeds", "spec", "spec_sha256", "tfjs"])
    expect(card.command).toEqual(["haemsa", "train", "--token", "***"])
    expect(card.spec).toEqual(tinySpec())
    expect(card.spec_sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(card.data.source).toBe("tiny")
    expect(card.data.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(card.data.splits).toEqual({ train: 64, valid: 32, test: 32 })
    expect(card.seeds).toEqual([1, 2])
    expect(card.tfjs).toBe(tf.version.tfjs)
    expect(card.backend).toEqual({ name: "cpu", threads: 1 })
    expect(card.runtime).toEqual({ name: "node", version: process.versions.node })
  })

  it("reads the @haemsa versions from their package.json files", () => {
    const pkgDir = path.join(__dirname, "..")
    const own = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"))
    expect(card.packages["@haemsa/haemsa-model"]).toBe(own.version)
    const deps = Object.keys(own.dependencies).filter((n) => n.startsWith("@haemsa/"))
    expect(deps.length).toBeGreaterThan(0)
    for (const name of deps) {
      const version = JSON.parse(fs.readFileSync(path.join(pkgDir, "..", name.slice("@haemsa/".length), "package.json"), "utf8")).version
      expect(card.packages[name], name).toBe(version)
    }
  })

  it("finds the versions from an npm install's layout too (dist inside node_modules, dependencies hoisted or nested)", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-npm-"))
    try {
      const write = (dir: string, pkg: object) => {
        fs.mkdirSync(dir, { recursive: true })
        fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ exports: { ".": "./dist/index.js", "./package.json": "./package.json" }, ...pkg }))
      }
      const own = path.join(root, "node_modules", "@haemsa", "haemsa-model")
      write(own, { name: "@haemsa/haemsa-model", version: "9.8.7", dependencies: { "@haemsa/datasets": "^1", "@haemsa/nn": "^2", "effect": "4" }, peerDependencies: { "@haemsa/mosi-real": ">=0.1.0" } })
      write(path.join(root, "node_modules", "@haemsa", "datasets"), { name: "@haemsa/datasets", version: "1.2.3" })
      write(path.join(own, "node_modules", "@haemsa", "nn"), { name: "@haemsa/nn", version: "2.0.1" })
      write(path.join(root, "node_modules", "@haemsa", "mosi-real"), { name: "@haemsa/mosi-real", version: "0.4.0" })
      fs.mkdirSync(path.join(own, "dist"))
      expect(RunCard.packageVersions(path.join(own, "dist", "index.js"))).toEqual({
        "@haemsa/haemsa-model": "9.8.7",
        "@haemsa/datasets": "1.2.3",
        "@haemsa/nn": "2.0.1",
        "@haemsa/mosi-real": "0.4.0"
      })
    } finally {
      fs.rmSync(root, { recursive: true, force: true })
    }
  })

  it("the spec hash is the same whatever the key order, and differs for another spec", () => {
    const spec = tinySpec()
    const reordered = Object.fromEntries(Object.entries(spec).reverse()) as typeof spec
    expect(RunCard.specHash(reordered)).toBe(RunCard.specHash(spec))
    expect(RunCard.specHash({ ...spec, hidden: spec.hidden + 1 })).not.toBe(RunCard.specHash(spec))
  })

  it("the data hash is the same for the same data, and differs when one value changes", () => {
    expect(RunCard.dataHash(sentimentData(1))).toBe(RunCard.dataHash(sentimentData(1)))
    expect(RunCard.dataHash(sentimentData(1))).toBe(card.data.sha256)
    expect(RunCard.dataHash(sentimentData(2))).not.toBe(card.data.sha256)
    const changed = sentimentData(1)
    const test = changed.splits.test
    const labels = new Float32Array(test.labels.regression!)
    labels[0] += 1
    expect(RunCard.dataHash({ ...changed, splits: { ...changed.splits, test: { ...test, labels: { regression: labels } } } })).not.toBe(card.data.sha256)
  })
})
