/**
 * The error a call throws, for checks on it.
 */

/**
 * Run `f` and return what it throws; fails with "nothing was thrown" when it returns. With an error
 * class first, it also checks the class: `thrown(FusionError, () => make(...)).field`. Anything else
 * thrown then fails the check, the thrown value kept as the failure's cause.
 */
export function thrown(f: () => unknown): unknown
export function thrown<E>(type: abstract new(...args: never[]) => E, f: () => unknown): E
export function thrown<E>(...args: [() => unknown] | [abstract new(...args: never[]) => E, () => unknown]): unknown {
  const [type, f] = args.length === 1 ? [undefined, args[0]] : args
  try {
    f()
  } catch (e) {
    if (type === undefined || e instanceof type) return e
    throw new Error(`expected a ${type.name}, got ${String(e)}`, { cause: e })
  }
  throw new Error(`expected ${type === undefined ? "a throw" : `a ${type.name}`}, nothing was thrown`)
}
