import { packageConfig } from "../../tsup.config.base"

// Named entries keep dist/index.*, dist/bin.* and dist/FitnessWorker.* at the dist root:
// SearchEvaluator starts FitnessWorker.js (or .cjs) next to the built file it is bundled into.
export default packageConfig({ entry: { index: "src/index.ts", bin: "src/bin.ts", FitnessWorker: "src/search/FitnessWorker.ts" } })
