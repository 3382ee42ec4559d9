// node bench/merge.mjs DIR: lays a run of some parts (BENCH_TARGETS=… BENCH_OUT=DIR) over the
// results in bench/results.json and writes bench/RESULTS.md, SCALING.md and results.json from
// the two. results.json records when each part was last measured (`measured`), and both documents
// say which parts are carried over from an earlier date. For a round that changed what only some
// parts measure, when a full run (`npm run bench`, about 45 minutes) does not fit; the next full
// run replaces it all.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkTargets, renderReport } from './lib/report.mjs'
import { renderScaling } from './lib/scaling.mjs'

const HERE = path.dirname(fileURLToPath(import.meta.url))
/** What each part of run.mjs adds to results.json, and how the documents name it. */
const PARTS = [
  {
    keys: ['tessera', 'oidc', 'bare', 'ceiling', 'latency', 'checks'],
    name: 'the single-process rows against oidc-provider',
  },
  // Its own part: a run with BENCH_SOAK_SECONDS=0 measures the rows above but not this.
  { keys: ['soak'], name: '"Memory"' },
  { keys: ['cluster'], name: '"All cores"' },
  { keys: ['postgres', 'postgres2', 'postgresLatency'], name: '"PostgreSQL"' },
  { keys: ['cost'], name: 'the statement and CPU counts' },
  { keys: ['storage', 'storageTable'], name: '"What is stored"' },
]

const dir = process.argv[2]
if (!dir) {
  process.stderr.write('usage: node bench/merge.mjs DIR (the BENCH_OUT of a partial run)\n')
  process.exit(2)
}
const read = (file) => JSON.parse(fs.readFileSync(file, 'utf8'))
const base = read(path.join(HERE, 'results.json'))
const partial = read(path.join(path.resolve(dir), 'results.json'))
const has = (results, part) => results[part.keys[0]] !== undefined
/** When each part of `results` was measured: its own record, or the run's date for a run not merged before. */
const measuredOf = (results) =>
  results.measured ?? Object.fromEntries(PARTS.filter((part) => has(results, part)).map((part) => [part.name, results.date]))

const overlaid = PARTS.filter((part) => has(partial, part))
if (overlaid.length === 0) {
  process.stderr.write(`merge: ${dir}/results.json has none of the parts this script knows\n`)
  process.exit(1)
}
// The run's description (machine, rows, notes, checks) follows the single-process part.
const merged = has(partial, PARTS[0]) ? { ...base, ...partial } : { ...base }
const measured = { ...measuredOf(base) }
for (const part of overlaid) {
  for (const key of part.keys) if (partial[key] !== undefined) merged[key] = partial[key]
  measured[part.name] = partial.date
}
// The targets are checked again over what the merged results hold (a memory run kept from the base included).
if (merged.tessera && merged.bare) merged.checks = checkTargets(merged)
merged.measured = measured
merged.date = [base.date, partial.date].sort().at(-1)
const carried = Object.entries(measured)
  .filter(([, date]) => date !== merged.date)
  .map(([name, date]) => ({ name, date }))
if (carried.length > 0) merged.carriedOver = carried
else delete merged.carriedOver
fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(merged, null, 2)}\n`)
fs.writeFileSync(path.join(HERE, 'RESULTS.md'), renderReport(merged))
fs.writeFileSync(path.join(HERE, 'SCALING.md'), renderScaling(merged))
const list = carried.map(({ name, date }) => `${name} (${date})`).join(', ') || 'nothing'
process.stdout.write(`bench/RESULTS.md, SCALING.md and results.json written; carried over: ${list}\n`)
