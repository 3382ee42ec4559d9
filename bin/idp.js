#!/usr/bin/env node
// The `idp` operator CLI (compiled TypeScript lives in dist/; `npm install` builds it).
import { requireCurrentBuild } from './build-check.js'

requireCurrentBuild('idp')
await import('../dist/src/cli/bin.js')
