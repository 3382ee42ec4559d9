// npm run bench: Tessera side by side with oidc-provider and against this machine's limits.
// Servers run as separate production processes on fresh SQLite files; autocannon drives them
// from this process. Prints the tables and writes bench/RESULTS.md (and results.json beside it).
//
//   BENCH_SECONDS=10       measured seconds per row (after BENCH_WARMUP=3 seconds of warm-up)
//   BENCH_SOAK_SECONDS=300 the memory run (0 skips it)
//   BENCH_TARGETS=tessera,oidc-provider,cluster   which parts to run
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CONNECTIONS, measure } from './lib/load.mjs'
import { runNode, startNode, stopProcess } from './lib/process.mjs'
import { checkTargets, renderReport } from './lib/report.mjs'
import { loginRow, prepare, ROWS } from './lib/rows.mjs'
import { rssDrift, soak } from './lib/soak.mjs'
import * as tessera from './targets/tessera.mjs'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3)
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300)
const CODES = Number(process.env.BENCH_CODES ?? 12000)
const PARTS = new Set((process.env.BENCH_TARGETS ?? 'tessera,oidc-provider,cluster').split(','))
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'))
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`)

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
    server.once('error', reject)
  })
}

const summary = (r) => `${String(r.perSecond).padStart(7)}/s  p50 ${r.p50ms ?? r.loginP50ms} ms  p99 ${r.p99ms ?? r.loginP99ms} ms  errors ${r.errors}`

/** Every row against one started target. */
async function runRows(target) {
  const ctx = await prepare(target)
  const results = {}
  for (const row of ROWS) {
    results[row.key] = await row.run(ctx, { duration: SECONDS, warmup: WARMUP, codes: CODES })
    log(`${target.name.padEnd(14)} ${row.key.padEnd(20)} ${summary(results[row.key])}`)
  }
  const { login, jwksDuringLogins } = await loginRow(ctx, { duration: SECONDS })
  results.login = login
  results.jwksDuringLogins = jwksDuringLogins
  log(`${target.name.padEnd(14)} ${'login'.padEnd(20)} ${login.perSecond}/s  login p50 ${login.loginP50ms} ms  p99 ${login.loginP99ms} ms  failed ${login.failedLogins}`)
  log(`${target.name.padEnd(14)} ${'jwks during logins'.padEnd(20)} ${summary(jwksDuringLogins)}`)
  return { ctx, results }
}

async function measureBare(ctx) {
  // The same bytes: body and headers as Tessera sent them (less those Node adds to every response).
  const perConnection = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'])
  const capture = async (url, file) => {
    const response = await fetch(url)
    const headers = Object.fromEntries([...response.headers].filter(([name]) => !perConnection.has(name)))
    fs.writeFileSync(file, JSON.stringify({ headers, body: await response.text() }))
  }
  const jwksFile = path.join(workDir, 'jwks.json')
  const discoveryFile = path.join(workDir, 'discovery.json')
  await capture(ctx.discovery.jwks_uri, jwksFile)
  await capture(`${ctx.target.issuer}/.well-known/openid-configuration`, discoveryFile)
  const port = await freePort()
  const bare = await startNode(path.join(HERE, 'lib/bare-server.mjs'), { env: { PORT: String(port), JWKS_FILE: jwksFile, DISCOVERY_FILE: discoveryFile }, ready: (line) => line.includes('ready') })
  try {
    const url = `http://127.0.0.1:${port}`
    const jwks = await measure(url, { duration: SECONDS, warmup: WARMUP, requests: [{ method: 'GET', path: '/jwks' }] })
    const discovery = await measure(url, { duration: SECONDS, warmup: WARMUP, requests: [{ method: 'GET', path: '/discovery' }] })
    log(`bare fastify   jwks ${summary(jwks)}; discovery ${summary(discovery)}`)
    return { jwks, discovery }
  } finally {
    await stopProcess(bare)
  }
}

const report = {
  date: new Date().toISOString().slice(0, 10),
  node: process.version,
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
  memGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  connections: CONNECTIONS,
  seconds: SECONDS,
  warmup: WARMUP,
  rows: ROWS.map(({ key, label }) => ({ key, label })),
  notes: [],
}

log('signing ceiling (one core, jose, RS256 2048)')
report.ceiling = JSON.parse(await runNode(path.join(HERE, 'lib/sign-ceiling.mjs'), []))
log(`ceiling: ${report.ceiling.signsPerSecond} signs/s, ${report.ceiling.verifiesPerSecond} verifies/s`)

try {
  if (PARTS.has('tessera')) {
    const target = await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'tessera') })
    try {
      const { ctx, results } = await runRows(target)
      report.tessera = results
      report.bare = await measureBare(ctx)
    } finally {
      await target.stop()
    }
  }
  if (PARTS.has('oidc-provider')) {
    const oidcProvider = await import('./targets/oidc-provider.mjs')
    const target = await oidcProvider.start({ port: await freePort(), workDir: path.join(workDir, 'oidc-provider') })
    try {
      report.oidc = (await runRows(target)).results
      report.notes.push(...(target.notes ?? []))
    } finally {
      await target.stop()
    }
  }
  if (PARTS.has('cluster')) {
    const workers = os.availableParallelism()
    const target = await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'cluster'), workers })
    try {
      report.cluster = { workers, results: (await runRows(target)).results }
    } finally {
      await target.stop()
    }
  }
  if (SOAK_SECONDS > 0) {
    const workers = os.availableParallelism()
    const soakDir = path.join(workDir, 'soak')
    const settings = { ACCESS_TOKEN_TTL: '2m', PRUNE_INTERVAL: '30s' }
    const target = await tessera.start({ port: await freePort(), workDir: soakDir, workers, env: settings })
    try {
      const ctx = await prepare(target)
      log(`memory run: ${SOAK_SECONDS} s, ${workers} workers`)
      const result = await soak(ctx, { seconds: SOAK_SECONDS, dbFile: path.join(soakDir, 'tessera.db') })
      report.soak = { ...result, workers, drift: rssDrift(result.samples), accessTokenTtl: settings.ACCESS_TOKEN_TTL, pruneInterval: settings.PRUNE_INTERVAL }
      log(`memory run: ${result.requests} requests, RSS drift ${report.soak.drift.join('% ')}%`)
    } finally {
      await target.stop()
    }
  }
} finally {
  fs.rmSync(workDir, { recursive: true, force: true })
}

report.notes.unshift(
  'Tessera logs at LOG_LEVEL=warn here (its per-request access log is an info line; oidc-provider has none).',
  'Per-IP rate limits of Tessera are raised for the run (TOKEN_RATE_LIMIT, LOGIN_RATE_LIMIT): the load comes from one address.',
  'Tessera records every access token (a row per jti, for revocation and introspection); a JWT access token of oidc-provider is not stored.',
)
if (report.tessera && report.bare) {
  report.checks = checkTargets(report)
  fs.writeFileSync(path.join(HERE, 'RESULTS.md'), renderReport(report))
  fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(report, null, 2)}\n`)
  for (const check of report.checks) log(`${check.ok ? 'met    ' : 'MISSED '} ${check.target}: ${check.measured}`)
  log(`written: ${path.join(HERE, 'RESULTS.md')}`)
}
