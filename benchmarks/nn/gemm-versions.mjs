// Two versions of the `gemm` kernel of `SimdKernels.wat` side by side, outside tfjs: each source is
// assembled and instantiated over one shared memory, both run the same product on the same operands,
// the outputs must be equal bit for bit (a kernel change must keep XNNPACK's sums), and their timings
// are taken in turn (30 rounds) so both see the same machine. How a change to the kernel is judged:
//
//   git show REV:packages/nn/src/wasm/SimdKernels.wat > /tmp/old.wat
//   node benchmarks/nn/gemm-versions.mjs /tmp/old.wat packages/nn/src/wasm/SimdKernels.wat [--shape M,K,N] [--transposed]
//
// --shape: the product (default 2400,768,64: the text projection of a batch of 64); --transposed: A
// stored transposed (k x m), as in a weight gradient xᵀ·dy.
import { assemble } from "../../scripts/assemble-wat.mjs"

const args = process.argv.slice(2)
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : fallback
}
const files = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && args[i - 1] === "--shape"))
if (files.length !== 2) {
  console.error("usage: node benchmarks/nn/gemm-versions.mjs OLD.wat NEW.wat [--shape M,K,N] [--transposed]")
  process.exit(2)
}
const [m, k, n] = option("shape", "2400,768,64").split(",").map(Number)
if (![m, k, n].every((d) => Number.isInteger(d) && d >= 1)) {
  console.error(`--shape: expected three integers >= 1, got ${option("shape", "")}`)
  process.exit(2)
}
const transposed = args.includes("--transposed")

// operands, bias, scratch and one output per version in one memory
const bytes = (floats) => Math.ceil((floats * 4) / 64) * 64
const A = 0
const B = A + bytes(m * k)
const BIAS = B + bytes(k * n)
const W = BIAS + bytes(n)
// scratch: the panels of B, then room for every block of A packed (the most any version asks)
const C = W + bytes(Math.ceil(n / 8) * (k + 1) * 8 + (Math.ceil(m / 4) + 1) * 4 * k)
const end = C + 2 * bytes(m * n)
const memory = new WebAssembly.Memory({ initial: Math.ceil(end / 65536) + 1 })
const kernels = []
for (const file of files) {
  const { instance } = await WebAssembly.instantiate(Buffer.from(await assemble(file), "base64"), { env: { memory } })
  kernels.push(instance.exports)
}
const f32 = new Float32Array(memory.buffer)
for (let i = 0; i < W / 4; i++) f32[i] = Math.sin(i * 0.37)
const out = [C, C + bytes(m * n)]
const run = (v) =>
  kernels[v].gemm(A, transposed ? 1 : k, transposed ? m : 1, B, n, 1, BIAS, 1, out[v], m, k, n, W)

run(0)
run(1)
const [x, y] = out.map((at) => new Uint32Array(memory.buffer, at, m * n))
const differ = x.reduce((count, bits, i) => count + (bits === y[i] ? 0 : 1), 0)
console.log(`C (${m} x ${n}) = A (${m} x ${k}${transposed ? ", stored transposed" : ""}) · B (${k} x ${n}) + bias`)
console.log(differ === 0 ? "outputs equal bit for bit" : `${differ} of ${m * n} outputs differ`)

const times = [[], []]
for (let round = 0; round < 30; round++) {
  for (const v of [0, 1]) {
    const t0 = performance.now()
    run(v)
    times[v].push(performance.now() - t0)
  }
}
const medians = times.map((t) => [...t].sort((a, b) => a - b)[15])
files.forEach((file, v) =>
  console.log(`${file}: median ${medians[v].toFixed(3)} ms, ${((2 * m * k * n) / medians[v] / 1e6).toFixed(1)} GFLOP/s`)
)
console.log(`new / old: ${(medians[1] / medians[0]).toFixed(3)}`)
process.exitCode = differ === 0 ? 0 : 1
