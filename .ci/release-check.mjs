// Checks for .ci/release-rehearsal.
//   node .ci/release-check.mjs status FILE  summarises `changeset status --output` (next versions) and
//                                            warns when a bump is larger than any changeset asks for
//   node .ci/release-check.mjs packs DIR    checks the packed tarballs in DIR: no `workspace:` range
//                                            left in a manifest, and every file the manifest names is packed
//   node .ci/release-check.mjs publishable  prints a pnpm `--filter=./packages/NAME` for every package in
//                                            packages/ that is not private (`pnpm -r pack` packs private
//                                            ones too, such as @haemsa/test-helpers, which is never released)
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const [mode, target] = process.argv.slice(2)
const order = ["none", "patch", "minor", "major"]

if (mode === "status") {
  const plan = JSON.parse(readFileSync(target, "utf8"))
  const releases = plan.releases.filter((r) => r.type !== "none")
  if (releases.length === 0) console.log("no pending changesets: the next release publishes no new version")
  const asked = Math.max(0, ...plan.changesets.flatMap((c) => c.releases.map((r) => order.indexOf(r.type))))
  for (const r of releases) console.log(`would publish ${r.name} ${r.oldVersion} -> ${r.newVersion} (${r.type})`)
  const over = releases.filter((r) => order.indexOf(r.type) > asked)
  if (over.length > 0) {
    console.log(
      `warning: no changeset asks for more than a ${order[asked]} bump, yet ${over.map((r) => r.name).join(", ")} go ${over[0].type}:` +
        " changesets makes the dependents of a workspace package in peerDependencies major (see docs/releasing.md)"
    )
  }
} else if (mode === "packs") {
  const problems = []
  const tarballs = readdirSync(target).filter((f) => f.endsWith(".tgz")).sort()
  if (tarballs.length === 0) problems.push(`no tarballs in ${target}`)
  for (const tarball of tarballs) {
    const file = join(target, tarball)
    const manifest = JSON.parse(execFileSync("tar", ["-xOzf", file, "package/package.json"], { encoding: "utf8" }))
    const files = new Set(execFileSync("tar", ["-tzf", file], { encoding: "utf8" }).split("\n").filter(Boolean).map((f) => f.replace(/^package\//, "")))
    const id = `${manifest.name}@${manifest.version}`
    const before = problems.length
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies", "devDependencies"]) {
      for (const [name, range] of Object.entries(manifest[field] ?? {})) {
        if (String(range).startsWith("workspace:")) problems.push(`${id}: ${field} ${name} is still ${range}`)
      }
    }
    const named = new Set()
    const collect = (value) => {
      if (typeof value === "string") named.add(value.replace(/^\.\//, ""))
      else if (value && typeof value === "object") Object.values(value).forEach(collect)
    }
    collect(manifest.exports)
    collect(manifest.bin)
    for (const field of ["main", "module", "types", "typings"]) collect(manifest[field])
    named.delete("package.json")
    for (const path of named) if (!files.has(path)) problems.push(`${id}: names ${path}, which is not in the tarball`)
    for (const path of ["README.md", "LICENSE", "package.json"]) if (!files.has(path)) problems.push(`${id}: ${path} is not in the tarball`)
    if (problems.length === before) console.log(`${id}: ${files.size} files, the ${named.size} its manifest names all packed, no workspace: ranges`)
  }
  if (problems.length > 0) {
    for (const p of problems) console.error(`error: ${p}`)
    process.exit(1)
  }
} else if (mode === "publishable") {
  for (const dir of readdirSync("packages").sort()) {
    const file = join("packages", dir, "package.json")
    if (existsSync(file) && !JSON.parse(readFileSync(file, "utf8")).private) console.log(`--filter=./packages/${dir}`)
  }
} else {
  console.error("usage: node .ci/release-check.mjs status FILE | packs DIR | publishable")
  process.exit(2)
}
