import { describe, expect, it } from "vitest"
import * as Readme from "./support/Readme"

describe("Readme (the consumer test's reading of package READMEs)", () => {
  it("takes the js fences as programs and leaves the others", () => {
    const md = "# x\n```sh\nnpm i x\n```\n```js\nconsole.log(1)\n```\ntext\n```ts\nlet a: number\n```\n```javascript\nconsole.log(2)\n```\n"
    expect(Readme.programs(md)).toEqual(["console.log(1)\n", "console.log(2)\n"])
  })

  it("finds relative links and accepts absolute ones and anchors", () => {
    const md = "[a](../../docs/x.md) [b](https://github.com/haemsa/haemsa/blob/main/docs/x.md) [c](#usage) [d](docs/y.md \"title\") [e](mailto:a@b.c)"
    expect(Readme.relativeLinks(md)).toEqual(["../../docs/x.md", "docs/y.md"])
  })

  it("rewrites bare imports to npm: specifiers, keeping node: builtins and relative paths", () => {
    const code = [
      `import * as tf from "@tensorflow/tfjs"`,
      `import { Effect } from 'effect'`,
      `import * as fs from "node:fs"`,
      `import { x } from "./local.js"`,
      `import "@haemsa/datasets"`,
      `const m = await import("@haemsa/evo-search")`
    ].join("\n")
    expect(Readme.toNpmSpecifiers(code).split("\n")).toEqual([
      `import * as tf from "npm:@tensorflow/tfjs"`,
      `import { Effect } from 'npm:effect'`,
      `import * as fs from "node:fs"`,
      `import { x } from "./local.js"`,
      `import "npm:@haemsa/datasets"`,
      `const m = await import("npm:@haemsa/evo-search")`
    ])
  })
})
