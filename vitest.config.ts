import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: {
      "@haemsa/datasets": pkg("datasets"),
      "@haemsa/experts": pkg("experts"),
      "@haemsa/hierarchical-fusion": pkg("hierarchical-fusion"),
      "@haemsa/kd-losses": pkg("kd-losses"),
      "@haemsa/evo-search": pkg("evo-search"),
      "@haemsa/haemsa-model": pkg("haemsa-model")
    }
  },
  test: {
    include: ["packages/*/test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
