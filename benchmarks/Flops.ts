/**
 * Analytic FLOP counts of the dominant matrix products, for the GFLOP/s the matrix-heavy benchmarks
 * print (so the distance to the hardware limit is visible). Only dense matmuls are counted (2·m·k·n
 * each); element-wise work, reductions and softmaxes are not. A training step costs the forward
 * products, their weight gradients (same size) and their input gradients (same size) except for
 * products whose input is plain data (the first projection of an expert: `Layers.project` skips it):
 * `step = 2·first + 3·rest`.
 */
import type { Expert } from "@haemsa/experts"
import type { Network } from "@haemsa/haemsa-model"

/** FLOPs of an (m, k) x (k, n) product. */
export const matmul = (m: number, k: number, n: number): number => 2 * m * k * n

/** Forward FLOPs split by whether the product's input is data (`first`) or computed (`rest`). */
export interface ForwardFlops {
  readonly first: number
  readonly rest: number
}

/** FLOPs of a training step (forward, weight and input gradients) from the forward counts. */
export const trainingStep = (f: ForwardFlops): number => 2 * f.first + 3 * f.rest

/** Forward FLOPs of one expert on a (B, T, d) batch (see `Expert.ExpertSpec` for the architectures). */
export const expert = (spec: Expert.ResolvedExpertSpec, b: number, t: number, d: number, out: number): ForwardFlops => {
  const h = spec.hidden
  const rows = b * t
  const head = matmul(b, h, out)
  switch (spec.kind) {
    case "meanpool":
      return { first: matmul(rows, d, h), rest: (spec.layers - 1) * matmul(rows, h, h) + head }
    case "lstm": {
      const factored = 3 * d > 4 * h
      const width = factored ? h : 4 * h
      const inputKernels = (factored ? 1 : 0) + (spec.layers - 1)
      const recurrent = spec.layers * matmul(rows, h, 4 * h)
      return { first: matmul(rows, d, width), rest: inputKernels * matmul(rows, h, 4 * h) + recurrent + head }
    }
    case "transformer": {
      const block = matmul(rows, h, 3 * h) + 2 * b * matmul(t, h, t) + matmul(rows, h, h) + matmul(rows, h, 2 * h) + matmul(rows, 2 * h, h)
      return { first: matmul(rows, d, h), rest: spec.layers * block + head }
    }
    case "tcn":
      return { first: matmul(rows, d, h), rest: spec.layers * matmul(rows, spec.kernel * h, h) + head }
  }
}

/**
 * Forward FLOPs of the fusion hierarchy: per level one (B, d) x (d, d) product per input (two) of the
 * local level and, in "evolve" mode, of the shared level. The first level reads only data (the
 * benchmark's expert outputs), so its products count as `first`.
 */
export const hierarchy = (depth: number, b: number, d: number, evolve: boolean): ForwardFlops => {
  const level = (evolve ? 2 : 1) * 2 * matmul(b, d, d)
  return { first: level, rest: (depth - 1) * level }
}

/** Weights applied to data (the experts' input projections): no input gradient. */
const DATA_INPUT = [/^expert\/[^/]+\/input\/kernel$/, /^unified\/input\/[^/]+\/kernel$/]
/** Per-step weights of a network: the experts' input projections and per-step layers (applied to every step). */
const PER_STEP = [...DATA_INPUT, /\/body\/step\d+\/kernel$/]

/**
 * Forward FLOPs of a network built from a meanpool spec (the default architecture) on batches of B
 * samples of T steps: every rank-2 weight (k, n) is one (rows, k) x (k, n) product, with rows = B·T
 * for per-step weights and B otherwise; the token embedding (when present) is a one-hot product.
 */
export const network = (net: Network.Network, b: number, t: number): ForwardFlops => {
  let first = 0
  let rest = 0
  for (const [path, v] of net.variables) {
    if (v.rank !== 2) continue
    const [k, n] = v.shape
    if (path === "embedding/table") {
      first += matmul(b * (net.info.tokens?.steps ?? t), k, n)
      continue
    }
    const rows = PER_STEP.some((r) => r.test(path)) ? b * t : b
    if (DATA_INPUT.some((r) => r.test(path))) first += matmul(rows, k, n)
    else rest += matmul(rows, k, n)
  }
  return { first, rest }
}
