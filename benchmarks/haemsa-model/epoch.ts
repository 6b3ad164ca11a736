/**
 * One training epoch of the default HAEMSA architecture on MOSI-shaped data (1284 samples, T = 50,
 * text 768, audio 5, vision 20, batch 32): tfjs on the wasm backend (the real haemsa-model code
 * path: Network.build, Objective.jointLoss, Adam, Train's batching and modality dropout) against
 * the PyTorch reference in `torch_haemsa.py` (Debian's python3-torch on the CPU), interleaved in
 * one run on the same machine. Prints both medians and the ratio tfjs time / PyTorch time.
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/epoch.ts [--repeats N] [--threads K] [--record]
 *
 * `--threads` sets PyTorch's torch.set_num_threads (default: the number of cores); the wasm
 * backend runs on one thread in Node. Without torch for /usr/bin/python3 the PyTorch side is
 * skipped (the tfjs figures are still printed).
 */
import * as tf from "@tensorflow/tfjs"
import { spawn, spawnSync } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import { machine, type Measurement, record, ROOT } from "../Harness"
import { BATCH, makeTfjs } from "./Setup"

const PYTHON = "/usr/bin/python3"
const SCRIPT = path.join(ROOT, "benchmarks/haemsa-model/torch_haemsa.py")

const option = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const toMeasurement = (name: string, seconds: ReadonlyArray<number>): Measurement => {
  const sorted = [...seconds].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return { name, seconds, median, min: sorted[0], max: sorted[sorted.length - 1] }
}

/** The PyTorch side as a long-lived process that runs one epoch per request, or undefined without torch. */
const makeTorch = async (threads: number) => {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" })
  if (probe.status !== 0) return undefined
  const child = spawn(PYTHON, [SCRIPT, "--serve", "--threads", String(threads)], { stdio: ["pipe", "pipe", "inherit"] })
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next()
    if (done) throw new Error("the PyTorch process ended early")
    return JSON.parse(value)
  }
  const ready = await next()
  return {
    info: ready as { torch: string; threads: number; cores: number; parameters: number },
    epoch: async (): Promise<number> => {
      child.stdin.write("epoch\n")
      return (await next()).seconds as number
    },
    close: () => child.stdin.end("quit\n")
  }
}

const repeats = option("repeats", 5)
const threads = option("threads", machine().cores)
const tfjs = await makeTfjs()
const torch = await makeTorch(threads)

console.log(`machine: ${JSON.stringify(machine())}`)
console.log(`tfjs ${tf.version.tfjs} backend ${tf.getBackend()} (1 thread in Node)`)
if (torch) console.log(`PyTorch ${torch.info.torch}, torch.set_num_threads(${torch.info.threads}) of ${torch.info.cores} cores, ${torch.info.parameters} parameters`)
else console.log(`PyTorch: skipped (${PYTHON} has no torch module)`)

// warm-up epoch on each side, then interleaved timed epochs (the order alternates)
tfjs.epoch()
await torch?.epoch()
const tfjsSeconds: number[] = []
const torchSeconds: number[] = []
for (let r = 0; r < repeats; r++) {
  if (r % 2 === 1 && torch) torchSeconds.push(await torch.epoch())
  tfjsSeconds.push(tfjs.epoch())
  if (r % 2 === 0 && torch) torchSeconds.push(await torch.epoch())
  console.log(`repeat ${r + 1}: tfjs-wasm ${tfjsSeconds[r].toFixed(2)} s` + (torch ? `, PyTorch ${torchSeconds[r].toFixed(2)} s` : ""))
}
torch?.close()

const steps = Math.ceil(tfjs.train.n / BATCH)
const tfjsM = toMeasurement("epoch tfjs-wasm", tfjsSeconds)
console.log(`tfjs-wasm: median ${tfjsM.median.toFixed(3)} s/epoch (${((tfjsM.median / steps) * 1000).toFixed(1)} ms/step; min ${tfjsM.min.toFixed(3)}, max ${tfjsM.max.toFixed(3)}, n=${repeats})`)
if (torch) {
  const torchM = toMeasurement(`epoch PyTorch ${torch.info.threads} threads`, torchSeconds)
  const ratio = tfjsM.median / torchM.median
  console.log(`PyTorch:   median ${torchM.median.toFixed(3)} s/epoch (${((torchM.median / steps) * 1000).toFixed(1)} ms/step; min ${torchM.min.toFixed(3)}, max ${torchM.max.toFixed(3)}, n=${repeats})`)
  console.log(`ratio tfjs-wasm / PyTorch = ${ratio.toFixed(3)} (target <= 1.0)`)
  if (process.argv.includes("--record")) {
    record("haemsa-model/epoch", "wasm", `node ${process.version}`, [{ ...tfjsM, figure: { value: 100 * ratio, unit: "% of PyTorch time" } }])
    record("haemsa-model/epoch", `torch cpu, ${torch.info.threads} threads`, `python torch ${torch.info.torch}`, [torchM])
  }
} else if (process.argv.includes("--record")) {
  record("haemsa-model/epoch", "wasm", `node ${process.version}`, [tfjsM])
}
