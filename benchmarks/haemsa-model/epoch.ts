/**
 * One training epoch of the default HAEMSA architecture on MOSI-shaped data (1284 samples, T = 50,
 * text 768, audio 5, vision 20, batch 32): tfjs on the wasm backend (the real haemsa-model code
 * path: Network.build, Objective.jointLoss and Adam through Train.step, on batches made as
 * Train.train makes them) against the PyTorch reference in `torch_haemsa.py` (Debian's
 * python3-torch on the CPU), interleaved in one run on the same machine. Prints both medians and
 * the ratio tfjs time / PyTorch time (the target is <= 1.0).
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/epoch.ts [--repeats N] [--threads K] [--no-torch] [--record]
 *
 * `--threads` sets PyTorch's `torch.set_num_threads` (default: the number of cores); the wasm
 * backend runs on one thread in Node. Each side also reports the CPU time of its process, which
 * other work on a shared machine disturbs much less than the wall time. Without torch for
 * /usr/bin/python3 the PyTorch side is skipped and the tfjs figures are still printed.
 */
import * as tf from "@tensorflow/tfjs"
import { spawn, spawnSync } from "node:child_process"
import * as path from "node:path"
import * as readline from "node:readline"
import { fromSamples, machine, type Measurement, median, record, ROOT } from "../Harness"
import { BATCH, makeTfjs } from "./Setup"

const PYTHON = "/usr/bin/python3"
const SCRIPT = path.join(ROOT, "benchmarks/haemsa-model/torch_haemsa.py")

/** Wall and CPU seconds of one epoch. */
interface EpochTime {
  readonly seconds: number
  readonly cpuSeconds: number
}

const option = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

/** The PyTorch side as a long-lived process that trains one epoch per request, or undefined without torch. */
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
    epoch: async (): Promise<EpochTime> => {
      child.stdin.write("epoch\n")
      const answer = await next()
      return { seconds: answer.seconds as number, cpuSeconds: answer.cpu_seconds as number }
    },
    close: () => child.stdin.end("quit\n")
  }
}

const threadsText = (n: number) => `${n} thread${n === 1 ? "" : "s"}`

const summary = (label: string, m: Measurement, cpu: ReadonlyArray<number>, steps: number): string =>
  `${label}: median ${m.median.toFixed(3)} s/epoch (${((m.median / steps) * 1000).toFixed(1)} ms/step; min ${m.min.toFixed(3)}, max ${m.max.toFixed(3)}, n=${m.seconds.length}), CPU median ${median(cpu).toFixed(3)} s`

const repeats = option("repeats", 5)
const threads = option("threads", machine().cores)
const skipTorch = process.argv.includes("--no-torch")
const tfjs = await makeTfjs()
const torch = skipTorch ? undefined : await makeTorch(threads)

console.log(`machine: ${JSON.stringify(machine())}`)
console.log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()} (one thread in Node), ${tfjs.parameters} parameters`)
if (torch) console.log(`PyTorch ${torch.info.torch}, torch.set_num_threads(${torch.info.threads}) of ${torch.info.cores} cores, ${torch.info.parameters} parameters`)
else console.log(`PyTorch: skipped (${skipTorch ? "--no-torch" : `${PYTHON} has no torch module`})`)

// a warm-up epoch on each side, then interleaved timed epochs (the order alternates)
tfjs.epoch()
await torch?.epoch()
const tfjsTimes: EpochTime[] = []
const torchTimes: EpochTime[] = []
for (let r = 0; r < repeats; r++) {
  if (torch && r % 2 === 1) torchTimes.push(await torch.epoch())
  tfjsTimes.push(tfjs.epoch())
  if (torch && r % 2 === 0) torchTimes.push(await torch.epoch())
  const fmt = (t: EpochTime) => `${t.seconds.toFixed(2)} s (CPU ${t.cpuSeconds.toFixed(2)} s)`
  console.log(`repeat ${r + 1}: tfjs-wasm ${fmt(tfjsTimes[r])}` + (torch ? `, PyTorch ${fmt(torchTimes[r])}` : ""))
}
torch?.close()

const steps = Math.ceil(tfjs.train.n / BATCH)
const tfjsM = fromSamples("epoch tfjs-wasm", tfjsTimes.map((t) => t.seconds))
const tfjsCpu = tfjsTimes.map((t) => t.cpuSeconds)
console.log(summary("tfjs-wasm", tfjsM, tfjsCpu, steps))
const doRecord = process.argv.includes("--record")
if (torch) {
  const torchM = fromSamples(`epoch PyTorch ${threadsText(torch.info.threads)}`, torchTimes.map((t) => t.seconds))
  const torchCpu = torchTimes.map((t) => t.cpuSeconds)
  const ratio = tfjsM.median / torchM.median
  console.log(summary(`PyTorch (${threadsText(torch.info.threads)})`, torchM, torchCpu, steps))
  console.log(`ratio tfjs-wasm / PyTorch = ${ratio.toFixed(3)} (target <= 1.0); CPU-time ratio ${(median(tfjsCpu) / median(torchCpu)).toFixed(3)}`)
  if (doRecord) {
    const note = `1284 samples, batch 32; PyTorch ${torch.info.torch} with ${threadsText(torch.info.threads)}; ratio ${ratio.toFixed(2)}`
    record("haemsa-model/epoch", "wasm", `node ${process.version}`, [{ ...tfjsM, figure: { value: ratio, unit: "x PyTorch time" } }], { note })
    record("haemsa-model/epoch", "torch cpu", `python3 torch ${torch.info.torch}`, [torchM], { note })
  }
} else if (doRecord) {
  record("haemsa-model/epoch", "wasm", `node ${process.version}`, [tfjsM], { note: "1284 samples, batch 32; PyTorch side skipped" })
}
