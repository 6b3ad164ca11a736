/**
 * The address of a search's job queue: `redis://[USER:PASSWORD@]HOST:PORT[/DB]` or `rediss://` (TLS).
 * It is taken from `--queue`, from the file named by `--queue-file` (its first line), or from the
 * `HAEMSA_QUEUE` environment variable, so that the password need not appear in the process list.
 * The password is never printed: {@link redact} writes it as `***`, and {@link redactText} removes it
 * from any text (progress lines, error messages, JSON output).
 *
 * @since 0.1.0
 */
import { Result, Schema } from "effect"
import * as fs from "node:fs"

/** A queue URL that cannot be used (bad syntax, scheme, port or database), or a `--queue-file` that cannot be read. */
export class QueueUrlError extends Schema.TaggedError<QueueUrlError>()("QueueUrlError", {
  reason: Schema.String
}) {
  override get message(): string {
    return `queue URL: ${this.reason}`
  }
}

/** A parsed queue URL. */
export interface QueueUrl {
  /** `rediss://`: connect with TLS. */
  readonly tls: boolean
  readonly host: string
  readonly port: number
  /** Redis database number (default 0). */
  readonly db: number
  readonly username?: string
  readonly password?: string
}

/** The environment variable that names the queue when neither `--queue` nor `--queue-file` is given. */
export const ENV_VAR = "HAEMSA_QUEUE"

/** The default Redis port. */
export const DEFAULT_PORT = 6379

const fail = (reason: string) => Result.fail(new QueueUrlError({ reason }))

/**
 * Parses a queue URL. Error messages never contain the password: a URL that cannot be parsed is
 * named by its scheme only.
 */
export const parse = (text: string): Result.Result<QueueUrl, QueueUrlError> => {
  const trimmed = text.trim()
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    return fail("expected redis://[USER:PASSWORD@]HOST:PORT[/DB] or rediss://... (the URL could not be parsed)")
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    return fail(`unsupported scheme '${url.protocol}' (use redis:// or rediss:// for TLS)`)
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1")
  if (host === "") return fail("no host (expected redis://HOST:PORT)")
  const port = url.port === "" ? DEFAULT_PORT : Number(url.port)
  if (!(Number.isInteger(port) && port >= 1 && port <= 65535)) return fail("bad port")
  const dbText = url.pathname.replace(/^\//, "")
  const db = dbText === "" ? 0 : Number(dbText)
  if (!/^\d*$/.test(dbText) || !(Number.isInteger(db) && db >= 0)) {
    return fail(`bad database '${dbText}' (expected a number after the port, like /0)`)
  }
  if (url.search !== "" || url.hash !== "") return fail("no query or fragment allowed")
  const username = decodeURIComponent(url.username)
  const password = decodeURIComponent(url.password)
  return Result.succeed({
    tls: url.protocol === "rediss:",
    host,
    port,
    db,
    ...(username !== "" ? { username } : {}),
    ...(password !== "" ? { password } : {})
  })
}

/** The URL with its password written as `***` (safe to print). */
export const redact = (url: QueueUrl): string => {
  const auth = url.username !== undefined || url.password !== undefined
    ? `${url.username !== undefined ? encodeURIComponent(url.username) : ""}${url.password !== undefined ? ":***" : ""}@`
    : ""
  const host = url.host.includes(":") ? `[${url.host}]` : url.host
  return `${url.tls ? "rediss" : "redis"}://${auth}${host}:${url.port}/${url.db}`
}

/** `text` with every occurrence of the URL's password (raw and URL-encoded) replaced by `***`. */
export const redactText = (text: string, url: QueueUrl | undefined): string => {
  const password = url?.password
  if (password === undefined || password === "") return text
  let out = text
  for (const form of new Set([password, encodeURIComponent(password)])) out = out.split(form).join("***")
  return out
}

/** Where the queue URL comes from. */
export interface Sources {
  /** `--queue URL`. */
  readonly flag?: string | undefined
  /** `--queue-file FILE`: the URL is its first non-empty line. */
  readonly file?: string | undefined
  /** The environment (`HAEMSA_QUEUE`). */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * The queue URL from `--queue`, then `--queue-file`, then `HAEMSA_QUEUE`; `undefined` when none is
 * given (the search runs on this machine). Giving both `--queue` and `--queue-file` is an error.
 */
export const resolve = (sources: Sources): Result.Result<QueueUrl | undefined, QueueUrlError> => {
  if (sources.flag !== undefined && sources.file !== undefined) return fail("give --queue or --queue-file, not both")
  if (sources.flag !== undefined) return parse(sources.flag)
  if (sources.file !== undefined) {
    let content: string
    try {
      content = fs.readFileSync(sources.file, "utf8")
    } catch (e) {
      return fail(`cannot read --queue-file ${sources.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
    }
    const line = content.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"))
    if (line === undefined) return fail(`--queue-file ${sources.file} is empty`)
    return parse(line)
  }
  const env = sources.env?.[ENV_VAR]
  return env !== undefined && env.trim() !== "" ? parse(env) : Result.succeed(undefined)
}

/** The connection options of BullMQ's Redis client (ioredis) for `url`. */
export const connectionOptions = (url: QueueUrl) => ({
  host: url.host,
  port: url.port,
  db: url.db,
  ...(url.username !== undefined ? { username: url.username } : {}),
  ...(url.password !== undefined ? { password: url.password } : {}),
  ...(url.tls ? { tls: { servername: url.host } } : {}),
  // BullMQ workers block on Redis: they need ioredis to retry forever rather than fail a request
  maxRetriesPerRequest: null
})
