// npm run bench: Tessera side by side with oidc-provider and against this machine's limits.
// Servers run as separate production processes on fresh SQLite files; autocannon drives them
// from this process. Prints the tables and writes bench/RESULTS.md (and results.json beside it).
//
// Measurements on a shared 2-core machine drift by tens of percent from one minute to the next,
// so targets that are compared are measured in alternation: every row runs BENCH_ROUNDS times
// on each target in turn (Tessera, oidc-provider, and for JWKS and discovery the bare Fastify
// route), and each target's median round is reported.
//
//   BENCH_SECONDS=8        measured seconds per row and round (after BENCH_WARMUP=2 s of warm-up)
//   BENCH_ROUNDS=3         alternating rounds per row
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
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 300)
const CODES = Number(process.env.BENCH_CODES ?? 12000)
/** Open-loop latency is measured at this share of the lower of the two targets' throughput… */
const LATENCY_LOAD = 0.5
/** …and at most this rate: beyond it the Node load generator, not the server, sets the latency. */
const OPEN_LOOP_MAX_RATE = 1000
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

const summary = (r) =>
  `${String(r.perSecond).padStart(7)}/s  p50 ${r.p50ms ?? r.loginP50ms} ms  p99 ${r.p99ms ?? r.loginP99ms} ms  errors ${r.errors ?? r.failedLogins}`

/** The round with the median throughput, with every round's rate kept beside it. */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond)
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], rounds: runs.map((run) => run.perSecond) }
}

/** A bare Fastify route serving the same bytes (body and headers) as Tessera's JWKS and discovery. */
async function startBare(ctx) {
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
  const child = await startNode(path.join(HERE, 'lib/bare-server.mjs'), {
    env: { PORT: String(port), JWKS_FILE: jwksFile, DISCOVERY_FILE: discoveryFile },
    ready: (line) => line.includes('ready'),
  })
  const url = `http://127.0.0.1:${port}`
  const bareRow = (route) => ({ run: (_ctx, o) => measure(url, { ...o, requests: [{ method: 'GET', path: route }] }) })
  return { rows: { jwks: bareRow('/jwks'), discovery: bareRow('/discovery') }, stop: () => stopProcess(child) }
}

/** Open-loop latency of one row at `rate` requests/s (a separate load process, bench/lib/open-loop.mjs). */
async function openLoop(row, ctx, rate) {
  const spec = await row.openLoop(ctx, { rate, seconds: SECONDS })
  const input = JSON.stringify({ url: ctx.target.issuer, ...spec, rate, seconds: SECONDS, connections: CONNECTIONS })
  return { rate, ...JSON.parse(await runNode(path.join(HERE, 'lib/open-loop.mjs'), [], { input })) }
}

/**
 * Every row on every started target, alternating targets within each round. `targets`: name →
 * { ctx, rows? } where rows overrides a row's run (the bare reference has JWKS and discovery only).
 */
async function runAlternating(targets, rounds) {
  const results = Object.fromEntries(Object.keys(targets).map((name) => [name, {}]))
  for (const row of ROWS) {
    const runs = Object.fromEntries(Object.keys(targets).map((name) => [name, []]))
    for (let round = 0; round < rounds; round++) {
      for (const [name, { ctx, rows }] of Object.entries(targets)) {
        const run = rows ? rows[row.key]?.run : row.tesseraOnly && ctx.target.name !== 'Tessera' ? undefined : row.run
        if (!run) continue
        const result = await run(ctx, { duration: SECONDS, warmup: WARMUP, codes: CODES })
        runs[name].push(result)
        log(`${name.padEnd(14)} ${row.key.padEnd(20)} round ${round + 1}  ${summary(result)}`)
      }
    }
    for (const [name, list] of Object.entries(runs)) if (list.length) results[name][row.key] = median(list)
  }
  for (let round = 0; round < rounds; round++) {
    for (const [name, { ctx, rows }] of Object.entries(targets)) {
      if (rows) continue
      const { login, jwksDuringLogins } = await loginRow(ctx, { duration: SECONDS })
      ;(results[name].loginRuns ??= []).push({ login, jwksDuringLogins })
      log(
        `${name.padEnd(14)} ${'login'.padEnd(20)} round ${round + 1}  ${login.perSecond}/s  login p50 ${login.loginP50ms} ms  p99 ${login.loginP99ms} ms  failed ${login.failedLogins}; JWKS beside it p99 ${jwksDuringLogins.p99ms} ms`,
      )
    }
  }
  for (const result of Object.values(results)) {
    if (!result.loginRuns) continue
    const chosen = median(result.loginRuns.map((run) => ({ ...run, perSecond: run.login.perSecond })))
    result.login = { ...chosen.login, rounds: chosen.rounds }
    // The worst JWKS p99 of all rounds: the target is a bound, not a typical value.
    result.jwksDuringLogins = result.loginRuns.map((run) => run.jwksDuringLogins).reduce((a, b) => (b.p99ms > a.p99ms ? b : a))
    delete result.loginRuns
  }
  return results
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
  rounds: ROUNDS,
  latencyLoad: LATENCY_LOAD,
  openLoopMaxRate: OPEN_LOOP_MAX_RATE,
  rows: ROWS.map(({ key, label, openLoop: open }) => ({ key, label, openLoop: Boolean(open) })),
  notes: [],
}

log('signing ceiling (jose and node:crypto, RS256 2048): one core, then every core')
const oneCore = JSON.parse(await runNode(path.join(HERE, 'lib/sign-ceiling.mjs'), [], { env: { UV_THREADPOOL_SIZE: '1' } }))
const allCores = JSON.parse(await runNode(path.join(HERE, 'lib/sign-ceiling.mjs'), []))
// The single-core ceiling: the better of jose on one pool thread and node:crypto on this thread.
report.ceiling = {
  oneCore,
  allCores,
  signsPerSecond: Math.max(oneCore.joseSignsPerSecond, oneCore.nodeSyncSignsPerSecond),
  verifiesPerSecond: oneCore.joseVerifiesPerSecond,
}
log(
  `ceiling: one core ${report.ceiling.signsPerSecond} signs/s (jose ${oneCore.joseSignsPerSecond}, node:crypto ${oneCore.nodeSyncSignsPerSecond}); every core: jose ${allCores.joseSignsPerSecond} signs/s`,
)

const started = []
try {
  if (PARTS.has('tessera')) {
    const targets = {}
    const single = await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'tessera') })
    started.push(single)
    targets.Tessera = { ctx: await prepare(single) }
    const bare = await startBare(targets.Tessera.ctx)
    started.push(bare)
    targets['bare fastify'] = { ctx: targets.Tessera.ctx, rows: bare.rows }
    if (PARTS.has('oidc-provider')) {
      const oidcProvider = await import('./targets/oidc-provider.mjs')
      const target = await oidcProvider.start({ port: await freePort(), workDir: path.join(workDir, 'oidc-provider') })
      started.push(target)
      report.notes.push(...(target.notes ?? []))
      targets['oidc-provider'] = { ctx: await prepare(target) }
    }
    const results = await runAlternating(targets, ROUNDS)
    report.tessera = results.Tessera
    report.bare = results['bare fastify']
    report.oidc = results['oidc-provider']

    // Latency below saturation: the same offered load for both providers.
    report.latency = {}
    for (const row of ROWS.filter((candidate) => candidate.openLoop)) {
      const capacity = Math.min(report.tessera[row.key].perSecond, report.oidc?.[row.key]?.perSecond ?? Infinity)
      const rate = Math.max(1, Math.min(OPEN_LOOP_MAX_RATE, Math.round(capacity * LATENCY_LOAD)))
      report.latency[row.key] = { rate }
      for (const [name, key] of [
        ['Tessera', 'tessera'],
        ['oidc-provider', 'oidc'],
      ]) {
        if (!targets[name]) continue
        report.latency[row.key][key] = await openLoop(row, targets[name].ctx, rate)
        log(
          `${name.padEnd(14)} ${row.key.padEnd(20)} open loop at ${rate}/s: p50 ${report.latency[row.key][key].p50ms} ms  p99 ${report.latency[row.key][key].p99ms} ms  errors ${report.latency[row.key][key].errors}  dropped ${report.latency[row.key][key].dropped}`,
        )
      }
    }
    while (started.length) await started.pop().stop()
  }
  if (PARTS.has('cluster')) {
    const workers = os.availableParallelism()
    const target = await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'cluster'), workers })
    started.push(target)
    report.cluster = { workers, results: (await runAlternating({ Tessera: { ctx: await prepare(target) } }, 1)).Tessera }
    await started.pop().stop()
  }
  if (SOAK_SECONDS > 0) {
    const workers = os.availableParallelism()
    const soakDir = path.join(workDir, 'soak')
    const settings = { ACCESS_TOKEN_TTL: '2m', PRUNE_INTERVAL: '30s' }
    const target = await tessera.start({ port: await freePort(), workDir: soakDir, workers, env: settings })
    started.push(target)
    const ctx = await prepare(target)
    log(`memory run: ${SOAK_SECONDS} s, ${workers} workers`)
    const result = await soak(ctx, { seconds: SOAK_SECONDS, dbFile: path.join(soakDir, 'tessera.db') })
    report.soak = {
      ...result,
      workers,
      drift: rssDrift(result.samples),
      accessTokenTtl: settings.ACCESS_TOKEN_TTL,
      pruneInterval: settings.PRUNE_INTERVAL,
    }
    log(`memory run: ${result.requests} requests, RSS drift ${report.soak.drift.join('% ')}%`)
    await started.pop().stop()
  }
} finally {
  while (started.length)
    await started
      .pop()
      .stop()
      .catch(() => undefined)
  fs.rmSync(workDir, { recursive: true, force: true })
}

report.notes.unshift(
  'Tessera logs at LOG_LEVEL=warn here (its per-request access log is an info line; oidc-provider has none).',
  'Per-IP rate limits of Tessera are raised for the run (TOKEN_RATE_LIMIT, LOGIN_RATE_LIMIT): the load comes from one address.',
  'Tessera writes no row per access token: its jti names the grant or client whose revocation ends it, and only tokens revoked on their own are listed (test/tokens/no-write-per-token.test.ts counts the rows: client_credentials 0, a refresh only its rotated refresh token). Like oidc-provider, a JWT access token is not stored.',
  'Userinfo and introspection: Tessera is sent its JWT access token (verified, then its grant or client and the revocation list read in one statement); oidc-provider accepts only its opaque access tokens there (a database read, no signature check).',
)
if (report.tessera && report.bare) {
  report.checks = checkTargets(report)
  fs.writeFileSync(path.join(HERE, 'RESULTS.md'), renderReport(report))
  fs.writeFileSync(path.join(HERE, 'results.json'), `${JSON.stringify(report, null, 2)}\n`)
  for (const check of report.checks) log(`${check.ok ? 'met    ' : 'MISSED '} ${check.target}: ${check.measured}`)
  log(`written: ${path.join(HERE, 'RESULTS.md')}`)
}
