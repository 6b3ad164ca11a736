/**
 * JSON that keeps every number: JSON writes numbers exactly (the shortest round-trip form) but not
 * NaN, ±Infinity or -0, which it turns into `null` or `0`. Those are written tagged
 * (`{"$number": "NaN"}`) and read back as the numbers they were. The training state and the search's
 * selection file use it, so a metric that was NaN (a constant prediction's correlation) is NaN again
 * after a resume, not 0.
 *
 * @internal
 */

const NUMBER_TAG = "$number"

const replacer = (_key: string, v: unknown) =>
  typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? { [NUMBER_TAG]: Object.is(v, -0) ? "-0" : String(v) } : v

const reviver = (_key: string, v: unknown) =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as Record<string, unknown>)[NUMBER_TAG] === "string"
    ? Number((v as Record<string, string>)[NUMBER_TAG])
    : v

/** `JSON.stringify` with NaN, ±Infinity and -0 tagged. */
export const stringify = (value: unknown, space?: number): string => JSON.stringify(value, replacer, space)

/** `JSON.parse` with the tagged numbers restored; throws like `JSON.parse` on bad JSON. */
// (typed like JSON.parse: the caller checks the shape)
export const parse = (text: string): any => JSON.parse(text, reviver)
