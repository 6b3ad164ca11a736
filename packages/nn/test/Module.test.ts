import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { seedSource } from "../src/Module"

describe("seedSource", () => {
  it("a source restored to a state() continues the sequence exactly (what a resumed training relies on)", () => {
    fc.assert(
      fc.property(fc.integer(), fc.nat(50), fc.nat(20), (seed, before, after) => {
        const a = seedSource(seed)
        for (let i = 0; i < before; i++) a.nextSeed()
        const state = a.state()
        const expected = Array.from({ length: after }, () => a.nextSeed())
        const b = seedSource(seed + 1)
        b.restore(state)
        expect(Array.from({ length: after }, () => b.nextSeed())).toEqual(expected)
        expect(b.state()).toBe(a.state())
      })
    )
  })
})
