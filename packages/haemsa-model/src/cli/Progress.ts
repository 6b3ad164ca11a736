/**
 * Progress output for long work (training epochs, search generations): a service so tests can silence
 * it and tools can capture it. On a terminal the line is redrawn in place; otherwise one line per update.
 *
 * @since 0.1.0
 */
import { Context, Layer } from "effect"

/** Without a terminal, in-place updates are printed at most this often. */
export const NON_TTY_INTERVAL_MS = 15_000

/** Progress reporting. */
export class Progress extends Context.Service<Progress, {
  /** Show the current state (replaces the previous line on a terminal). */
  readonly update: (line: string) => void
  /** A line that stays (end of a phase, a summary). */
  readonly log: (line: string) => void
}>()("@haemsa/haemsa-model/Progress") {
  /** Writes to stderr. */
  static readonly layer = Layer.sync(Progress, () => {
    const tty = process.stderr.isTTY === true
    let open = false
    let lastPrinted = 0
    return {
      update: (line: string) => {
        if (tty) {
          process.stderr.write(`\r\x1b[2K${line}`)
          open = true
        } else if (performance.now() - lastPrinted > NON_TTY_INTERVAL_MS) {
          // logs and pipes get a line now and then, not a redraw per step
          lastPrinted = performance.now()
          process.stderr.write(line + "\n")
        }
      },
      log: (line: string) => {
        if (open) process.stderr.write("\n")
        open = false
        process.stderr.write(line + "\n")
      }
    }
  })
  /** Discards everything (tests). */
  static readonly layerSilent = Layer.succeed(Progress, { update: () => {}, log: () => {} })
  /** Collects lines into an array (tests that assert on progress). */
  static readonly layerCollect = (lines: string[]) => Layer.succeed(Progress, { update: (l) => void lines.push(l), log: (l) => void lines.push(l) })
}

/** `m:ss` for a number of seconds. */
export const formatDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "?"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(r).padStart(2, "0")}` : `${m}:${String(r).padStart(2, "0")}`
}

/** A text progress bar `[#####.....]` for a fraction in [0, 1]. */
export const bar = (fraction: number, width = 20): string => {
  const k = Math.max(0, Math.min(width, Math.round(fraction * width)))
  return `[${"#".repeat(k)}${".".repeat(width - k)}]`
}
