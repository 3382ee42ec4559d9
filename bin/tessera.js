#!/usr/bin/env node
// `npm start`: runs the built server (dist/), after checking that the build matches the sources.
import { requireCurrentBuild } from './build-check.js'

requireCurrentBuild('tessera')
await import('../dist/src/main.js')
