import { defineConfig, type Options } from "tsup"

/** The one build configuration every package uses: ESM + CJS + .d.ts from src/index.ts. */
export const packageConfig = (extra: Partial<Options> = {}) =>
  defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    dts: true,
    sourcemap: true,
    clean: true,
    target: "node20",
    outDir: "dist",
    ...extra
  })
