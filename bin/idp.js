#!/usr/bin/env node
// The `idp` operator CLI (compiled TypeScript lives in dist/; `npm install` builds it).
import { existsSync } from 'node:fs'

const entry = new URL('../dist/src/cli/bin.js', import.meta.url)
if (!existsSync(entry)) {
  process.stderr.write('idp: not built yet; run "npm run build" in the Tessera folder\n')
  process.exit(1)
}
await import(entry.href)
