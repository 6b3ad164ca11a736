/**
 * Helpers shared by the tests of the haemsa packages. Private: never built or published; tests import
 * this source as `@haemsa/test-helpers`.
 */
export * from "./Backend"
export * from "./FiniteDifferences"
export * from "./Fixtures"
export * from "./Gradients"
export * from "./Kernels"
export * from "./Leaks"
export * from "./Tensors"
export * from "./Thrown"
