/**
 * Where this package's code runs from: the built bundle it is part of (`dist/index.js`, `.cjs`, a
 * Deno bundle) or, from the TypeScript sources, this file. The backend finds the wasm binaries, the
 * run card the package's versions, and `parallel/Spawn` the worker entries from it.
 *
 * @internal
 */
import { isAbsolute } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

/**
 * The module's file: `__filename` where CommonJS defines it as a path (the CJS build; a bundle whose
 * banner defines it, e.g. the Deno bundle), else from `import.meta.url` (the ESM build, the sources);
 * undefined when neither gives a file.
 */
export const moduleFile = (): string | undefined => {
  // an eval'd worker (the sources' worker bootstrap) has a global __filename of "[worker eval]": not this module's
  if (typeof __filename === "string" && isAbsolute(__filename)) return __filename
  try {
    return fileURLToPath(import.meta.url)
  } catch {
    return undefined
  }
}

/** {@link moduleFile} as a file URL (`import.meta.url` itself when there is no file). */
export const moduleUrl = (): string => {
  const file = moduleFile()
  return file !== undefined ? pathToFileURL(file).href : import.meta.url
}
