import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

// vitest 5's reporter uses Map.groupBy / Object.groupBy (Node >= 21); this project supports Node 20.
const groupBy = <K, V>(items: Iterable<V>, key: (v: V, i: number) => K) => {
  const out = new Map<K, V[]>()
  let i = 0
  for (const v of items) {
    const k = key(v, i++)
    const list = out.get(k)
    if (list) list.push(v)
    else out.set(k, [v])
  }
  return out
}
const MapWithGroupBy = Map as unknown as { groupBy?: typeof groupBy }
MapWithGroupBy.groupBy ??= groupBy
const ObjectWithGroupBy = Object as unknown as { groupBy?: (items: Iterable<unknown>, key: (v: unknown, i: number) => PropertyKey) => object }
ObjectWithGroupBy.groupBy ??= (items, key) => Object.fromEntries(groupBy(items, key))

const pkg = (name: string) => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))

export default defineConfig({
  resolve: {
    alias: {
      "@haemsa/datasets": pkg("datasets"),
      "@haemsa/nn": pkg("nn"),
      "@haemsa/experts": pkg("experts"),
      "@haemsa/hierarchical-fusion": pkg("hierarchical-fusion"),
      "@haemsa/kd-losses": pkg("kd-losses"),
      "@haemsa/evo-search": pkg("evo-search"),
      "@haemsa/haemsa-model": pkg("haemsa-model"),
      // the private helpers shared by the packages' tests (source only, never built)
      "@haemsa/test-helpers": pkg("test-helpers")
    }
  },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["./vitest.setup.ts"],
    // in CI also write a JSON report, summarised by .ci/run
    reporters: process.env["CI"] ? ["default", ["json", { outputFile: ".out/vitest-results.json" }]] : ["default"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks"
  }
})
