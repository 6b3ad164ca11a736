/**
 * Seeded pseudo-random numbers for the search (Mulberry32: a 32-bit state, so the whole stream
 * position fits in one JSON number and a checkpoint can resume it exactly). The same seed gives
 * the same stream on every platform.
 *
 * @since 0.1.0
 */

/** A seeded uniform generator in [0, 1). */
export interface Rng {
  /** The next uniform number in [0, 1). */
  next(): number
  /** The current internal state (a uint32): {@link fromState} continues the stream from it. */
  state(): number
}

/** A generator from a seed (any finite number; it is hashed to 32 bits, so 1 and 1.5 differ). */
export const makeRng = (seed: number): Rng => {
  if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`)
  return fromState(hashSeed(seed))
}

/** A generator that continues the stream saved by {@link Rng.state}. */
export const fromState = (state: number): Rng => {
  if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
    throw new RangeError(`rng state must be a uint32, got ${state}`)
  }
  let s = state >>> 0
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
  let h = Math.floor(seed) ^ 0x9e3779b9
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  h ^= Math.floor((seed - Math.floor(seed)) * 4294967296)
  return (h ^ (h >>> 16)) >>> 0
}

/** A standard normal sample (Box-Muller; consumes two uniforms). */
export const normal = (rng: Rng): number => {
  const u = 1 - rng.next() // in (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next())
}

/** A uniform integer in [0, n). */
export const int = (rng: Rng, n: number): number => Math.floor(rng.next() * n)
