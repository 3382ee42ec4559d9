// npm run bench:profile [row…]: runs rows against one Tessera process started with --cpu-prof and
// prints where its CPU time went: the top functions by self time, and the time per package.
//   node bench/profile.mjs client_credentials code
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { prepare, ROWS } from './lib/rows.mjs'
import * as tessera from './targets/tessera.mjs'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const wanted = process.argv.slice(2)
const rows = wanted.length ? ROWS.filter((row) => wanted.includes(row.key)) : ROWS.filter((row) => row.key === 'client_credentials')
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-profile-'))
const profileDir = path.join(workDir, 'profile')

const port = await new Promise((resolve) => {
  const server = net.createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = server.address()
    server.close(() => resolve(free))
  })
})
const target = await tessera.start({ port, workDir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] })
try {
  const ctx = await prepare(target)
  for (const row of rows) {
    const result = await row.run(ctx, {
      duration: SECONDS,
      warmup: 2,
      codes: 8000,
      ...(process.env.PROFILE_RATE ? { overallRate: Number(process.env.PROFILE_RATE) } : {}),
    })
    console.log(`${row.key}: ${result.perSecond}/s p50 ${result.p50ms} ms p99 ${result.p99ms} ms errors ${result.errors}`)
  }
} finally {
  await target.stop()
}

const file = fs.readdirSync(profileDir).find((name) => name.endsWith('.cpuprofile'))
const profile = JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8'))
// Self time per node: samples × sampling interval.
const interval = (profile.endTime - profile.startTime) / profile.samples.length / 1000
const selfMs = new Map()
for (const id of profile.samples) selfMs.set(id, (selfMs.get(id) ?? 0) + interval)
const byFunction = new Map()
const byPackage = new Map()
let total = 0
for (const node of profile.nodes) {
  const ms = selfMs.get(node.id) ?? 0
  if (ms === 0) continue
  total += ms
  const { functionName, url, lineNumber } = node.callFrame
  const where = url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '')
  const key = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`
  byFunction.set(key, (byFunction.get(key) ?? 0) + ms)
  const pkg =
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
    (where.startsWith('dist/')
      ? 'tessera'
      : where.startsWith('node:')
        ? 'node core'
        : functionName.startsWith('(')
          ? functionName
          : 'other')
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms)
}
const top = (map, n) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, ms]) => `${((ms / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
// Inclusive time of Tessera's own functions: a sample counts once for every distinct Tessera
// frame on its stack, so a route handler shows everything it waited on synchronously.
const parent = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node)
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const inclusive = new Map()
for (const [id, ms] of selfMs) {
  const seen = new Set()
  for (let node = byId.get(id); node; node = parent.get(node.id)) {
    const { functionName, url, lineNumber } = node.callFrame
    if (!url.includes('/dist/src/')) continue
    const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/dist\//, 'dist/')}:${lineNumber + 1}`
    if (seen.has(key)) continue
    seen.add(key)
    inclusive.set(key, (inclusive.get(key) ?? 0) + ms)
  }
}
console.log(
  `\nCPU profile of the server (${Math.round(total)} ms sampled)\n\nby package:\n${top(byPackage, 15).join('\n')}\n\nby function (self time):\n${top(byFunction, 30).join('\n')}\n\nTessera functions (inclusive):\n${top(inclusive, 25).join('\n')}`,
)
if (process.env.PROFILE_KEEP) fs.copyFileSync(path.join(profileDir, file), process.env.PROFILE_KEEP)
fs.rmSync(workDir, { recursive: true, force: true })
