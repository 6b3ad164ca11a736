import { describe, expect, it } from "vitest"
import * as RobustnessPlot from "../src/cli/RobustnessPlot"
import type { RobustnessRow } from "../src/model/Evaluate"
import * as Robustness from "../src/model/Robustness"

const metrics = (mae: number, acc: number) => ({ acc2_has0: acc, acc2_non0: acc, f1_has0: acc, f1_non0: acc, acc5: 0.5, acc7: 0.4, mae, corr: 0.8 })

const rows: RobustnessRow[] = (["text", "audio"] as const).flatMap((modality, m) =>
  Robustness.MODES.flatMap((mode, k) =>
    Robustness.RATES.map((rate) => ({ modality, mode, rate, test: metrics(0.4 + rate * (m + k + 1), 0.9 - rate * (m + 1) * 0.2) }))
  )
)

/** The polylines: their data-line names and point lists. */
const polylines = (svg: string) =>
  [...svg.matchAll(/<polyline data-line="([^"]+)" points="([^"]*)"/g)].map((p) => ({ line: p[1], points: p[2].split(" ").map((xy) => xy.split(",").map(Number)) }))

describe("RobustnessPlot.svg", () => {
  it("a panel per metric (MAE, Acc-2 non0), a polyline per modality and mode with a point per rate, a legend, escaped text", () => {
    const svg = RobustnessPlot.svg(rows, "haemsa on <data>&co")
    expect(svg.startsWith("<svg ")).toBe(true)
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg).toContain("haemsa on &lt;data&gt;&amp;co")
    const lines = polylines(svg)
    expect(lines.map((l) => l.line)).toEqual([
      "text-frames", "text-whole", "audio-frames", "audio-whole", // MAE panel
      "text-frames", "text-whole", "audio-frames", "audio-whole" // Acc-2 panel
    ])
    for (const l of lines) {
      expect(l.points).toHaveLength(6)
      expect(l.points.flat().every(Number.isFinite)).toBe(true)
      const xs = l.points.map(([x]) => x)
      expect(xs).toEqual([...xs].sort((a, b) => a - b))
    }
    // MAE grows with the rate, so its line goes up on the canvas (smaller y)
    const mae = lines[0].points
    expect(mae[5][1]).toBeLessThan(mae[0][1])
    expect(svg).toContain("MAE")
    expect(svg).toContain("Acc-2 non0")
    expect(svg).toContain("missing rate")
    expect(svg.match(/transform="rotate\(-90 /g)).toHaveLength(2) // a y axis label per panel
    for (const name of ["text, frames", "text, whole modality", "audio, frames", "audio, whole modality"]) expect(svg).toContain(name)
    expect((svg.match(/<text /g) ?? []).length).toBe((svg.match(/<\/text>/g) ?? []).length)
  })

  it("a non-finite value is left out of its line", () => {
    const broken = rows.map((r) => (r.modality === "text" && r.mode === "frames" && r.rate === 0.2 ? { ...r, test: metrics(NaN, NaN) } : r))
    const lines = polylines(RobustnessPlot.svg(broken, "t"))
    expect(lines.map((l) => l.points.length)).toEqual([5, 6, 6, 6, 5, 6, 6, 6])
  })

  it("emotion rows plot mean accuracy and mean F1", () => {
    const emo: RobustnessRow[] = Robustness.RATES.map((rate) => ({
      modality: "vision",
      mode: "whole",
      rate,
      test: { happy: { acc: 0.8 - rate / 2, f1: 0.7 - rate / 3 }, sad: { acc: 0.6, f1: 0.5 } }
    }))
    const svg = RobustnessPlot.svg(emo, "emotions")
    expect(svg).toContain("mean accuracy")
    expect(svg).toContain("mean weighted F1")
    expect(polylines(svg).map((l) => [l.line, l.points.length])).toEqual([["vision-whole", 6], ["vision-whole", 6]])
    expect(RobustnessPlot.metricsOf(emo)[0].value(emo[0].test)).toBeCloseTo(0.7)
  })
})
