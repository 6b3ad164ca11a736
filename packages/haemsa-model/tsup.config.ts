import { packageConfig } from "../../tsup.config.base"

// Named entries keep dist/index.*, dist/bin.*, dist/FitnessWorker.* and dist/ReplicaWorker.* at the
// dist root: parallel/Spawn starts a worker entry (.js or .cjs) next to the built file it is bundled into.
export default packageConfig({
  entry: {
    index: "src/index.ts",
    bin: "src/bin.ts",
    FitnessWorker: "src/search/FitnessWorker.ts",
    ReplicaWorker: "src/parallel/ReplicaWorker.ts"
  }
})
