// `npm install` builds dist/ so `npx idp` works at once; skipped where TypeScript is absent
// (production installs with --omit=dev copy a prebuilt dist/ instead).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
try {
  require.resolve('typescript/bin/tsc')
} catch {
  process.exit(0)
}
await import('./build.mjs')
