/**
 * The pickle reader's internal failure: every check in the `pickle/` modules calls `reject`, and
 * `parse` turns the `Reject` into a `PickleError` at the byte offset of the failing opcode.
 * Internal to the reader: not part of the `Pickle` namespace.
 *
 * @since 0.2.0
 */

/** Internal failure: turned into a PickleError at the current opcode by `parse`. */
export class Reject {
  constructor(readonly reason: string) {}
}

/** Stop reading with `reason` (thrown, caught by `parse`). */
export const reject = (reason: string): never => {
  throw new Reject(reason)
}
