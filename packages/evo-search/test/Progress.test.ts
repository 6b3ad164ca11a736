import { describe, expect, it } from "vitest"
import { Progress } from "@haemsa/evo-search"

const base: Progress.EtaInput = {
  done: 4,
  generations: 10,
  runGenerations: 2,
  runSeconds: 20,
  evaluations: 40,
  runEvaluations: 20,
  seconds: 50
}

describe("Progress.eta", () => {
  it("is this run's seconds per generation times the generations left", () => {
    expect(Progress.eta(base)).toBe(60)
  })

  it("is capped by the evaluation budget at this run's rate and by the time budget", () => {
    expect(Progress.eta({ ...base, maxEvaluations: 50 })).toBe(10)
    expect(Progress.eta({ ...base, maxSeconds: 80 })).toBe(30)
    expect(Progress.eta({ ...base, maxSeconds: 40 })).toBe(0)
  })

  it("is NaN before this run finished a generation, 0 when nothing is left", () => {
    expect(Progress.eta({ ...base, runGenerations: 0 })).toBeNaN()
    expect(Progress.eta({ ...base, runGenerations: 0, done: 10 })).toBe(0)
    expect(Progress.eta({ ...base, done: 10 })).toBe(0)
  })
})
