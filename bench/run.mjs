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
//   BENCH_SLICES=8         slices per round of the rows compared with the bare route (JWKS, discovery)
//   BENCH_SOAK_SECONDS=300 the memory run (0 skips it)
//   BENCH_TARGETS=tessera,oidc-provider,cluster,postgres,postgres-2,cost,storage   which parts to run
//                          (cost: CPU and statements per request, bench/lib/cost.mjs; storage: bytes
//                          per user, session and grant, bench/lib/storage-cost.mjs; both databases)
//   BENCH_COST_ROUNDS=2 BENCH_COST_REQUESTS=400   counting rounds per row of the cost part, requests per round
//   BENCH_STORAGE_USERS=5000 …_SESSIONS=500 …_GRANTS=5000 …_CLIENT_CREDENTIALS=2000   what the storage part creates
//   BENCH_PG_ROUNDS=1      rounds per row on PostgreSQL (postgres: one Tessera process; postgres-2:
//                          two instances behind bench/lib/balancer.mjs), on a private PostgreSQL
//                          server started here (bench/lib/postgres.mjs) or BENCH_POSTGRES_URL's
//   BENCH_OUT=dir          write RESULTS.md and results.json there instead of bench/; without it a
//                          run of only some parts writes nothing (bench/RESULTS.md is the full set);
//                          `node bench/merge.mjs dir` completes such a run with the parts it lacks
//                          from bench/results.json, saying so in both documents
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { costPerRequest, EXTRA_ROWS, postgresBackendCpu } from './lib/cost.mjs'
import { ownCpuSeconds, treeCpuSeconds } from './lib/cpu.mjs'
import { CONNECTIONS, measure } from './lib/load.mjs'
import { runNode, startNode, stopProcess, freePort } from './lib/process.mjs'
import { startPostgres } from './lib/postgres.mjs'
import { checkTargets, renderPostgres, renderReport } from './lib/report.mjs'
import { loginRow, prepare, ROWS } from './lib/rows.mjs'
import { PROBE, probeOf } from './lib/probe-reader.mjs'
import { renderScaling } from './lib/scaling.mjs'
import { rssDrift, soak } from './lib/soak.mjs'
import { renderStorageTable, storageCost } from './lib/storage-cost.mjs'
import { slowestWaits } from './lib/waits.mjs'
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
/** Slice of the interleaved open-loop runs (openLoopInterleaved), in seconds. */
const OPEN_LOOP_SLICE = 0.5
/**
 * JWKS and discovery against the bare route: every round is SLICES runs of SECONDS / SLICES per
 * target, the targets taking turns, so a phase of the machine's drift falls on all of them.
 */
const SLICES = Number(process.env.BENCH_SLICES ?? 8)
const ALL_PARTS = ['tessera', 'oidc-provider', 'cluster', 'postgres', 'postgres-2', 'cost', 'storage']
const PARTS = new Set((process.env.BENCH_TARGETS ?? ALL_PARTS.join(',')).split(','))
const PG_ROUNDS = Number(process.env.BENCH_PG_ROUNDS ?? 1)
const COST_ROUNDS = Number(process.env.BENCH_COST_ROUNDS ?? 2)
const COST_REQUESTS = Number(process.env.BENCH_COST_REQUESTS ?? 400)
const STORAGE_COUNTS = {
  users: Number(process.env.BENCH_STORAGE_USERS ?? 5000),
  sessions: Number(process.env.BENCH_STORAGE_SESSIONS ?? 500),
  grants: Number(process.env.BENCH_STORAGE_GRANTS ?? 5000),
  clientCredentials: Number(process.env.BENCH_STORAGE_CLIENT_CREDENTIALS ?? 2000),
}
const OUT_DIR = process.env.BENCH_OUT ? path.resolve(process.env.BENCH_OUT) : undefined
const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'))
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`)

const summary = (r) =>
  `${String(r.perSecond).padStart(7)}/s  p50 ${r.p50ms ?? r.loginP50ms} ms  p99 ${r.p99ms ?? r.loginP99ms} ms  errors ${r.errors ?? r.failedLogins}`

/** The open-loop round with the median p99, with every round's p99 kept beside it. */
function medianP99(runs) {
  const sorted = [...runs].sort((a, b) => (a.p99ms ?? Infinity) - (b.p99ms ?? Infinity))
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], p99Rounds: runs.map((run) => run.p99ms) }
}

/** The round with the median throughput, with every round's rate kept beside it. */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond)
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], rounds: runs.map((run) => run.perSecond) }
}

/**
 * One round's result from its slices: the rate over all of them, the median slice's p50, the
 * worst slice's p99 (a bound, not a typical value), CPU per request weighted by requests.
 */
function combineSlices(slices) {
  const requests = slices.reduce((sum, slice) => sum + slice.requests, 0)
  const seconds = slices.reduce((sum, slice) => sum + slice.seconds, 0)
  const p50s = slices.map((slice) => slice.p50ms).sort((a, b) => a - b)
  const cpuMs = slices[0].cpuMs
    ? Object.fromEntries(
        Object.keys(slices[0].cpuMs).map((part) => [
          part,
          Number((slices.reduce((sum, slice) => sum + (slice.cpuMs?.[part] ?? 0) * slice.requests, 0) / requests).toFixed(3)),
        ]),
      )
    : undefined
  return {
    perSecond: Math.round(requests / seconds),
    ...(cpuMs ? { cpuMs } : {}),
    requests,
    p50ms: p50s[Math.floor((p50s.length - 1) / 2)],
    p99ms: Math.max(...slices.map((slice) => slice.p99ms)),
    errors: slices.reduce((sum, slice) => sum + slice.errors, 0),
    seconds: Number(seconds.toFixed(2)),
    slices: slices.map((slice) => Math.round(slice.requests / slice.seconds)),
  }
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
  return { rows: { jwks: bareRow('/jwks'), discovery: bareRow('/discovery') }, process: child, stop: () => stopProcess(child) }
}

/** Open-loop latency of one row on one target (openLoopInterleaved with a single target). */
async function openLoop(row, ctx, rate) {
  return (await openLoopInterleaved(row, { only: ctx }, rate)).only
}

/**
 * Open-loop latency of one row at `rate` requests/s on several targets at once, interleaved in
 * half-second slices (bench/lib/open-loop.mjs, a separate load process): each gets `rate`
 * requests/s for SECONDS in all, and the machine's drift falls on every target alike. Returns
 * name → result, with each server's loop probe (event-loop delay, GC pauses and loop utilisation,
 * lib/loop-probe.cjs) read over the whole run (its idle slices included), and where its slowest 1%
 * of requests waited (lib/waits.mjs).
 */
async function openLoopInterleaved(row, contexts, rate) {
  const targets = []
  for (const [name, ctx] of Object.entries(contexts))
    // One slice more than counted: each target's first slice warms the generator up (open-loop.mjs).
    targets.push({ name, url: ctx.target.issuer, ...(await row.openLoop(ctx, { rate, seconds: SECONDS + OPEN_LOOP_SLICE })) })
  const input = JSON.stringify({ targets, slice: OPEN_LOOP_SLICE, rate, seconds: SECONDS, connections: CONNECTIONS })
  for (const ctx of Object.values(contexts)) await ctx.target.probe?.start()
  const result = JSON.parse(await runNode(path.join(HERE, 'lib/open-loop.mjs'), [], { input }))
  const results = {}
  for (const [name, ctx] of Object.entries(contexts)) {
    // The probe's per-request notes and the generator's slowest requests are joined, not kept.
    const { served, ...server } = (await ctx.target.probe?.read()) ?? { served: undefined }
    const { slowest, ...measured } = result.targets[name]
    const waits = slowestWaits(slowest, served)
    results[name] = { rate, ...measured, ...(ctx.target.probe ? { server } : {}), ...(waits ? { waits } : {}) }
  }
  return results
}

/** The slowest 1%'s mean ms per phase (lib/waits.mjs), for the log. */
function waitsLine(waits) {
  if (!waits) return 'not joined'
  return `${waits.latency} ms = generator ${waits.generator} + before read ${waits.beforeRead} + in server ${waits.inServer} + after answer ${waits.afterAnswer}`
}

/** A single-process target with the loop probe preloaded: its start options, and the probe once started. */
function probed(name) {
  const file = path.join(workDir, `${name}.probe.json`)
  return {
    options: { nodeArgs: ['--require', PROBE], env: { LOOP_PROBE_FILE: file } },
    attach: (target) => Object.assign(target, { probe: probeOf(target.process.pid, file) }),
  }
}

/**
 * Codes for the code-exchange row on a slower target (PostgreSQL): they live 60 s (CODE_TTL) and
 * are all minted before the first is redeemed, so BENCH_CODES of them would outlive their TTL at a
 * few hundred exchanges a second. As many as the target redeems in a row's time, estimated from its
 * `client_credentials` rate in this run (an exchange signs twice), but never more than BENCH_CODES.
 */
const codesForRate = (results) => {
  const perSecond = results.client_credentials?.perSecond
  if (!perSecond) return CODES
  return Math.min(CODES, Math.max(300, Math.round((perSecond / 2) * (SECONDS + WARMUP))))
}

/**
 * What a target's processes have used so far, by part: the servers (with their workers and hashing
 * process), the database server, the balancer, and this process (autocannon, the load generator).
 */
const cpuOf =
  ({ serverPids, balancerPid, database }) =>
  () => ({
    server: treeCpuSeconds(serverPids),
    ...(balancerPid ? { balancer: treeCpuSeconds([balancerPid]) } : {}),
    ...(database?.cpuSeconds ? { database: database.cpuSeconds() } : {}),
    client: ownCpuSeconds(),
  })
const targetCpu = (target, database) =>
  cpuOf({ serverPids: target.serverPids ?? [target.process.pid], balancerPid: target.balancerPid, database })

/** The single-core ceiling: the better of jose on one pool thread and node:crypto on this thread. */
const oneCoreCeiling = ({ joseSignsPerSecond, nodeSyncSignsPerSecond }) => Math.max(joseSignsPerSecond, nodeSyncSignsPerSecond)

/**
 * One reading of lib/sign-ceiling.mjs (its JSON figures). Once in a smoke run a reading never
 * ended: Node 20 deadlocked in a garbage collection that ran while jose exported the freshly
 * generated key (its thread blocked on the key's own mutex). A reading that runs past `timeoutMs`
 * is killed and taken again.
 */
async function readCeiling(env, timeoutMs) {
  const reading = () => runNode(path.join(HERE, 'lib/sign-ceiling.mjs'), [], { env, timeoutMs })
  const output = await reading().catch((error) => {
    log(`the signing ceiling's reading did not finish (${error.message.split('\n')[0]}); reading it again`)
    return reading()
  })
  return JSON.parse(output)
}

/**
 * The one-core signing ceiling read again now (a short run of the two figures behind
 * report.ceiling), so that a signing-bound row's round is judged against a reading taken seconds
 * before it, not only against the one read at the start of the run.
 */
async function signingCeilingNow() {
  return oneCoreCeiling(await readCeiling({ UV_THREADPOOL_SIZE: '1', CEILING_QUICK: '1', CEILING_SECONDS: '2' }, 60_000))
}

/**
 * Every row on every started target, alternating targets within each round. `targets`: name →
 * { ctx, rows? } where rows overrides a row's run (the bare reference has JWKS and discovery only).
 */
async function runAlternating(targets, rounds, { codes = () => CODES, ceilingBesideRounds = false } = {}) {
  const results = Object.fromEntries(Object.keys(targets).map((name) => [name, {}]))
  for (const row of ROWS) {
    const runs = Object.fromEntries(Object.keys(targets).map((name) => [name, []]))
    const ceilingRounds = []
    const runners = Object.entries(targets)
      .map(([name, { ctx, rows }]) => [
        name,
        ctx,
        rows ? rows[row.key]?.run : row.tesseraOnly && ctx.target.name !== 'Tessera' ? undefined : row.run,
      ])
      .filter(([, , run]) => run !== undefined)
    // Rows with a bare reference are measured in slices (SLICES); the others in one run each.
    const sliced = Object.values(targets).some(({ rows }) => rows?.[row.key] !== undefined)
    for (let round = 0; round < rounds; round++) {
      if (sliced) {
        for (const [name, ctx, run] of runners) await run(ctx, { duration: WARMUP, warmup: 0 })
        const slices = Object.fromEntries(runners.map(([name]) => [name, []]))
        for (let slice = 0; slice < SLICES; slice++) {
          const order = (slice + round) % 2 === 0 ? runners : [...runners].reverse()
          for (const [name, ctx, run] of order)
            slices[name].push(await run(ctx, { duration: SECONDS / SLICES, warmup: 0, cpu: targets[name].cpu }))
        }
        for (const [name] of runners) {
          const result = combineSlices(slices[name])
          runs[name].push(result)
          log(`${name.padEnd(14)} ${row.key.padEnd(20)} round ${round + 1}  ${summary(result)}  (${SLICES} slices)`)
        }
        continue
      }
      if (ceilingBesideRounds && row.signatures) {
        ceilingRounds.push(await signingCeilingNow())
        log(`${'ceiling'.padEnd(14)} ${row.key.padEnd(20)} round ${round + 1}  ${ceilingRounds.at(-1)} signs/s on one core`)
      }
      for (const [name, ctx, run] of runners) {
        const result = await run(ctx, { duration: SECONDS, warmup: WARMUP, codes: codes(results[name]), cpu: targets[name].cpu })
        runs[name].push(result)
        log(`${name.padEnd(14)} ${row.key.padEnd(20)} round ${round + 1}  ${summary(result)}`)
      }
    }
    for (const [name, list] of Object.entries(runs))
      if (list.length) results[name][row.key] = { ...median(list), ...(ceilingRounds.length ? { ceilingRounds } : {}) }
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
  openLoopSlice: OPEN_LOOP_SLICE,
  slices: SLICES,
  rows: ROWS.map(({ key, label, openLoop: open }) => ({ key, label, openLoop: Boolean(open) })),
  notes: [],
}

// The ceiling belongs to the one-process section (and its targets): other parts alone skip it.
if (PARTS.has('tessera')) {
  log('signing ceiling (jose and node:crypto, RS256 2048): one core, then every core')
  // About 20 s each (five figures of 3 s, key generation and warm-ups).
  const oneCore = await readCeiling({ UV_THREADPOOL_SIZE: '1' }, 180_000)
  const allCores = await readCeiling({}, 180_000)
  report.ceiling = {
    oneCore,
    allCores,
    signsPerSecond: oneCoreCeiling(oneCore),
    verifiesPerSecond: oneCore.joseVerifiesPerSecond,
  }
  log(
    `ceiling: one core ${report.ceiling.signsPerSecond} signs/s (jose ${oneCore.joseSignsPerSecond}, node:crypto ${oneCore.nodeSyncSignsPerSecond}); every core: jose ${allCores.joseSignsPerSecond} signs/s`,
  )
}

const started = []
let postgres
try {
  if (PARTS.has('tessera')) {
    const targets = {}
    const tesseraProbe = probed('tessera')
    const single = tesseraProbe.attach(
      await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'tessera'), ...tesseraProbe.options }),
    )
    started.push(single)
    targets.Tessera = { ctx: await prepare(single), cpu: targetCpu(single) }
    const bare = await startBare(targets.Tessera.ctx)
    started.push(bare)
    targets['bare fastify'] = { ctx: targets.Tessera.ctx, rows: bare.rows, cpu: targetCpu(bare) }
    if (PARTS.has('oidc-provider')) {
      const oidcProvider = await import('./targets/oidc-provider.mjs')
      const oidcProbe = probed('oidc-provider')
      const target = oidcProbe.attach(
        await oidcProvider.start({ port: await freePort(), workDir: path.join(workDir, 'oidc-provider'), ...oidcProbe.options }),
      )
      started.push(target)
      report.notes.push(...(target.notes ?? []))
      targets['oidc-provider'] = { ctx: await prepare(target), cpu: targetCpu(target) }
    }
    const results = await runAlternating(targets, ROUNDS, { ceilingBesideRounds: true })
    report.tessera = results.Tessera
    report.bare = results['bare fastify']
    report.oidc = results['oidc-provider']

    // Latency below saturation: the same offered load for both providers, in alternating rounds
    // (one 8-second run's p99 rests on its 80 slowest requests: a single run is too noisy to compare).
    report.latency = {}
    for (const row of ROWS.filter((candidate) => candidate.openLoop)) {
      const capacity = Math.min(report.tessera[row.key].perSecond, report.oidc?.[row.key]?.perSecond ?? Infinity)
      const rate = Math.max(1, Math.min(OPEN_LOOP_MAX_RATE, Math.round(capacity * LATENCY_LOAD)))
      report.latency[row.key] = { rate }
      const runs = { tessera: [], oidc: [] }
      const providers = [
        ['Tessera', 'tessera'],
        ['oidc-provider', 'oidc'],
      ].filter(([name]) => targets[name])
      for (let round = 0; round < ROUNDS; round++) {
        // Both providers in one interleaved run, the one that leads taking turns between rounds.
        const order = round % 2 === 0 ? providers : [...providers].reverse()
        const results = await openLoopInterleaved(row, Object.fromEntries(order.map(([name]) => [name, targets[name].ctx])), rate)
        for (const [name, key] of providers) {
          const result = results[name]
          runs[key].push(result)
          log(
            `${name.padEnd(14)} ${row.key.padEnd(20)} open loop at ${rate}/s, round ${round + 1}: p50 ${result.p50ms} ms  p99 ${result.p99ms} ms  errors ${result.errors}  dropped ${result.dropped}  (server: loop delay p99 ${result.server?.loopDelayP99ms} ms, max ${result.server?.loopDelayMaxMs} ms, GC max ${result.server?.gcMaxMs} ms, waiting for a CPU ${result.server?.cpuWaitMsPerSecond} ms/s; generator late p50 ${result.lateP50ms} ms, p99 ${result.lateP99ms} ms; slowest 1%: ${waitsLine(result.waits)})`,
          )
        }
      }
      for (const [key, list] of Object.entries(runs)) if (list.length) report.latency[row.key][key] = medianP99(list)
    }
    while (started.length) await started.pop().stop()
  }
  if (PARTS.has('cluster')) {
    const workers = os.availableParallelism()
    const target = await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'cluster'), workers })
    started.push(target)
    report.cluster = {
      workers,
      results: (await runAlternating({ Tessera: { ctx: await prepare(target), cpu: targetCpu(target) } }, 1)).Tessera,
    }
    await started.pop().stop()
  }
  if (['postgres', 'postgres-2', 'cost', 'storage'].some((part) => PARTS.has(part))) {
    postgres = await startPostgres({ workDir })
    log(`PostgreSQL ${postgres.version}${postgres.external ? ' (BENCH_POSTGRES_URL)' : ', a private server on 127.0.0.1'}`)
  }
  if (PARTS.has('postgres')) {
    const databaseUrl = await postgres.createDatabase('tessera_bench_one')
    const postgresProbe = probed('postgres')
    const target = postgresProbe.attach(
      await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'postgres-one'), databaseUrl, ...postgresProbe.options }),
    )
    started.push(target)
    const ctx = await prepare(target)
    const results = (await runAlternating({ Tessera: { ctx, cpu: targetCpu(target, postgres) } }, PG_ROUNDS, { codes: codesForRate }))
      .Tessera
    report.postgres = { version: postgres.version, server: postgres.external ? 'external' : 'private', rounds: PG_ROUNDS, results }
    // Latency below saturation at the rates SQLite was offered, or at the same share of this
    // server's throughput where that is lower (a rate beyond its capacity measures the queue).
    report.postgresLatency = {}
    for (const row of ROWS.filter((candidate) => candidate.openLoop)) {
      const capacity = report.postgres.results[row.key]?.perSecond
      const own = Math.max(1, Math.min(OPEN_LOOP_MAX_RATE, Math.round((capacity ?? 2) * LATENCY_LOAD)))
      const rate = Math.min(report.latency?.[row.key]?.rate ?? Infinity, own)
      const result = await openLoop(row, ctx, rate)
      report.postgresLatency[row.key] = { rate, tessera: result }
      log(
        `${'PostgreSQL'.padEnd(14)} ${row.key.padEnd(20)} open loop at ${rate}/s: p50 ${result.p50ms} ms  p99 ${result.p99ms} ms  errors ${result.errors}  dropped ${result.dropped}`,
      )
    }
    await started.pop().stop()
  }
  if (PARTS.has('postgres-2')) {
    const instances = 2
    const databaseUrl = await postgres.createDatabase('tessera_bench_two')
    const target = await tessera.start({ port: await freePort(), workDir: path.join(workDir, 'postgres-two'), databaseUrl, instances })
    started.push(target)
    const results = (
      await runAlternating({ Tessera: { ctx: await prepare(target), cpu: targetCpu(target, postgres) } }, PG_ROUNDS, {
        codes: codesForRate,
      })
    ).Tessera
    report.postgres2 = {
      instances,
      version: postgres.version,
      server: postgres.external ? 'external' : 'private',
      rounds: PG_ROUNDS,
      results,
    }
    await started.pop().stop()
  }
  if (PARTS.has('cost')) {
    // What a request costs, counted at moderate load: CPU and statements from the server's metrics.
    report.cost = {}
    for (const dialect of ['sqlite', 'postgres']) {
      const metricsPort = await freePort()
      const database = dialect === 'postgres' ? 'tessera_bench_cost' : undefined
      const target = await tessera.start({
        port: await freePort(),
        workDir: path.join(workDir, `cost-${dialect}`),
        env: { METRICS_HOST: '127.0.0.1', METRICS_PORT: String(metricsPort) },
        ...(database ? { databaseUrl: await postgres.createDatabase(database) } : {}),
      })
      started.push(target)
      log(`cost per request on ${dialect}`)
      // The passkey row registers and removes its passkey (a password login) inside each run, which the
      // counting pass cannot take out; its CPU comes from the throughput runs (measured around the sign-ins only).
      const rows = [...ROWS, ...EXTRA_ROWS].filter((row) => row.key !== 'passkey_login')
      report.cost[dialect] = await costPerRequest(await prepare(target), rows, {
        metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
        rounds: COST_ROUNDS,
        requests: COST_REQUESTS,
        databaseCpu: database && !postgres.external ? postgresBackendCpu(database) : undefined,
        log,
      })
      await started.pop().stop()
    }
  }
  if (PARTS.has('storage')) {
    report.storage = {}
    for (const dialect of ['sqlite', 'postgres']) {
      log(`bytes stored on ${dialect}`)
      report.storage[dialect] = await storageCost({ target: tessera, dialect, adminUrl: postgres.adminUrl, ...STORAGE_COUNTS })
    }
    report.storageTable = renderStorageTable(report.storage)
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
  await postgres?.stop().catch((error) => log(`PostgreSQL did not stop cleanly: ${error.message}`))
  fs.rmSync(workDir, { recursive: true, force: true })
}

report.notes.unshift(
  'Tessera logs at LOG_LEVEL=warn here (its per-request access log is an info line; oidc-provider has none).',
  'Per-IP rate limits of Tessera are raised for the run (TOKEN_RATE_LIMIT, LOGIN_RATE_LIMIT): the load comes from one address.',
  'Tessera writes no row per access token: its jti names the grant or client whose revocation ends it, and only tokens revoked on their own are listed (test/tokens/no-write-per-token.test.ts counts the rows: client_credentials 0, a refresh only its rotated refresh token). Like oidc-provider, a JWT access token is not stored.',
  'Userinfo and introspection: Tessera is sent its JWT access token (verified, then its grant or client and the revocation list read in one statement); oidc-provider accepts only its opaque access tokens there (a database read, no signature check).',
)
// bench/RESULTS.md holds the full set: a run of some parts only writes where BENCH_OUT says.
const complete = ALL_PARTS.every((part) => PARTS.has(part))
const outDir = OUT_DIR ?? (complete ? HERE : undefined)
if (report.tessera && report.bare) report.checks = checkTargets(report)
const markdown = report.checks ? renderReport(report) : report.postgres || report.postgres2 ? renderPostgres(report) : undefined
if (report.checks) for (const check of report.checks) log(`${check.ok ? 'met    ' : 'MISSED '} ${check.target}: ${check.measured}`)
if (outDir) {
  fs.mkdirSync(outDir, { recursive: true })
  if (markdown) fs.writeFileSync(path.join(outDir, 'RESULTS.md'), markdown)
  if (report.cost || report.storage || report.postgres) fs.writeFileSync(path.join(outDir, 'SCALING.md'), renderScaling(report))
  fs.writeFileSync(path.join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`)
  log(`written: ${path.join(outDir, markdown ? 'RESULTS.md' : 'results.json')}`)
} else {
  if (markdown && !report.checks) process.stdout.write(`${markdown}\n`)
  log(`only some parts ran (${[...PARTS].join(',')}): ${path.join(HERE, 'RESULTS.md')} left as it is; BENCH_OUT=dir writes this run there`)
}
