import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as ArchitectureSpec from "../src/model/ArchitectureSpec"
import * as SearchReport from "../src/search/SearchReport"

const input: SearchReport.ReportInput = {
  data: "data/<mosi>&co",
  generations: [
    { generation: 0, best: 0.9, mean: 1.2, evaluations: 8, cache_hits: 0, failures: 1, modalities: { "t+a+v": 3, t: 2, "a+v": 3 } },
    { generation: 1, best: 0.7, mean: NaN, evaluations: 6, cache_hits: 1, failures: 0, modalities: { "t+a+v": 5, t: 3 } },
    { generation: 2, best: 0.6, mean: 0.8, evaluations: 5, cache_hits: 2, failures: 0, modalities: { "t+a": 6, "t+a+v": 2 } }
  ],
  best: { fitness: 0.6, level: 1, architecture: ArchitectureSpec.defaultSpec },
  evaluations: 19,
  cache_hits: 3,
  failures: 1,
  seconds: 125,
  cpu_seconds: 240,
  workers: 2,
  retrain: {
    epochs: 20,
    same: false,
    winner: { epochs: 14, valid: { mae: 0.61, acc7: 0.4, corr: 0.7 }, test: { mae: 0.65, acc7: 0.38, corr: 0.68 } },
    default: { epochs: 20, valid: { mae: 0.7, acc7: 0.35, corr: 0.6 }, test: { mae: 0.72, acc7: 0.33, corr: 0.59 } }
  }
}

/** The points of a polyline series, as [x, y] pairs. */
const points = (svg: string, id: string): Array<[number, number]> => {
  const match = new RegExp(`<g id="${id}"><polyline points="([^"]*)"`).exec(svg)
  if (!match) return []
  return match[1].split(" ").map((p) => p.split(",").map(Number) as [number, number])
}

/** The stacked bars: generation, subset, count. */
const bars = (svg: string) =>
  [...svg.matchAll(/data-generation="(\d+)" data-subset="([^"]+)" data-count="(\d+)"/g)].map((m) => ({ generation: Number(m[1]), subset: m[2], count: Number(m[3]) }))

describe("SearchReport.svg", () => {
  const svg = SearchReport.svg(input)

  it("plots best and mean fitness per generation, lower values lower down, skipping NaN", () => {
    const best = points(svg, "series-best")
    const mean = points(svg, "series-mean")
    expect(best).toHaveLength(3)
    expect(mean).toHaveLength(2)
    // x grows with the generation; a lower fitness is drawn lower (larger y: SVG's y points down)
    expect(best[0][0]).toBeLessThan(best[1][0])
    expect(best[1][0]).toBeLessThan(best[2][0])
    expect(best[0][1]).toBeGreaterThan(mean[0][1])
    expect(best[2][1]).toBeGreaterThan(best[1][1])
    expect(mean.map((p) => p[0])).toEqual([best[0][0], best[2][0]])
  })

  it("stacks the modality subsets of each generation, with a legend of the subsets present", () => {
    const drawn = bars(svg)
    for (const [i, g] of input.generations.entries()) {
      const expected = Object.entries(g.modalities).map(([subset, count]) => ({ generation: i + 1, subset, count }))
      expect(drawn.filter((b) => b.generation === i + 1)).toEqual(expect.arrayContaining(expected))
      expect(drawn.filter((b) => b.generation === i + 1)).toHaveLength(expected.length)
    }
    for (const subset of ["t", "t+a", "a+v", "t+a+v"]) expect(svg).toContain(`class="legend">${subset}</text>`)
    expect(svg).not.toContain(`class="legend">v</text>`)
  })

  it("shows the cost and the retraining, and escapes text", () => {
    expect(svg).toContain("19 evaluations, 3 cache hits, 1 failures, wall time 2:05, 4 CPU-minutes (2 workers)")
    expect(svg).toContain("winner:  valid MAE 0.61")
    expect(svg).toContain("default: valid MAE 0.7")
    expect(svg).toContain("data/&lt;mosi&gt;&amp;co")
    expect(svg).not.toContain("<mosi>")
    expect(svg.startsWith("<svg")).toBe(true)
  })
})

describe("SearchReport.summaryLines", () => {
  it("lists the selection's finalists with their means and marks the chosen one", () => {
    const text = { ...ArchitectureSpec.defaultSpec, modalities: ["text"] as ["text"] }
    const lines = SearchReport.summaryLines({
      ...input,
      selection: {
        seeds: [1, 2, 3],
        epochs: 30,
        finalists: [
          { architecture: text, search: { rank: 1 }, default: false, mean: { valid_objective: 0.95, valid: { mae: 0.95, acc7: 0.3, corr: 0.6 }, test: { mae: 0.97, acc7: 0.31, corr: 0.65 } } },
          { architecture: ArchitectureSpec.defaultSpec, default: true, mean: { valid_objective: 0.93, valid: { mae: 0.93, acc7: 0.32, corr: 0.62 }, test: { mae: 0.96, acc7: 0.33, corr: 0.66 } } }
        ],
        chosen: 1
      }
    })
    const at = lines.indexOf("Selection over seeds 1,2,3 (up to 30 epochs each), chosen on the mean validation objective:")
    expect(at).toBeGreaterThan(0)
    expect(lines[at + 1]).toBe("  1. (search rank 1) valid objective 0.95 | valid MAE 0.95, Acc-7 0.3, Corr 0.6 | test MAE 0.97, Acc-7 0.31, Corr 0.65")
    expect(lines[at + 2]).toMatch(/^ {5}t \| t: meanpool/)
    expect(lines[at + 3]).toMatch(/^ {2}\* 2\. \(not among the search's best, the default architecture\) valid objective 0\.93 \|/)
    // the retraining comes after it
    expect(lines.findIndex((l) => l.startsWith("Retrained"))).toBe(at + 5)
  })

  it("gives the finalists' standard deviations, search fitness and text features where the search's JSON has them (haemsa search prints the same lines)", () => {
    const mean = { valid_objective: 0.934, valid: { mae: 0.934, acc7: 0.3, corr: 0.6 }, test: { mae: 0.9638, acc7: 0.33, corr: 0.667 } }
    const std = { valid_objective: 0.013, valid: { mae: 0.013, acc7: 0.01, corr: 0.02 }, test: { mae: 0.023, acc7: 0.01, corr: 0.01 } }
    const lines = SearchReport.finalistLines({
      seeds: [1, 2, 3],
      epochs: 30,
      finalists: [
        { architecture: ArchitectureSpec.defaultSpec, text_features: "glove+use", search: { rank: 2, fitness: 0.9321, level: 1 }, default: true, mean, std },
        { architecture: ArchitectureSpec.defaultSpec, default: false, failed: "seed 2: the loss diverged" }
      ],
      chosen: 0
    })
    expect(lines).toHaveLength(4)
    expect(lines[0]).toBe(
      "  * 1. (search rank 2, fitness 0.9321 at level 1, the default architecture) valid objective 0.934 ± 0.013 | " +
        "valid MAE 0.934 ± 0.013, Acc-7 0.3 ± 0.01, Corr 0.6 ± 0.02 | test MAE 0.9638 ± 0.023, Acc-7 0.33 ± 0.01, Corr 0.667 ± 0.01"
    )
    expect(lines[1]).toMatch(/^ {5}t\+a\+v \| .* \| text: glove\+use$/)
    expect(lines[2]).toBe("  2. (not among the search's best) out: seed 2: the loss diverged")
  })
})

describe("SearchReport.html", () => {
  it("holds the SVG inline, a row per generation and the best architecture", () => {
    const html = SearchReport.html(input)
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).toContain(SearchReport.svg(input))
    expect(html.match(/<tr><td>\d+<\/td>/g)).toHaveLength(3)
    expect(html).toContain("t+a x6, t+a+v x2")
    expect(html).toContain("&quot;learningRate&quot;: 0.001")
  })

  it("formatOf picks the format from the extension", () => {
    expect(SearchReport.formatOf("a/b.SVG")).toBe("svg")
    expect(SearchReport.formatOf("r.html")).toBe("html")
    expect(SearchReport.formatOf("r.png")).toBeUndefined()
  })
})

describe("SearchReport helpers", () => {
  it("niceTicks covers the range with evenly spaced round values", () => {
    fc.assert(
      fc.property(fc.double({ min: -1e3, max: 1e3, noNaN: true }), fc.double({ min: 0, max: 1e3, noNaN: true }), (lo, span) => {
        fc.pre(lo + span > lo || span === 0)
        const ticks = SearchReport.niceTicks(lo, lo + span)
        expect(ticks.length).toBeGreaterThanOrEqual(2)
        expect(ticks[0]).toBeLessThanOrEqual(lo)
        expect(ticks[ticks.length - 1]).toBeGreaterThanOrEqual(lo + span)
        const steps = ticks.slice(1).map((t, i) => t - ticks[i])
        expect(steps[0]).toBeGreaterThan(0)
        for (const s of steps) expect(Math.abs(s - steps[0])).toBeLessThanOrEqual(steps[0] * 1e-6)
        expect(ticks.length).toBeLessThanOrEqual(12)
      }),
      { numRuns: 1000 }
    )
    expect(SearchReport.niceTicks(0.42, 0.97)).toEqual([0.4, 0.6, 0.8, 1])
    expect(SearchReport.niceTicks(1000, 1000 + 1e-10).length).toBeGreaterThanOrEqual(2)
  })

  it("wrap keeps every part within the width when the line has separators, and loses no text", () => {
    const line = SearchReport.summaryLines(input)[1]
    const parts = SearchReport.wrap(line, 60)
    expect(parts.length).toBeGreaterThan(1)
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(60)
    const words = (text: string) => text.split(/[\s|]+/).filter(Boolean)
    expect(words(parts.join(" "))).toEqual(words(line))
  })
})

describe("fidelityCost", () => {
  it("counts epoch-equivalents per level and compares with training every architecture at the last level", () => {
    const levels = [{ epochs: 2, fraction: 0.25 }, { epochs: 6 }, { epochs: 20 }]
    const keys = ["0:a", "0:b", "0:c", "1:a", "1:b", "2:a"]
    const cost = SearchReport.fidelityCost(keys, levels)
    expect(cost).toEqual({ epoch_equivalents: 3 * 0.5 + 2 * 6 + 20, continued_epoch_equivalents: 0, architectures: 3, full_fidelity_epoch_equivalents: 60 })
    expect(SearchReport.fidelityCost([], levels)).toEqual({ epoch_equivalents: 0, continued_epoch_equivalents: 0, architectures: 0, full_fidelity_epoch_equivalents: 0 })
    // "a" continued its 6 epochs of level 1 at level 2: the search says so, the levels' cost is the same
    expect(SearchReport.fidelityCost(keys, levels, 6)).toEqual({ ...cost, continued_epoch_equivalents: 6 })
  })

  it("is printed under the charts", () => {
    const lines = (continued: number) =>
      SearchReport.summaryLines({
        data: "d",
        generations: [],
        best: { fitness: 0.5, level: 2, architecture: ArchitectureSpec.defaultSpec },
        evaluations: 6,
        cache_hits: 0,
        failures: 0,
        seconds: 10,
        cpu_seconds: 20,
        fidelity_cost: { epoch_equivalents: 33.5, continued_epoch_equivalents: continued, architectures: 3, full_fidelity_epoch_equivalents: 60 }
      })
    expect(lines(0)[1]).toBe("Versus full fidelity: 33.5 epoch-equivalents of training for 3 architectures; 60 at full fidelity (1.8x more)")
    expect(lines(6)[1]).toBe(
      "Versus full fidelity: 33.5 epoch-equivalents of training for 3 architectures; 60 at full fidelity (1.8x more); 6 of them continued from the level below instead of trained again"
    )
  })
})
