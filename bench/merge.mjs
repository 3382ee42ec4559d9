// node bench/merge.mjs DIR: completes a run of some parts (BENCH_TARGETS=… BENCH_OUT=DIR) with the
// parts it did not run, taken from the full run in bench/results.json, and writes bench/RESULTS.md,
// SCALING.md and results.json from the two. Both documents then say which parts are carried over
// and from which date. For a round that changed what only some parts measure, when a full run
// (`npm run bench`, about 40 minutes) does not fit; the next full run replaces it all.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { renderReport } from './lib/report.mjs'
import { renderScaling } from './lib/scaling.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** What each part of run.mjs adds to results.json, and how the documents name it. */
const PARTS = [
  { keys: ['tessera', 'oidc', 'bare', 'ceiling', 'latency', 'checks', 'soak'], name: 'the single-process rows against oidc-provider' },
  { keys: ['cluster'], name: '"All cores"' },
  { keys: ['postgres', 'postgres2', 'postgresLatency'], name: '"PostgreSQL" (and SCALING.md\'s check against it)' },
  { keys: ['cost'], name: 'the statement and CPU counts' },
  { keys: ['storage', 'storageTable'], name: '"What is stored"' },
]

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: node bench/merge.mjs DIR (the BENCH_OUT of a partial run)\n')
  process.exit(2)
}
const read = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const full = read(path.join(HERE, 'results.json'))
const partial = read(path.join(path.resolve(dir), 'results.json'))
const carried = PARTS.filter(({ keys }) => partial[keys[0]] === undefined && full[keys[0]] !== undefined)
if (partial.tessera === undefined) {
  process.stderr.write(`merge: ${dir}/results.json has no single-process rows (BENCH_TARGETS=tessera,oidc-provider,…)\n`)
  process.exit(1)
}
const merged = { ...partial }
for (const { keys } of carried) for (const key of keys) if (full[key] !== undefined) merged[key] = full[key]
if (carried.length > 0) merged.carriedOver = { date: full.carriedOver?.date ?? full.date, parts: carried.map(({ name }) => name) }
fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(merged, null, 2)}\n`)
fs.writeFileSync(path.join(HERE, 'RESULTS.md'), renderReport(merged))
fs.writeFileSync(path.join(HERE, 'SCALING.md'), renderScaling(merged))
process.stdout.write(
  `bench/RESULTS.md, SCALING.md and results.json written; carried over from ${full.date}: ${carried.map(({ name }) => name).join(', ') || 'nothing'}\n`,
)
