/**
 * The webgpu backend (with the fused WGSL kernels and the dispatch caches) agrees with cpu:
 * benchmarks/gpu/agreement.ts (the fused losses with their edge cases, six training steps, the
 * training loop, one step of three architectures), bundled
 * and run under Deno (`--unstable-webgpu`), which on a machine without a GPU uses Mesa's lavapipe
 * (CI installs libvulkan1 and mesa-vulkan-drivers; the check passes `--allow-software-adapter`, as
 * lavapipe is a software adapter). Skipped, with the reason printed, when there is no Deno binary or
 * no Vulkan driver. The comparison itself is tested without a GPU.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import * as Bundle from "../../../benchmarks/deno/Bundle"
import { compare, TOLERANCE } from "../../../benchmarks/gpu/agreement"

const ICD_DIRS = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d", "/usr/local/share/vulkan/icd.d"]
const LIB_DIRS = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"]

/** Why the Deno check cannot run here, or undefined when it can. */
const skipReason = (): string | undefined => {
  if (process.platform !== "linux") return `Vulkan check written for Linux (this is ${process.platform})`
  if (Bundle.denoBinary() === undefined) return "no deno binary (the root devDependency `deno` is not installed)"
  if (!LIB_DIRS.some((d) => fs.existsSync(path.join(d, "libvulkan.so.1")))) return "no Vulkan loader (apt-get install libvulkan1)"
  const icds = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES
  const hasIcd = icds !== undefined
    ? icds.split(":").some((f) => fs.existsSync(f))
    : ICD_DIRS.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.endsWith(".json")))
  return hasIcd ? undefined : "no Vulkan driver (apt-get install mesa-vulkan-drivers for lavapipe)"
}

const reason = skipReason()
if (reason !== undefined) console.warn(`WebGpuAgreement: the Deno/lavapipe check is skipped: ${reason}`)

const result = (loss: number, values: Record<string, { g: number[]; w: number[] }>) => ({
  loss,
  initial: new Map(Object.entries(values).map(([k, v]) => [k, Float32Array.from(v.w)])),
  gradients: new Map(Object.entries(values).map(([k, v]) => [k, Float32Array.from(v.g)])),
  updated: new Map(Object.entries(values).map(([k, v]) => [k, Float32Array.from(v.w)]))
})

describe("agreement.compare", () => {
  const base = { a: { g: [1, -0.5, 0.25], w: [0.1, 0.2, -0.3] }, b: { g: [1e-9, 2], w: [1, 1] } }
  const cpu = result(2.5, base)

  it("equal results agree", () => {
    expect(compare(cpu, result(2.5, base)).problems).toEqual([])
  })

  it("differences inside the tolerance agree", () => {
    const near = result(2.5 * (1 + TOLERANCE / 2), { ...base, a: { g: [1, -0.5 + TOLERANCE / 2, 0.25], w: [0.1, 0.2, -0.3 + 1e-4] } })
    expect(compare(cpu, near).problems).toEqual([])
  })

  it("a loss, gradient or updated weight outside the tolerance is named", () => {
    const far = result(2.6, { ...base, a: { g: [1, -0.4, 0.25], w: [0.1, 0.25, -0.3] } })
    const { problems } = compare(cpu, far)
    expect(problems.some((p) => p.startsWith("loss"))).toBe(true)
    expect(problems.some((p) => p.startsWith("gradient a"))).toBe(true)
    expect(problems.some((p) => p.startsWith("updated weight a"))).toBe(true)
    expect(problems.some((p) => p.includes(" b"))).toBe(false)
  })

  it("NaN anywhere is a mismatch", () => {
    expect(compare(cpu, result(NaN, base)).problems).toHaveLength(1)
    expect(compare(cpu, result(2.5, { ...base, a: { ...base.a, g: [1, NaN, 0.25] } })).problems).toHaveLength(1)
  })

  it("weights whose gradient is ~0 (Adam's sign noise) are left out of the update check only", () => {
    const signNoise = result(2.5, { ...base, b: { g: [-1e-9, 2], w: [1.002, 1] } })
    expect(compare(cpu, signNoise).problems).toEqual([])
  })
})

describe("webgpu under Deno (lavapipe without a GPU)", () => {
  it.skipIf(reason !== undefined)("webgpu (fused kernels, dispatch caches) matches cpu: the losses, six steps, Train.train, one step of three architectures", async () => {
    const file = await Bundle.bundle("benchmarks/gpu/agreement.ts", Bundle.outPath("agreement.mjs"))
    // lavapipe is a software adapter: allowed explicitly (the check is about correctness, not speed)
    const child = spawnSync(Bundle.denoBinary()!, ["run", "-A", "--unstable-webgpu", file, "--allow-software-adapter"], { encoding: "utf8", env: Bundle.bundleEnv(), timeout: 240_000 })
    const output = `${child.stdout}\n${child.stderr}`
    expect(output, output).toContain("webgpu agrees with cpu")
    // every part of the check ran
    expect(output).toMatch(/losses: \d+ values and gradients/)
    expect(output).toMatch(/6 training steps \(default\)/)
    expect(output).toMatch(/Train\.train \(2 epochs\)/)
    expect(output).toMatch(/default: \d+ weights/)
    expect(output).toMatch(/default with dropout: \d+ weights/)
    expect(output).toMatch(/mixed: \d+ weights/)
    expect(output).not.toContain("MISMATCH")
    expect(output).not.toContain("does not compile")
    expect(child.status, output).toBe(0)
  }, 300_000)
})
