/**
 * The commands' output files (`--json`, `--report`, predictions) and the pre-flight check of every
 * output location (`--out`, `--checkpoint` folders too). What a path names decides how it is written:
 *
 * - `-` (and `/dev/stdout`): standard output, streamed (the command prints its tables on stderr then);
 * - an existing FIFO or character device, or a file descriptor path (`/dev/fd/N`, `/proc/self/fd/N`,
 *   `/dev/stderr`): written in place, streamed, never replaced (`/dev/full` stays a device and its
 *   ENOSPC is an {@link OutputError});
 * - a regular file or a new path: replaced atomically: a temp file in the same folder, fsync, rename
 *   over the target, fsync of the folder; an interrupted or failed write leaves the target as it was;
 * - a symbolic link: followed, and the file it points to replaced atomically (the link stays a link).
 *
 * Nothing else (a folder, a socket, a block device) is written, and nothing but a regular file or a
 * new path is ever renamed over. {@link check} finds an unusable location before the work starts: a
 * parent that is a regular file, a read-only file system (a real probe: a temp file created and
 * removed), a folder without write permission; each named with its cause.
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import * as OutputFolder from "../model/OutputFolder"
import { UsageError } from "./Args"

/** The output name that stands for standard output. */
export const STDOUT = "-"

/** Writing an output failed after the work was done (no space left, an I/O error, a closed pipe); exit code 1. */
export class OutputError extends Schema.TaggedError<OutputError>()("OutputError", {
  /** The output as given (`--json FILE`'s FILE). */
  file: Schema.String,
  reason: Schema.String,
  /** The file system's error, if any. */
  cause: Schema.optional(Schema.Defect())
}) {
  override get message(): string {
    return `cannot write ${this.file}: ${this.reason}`
  }
}

/** How an output path is written (see the module's description). */
export type Target =
  | { readonly _tag: "Stdout" }
  | { readonly _tag: "Direct"; readonly file: string }
  | { readonly _tag: "Atomic"; readonly file: string }

/** A place where output goes: `file` for a single file (`--json`), `folder` for a folder the command fills (`--out`). */
export type Kind = "file" | "folder"

/** One output location of a command line, for {@link checkAll}. */
export interface Location {
  /** The flag, as typed (`--json`). */
  readonly option: string
  /** Its value; `undefined` (flag not given) is skipped. */
  readonly path: string | undefined
  readonly kind: Kind
  /**
   * `folder`: the folder must hold haemsa's own files only, for this purpose
   * ({@link OutputFolder.firstForeign}: a checkpoint or a search's state, a training state); anything
   * else is refused. `false` or absent (`--force`): not checked.
   */
  readonly ownFilesOnly?: OutputFolder.Purpose | false
}

/** Paths that mean this process's standard output. */
const STDOUT_ALIASES = new Set([STDOUT, "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"])

/** A file descriptor's path: opening it reaches whatever the descriptor is (a pipe, a terminal, a file someone else holds). */
const FD_PATH = /^\/(?:dev\/fd|proc\/[^/]+\/fd)\/\d+$|^\/dev\/std(?:out|err)$/

/** True when `file` names standard output (`-`, `/dev/stdout`): the command's own text then goes to stderr. */
export const isStdout = (file: string | undefined): boolean => file !== undefined && STDOUT_ALIASES.has(file)

const errnoOf = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : undefined

const ERRNO_WORDS: Readonly<Record<string, string>> = {
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large",
  EIO: "input/output error",
  EPIPE: "the reader closed the pipe",
  ENOENT: "no such file or folder",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "is a folder",
  ELOOP: "too many symbolic links",
  ENAMETOOLONG: "name too long",
  ENXIO: "no reader or device",
  EEXIST: "already exists"
}

/** A file system error in words with its code (`read-only file system (EROFS)`), or its message. */
export const describeError = (e: unknown): string => {
  const code = errnoOf(e)
  if (code !== undefined && ERRNO_WORDS[code] !== undefined) return `${ERRNO_WORDS[code]} (${code})`
  return e instanceof Error ? e.message : String(e)
}

/** What a non-folder is, for messages ("runs/x is a regular file"). */
const kindOf = (st: fs.Stats): string =>
  st.isFile()
    ? "a regular file"
    : st.isFIFO()
    ? "a FIFO"
    : st.isCharacterDevice()
    ? "a character device"
    : st.isBlockDevice()
    ? "a block device"
    : st.isSocket()
    ? "a socket"
    : st.isSymbolicLink()
    ? "a symbolic link"
    : "not a regular file"

let tempCounter = 0

/** The name of a temp file next to `target` (`out.json.tmp-PID-N`); haemsa's temp files all look like this. */
export const tempName = (target: string): string => `${target}.tmp-${process.pid}-${tempCounter++}`

/**
 * Why files cannot be created in `dir` (or in the folders `mkdir -p dir` would create), or `undefined`
 * when they can: the nearest existing folder must be a folder, writable (permission), and really take
 * a new file (a probe, which a read-only mount refuses even to root).
 */
const folderProblem = (dir: string): string | undefined => {
  let d = dir
  for (;;) {
    let st: fs.Stats
    try {
      st = fs.statSync(d)
    } catch (e) {
      const code = errnoOf(e)
      if ((code === "ENOENT" || code === "ENOTDIR") && path.dirname(d) !== d) {
        d = path.dirname(d)
        continue
      }
      return `${d}: ${describeError(e)}`
    }
    if (!st.isDirectory()) return `${d} is ${kindOf(st)}`
    try {
      fs.accessSync(d, fs.constants.W_OK | fs.constants.X_OK)
      const probe = tempName(path.join(d, ".haemsa-check"))
      fs.closeSync(fs.openSync(probe, "wx"))
      fs.unlinkSync(probe)
    } catch (e) {
      return `${d}: ${describeError(e)}`
    }
    return undefined
  }
}

/** `file` after its symbolic links (the last one may point at a path that does not exist yet); `fd` when a link is a file descriptor's path. */
const followLinks = (file: string): { readonly final: string; readonly fd: boolean } => {
  let p = file
  for (let hops = 0; hops < 40; hops++) {
    if (FD_PATH.test(path.resolve(p))) return { final: p, fd: true }
    let st: fs.Stats
    try {
      st = fs.lstatSync(p)
    } catch {
      return { final: p, fd: false }
    }
    if (!st.isSymbolicLink()) return { final: p, fd: false }
    p = path.resolve(path.dirname(p), fs.readlinkSync(p))
  }
  throw Object.assign(new Error("too many symbolic links"), { code: "ELOOP" })
}

/** How `file` is written, or why it cannot be (a message naming the part of the path at fault). */
export const resolve = (file: string): { readonly target: Target } | { readonly problem: string } => {
  if (isStdout(file)) return { target: { _tag: "Stdout" } }
  let followed: { readonly final: string; readonly fd: boolean }
  try {
    followed = followLinks(file)
  } catch (e) {
    return { problem: describeError(e) }
  }
  if (followed.fd) return { target: { _tag: "Direct", file } }
  const final = followed.final
  let st: fs.Stats | undefined
  try {
    st = fs.statSync(final)
  } catch (e) {
    const code = errnoOf(e)
    if (code !== "ENOENT" && code !== "ENOTDIR") return { problem: `${final}: ${describeError(e)}` }
  }
  if (st === undefined || st.isFile()) {
    const problem = folderProblem(path.dirname(final))
    return problem === undefined ? { target: { _tag: "Atomic", file: final } } : { problem }
  }
  if (st.isFIFO() || st.isCharacterDevice()) {
    try {
      fs.accessSync(final, fs.constants.W_OK)
    } catch (e) {
      return { problem: `${final}: ${describeError(e)}` }
    }
    return { target: { _tag: "Direct", file: final } }
  }
  return { problem: st.isDirectory() ? `${final} is a folder` : `${final} is ${kindOf(st)}, not a file haemsa writes` }
}

/** Why `dir` may not be written by haemsa: the first entry that is not haemsa's own, or undefined. */
const foreignProblem = (option: string, dir: string, purpose: OutputFolder.Purpose): string | undefined => {
  const foreign = OutputFolder.firstForeign(dir, purpose)
  return foreign === undefined
    ? undefined
    : `${dir} holds ${foreign}, which is not haemsa's (a checkpoint, search or training state): ` +
      `use an empty or new folder, or pass --force to write ${option} there anyway`
}

/**
 * Check one output location before the work: a `file` output must be writable as described in the
 * module's description, a `folder` output must be a folder (or creatable) that takes new files (and,
with `ownFilesOnly`, holds only haemsa's files). A
 * problem is a {@link UsageError} naming the flag, the value and the cause:
 * `--json runs/x/y.json: runs/x is a regular file`, `--out /mnt/ro/ck: /mnt/ro: read-only file system (EROFS)`.
 */
export const check = (location: Location): Effect.Effect<void, UsageError> =>
  Effect.suspend(() => {
    const { option, path: file, kind } = location
    if (file === undefined) return Effect.void
    const resolved = kind === "folder" ? undefined : resolve(file)
    const problem = kind === "folder"
      ? folderProblem(file) ?? (location.ownFilesOnly ? foreignProblem(option, file, location.ownFilesOnly) : undefined)
      : resolved !== undefined && "problem" in resolved ? resolved.problem : undefined
    return problem === undefined ? Effect.void : Effect.fail(new UsageError({ reason: `${option} ${file}: ${problem}` }))
  })

/**
 * Check every output location of a command line ({@link check}), in order, and refuse two outputs on
 * standard output. Commands run it right after parsing their flags, so a bad location costs no training.
 */
export const checkAll = (locations: ReadonlyArray<Location>): Effect.Effect<void, UsageError> =>
  Effect.gen(function*() {
    const stdout = locations.filter((l) => l.kind === "file" && isStdout(l.path))
    if (stdout.length > 1) {
      return yield* new UsageError({ reason: `${stdout.map((l) => l.option).join(" and ")} cannot both write to standard output` })
    }
    for (const location of locations) yield* check(location)
  })

/** Appends text to an open output; writes are buffered and a failure is an {@link OutputError}. */
export interface Sink {
  readonly write: (text: string) => Effect.Effect<void, OutputError>
}

/** Writes lines to standard output: the default of {@link withOutput}'s `stdout`. */
export const processStdout = (line: string): void => {
  process.stdout.write(line + "\n")
}

/** Options of {@link withOutput}. */
export interface OutputOptions {
  /** Where `-` goes, one line per call (the command's `io.out`; default the process's stdout). */
  readonly stdout?: ((line: string) => void) | undefined
}

const FLUSH_AT = 64 * 1024

/** A buffered sink over an open file (`flush` writes what is buffered). */
const fileSink = (file: string, handle: fsp.FileHandle) => {
  let buffered: string[] = []
  let size = 0
  const flush: Effect.Effect<void, OutputError> = Effect.suspend(() => {
    if (size === 0) return Effect.void
    const data = Buffer.from(buffered.join(""), "utf8")
    buffered = []
    size = 0
    return Effect.tryPromise({
      try: async () => {
        // a short write (a pipe, a device) is continued until everything is out
        for (let offset = 0; offset < data.length;) offset += (await handle.write(data, offset, data.length - offset)).bytesWritten
      },
      catch: (e) => new OutputError({ file, reason: describeError(e), cause: e })
    })
  })
  const sink: Sink = {
    write: (text) =>
      Effect.suspend(() => {
        buffered.push(text)
        size += text.length
        return size >= FLUSH_AT ? flush : Effect.void
      })
  }
  return { sink, flush }
}

const ignore = (p: Promise<unknown>): Promise<void> => p.then(() => undefined, () => undefined)

/** fsync a folder, so a rename in it survives a crash (platforms that cannot fsync a folder are skipped). */
const syncFolder = async (dir: string): Promise<void> => {
  let handle: fsp.FileHandle | undefined
  try {
    handle = await fsp.open(dir, "r")
    await handle.sync()
  } catch (e) {
    const code = errnoOf(e)
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw e
  } finally {
    await ignore(handle?.close() ?? Promise.resolve())
  }
}

/** `text` split into lines for a line writer: complete lines go out at once, the rest when `end` is called. */
const lineSink = (out: (line: string) => void) => {
  let rest = ""
  const sink: Sink = {
    write: (text) =>
      Effect.sync(() => {
        const lines = (rest + text).split("\n")
        rest = lines.pop() ?? ""
        for (const line of lines) out(line)
      })
  }
  return { sink, end: Effect.sync(() => rest === "" ? undefined : out(rest)) }
}

/**
 * Open `file` as an output, run `use` with its {@link Sink}, and finish it: standard output and a
 * direct output (FIFO, device) are streamed as `use` writes; an atomic output goes to a temp file that
 * replaces the target only when `use` succeeds (fsync, rename, fsync of the folder); when `use` fails
 * or is interrupted the temp file is removed and the target left as it was. A location that cannot be
 * written is a {@link UsageError} (as {@link check} says), a failed write an {@link OutputError}.
 */
export const withOutput = <A, E, R>(
  file: string,
  use: (sink: Sink) => Effect.Effect<A, E, R>,
  options: OutputOptions = {}
): Effect.Effect<A, E | OutputError | UsageError, R> =>
  Effect.suspend((): Effect.Effect<A, E | OutputError | UsageError, R> => {
    const resolved = resolve(file)
    if ("problem" in resolved) return Effect.fail(new UsageError({ reason: `cannot write ${file}: ${resolved.problem}` }))
    const target = resolved.target
    const failed = (e: unknown) => new OutputError({ file, reason: describeError(e), cause: e })
    if (target._tag === "Stdout") {
      const lines = lineSink(options.stdout ?? processStdout)
      return Effect.flatMap(use(lines.sink), (a) => Effect.as(lines.end, a))
    }
    if (target._tag === "Direct") {
      return Effect.acquireUseRelease(
        // append: a descriptor path may reach a file someone else is writing (a shell's redirection)
        Effect.tryPromise({ try: () => fsp.open(target.file, FD_PATH.test(path.resolve(file)) ? "a" : "w"), catch: failed }),
        (handle) => {
          const { sink, flush } = fileSink(file, handle)
          return Effect.flatMap(use(sink), (a) => Effect.as(flush, a))
        },
        (handle) => Effect.promise(() => ignore(handle.close()))
      )
    }
    const final = target.file
    const tmp = tempName(final)
    let committed = false
    return Effect.acquireUseRelease(
      Effect.tryPromise({
        try: async () => {
          await fsp.mkdir(path.dirname(final), { recursive: true })
          const previous = await fsp.stat(final).catch(() => undefined)
          const handle = await fsp.open(tmp, "wx")
          // the replacement keeps the permissions of the file it replaces
          if (previous !== undefined) await handle.chmod(previous.mode & 0o7777).catch(() => undefined)
          return handle
        },
        catch: failed
      }),
      (handle) => {
        const { sink, flush } = fileSink(file, handle)
        return use(sink).pipe(
          Effect.tap(() => flush),
          Effect.tap(() =>
            Effect.tryPromise({
              try: async () => {
                await handle.sync()
                await handle.close()
                await fsp.rename(tmp, final)
                committed = true
                await syncFolder(path.dirname(final))
              },
              catch: failed
            })
          )
        )
      },
      (handle) =>
        Effect.promise(async () => {
          await ignore(handle.close())
          if (!committed) await ignore(fsp.unlink(tmp))
        })
    )
  })

/** Writes `text` to `file` as {@link withOutput} does (atomically for a regular file or a new path). */
export const writeText = (file: string, text: string, options: OutputOptions = {}): Effect.Effect<void, UsageError | OutputError> =>
  withOutput(file, (sink) => sink.write(text), options)

/** Writes `value` to `file` as indented JSON with a final newline (see {@link writeText}). */
export const writeJson = (file: string, value: unknown, options: OutputOptions = {}): Effect.Effect<void, UsageError | OutputError> =>
  writeText(file, JSON.stringify(value, null, 2) + "\n", options)
