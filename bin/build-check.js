// Whether dist/ holds a build of the sources beside it. `npm start` and `npx idp` only run a
// build; they never compile (production installs have no TypeScript, and rebuilding under a
// running server removed files it still needed). The build records a hash of its sources; a
// checkout without sources (the container image) has nothing to compare and is taken as built.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('..', import.meta.url))
const INPUTS = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json']
export const BUILD_INFO = path.join(ROOT, 'dist', 'build-info.json')

function filesUnder(entry) {
  const full = path.join(ROOT, entry)
  if (!existsSync(full)) return []
  if (!statSync(full).isDirectory()) return [entry]
  return readdirSync(full, { withFileTypes: true })
    .flatMap((child) => filesUnder(path.join(entry, child.name)))
    .sort()
}

/** A hash over the names and bytes of every source file; null when there are no sources here. */
export function sourceHash() {
  if (!existsSync(path.join(ROOT, 'src'))) return null
  const hash = createHash('sha256')
  for (const file of INPUTS.flatMap(filesUnder))
    hash
      .update(`${file}\0`)
      .update(readFileSync(path.join(ROOT, file)))
      .update('\0')
  return hash.digest('hex')
}

/** Exits with one line (code 1) when dist/ is missing or older than the sources. */
export function requireCurrentBuild(program) {
  if (!existsSync(path.join(ROOT, 'dist', 'src', 'main.js'))) {
    process.stderr.write(`${program}: not built yet: run "npm run build" in ${ROOT} (npm install does it when TypeScript is installed)\n`)
    process.exit(1)
  }
  const current = sourceHash()
  if (current === null) return
  let built = null
  try {
    built = JSON.parse(readFileSync(BUILD_INFO, 'utf8')).sourceHash
  } catch {
    // No record: an older build; treated as stale.
  }
  if (built !== current) {
    process.stderr.write(
      `${program}: the build in dist/ does not match the sources: run "npm run build" (or "npm run dev" to build and start)\n`,
    )
    process.exit(1)
  }
}
