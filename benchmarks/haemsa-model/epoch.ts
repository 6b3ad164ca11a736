/**
 * One training epoch of the default HAEMSA architecture on MOSI-shaped data (1284 samples, T = 50,
 * text 768, audio 5, vision 20, batch 32): tfjs (the real haemsa-model code path: Network.build,
 * Objective.jointLoss and Adam as Train.train runs them, over `--threads` data-parallel replicas as
 * `haemsa train --threads N` does) against the PyTorch reference in `torch_haemsa.py` (Debian's
 * python3-torch on the CPU, `torch.set_num_threads` the same count), interleaved in one run on the
 * same machine. Then inference, eval mode: p50 latency at batch 1 and 64 of tfjs's forward pass on a
 * pre-made batch on the calling thread (the sentiment read back), of tfjs's `Replicas.predict` on all
 * its threads (the rows' batch made, every output read back: what a training's validation runs), and
 * of PyTorch's forward on pre-made batches with its thread count; and the throughput at batch 64: a
 * stream of 20 batches made from their rows, on tfjs one `Replicas.predict` of all the rows in batches
 * of 64 (each thread predicts its share of the batches), on PyTorch one batch after another.
 * Prints both sides' medians and their ratios (tfjs time / PyTorch time: the training target is
 * <= 0.9, inference >= PyTorch's speed at batch 64).
 *
 *   npx tsx --conditions=source benchmarks/haemsa-model/epoch.ts [--repeats N] [--threads K]
 *       [--backend wasm|cpu] [--json FILE] [--record] [--no-torch] [--allow-reference-blas]
 *       [--torch-threads auto|T:B] [--runtime deno]
 *
 * `--runtime deno` bundles this script and the replica worker (benchmarks/deno/Bundle.ts) and runs
 * the bundle under Deno with the other arguments.
 * `--threads` defaults to the number of cores (both sides). PyTorch runs with the fastest split of
 * those cores between `torch.set_num_threads` and its BLAS library's own threads (OpenBLAS's pthread
 * build runs them beside torch's; both at the core count oversubscribe the cores, and an epoch can
 * take three times as long): with `--torch-threads auto` (the default) each of T x 1, 1 x T and
 * T x T trains a warm-up and two timed epochs and predicts a warm-up and two timed streams of batches
 * of 64: the fastest epoch is the training reference, the fastest stream the inference one; `T:B`
 * fixes one for both. PyTorch's
 * speed depends on the BLAS library it resolved (Debian's python3-torch calls the generic libblas.so.3): the script prints it
 * and refuses to report a ratio against the netlib reference BLAS, which no PyTorch user runs,
 * unless `--allow-reference-blas`. Each side also reports its process's CPU time (all its threads),
 * which other work on a shared machine disturbs less than the wall time. `--json FILE` writes
 * `{"tfjs_seconds", "torch_seconds", "ratio", "cpu_ratio", "torch_blas", "tfjs_threads", "runtime",
 * "torch_threads", "torch_blas_threads", "torch_inference_threads", "torch_inference_blas_threads",
 * "torch_calibration": [{"torch_threads", "blas_threads", "seconds", "stream_seconds"}],
 * "inference": {"batch_1": {...}, "batch_64": {..., "stream": {"batches", "rows", "tfjs_seconds",
 * "tfjs_samples_per_s", "torch_seconds", "torch_samples_per_s", "ratio"}}}}`. Without torch for
 * /usr/bin/python3 the PyTorch side is skipped.
 */
import * as tf from "@tensorflow/tfjs"
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as readline from "node:readline"
import { argFlag, argOption, deno, fromSamples, machine, type Measurement, median, percentile, record, ROOT, runtime } from "../Harness"
import { forwardRead } from "../Tensors"
import { BATCH, makeTfjs } from "./Setup"

// under Node with --runtime deno: run the bundle under Deno instead, with the same arguments
if (deno() === undefined && argOption("runtime", "node") === "deno") {
  const Bundle = await import("../deno/Bundle")
  const args = process.argv.slice(2).filter((a, i, all) => a !== "--runtime" && all[i - 1] !== "--runtime")
  process.exit(await Bundle.runUnderDeno("benchmarks/haemsa-model/epoch.ts", "epoch.mjs", args))
}

const PYTHON = "/usr/bin/python3"
const SCRIPT = path.join(ROOT, "benchmarks/haemsa-model/torch_haemsa.py")
const INSTALL_OPENBLAS = "apt-get install python3-torch libopenblas0-pthread (the libblas.so.3 alternative then points at OpenBLAS)"

/** Wall and CPU seconds of one epoch. */
interface EpochTime {
  readonly seconds: number
  readonly cpuSeconds: number
}

/** The BLAS library the PyTorch process resolved. */
interface Blas {
  readonly path: string | null
  readonly kind: "openblas" | "mkl" | "blis" | "reference" | "unknown"
}

/** PyTorch's thread settings: `torch.set_num_threads(torch)` and the BLAS library's own threads (`blas`). */
interface TorchThreads {
  readonly torch: number
  readonly blas: number
}

const threadSettingsText = (t: TorchThreads) => `torch ${t.torch} x BLAS ${t.blas}`

/**
 * The PyTorch side as a long-lived process that answers one request per line, with `threads` set
 * before it starts (the BLAS threads through OPENBLAS_NUM_THREADS and MKL_NUM_THREADS).
 */
const makeTorch = async (threads: TorchThreads) => {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads.blas), MKL_NUM_THREADS: String(threads.blas) }
  const child = spawn(PYTHON, [SCRIPT, "--serve", "--threads", String(threads.torch)], { stdio: ["pipe", "pipe", "inherit"], env })
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const next = async (): Promise<Record<string, unknown>> => {
    const { value, done } = await lines.next()
    if (done) throw new Error("the PyTorch process ended early")
    return JSON.parse(value)
  }
  const ready = await next()
  return {
    info: ready as { torch: string; threads: number; blas_threads: number | null; cores: number; parameters: number; blas: Blas },
    settings: threads,
    epoch: async (): Promise<EpochTime> => {
      child.stdin.write("epoch\n")
      const answer = await next()
      return { seconds: answer.seconds as number, cpuSeconds: answer.cpu_seconds as number }
    },
    /** Per-call seconds of `calls` eval-mode forward passes at `batch` (after 10 warm-up calls). */
    infer: async (batch: number, calls: number): Promise<ReadonlyArray<number>> => {
      child.stdin.write(`infer ${batch} ${calls}\n`)
      return (await next()).seconds as ReadonlyArray<number>
    },
    /** Seconds of one stream of `batches` eval-mode forward passes at `batch`, each batch gathered from its rows. */
    stream: async (batch: number, batches: number): Promise<number> => {
      child.stdin.write(`stream ${batch} ${batches}\n`)
      return (await next()).seconds as number
    },
    close: () => child.stdin.end("quit\n")
  }
}

const threadsText = (n: number) => `${n} thread${n === 1 ? "" : "s"}`

const summary = (label: string, m: Measurement, cpu: ReadonlyArray<number>, steps: number): string =>
  `${label}: median ${m.median.toFixed(3)} s/epoch (${((m.median / steps) * 1000).toFixed(1)} ms/step; min ${m.min.toFixed(3)}, max ${m.max.toFixed(3)}, n=${m.seconds.length}), CPU median ${median(cpu).toFixed(3)} s`

const repeats = Number(argOption("repeats", "5"))
const threads = Number(argOption("threads", String(machine().cores)))
const backend = argOption("backend", "wasm")
const jsonFile = argOption("json", "") || undefined
const skipTorch = argFlag("no-torch")
const allowReference = argFlag("allow-reference-blas")

/** `--torch-threads T:B`, or every sensible split of the cores between torch's and the BLAS's threads. */
const torchCandidates = (setting: string): ReadonlyArray<TorchThreads> => {
  if (setting !== "auto") {
    const [t, b] = setting.split(":").map(Number)
    if (!Number.isInteger(t) || !Number.isInteger(b) || t < 1 || b < 1) {
      console.error(`--torch-threads ${setting}: expected auto or T:B (torch threads : BLAS threads, integers >= 1)`)
      process.exit(2)
    }
    return [{ torch: t, blas: b }]
  }
  const all = [{ torch: threads, blas: 1 }, { torch: 1, blas: threads }, { torch: threads, blas: threads }]
  return all.filter((c, i) => all.findIndex((d) => d.torch === c.torch && d.blas === c.blas) === i)
}
// (checked before anything starts)
const candidates = torchCandidates(argOption("torch-threads", "auto"))
const tfjs = await makeTfjs(backend, threads)
const tfjsLabel = `tfjs-${backend} (${threadsText(threads)})`

/** The batch-64 throughput stream: STREAM.batches batches of STREAM.batch rows, median of STREAM.repeats. */
const STREAM = { batch: 64, batches: 20, repeats: 7 } as const

/**
 * PyTorch's fastest thread settings here, for training and for inference apart: with `auto`, each
 * candidate trains a warm-up epoch and two timed ones, and predicts a warm-up stream of batches of 64
 * and two timed ones; the fastest epoch (median) is the training reference, the fastest stream the
 * inference reference (the same process when one setting wins both). OpenBLAS's pthread build runs
 * its own threads beside torch's; with both at the core count they contend for the cores and an
 * epoch can take three times as long, so the comparison is made against the best split, not the default.
 */
const pickTorch = async () => {
  if (spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" }).status !== 0) return undefined
  if (candidates.length === 1) {
    const only = await makeTorch(candidates[0])
    return { torch: only, inference: only, calibration: [] }
  }
  const calibration: Array<{ torch_threads: number; blas_threads: number; seconds: number; stream_seconds: number }> = []
  type Torch = Awaited<ReturnType<typeof makeTorch>>
  let best: { torch: Torch; seconds: number } | undefined
  let bestStream: { torch: Torch; seconds: number } | undefined
  const keep = (t: Torch | undefined) => t !== undefined && (t === best?.torch || t === bestStream?.torch)
  for (const candidate of candidates) {
    const candidateTorch = await makeTorch(candidate)
    // (refused below before any timing: an epoch on the reference BLAS takes about a minute)
    if (candidateTorch.info.blas.kind === "reference" && !allowReference) return { torch: candidateTorch, inference: candidateTorch, calibration: [] }
    await candidateTorch.epoch()
    const seconds = median([(await candidateTorch.epoch()).seconds, (await candidateTorch.epoch()).seconds])
    await candidateTorch.stream(STREAM.batch, STREAM.batches)
    const streamSeconds = median([await candidateTorch.stream(STREAM.batch, STREAM.batches), await candidateTorch.stream(STREAM.batch, STREAM.batches)])
    calibration.push({ torch_threads: candidate.torch, blas_threads: candidate.blas, seconds, stream_seconds: streamSeconds })
    console.log(
      `PyTorch thread settings ${threadSettingsText(candidate)}: ${seconds.toFixed(3)} s/epoch, ` +
        `${((STREAM.batch * STREAM.batches) / streamSeconds).toFixed(0)} samples/s in a stream of batches of ${STREAM.batch} (medians of 2, after a warm-up each)`
    )
    const previous = [best?.torch, bestStream?.torch]
    if (best === undefined || seconds < best.seconds) best = { torch: candidateTorch, seconds }
    if (bestStream === undefined || streamSeconds < bestStream.seconds) bestStream = { torch: candidateTorch, seconds: streamSeconds }
    for (const t of new Set([...previous, candidateTorch])) if (t !== undefined && !keep(t)) t.close()
  }
  console.log(`PyTorch: the fastest epoch, ${threadSettingsText(best!.torch.settings)}, is the training reference below`)
  console.log(`PyTorch: the fastest stream, ${threadSettingsText(bestStream!.torch.settings)}, is the inference reference below`)
  return { torch: best!.torch, inference: bestStream!.torch, calibration }
}
const picked = skipTorch ? undefined : await pickTorch()
const torch = picked?.torch
/** PyTorch's process for inference: its fastest split for a stream of batches (maybe the training one). */
const torchInfer = picked?.inference

console.log(`machine: ${JSON.stringify(machine())}, runtime ${runtime()}`)
console.log(`tfjs ${tf.version.tfjs}, backend ${tf.getBackend()}, ${threadsText(threads)} (data-parallel replicas, one backend thread each), ${tfjs.parameters} parameters`)
if (torch) {
  const { blas } = torch.info
  console.log(`PyTorch ${torch.info.torch}, torch.set_num_threads(${torch.info.threads}) and ${torch.info.blas_threads ?? "?"} BLAS threads, of ${torch.info.cores} cores, ${torch.info.parameters} parameters`)
  console.log(`PyTorch BLAS: ${blas.kind} (${blas.path ?? "not found in the process's memory map"})`)
  if (blas.kind === "reference" && !allowReference) {
    console.log(
      `refusing to compare against the netlib reference BLAS (about 1 GFLOP/s; no PyTorch user runs it): install OpenBLAS with\n  ${INSTALL_OPENBLAS}\n` +
        `or pass --allow-reference-blas to report the ratio anyway, labelled as such`
    )
    torch.close()
    await tfjs.close()
    process.exit(2)
  }
} else console.log(`PyTorch: skipped (${skipTorch ? "--no-torch" : `${PYTHON} has no torch module`})`)

// a warm-up epoch on each side, then interleaved timed epochs (the order alternates)
await tfjs.epoch()
await torch?.epoch()
const tfjsTimes: EpochTime[] = []
const torchTimes: EpochTime[] = []
for (let r = 0; r < repeats; r++) {
  if (torch && r % 2 === 1) torchTimes.push(await torch.epoch())
  tfjsTimes.push(await tfjs.epoch())
  if (torch && r % 2 === 0) torchTimes.push(await torch.epoch())
  const fmt = (t: EpochTime) => `${t.seconds.toFixed(2)} s (CPU ${t.cpuSeconds.toFixed(2)} s)`
  console.log(`repeat ${r + 1}: ${tfjsLabel} ${fmt(tfjsTimes[r])}` + (torch ? `, PyTorch ${fmt(torchTimes[r])}` : ""))
}

const steps = Math.ceil(tfjs.train.n / BATCH)
const tfjsM = fromSamples(`epoch ${tfjsLabel}`, tfjsTimes.map((t) => t.seconds))
const tfjsCpu = tfjsTimes.map((t) => t.cpuSeconds)
console.log(summary(tfjsLabel, tfjsM, tfjsCpu, steps))

// inference: the forward pass on the calling thread, then Replicas.predict on every thread
const CALLS = { 1: 200, 64: 40 } as const
const inferTfjs = async (b: 1 | 64): Promise<ReadonlyArray<number>> => {
  const batches = Array.from({ length: 4 }, (_, k) => tfjs.batchOf(Int32Array.from({ length: b }, (_, i) => (k * b + i) % tfjs.train.n)))
  const call = (k: number) => forwardRead(() => tfjs.net.apply(batches[k % 4], false).regression!)
  for (let k = 0; k < 10; k++) await call(k)
  const seconds: number[] = []
  for (let k = 0; k < CALLS[b]; k++) {
    const t0 = performance.now()
    await call(k)
    seconds.push((performance.now() - t0) / 1000)
  }
  return seconds
}
/** `Replicas.predict` on every thread (the rows' batch made and every output read back, as training's validation runs). */
const predictTfjs = async (b: 1 | 64): Promise<ReadonlyArray<number>> => {
  const rows = Array.from({ length: 4 }, (_, k) => Int32Array.from({ length: b }, (_, i) => (k * b + i) % tfjs.train.n))
  for (let k = 0; k < 10; k++) await tfjs.predict(rows[k % 4])
  const seconds: number[] = []
  for (let k = 0; k < CALLS[b]; k++) {
    const t0 = performance.now()
    await tfjs.predict(rows[k % 4])
    seconds.push((performance.now() - t0) / 1000)
  }
  return seconds
}
const inference: Record<string, { tfjs_p50_ms: number; tfjs_samples_per_s: number; tfjs_predict_p50_ms: number; torch_p50_ms?: number; torch_samples_per_s?: number; ratio?: number; stream?: Record<string, number> }> = {}
for (const b of [1, 64] as const) {
  const t = await inferTfjs(b)
  const shared = await predictTfjs(b)
  const p = torchInfer ? await torchInfer.infer(b, CALLS[b]) : undefined
  const row = {
    tfjs_p50_ms: median(t) * 1000,
    tfjs_predict_p50_ms: median(shared) * 1000,
    tfjs_p99_ms: percentile(t, 99) * 1000,
    tfjs_samples_per_s: b / median(t),
    ...(p ? { torch_p50_ms: median(p) * 1000, torch_p99_ms: percentile(p, 99) * 1000, torch_samples_per_s: b / median(p), ratio: median(t) / median(p) } : {})
  }
  inference[`batch_${b}`] = row
  console.log(
    `inference B ${b}: tfjs-${backend} p50 ${row.tfjs_p50_ms.toFixed(2)} ms (${row.tfjs_samples_per_s.toFixed(0)} samples/s; ` +
      `with the batch made, on ${threads} thread${threads > 1 ? "s" : ""} (Replicas.predict) ${row.tfjs_predict_p50_ms.toFixed(2)} ms)` +
      (p ? `, PyTorch (${threadSettingsText(torchInfer!.settings)}) p50 ${row.torch_p50_ms!.toFixed(2)} ms (${row.torch_samples_per_s!.toFixed(0)} samples/s); ratio tfjs / PyTorch time ${row.ratio!.toFixed(2)}` : "")
  )
}

// throughput at batch 64: a stream of STREAM batches (about the train split), one after another on
// PyTorch's threads, on tfjs as one Replicas.predict of all the rows in batches of 64 (each thread
// predicts its share of the batches), every batch made from its rows and every output read back on
// both sides; the two sides alternate, after a warm-up stream each
const streamRows = Int32Array.from({ length: STREAM.batch * STREAM.batches }, (_, i) => i % tfjs.train.n)
const streamTfjs = async (): Promise<number> => {
  const t0 = performance.now()
  await tfjs.predict(streamRows, STREAM.batch)
  return (performance.now() - t0) / 1000
}
await streamTfjs()
await torchInfer?.stream(STREAM.batch, STREAM.batches)
const streamTimes: { tfjs: number[]; torch: number[] } = { tfjs: [], torch: [] }
for (let r = 0; r < STREAM.repeats; r++) {
  if (torchInfer && r % 2 === 1) streamTimes.torch.push(await torchInfer.stream(STREAM.batch, STREAM.batches))
  streamTimes.tfjs.push(await streamTfjs())
  if (torchInfer && r % 2 === 0) streamTimes.torch.push(await torchInfer.stream(STREAM.batch, STREAM.batches))
}
const streamed = streamRows.length
const [tfjsStream, torchStream] = [median(streamTimes.tfjs), torchInfer ? median(streamTimes.torch) : undefined]
const stream = {
  batches: STREAM.batches,
  rows: streamed,
  tfjs_seconds: tfjsStream,
  tfjs_samples_per_s: streamed / tfjsStream,
  ...(torchStream !== undefined
    ? { torch_seconds: torchStream, torch_samples_per_s: streamed / torchStream, ratio: tfjsStream / torchStream }
    : {})
}
inference.batch_64 = { ...inference.batch_64, stream }
console.log(
  `throughput B ${STREAM.batch} (a stream of ${STREAM.batches} batches, ${streamed} rows, median of ${STREAM.repeats}): ` +
    `tfjs-${backend} on ${threadsText(threads)} (${threads > 1 ? "Replicas.predict" : "Evaluate.predictRowsInBatches"}) ${stream.tfjs_samples_per_s.toFixed(0)} samples/s` +
    (torchInfer ? `, PyTorch (${threadSettingsText(torchInfer.settings)}) ${stream.torch_samples_per_s!.toFixed(0)} samples/s; ratio tfjs / PyTorch time ${stream.ratio!.toFixed(2)} (target <= 1)` : "")
)
torch?.close()
if (torchInfer !== torch) torchInfer?.close()
await tfjs.close()

const doRecord = argFlag("record")
const blasNote = (blas: Blas) => (blas.kind === "reference" ? "netlib reference BLAS (labelled: not what PyTorch users run)" : `${blas.kind} BLAS`)
let result: Record<string, unknown> = { tfjs_seconds: tfjsM.median, tfjs_threads: threads, runtime: runtime(), backend, inference }
if (torch) {
  const torchM = fromSamples(`epoch PyTorch ${threadSettingsText(torch.settings)}`, torchTimes.map((t) => t.seconds))
  const torchCpu = torchTimes.map((t) => t.cpuSeconds)
  const ratio = tfjsM.median / torchM.median
  const cpuRatio = median(tfjsCpu) / median(torchCpu)
  console.log(summary(`PyTorch (${threadSettingsText(torch.settings)}, ${blasNote(torch.info.blas)})`, torchM, torchCpu, steps))
  console.log(`ratio ${tfjsLabel} / PyTorch = ${ratio.toFixed(3)} (target <= 0.9); CPU-time ratio ${cpuRatio.toFixed(3)}`)
  result = { ...result, torch_seconds: torchM.median, ratio, cpu_ratio: cpuRatio, torch_blas: torch.info.blas.kind, torch_blas_path: torch.info.blas.path, torch_threads: torch.info.threads, torch_blas_threads: torch.info.blas_threads, torch_inference_threads: torchInfer!.info.threads, torch_inference_blas_threads: torchInfer!.info.blas_threads, torch_calibration: picked!.calibration }
  if (doRecord) {
    const note = `1284 samples, batch 32; tfjs ${threadsText(threads)}; PyTorch ${torch.info.torch} with ${threadSettingsText(torch.settings)} (the fastest split), ${blasNote(torch.info.blas)}; ratio ${ratio.toFixed(2)}`
    record("haemsa-model/epoch", backend, runtime(), [{ ...tfjsM, figure: { value: ratio, unit: "x PyTorch time" } }], { note })
    record("haemsa-model/epoch", "torch cpu", `python3 torch ${torch.info.torch}`, [torchM], { note })
  }
} else if (doRecord) {
  record("haemsa-model/epoch", backend, runtime(), [tfjsM], { note: `1284 samples, batch 32; tfjs ${threadsText(threads)}; PyTorch side skipped` })
}
if (jsonFile !== undefined) {
  fs.writeFileSync(jsonFile, JSON.stringify(result, null, 2) + "\n")
  console.log(`wrote ${jsonFile}`)
}
