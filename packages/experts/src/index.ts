/**
 * @haemsa/experts: sequence encoders used as HAEMSA's modality-specific and unified experts, built on
 * the layers of `@haemsa/nn`.
 *
 * @since 0.1.0
 * @module @haemsa/experts
 */

/** Typed errors. */
export * as Errors from "./Errors"
/** Encoder specs and the modality-specific expert. */
export * as Expert from "./Expert"
/** The ExpertFactory service (swap experts with a layer). */
export * as ExpertFactory from "./ExpertFactory"
/** The unified expert over the (never materialised) concatenation of modalities. */
export * as UnifiedExpert from "./UnifiedExpert"
