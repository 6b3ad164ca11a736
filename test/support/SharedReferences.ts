/**
 * Finding references to the `shared` folder that sits beside a developer's clone (a dot-dot path into
 * it, or a `shared/` path into its data, fixtures, gpu or docs folders). A user's clone has no such
 * folder, so no file of the repository may name it: the data, the fixtures and the GPU packages live
 * inside the repository.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

/** A path into the folder beside the clone: `..` then `shared`, or `shared/{data,fixtures,gpu,docs}`. */
export const SHARED_REFERENCE = /(?:\.\.[\\/])+shared(?![\w-])|(?<![\w.-])shared[\\/](?:data|fixtures|gpu|docs)(?![\w-])/

/** Extensions of binary files (data, packages, images, archives): not scanned. */
export const BINARY_EXTENSIONS: ReadonlySet<string> = new Set([
  ".pkl", ".pickle", ".csd", ".h5", ".hdf5", ".npy", ".npz", ".deb", ".wasm", ".node", ".bin",
  ".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".pdf", ".woff", ".woff2",
  ".gz", ".tgz", ".xz", ".zip", ".tar"
])

/** A line that names the folder: its 1-based number and its text. */
export interface Hit {
  readonly line: number
  readonly text: string
}

/** Every line of `text` that names the folder beside the clone. */
export const findSharedReferences = (text: string): ReadonlyArray<Hit> =>
  text.split(/\r?\n/).flatMap((line, i) => (SHARED_REFERENCE.test(line) ? [{ line: i + 1, text: line.trim() }] : []))

/** Whether `file` is skipped as binary by its extension. */
export const isBinaryPath = (file: string): boolean => BINARY_EXTENSIONS.has(path.extname(file).toLowerCase())

/** The repository's tracked files and its untracked files that git does not ignore, relative to `root`. */
export const repositoryFiles = (root: string): ReadonlyArray<string> => {
  const run = spawnSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8", maxBuffer: 64 * 2 ** 20 })
  if (run.status !== 0) throw new Error(`git ls-files failed in ${root}: ${run.error?.message ?? run.stderr}`)
  return [...new Set(run.stdout.split("\0").filter((f) => f !== ""))].sort()
}

/**
 * Every reference in the text files among `files` (relative to `root`), as `file:line: text`. Binary
 * files (by extension, or by a NUL byte), files listed but deleted, and links are skipped.
 */
export const scanFiles = (root: string, files: ReadonlyArray<string>): ReadonlyArray<string> =>
  files.flatMap((file) => {
    if (isBinaryPath(file)) return []
    const full = path.join(root, file)
    const stat = fs.lstatSync(full, { throwIfNoEntry: false })
    if (stat === undefined || !stat.isFile()) return []
    const text = fs.readFileSync(full, "utf8")
    if (text.includes("\0")) return []
    return findSharedReferences(text).map((hit) => `${file}:${hit.line}: ${hit.text.slice(0, 200)}`)
  })
