/**
 * `haemsa predict`: bad samples are typed errors naming the file and the sample, a sequence longer
 * than the model's steps is cut with a warning (or refused with --strict-steps), JSON Lines in gives
 * JSON Lines out with the same predictions as the JSON document, and 100,000 samples stream through
 * in bounded memory (a child process with a capped heap, and its peak RSS: memory bounds, not timings).
 */
import { Synthetic } from "@haemsa/datasets"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Checkpoint from "../src/model/Checkpoint"
import * as Evaluate from "../src/model/Evaluate"
import * as Experiment from "../src/model/Experiment"
import * as Network from "../src/model/Network"
import { buildNet, cli, prepare, tinySpec, useCpu } from "./Support"

const ROOT = fileURLToPath(new URL("../../../", import.meta.url))
const BIN = path.join(ROOT, "packages", "haemsa-model", "src", "bin.ts")
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx")

/** The model reads 4 steps of 2 numbers per modality. */
const STEPS = 4

let root: string
let checkpoint: string

beforeAll(async () => {
  await useCpu()
  root = fs.mkdtempSync(path.join(os.tmpdir(), "haemsa-predict-"))
  checkpoint = path.join(root, "ckpt")
  const data = prepare(Synthetic.synthetic({ sizes: { train: 16, valid: 4, test: 4 }, steps: STEPS, dims: { text: 2, audio: 2, vision: 2 }, seed: 1 }))
  const spec = tinySpec("haemsa", "meanpool")
  const net = buildNet(spec, data.info, 3)
  try {
    const metrics = await Evaluate.evaluate(net, data.dataset.splits.valid)
    const extra: Experiment.CheckpointExtra = { info: data.info, seed: 3, source: "tiny-2d", valid: metrics, test: metrics }
    await Checkpoint.save(checkpoint, { spec, extra, weights: await Experiment.readWeights(net) })
  } finally {
    Network.dispose(net)
  }
})
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

/** A sample with `steps` rows of 2 numbers in each modality. */
const sample = (id: string, steps: number, seed: number) => {
  const rows = (k: number) => Array.from({ length: steps }, (_, t) => [Math.sin(seed + t + k), Math.cos(seed * 3 + t - k)])
  return { id, text: rows(0), audio: rows(1), vision: rows(2) }
}

const write = (name: string, text: string): string => {
  const file = path.join(root, name)
  fs.writeFileSync(file, text)
  return file
}

const predict = (...argv: string[]) => cli("predict", "--checkpoint", checkpoint, "--backend", "cpu", ...argv)

/** `predict` with its JSON on stdout (`--json -`; without `--json` stdout gets a table). */
const predictJson = (...argv: string[]) => predict(...argv, "--json", "-")

describe("haemsa predict: bad samples name the file and the sample", () => {
  it("null, [null], a null sample and a null JSON Lines line: typed errors (exit 1), not a TypeError", async () => {
    const cases: Array<[string, string, string]> = [
      ["null.json", "null", "the file: must be { \"samples\": [ ... ] }"],
      ["list.json", "[null]", "the file: must be { \"samples\": [ ... ] }"],
      ["null-sample.json", JSON.stringify({ samples: [sample("a", 2, 1), null] }), "samples[1]: must be an object"],
      ["null-line.jsonl", `${JSON.stringify(sample("a", 2, 1))}\nnull\n`, "samples[1] (line 2): must be an object"],
      ["bad-line.jsonl", `${JSON.stringify(sample("a", 2, 1))}\n\n{"text": [[1, 2]\n`, "samples[1] (line 3): not valid JSON"]
    ]
    for (const [name, text, expected] of cases) {
      const file = write(name, text)
      const r = await predict("--input", file)
      expect(r.code, name).toBe(1)
      expect(r.err, name).toHaveLength(1)
      expect(r.err[0], name).toContain(`invalid --input ${file} = ${expected}`)
      expect(r.out, name).toEqual([])
    }
  })
})

describe("haemsa predict: sequences longer than the model's steps", () => {
  it("are cut to the first steps with a warning naming the sample; --strict-steps refuses them", async () => {
    const long = sample("long-one", STEPS + 3, 2)
    const cut = { ...long, text: long.text.slice(0, STEPS), audio: long.audio.slice(0, STEPS), vision: long.vision.slice(0, STEPS) }
    const file = write("long.json", JSON.stringify({ samples: [sample("short", 2, 1), long] }))
    const r = await predictJson("--input", file)
    expect(r.code).toBe(0)
    expect(r.err).toHaveLength(3)
    for (const [k, m] of ["text", "audio", "vision"].entries()) {
      expect(r.err[k]).toBe(
        `haemsa: warning: --input ${file}: samples[1] (id "long-one"): ${m} has ${STEPS + 3} steps, the model reads ${STEPS}: ` +
          `cut to the first ${STEPS} (--strict-steps refuses it)`
      )
    }
    const expected = await predictJson("--input", write("cut.json", JSON.stringify({ samples: [sample("short", 2, 1), cut] })))
    expect(expected.err).toEqual([])
    expect(JSON.parse(r.out.join("\n")).predictions[1]).toEqual({ ...JSON.parse(expected.out.join("\n")).predictions[1], id: "long-one" })

    const strict = await predict("--input", file, "--strict-steps")
    expect(strict.code).toBe(1)
    expect(strict.err).toEqual([`haemsa: invalid --input ${file} = samples[1].text: has ${STEPS + 3} steps, the model reads at most ${STEPS} (without --strict-steps it is cut)`])
    expect(strict.out).toEqual([])
  })

  it("past 10 warnings, the rest are counted", async () => {
    const samples = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, audio: sample("", STEPS + 1, i).audio }))
    const r = await predict("--input", write("many-long.jsonl", samples.map((s) => JSON.stringify(s)).join("\n")))
    expect(r.code).toBe(0)
    expect(r.err).toHaveLength(11)
    expect(r.err[9]).toContain("samples[9] (line 10)")
    expect(r.err[10]).toMatch(/: 2 more sequences cut to the model's steps \(12 in all\)$/)
  })
})

describe("haemsa predict: JSON Lines", () => {
  it("JSON Lines in (.jsonl, or detected by content) gives JSON Lines out, the same predictions as the JSON document", async () => {
    const samples = Array.from({ length: 300 }, (_, i) => sample(`s${i}`, 1 + (i % STEPS), i))
    const document = await predictJson("--input", write("all.json", JSON.stringify({ samples })))
    expect(document.code).toBe(0)
    const { model, predictions } = JSON.parse(document.out.join("\n"))
    expect(model).toBe("haemsa")
    expect(predictions).toHaveLength(300)
    const lines = samples.map((s) => JSON.stringify(s)).join("\n") + "\n"
    for (const name of ["all.jsonl", "all-lines.txt"]) {
      const r = await predictJson("--input", write(name, lines))
      expect(r.code, name).toBe(0)
      expect(r.out.map((l) => JSON.parse(l)), name).toEqual(predictions)
    }
    const out = path.join(root, "predictions.jsonl")
    const toFile = await predict("--input", path.join(root, "all.jsonl"), "--json", out)
    expect(toFile.out).toEqual([`300 predictions: ${out}`])
    expect(fs.readFileSync(out, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l))).toEqual(predictions)
  })

  it("100,000 samples stream through with bounded memory (a 160 MB heap, the child's peak RSS under 400 MB)", () => {
    const input = path.join(root, "many.jsonl")
    const fd = fs.openSync(input, "w")
    for (let i = 0; i < 100_000; i += 1000) {
      fs.writeSync(fd, Array.from({ length: 1000 }, (_, k) => JSON.stringify(sample(`s${i + k}`, 1 + ((i + k) % STEPS), i + k))).join("\n") + "\n")
    }
    fs.closeSync(fd)
    // the child reports its own peak resident set size when it exits
    const wrapper = path.join(root, "measure.mts")
    fs.writeFileSync(
      wrapper,
      "import { pathToFileURL } from \"node:url\"\n" +
        "process.on(\"exit\", () => process.stderr.write(`maxRSS ${process.resourceUsage().maxRSS}\\n`))\n" +
        "await import(pathToFileURL(process.env.HAEMSA_BIN!).href)\n"
    )
    const output = path.join(root, "many-out.jsonl")
    const r = spawnSync(TSX, ["--conditions=source", wrapper, "predict", "--checkpoint", checkpoint, "--backend", "cpu", "--input", input, "--json", output], {
      cwd: ROOT,
      encoding: "utf8",
      // a heap of 160 MB: the 100,000 samples as one document would not fit (V8 stops with out of memory)
      env: { ...process.env, HAEMSA_BIN: BIN, NODE_OPTIONS: `${process.env["NODE_OPTIONS"] ?? ""} --max-old-space-size=160` },
      timeout: 480_000
    })
    expect(r.stderr).not.toMatch(/haemsa: (?!warning)/)
    expect(r.status).toBe(0)
    expect(r.stdout.trim()).toBe(`100000 predictions: ${output}`)
    const maxRssKb = Number(/maxRSS (\d+)/.exec(r.stderr)?.[1])
    expect(maxRssKb).toBeGreaterThan(0)
    expect(maxRssKb / 1024).toBeLessThan(400)
    // every prediction, in order
    const text = fs.readFileSync(output, "utf8")
    expect(text.split("\n").filter((l) => l !== "")).toHaveLength(100_000)
    expect(JSON.parse(text.slice(text.lastIndexOf("\n", text.length - 2) + 1)).id).toBe("s99999")
  }, 600_000)
})
