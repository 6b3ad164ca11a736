import * as fc from "fast-check"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Fidelity } from "@haemsa/evo-search"
import { fitness } from "./Arbitraries"

describe("Fidelity", () => {
  it("defaults to one full-fidelity level and eta 3; passes epochs and fraction to the evaluator", () => {
    expect(Result.getOrThrow(Fidelity.make())).toEqual({ levels: [{}], eta: 3 })
    // "top" is the default and is not written (configs and checkpoints from before the option read the same)
    expect(Result.getOrThrow(Fidelity.make({ promotion: "top" }))).toEqual({ levels: [{}], eta: 3 })
    expect(Result.getOrThrow(Fidelity.make({ promotion: "incumbent" }))).toEqual({ levels: [{}], eta: 3, promotion: "incumbent" })
    const config = Result.getOrThrow(Fidelity.make({ levels: [{ epochs: 1, fraction: 0.25 }, { epochs: 5 }], eta: 2 }))
    expect(Fidelity.at(config, 0)).toEqual({ level: 0, epochs: 1, fraction: 0.25 })
    expect(Fidelity.at(config, 1)).toEqual({ level: 1, epochs: 5 })
  })

  it("rejects no levels, bad epochs or fractions, eta <= 1 or non-finite, naming the option", () => {
    const cases: Array<[Parameters<typeof Fidelity.make>[0], string]> = [
      [{ levels: [] }, "fidelity.levels"],
      [{ levels: [{ epochs: 0 }] }, "fidelity.levels[0].epochs"],
      [{ levels: [{}, { epochs: 1.5 }] }, "fidelity.levels[1].epochs"],
      [{ levels: [{ fraction: 0 }] }, "fidelity.levels[0].fraction"],
      [{ levels: [{ fraction: 1.2 }] }, "fidelity.levels[0].fraction"],
      [{ levels: [{ fraction: NaN }] }, "fidelity.levels[0].fraction"],
      [{ eta: 1 }, "fidelity.eta"],
      [{ eta: NaN }, "fidelity.eta"],
      [{ eta: Infinity }, "fidelity.eta"],
      [{ promotion: "best" as never }, "fidelity.promotion"]
    ]
    for (const [input, option] of cases) {
      const result = Fidelity.make(input)
      expect(Result.isFailure(result) && result.failure).toMatchObject({ _tag: "ConfigError", option })
    }
  })

  it("promotes the best ceil(n / eta) non-failed candidates, in index order", () => {
    const input = fc.array(fitness, { minLength: 1, maxLength: 40 }).chain((f) =>
      fc.tuple(fc.constant(f), fc.subarray(f.map((_, i) => i), { minLength: 1 }), fc.constantFrom(2, 3, 4.5))
    )
    fc.assert(fc.property(input, ([f, active, eta]) => {
      const promoted = Fidelity.promote(active, (i) => f[i], eta)
      const ok = active.filter((i) => !Number.isNaN(f[i]))
      expect(promoted.length).toBe(Math.min(ok.length, Math.ceil(active.length / eta)))
      expect(promoted).toEqual([...promoted].sort((a, b) => a - b))
      expect(promoted.every((i) => ok.includes(i))).toBe(true)
      const worstPromoted = Math.max(...promoted.map((i) => f[i]))
      for (const i of ok) if (!promoted.includes(i)) expect(f[i]).toBeGreaterThanOrEqual(worstPromoted)
    }))
  })

  it("with a bar (the incumbent's fitness), promotes only the top candidates strictly below it", () => {
    const input = fc.array(fitness, { minLength: 1, maxLength: 40 }).chain((f) =>
      fc.tuple(fc.constant(f), fc.subarray(f.map((_, i) => i), { minLength: 1 }), fc.constantFrom(2, 3), fitness)
    )
    fc.assert(fc.property(input, ([f, active, eta, bar]) => {
      const top = Fidelity.promote(active, (i) => f[i], eta)
      const barred = Fidelity.promote(active, (i) => f[i], eta, bar)
      // NaN is no bar: the plain rule
      if (Number.isNaN(bar)) expect(barred).toEqual(top)
      else expect(barred).toEqual(top.filter((i) => f[i] < bar))
    }))
  })
})
