// Compiles TypeScript and copies the non-TypeScript assets into a fresh folder, then swaps it in
// for dist/ with renames: a server already running from this folder never sees a half-built or
// missing dist/ (templates and worker entry points are read after start). Records the hash of the
// sources it built (bin/build-check.js), so a stale build is refused at start.
import { cpSync, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'
import { ROOT, sourceHash } from '../bin/build-check.js'

const require = createRequire(import.meta.url)
const staging = path.join(ROOT, `dist.building-${process.pid}`)
const previous = path.join(ROOT, `dist.previous-${process.pid}`)
const dist = path.join(ROOT, 'dist')
rmSync(staging, { recursive: true, force: true })
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', staging], {
    stdio: 'inherit',
    cwd: ROOT,
  })
  for (const folder of ['src/http/views/templates', 'src/http/assets', 'src/mail/templates', 'src/i18n/messages']) {
    cpSync(path.join(ROOT, folder), path.join(staging, folder), { recursive: true })
  }
  writeFileSync(
    path.join(staging, 'build-info.json'),
    `${JSON.stringify({ sourceHash: sourceHash(), builtAt: new Date().toISOString() })}\n`,
  )
  if (existsSync(dist)) renameSync(dist, previous)
  renameSync(staging, dist)
  rmSync(previous, { recursive: true, force: true })
} catch (error) {
  rmSync(staging, { recursive: true, force: true })
  throw error
}
