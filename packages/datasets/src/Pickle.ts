/**
 * A safe reader of Python pickles (protocols 0 to 5, written by Python 2 or 3), with numpy arrays.
 * The reader lives in `src/pickle/`; this module is the `Pickle` namespace.
 *
 * @since 0.1.0
 */
export * from "./pickle/Machine"
