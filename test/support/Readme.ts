/**
 * Reading a package README as the consumer test does: its runnable programs (the ```js fences),
 * its relative links (which break on a registry page), and a program's imports rewritten to Deno's
 * `npm:` specifiers.
 */

/** The contents of every fence whose language is `js`, `javascript` or `mjs`, in order. */
export const programs = (markdown: string): Array<string> =>
  [...markdown.matchAll(/^```(?:js|javascript|mjs)[ \t]*\r?\n([\s\S]*?)^```[ \t]*$/gm)].map((m) => m[1])

/** Link targets that are neither absolute URLs nor in-page anchors (`[text](../x.md)`, `[text](docs/x)`). */
export const relativeLinks = (markdown: string): Array<string> =>
  [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1])
    .filter((target) => !/^(?:[a-z][a-z0-9+.-]*:|#)/i.test(target))

/** `import ... from "pkg"` and `import("pkg")` of bare package names as `npm:pkg` (Node builtins and relative paths kept). */
export const toNpmSpecifiers = (code: string): string =>
  code.replace(/(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'.\/][^"']*)\2/g, (whole, head: string, quote: string, spec: string) =>
    spec.startsWith("node:") || spec.startsWith("npm:") || spec.startsWith("jsr:") ? whole : `${head}${quote}npm:${spec}${quote}`)
