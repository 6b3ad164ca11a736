/**
 * Seeded pseudo-random numbers (SplitMix32 state, Mulberry32 output): the same seed gives the
 * same stream on every platform. Used by shuffling and the synthetic generator.
 *
 * @since 0.1.0
 */

/** A seeded uniform generator in [0, 1). `state` can be saved and restored. */
export interface Rng {
  next(): number
  /** The current internal state (a uint32), enough to resume the stream. */
  state(): number
}

/** Create a generator from a seed (any finite number; it is hashed to 32 bits). */
export const makeRng = (seed: number, state?: number): Rng => {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`)
  let s = state ?? (hashSeed(seed) >>> 0)
  return {
    next() {
      s = (s + 0x6d2b79f5) >>> 0
      let t = s
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    },
    state: () => s
  }
}

const hashSeed = (seed: number): number => {
  // mix integer and fractional parts so 1 and 1.5 differ
  let h = Math.floor(seed) ^ 0x9e3779b9
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  h ^= Math.floor((seed - Math.floor(seed)) * 4294967296)
  return (h ^ (h >>> 16)) >>> 0
}

/** A standard normal sample (Box-Muller). */
export const normal = (rng: Rng): number => {
  let u = rng.next()
  while (u <= Number.EPSILON) u = rng.next()
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next())
}

/** An integer in [0, n). */
export const int = (rng: Rng, n: number): number => Math.floor(rng.next() * n)

/** A seeded Fisher-Yates permutation of 0..n-1. */
export const permutation = (n: number, rng: Rng): Int32Array => {
  const p = new Int32Array(n)
  for (let i = 0; i < n; i++) p[i] = i
  for (let i = n - 1; i > 0; i--) {
    const j = int(rng, i + 1)
    const t = p[i]; p[i] = p[j]; p[j] = t
  }
  return p
}
