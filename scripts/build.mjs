// Compiles TypeScript to dist/ and copies the non-TypeScript assets beside the compiled code.
import { cpSync, rmSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true })
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' })
for (const folder of ['src/http/views/templates', 'src/http/assets', 'src/mail/templates']) {
  cpSync(new URL(`../${folder}`, import.meta.url), new URL(`../dist/${folder}`, import.meta.url), { recursive: true })
}
