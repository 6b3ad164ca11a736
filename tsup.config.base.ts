import { defineConfig, type Options } from "tsup"

/** The one build configuration every package uses: ESM + CJS + .d.ts from src/index.ts. */
export const packageConfig = (extra: Partial<Options> = {}) =>
  defineConfig({
    entry: ["src/index.ts"],
    format: ["esm", "cjs"],
    // declarations resolve sibling packages through their published types, not the "source" condition
    dts: { compilerOptions: { customConditions: [] } },
    sourcemap: true,
    clean: true,
    target: "node20",
    outDir: "dist",
    ...extra
  })
