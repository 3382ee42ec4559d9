/**
 * `npm start` and `npx idp` only run a build, never make one: a missing or stale dist/ is one
 * clear line and exit code 1 (a rebuild under a running server once removed templates it still
 * needed). Runs the real launchers in a scratch copy of the project's bin/.
 */
import t from 'tap'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/test-app.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

function run(script: string, cwd: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, '--version'],
      { cwd, env: { PATH: process.env['PATH'] ?? '' }, timeout: 60_000 },
      (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr })
      },
    )
  })
}

function scratchProject(): string {
  const dir = tempDir('tessera-start-')
  fs.cpSync(path.join(ROOT, 'bin'), path.join(dir, 'bin'), { recursive: true })
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }))
  return dir
}

t.test('without dist/ both launchers say how to build and exit 1', async (t) => {
  const dir = scratchProject()
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [script, name] of [
    ['bin/tessera.js', 'tessera'],
    ['bin/idp.js', 'idp'],
  ] as const) {
    const result = await run(script, dir)
    t.equal(result.code, 1, `${script} exits 1`)
    t.match(result.stderr, new RegExp(`^${name}: not built yet: run "npm run build"`), `${script} names the fix`)
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line')
  }
})

t.test('a build older than the sources is refused; one without sources beside it (the image) runs', async (t) => {
  const dir = scratchProject()
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.mkdirSync(path.join(dir, 'dist/src/cli'), { recursive: true })
  // A stand-in build: main.js and the CLI entry print a marker instead of starting anything.
  fs.writeFileSync(path.join(dir, 'dist/src/main.js'), "process.stderr.write('started\\n')\n")
  fs.writeFileSync(path.join(dir, 'dist/src/cli/bin.js'), "process.stderr.write('cli\\n')\n")
  t.match((await run('bin/tessera.js', dir)).stderr, /^started/, 'no sources here: the build is what there is')

  fs.mkdirSync(path.join(dir, 'src'))
  fs.writeFileSync(path.join(dir, 'src/main.ts'), 'export {}\n')
  fs.writeFileSync(path.join(dir, 'dist/build-info.json'), JSON.stringify({ sourceHash: 'not-these-sources' }))
  for (const script of ['bin/tessera.js', 'bin/idp.js']) {
    const stale = await run(script, dir)
    t.equal(stale.code, 1, `${script}: stale build refused`)
    t.match(stale.stderr, /the build in dist\/ does not match the sources: run "npm run build"/)
  }
})

t.test('the real build records the hash of the sources it was made from', async (t) => {
  const info = JSON.parse(fs.readFileSync(path.join(ROOT, 'dist/build-info.json'), 'utf8')) as { sourceHash: string }
  const { sourceHash } = (await import(path.join(ROOT, 'bin/build-check.js'))) as { sourceHash: () => string }
  t.equal(info.sourceHash, sourceHash(), 'npm test builds first, so dist/ matches the sources it runs with')
})
