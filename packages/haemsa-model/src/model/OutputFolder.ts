/**
 * The folders haemsa writes its state into (`train --out DIR`, `search --checkpoint DIR`): what is
 * haemsa's own in them, a lock that serialises writers, haemsa's temp file names, and the file system
 * steps every writer goes through ({@link Fs}, injectable so tests can fail any step).
 *
 * - {@link firstForeign}: the first entry of a folder that is not haemsa's (commands refuse such a
 *   folder unless `--force`). haemsa's own: a haemsa checkpoint (`checkpoint.json` and its
 *   `weights-<hash>.bin`, and weights files named so, left by an interrupted save), a search state
 *   (`checkpoint.json` of `@haemsa/evo-search`, `cost.json`, `selection.json`), `train-state*`, `seed-<S>/` folders
 *   holding only such files, the lock, and temp files of haemsa's naming. The checkpoint and the
 *   search state are each haemsa's in the folder of their {@link Purpose} only.
 * - {@link acquire}: `DIR/.haemsa.lock` (pid, hostname, start time), created with `O_EXCL`. A second
 *   writer waits for it, up to a bound, telling `onWait` once who holds it, then fails with a
 *   {@link LockError} naming the holder. A lock of a process that is gone (its pid not alive on this
 *   host) is taken over.
 * - {@link tempPath}: `.<name>.<pid>.<random>.tmp` next to the target; {@link removeStaleTemps}
 *   removes those whose process is gone; {@link replaceFile} writes a file through one.
 *
 * @since 0.2.0
 */
import { Schema } from "effect"
import { randomBytes } from "node:crypto"
import * as nodeFs from "node:fs"
import * as fsp from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

/** The lock file's name inside a folder. */
export const LOCK = ".haemsa.lock"

/** The folder lock is held by another live process (after the wait), or cannot be taken. */
export class LockError extends Schema.TaggedError<LockError>()("LockError", {
  /** The lock file. */
  file: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}: ${this.reason}`
  }
}

/**
 * The file system steps of a writer, one call per step: each of them is a point where a kill, a full
 * disk or an I/O error can stop the write. {@link nodeFileSystem} is the real one.
 */
export interface Fs {
  /** Create `file` (it must not exist: `O_EXCL`) and write `data` to it. */
  readonly create: (file: string, data: Uint8Array | string) => Promise<void>
  /** Flush `file`'s content to disk. */
  readonly fsync: (file: string) => Promise<void>
  /** Rename `from` to `to`, replacing `to`. */
  readonly rename: (from: string, to: string) => Promise<void>
  /** Remove `file`. */
  readonly unlink: (file: string) => Promise<void>
  /** Flush a folder, so the renames in it are on disk (a no-op where a folder cannot be opened). */
  readonly fsyncFolder: (dir: string) => Promise<void>
  readonly mkdir: (dir: string) => Promise<void>
  readonly readFile: (file: string) => Promise<Buffer>
  readonly readdir: (dir: string) => Promise<ReadonlyArray<string>>
}

const codeOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : undefined

/** The real file system. */
export const nodeFileSystem: Fs = {
  create: (file, data) => fsp.writeFile(file, data, { flag: "wx" }),
  fsync: async (file) => {
    const handle = await fsp.open(file, "r+")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  },
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
  fsyncFolder: async (dir) => {
    const handle = await fsp.open(dir, "r").catch(() => undefined)
    if (handle === undefined) return
    try {
      await handle.sync().catch((e) => {
        const code = codeOf(e)
        if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw e
      })
    } finally {
      await handle.close()
    }
  },
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true })
  },
  readFile: (file) => fsp.readFile(file),
  readdir: (dir) => fsp.readdir(dir)
}

/** Whether process `pid` is alive on this host (a process we may not signal is alive). */
export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return codeOf(e) === "EPERM"
  }
}

/** haemsa's temp file names: `.<name>.<pid>.<random>.tmp`. */
const TEMP = /^\.(.+)\.(\d+)\.([0-9a-f]+)\.tmp$/

/** A temp file path for `target` written by process `pid` (default this one): `.<name>.<pid>.<random>.tmp` in the same folder. */
export const tempPath = (target: string, pid: number = process.pid): string =>
  path.join(path.dirname(target), `.${path.basename(target)}.${pid}.${randomBytes(4).toString("hex")}.tmp`)

/** Options of {@link replaceFile}. */
export interface ReplaceOptions {
  readonly fs?: Fs
  /** The pid in the temp file's name (default this process's). */
  readonly pid?: number
  /** Flush the folder after the rename, so the new file survives a crash (default true; a writer of several files flushes it once, after the last). */
  readonly syncFolder?: boolean
}

/**
 * Replace `file` atomically: `data` goes to a temp file of haemsa's naming ({@link tempPath}) in the same
 * folder, which is flushed and renamed over `file`, then the folder is flushed. A kill leaves `file` old
 * or new, never part written; a failed step removes the temp file (when it can) and rejects, `file` as it
 * was. The folder must exist. Every writer of haemsa's output folders and caches goes through this.
 */
export const replaceFile = async (file: string, data: Uint8Array | string, options: ReplaceOptions = {}): Promise<void> => {
  const fs = options.fs ?? nodeFileSystem
  const tmp = tempPath(file, options.pid)
  try {
    await fs.create(tmp, data)
    await fs.fsync(tmp)
    await fs.rename(tmp, file)
  } catch (e) {
    await fs.unlink(tmp).catch(() => undefined)
    throw e
  }
  if (options.syncFolder ?? true) await fs.fsyncFolder(path.dirname(file))
}

/** The pid in a haemsa temp file name, or undefined when `name` is not one. */
export const tempOwner = (name: string): number | undefined => {
  const m = TEMP.exec(name)
  return m === null ? undefined : Number(m[2])
}

/**
 * Remove the temp files of haemsa's naming in `dir` whose writing process is gone (a kill or a failed
 * write left them); returns their names. Another process's live temp files are left alone.
 */
export const removeStaleTemps = async (
  dir: string,
  options: { readonly fs?: Fs; readonly isAlive?: (pid: number) => boolean } = {}
): Promise<ReadonlyArray<string>> => {
  const fs = options.fs ?? nodeFileSystem
  const alive = options.isAlive ?? isAlive
  const removed: string[] = []
  for (const name of await fs.readdir(dir).catch(() => [] as ReadonlyArray<string>)) {
    const pid = tempOwner(name)
    if (pid === undefined || alive(pid)) continue
    await fs.unlink(path.join(dir, name)).catch((e) => {
      if (codeOf(e) !== "ENOENT") throw e
    })
    removed.push(name)
  }
  return removed
}

/** Who holds a folder lock, as written in the lock file. */
export interface Holder {
  readonly pid: number
  readonly hostname: string
  /** ISO 8601. */
  readonly started: string
}

/** The holder in words: `pid 123 on host h since 2026-12-04T22:00:00.000Z`. */
export const describeHolder = (holder: Holder | undefined): string =>
  holder === undefined ? "an unreadable lock file" : `pid ${holder.pid} on host ${holder.hostname} since ${holder.started}`

/** A held folder lock; {@link Lock.release} removes it (once). */
export interface Lock {
  readonly dir: string
  readonly file: string
  readonly holder: Holder
  readonly release: () => Promise<void>
}

/** Options of {@link acquire}. */
export interface AcquireOptions {
  readonly fs?: Fs
  /** The pid written in the lock (default this process's). */
  readonly pid?: number
  readonly isAlive?: (pid: number) => boolean
  /** The longest wait for another writer's lock, in milliseconds (default 60000; 0 fails at once). */
  readonly waitMs?: number
  /** The pause between two attempts while waiting, in milliseconds (default 200). */
  readonly pollMs?: number
  /** Told once, when the lock is held by another live process and the wait begins (default: a `haemsa: ...` line on stderr). */
  readonly onWait?: (message: string) => void
}

const parseHolder = (text: string): Holder | undefined => {
  try {
    const h = JSON.parse(text)
    return typeof h?.pid === "number" && typeof h?.hostname === "string" && typeof h?.started === "string" ? h : undefined
  } catch {
    return undefined
  }
}

const printWait = (message: string): void => {
  process.stderr.write(`haemsa: ${message}\n`)
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Take `dir`'s lock (`DIR/.haemsa.lock`, created with `O_EXCL`; the folder must exist). When another
 * live process holds it, wait up to `waitMs` (telling `onWait` once), then fail with a
 * {@link LockError} naming the holder. A lock left by a process that is gone (same host, pid not
 * alive) is removed and taken. Rejects with a {@link LockError}.
 */
export const acquire = async (dir: string, options: AcquireOptions = {}): Promise<Lock> => {
  const fs = options.fs ?? nodeFileSystem
  const alive = options.isAlive ?? isAlive
  const file = path.join(dir, LOCK)
  const holder: Holder = { pid: options.pid ?? process.pid, hostname: os.hostname(), started: new Date().toISOString() }
  const waitMs = options.waitMs ?? 60_000
  const deadline = Date.now() + waitMs
  let told = false
  for (;;) {
    try {
      await fs.create(file, JSON.stringify(holder) + "\n")
      let released = false
      return {
        dir,
        file,
        holder,
        release: async () => {
          if (released) return
          released = true
          await fs.unlink(file).catch((e) => {
            if (codeOf(e) !== "ENOENT") throw e
          })
        }
      }
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw new LockError({ file, reason: `cannot create the lock: ${e instanceof Error ? e.message : String(e)}` })
    }
    const text = await fs.readFile(file).then((b) => b.toString("utf8"), () => undefined)
    if (text === undefined) continue // released meanwhile: try again
    const other = parseHolder(text)
    if (other !== undefined && other.hostname === os.hostname() && !alive(other.pid)) {
      // a dead writer's lock: take it over (unless it changed since it was read)
      const again = await fs.readFile(file).then((b) => b.toString("utf8"), () => undefined)
      if (again === text) {
        await fs.unlink(file).catch((e) => {
          if (codeOf(e) !== "ENOENT") throw new LockError({ file, reason: `cannot remove a stale lock: ${String(e)}` })
        })
      }
      continue
    }
    if (Date.now() >= deadline) {
      throw new LockError({
        file,
        reason: `held by ${describeHolder(other)}${waitMs > 0 ? ` (waited ${Math.round(waitMs / 1000)}s)` : ""}: another haemsa is writing ${dir}` +
          (other === undefined ? "; if none is, remove the lock file" : "")
      })
    }
    if (!told) {
      told = true
      ;(options.onWait ?? printWait)(`${dir} is being written by ${describeHolder(other)}: waiting up to ${Math.round(waitMs / 1000)}s for its lock`)
    }
    await sleep(Math.min(options.pollMs ?? 200, Math.max(1, deadline - Date.now())))
  }
}

/** Run `use` holding `dir`'s lock ({@link acquire}), released afterwards whatever happens. */
export const withLock = async <A>(dir: string, use: (lock: Lock) => Promise<A>, options: AcquireOptions = {}): Promise<A> => {
  const lock = await acquire(dir, options)
  try {
    return await use(lock)
  } finally {
    await lock.release().catch(() => undefined)
  }
}

/** haemsa's file names in an output folder, other than `checkpoint.json` and `seed-<S>/` (checked by content). */
const OWN_NAMES: ReadonlyArray<RegExp> = [
  /^weights-[0-9a-f]{16}\.bin$/, // a checkpoint's weights (or one left by an interrupted save)
  /^train-state/, // training state (resume)
  /^cost\.json$/, // a search's CPU time
  /^selection\.json$/, // a search's selection among its finalists (search/Selection)
  /^\.haemsa\.lock$/,
  TEMP,
  // temp files of older versions and of single-file writers
  /\.tmp-\d+-\d+$/,
  /^(checkpoint|cost|selection)\.json\.tmp$/,
  /^\.haemsa-check\.tmp-\d+-\d+$/
]

/** What a folder is for: a model checkpoint (`train --out`) or a search's state (`search --checkpoint`). */
export type Purpose = "checkpoint" | "search"

/** The `format` of the `checkpoint.json` each purpose writes. */
const FORMATS: Readonly<Record<Purpose, string>> = { checkpoint: "haemsa-checkpoint", search: "@haemsa/evo-search/checkpoint" }

/**
 * The first entry of `dir` (in name order) that is not haemsa's own, with why, or undefined when the
 * folder is empty, does not exist or holds haemsa's files only (see the module's description).
 * A `seed-<S>` folder is looked into; its first foreign entry is named as `seed-<S>/entry`. The
 * `checkpoint.json` of the other `purpose` (a search's state in a checkpoint folder, a model checkpoint
 * in a search folder) is named too: writing there would replace it.
 */
export const firstForeign = (dir: string, purpose: Purpose = "checkpoint"): string | undefined => {
  let names: string[]
  try {
    names = nodeFs.readdirSync(dir).sort()
  } catch {
    return undefined
  }
  for (const name of names) {
    const full = path.join(dir, name)
    let st: nodeFs.Stats
    try {
      st = nodeFs.lstatSync(full)
    } catch {
      continue // removed meanwhile
    }
    if (/^seed-\d+$/.test(name) && st.isDirectory()) {
      const inner = firstForeign(full, purpose)
      if (inner !== undefined) return `${name}/${inner}`
      continue
    }
    if (name === "checkpoint.json" && st.isFile()) {
      let format: unknown
      try {
        format = JSON.parse(nodeFs.readFileSync(full, "utf8"))?.format
      } catch {
        return `${name} (not a haemsa checkpoint)`
      }
      if (format === FORMATS[purpose]) continue
      if (format === FORMATS.checkpoint) return `${name} (a model checkpoint, which a search's state would replace)`
      if (format === FORMATS.search) return `${name} (a search's state, which a checkpoint would replace)`
      return `${name} (not a haemsa checkpoint)`
    }
    if (st.isFile() && OWN_NAMES.some((re) => re.test(name))) continue
    return st.isDirectory() ? `${name}/` : name
  }
  return undefined
}
