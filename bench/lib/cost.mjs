// What one request of each benchmark row costs the server: CPU milliseconds and database statements
// (round trips), read from Tessera's Prometheus metrics (METRICS_PORT) as deltas over a run of a
// fixed number of requests. For a scaling model, not for throughput: the load is moderate
// (CONNECTIONS below), so the figures are per request, not per second.
//
// Method, per row:
//   - a warm-up run of `warmup` requests, which also tells whether the row issues requests of its
//     own before the measured part (preparation: the refresh row's token pool, the access token of
//     userinfo and introspection, the subject token of token exchange);
//   - rows without preparation: one run of `requests` requests between two scrapes;
//   - rows with preparation: the preparation cannot be told apart inside one call of run(), so the
//     row runs twice, with `warmup` and with `warmup + requests` requests; the preparation is the
//     same in both and the difference is `requests` measured requests;
//   - the code row mints its codes (`codes`, one /authorize each) as part of run(): its preparation
//     grows with the requests, so the cost of one SSO /authorize (measured beside it, row
//     `authorize`) is subtracted per code.
// Work not caused by the requests is taken out: one scrape's own cost (rendering, the outbox and
// key gauges it reads from the database) and the idle rate (outbox poll, timers, checkpoint
// thread), both measured before the rows, times each window's length.
//
// Statements are tessera_db_query_duration_seconds_count: every statement kysely runs, by its
// query node (select, insert, update, delete; anything else `other`). BEGIN, COMMIT, ROLLBACK and
// savepoints are counted, as `other` (kysely's drivers run them through the same logged
// connection); so would raw sql`` statements be, even reads. Pragmas run on better-sqlite3
// directly (connection setup, the WAL checkpoint thread's own connection) are not counted.
// CPU is process_cpu_seconds_total (the server process, every thread) plus the processes below
// it (/proc); the PostgreSQL backends' CPU is apart (`databaseCpu`).
import { cpuSecondsWhere, descendantsCpuSeconds } from './cpu.mjs'
import { pathOf, pkce } from './http.mjs'
import { measure } from './load.mjs'
import { ROWS } from './rows.mjs'

/** Connections of every counted run: CPU per request should not depend much on saturation. */
export const CONNECTIONS = 10
/** After a run, off-request-path work it caused (outbox nudges, checkpoint thread) gets this long. */
const SETTLE_MS = 250
const IDLE_SECONDS = 5
const OPERATIONS = ['select', 'insert', 'update', 'delete', 'other']

const { challenge: CHALLENGE } = pkce()

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Parses the Prometheus text lines this module needs. */
function parseMetrics(text) {
  const reading = { cpuSeconds: 0, queries: {}, http: {} }
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line)
    if (!match) continue
    const [, name, rawLabels = '', rawValue] = match
    const value = Number(rawValue)
    const labels = Object.fromEntries([...rawLabels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, k, v]) => [k, v]))
    if (name === 'process_cpu_seconds_total') reading.cpuSeconds = value
    else if (name === 'tessera_db_query_duration_seconds_count') reading.queries[`${labels.operation}|${labels.outcome}`] = value
    else if (name === 'tessera_http_request_duration_seconds_count')
      reading.http[`${labels.method} ${labels.route} ${labels.status}`] = value
  }
  return reading
}

/**
 * CPU seconds of the PostgreSQL backends serving `database` on this machine, from /proc (a
 * backend's process title names its database).
 * Backends that exit between two readings take their time with them; the pool keeps its
 * connections for 30 s idle, longer than any gap between rows.
 */
export function postgresBackendCpu(database) {
  // "postgres: [cluster name: ]user database host(port) state"
  return () => cpuSecondsWhere((title) => /^postgres: (?:\S+: )?\S+ (\S+) /.exec(title)?.[1] === database)
}

/** `source`: { metricsUrl, pid (the server's, for its child processes), databaseCpu? () → seconds }. */
async function snapshot({ metricsUrl, pid, databaseCpu }) {
  const response = await fetch(metricsUrl)
  if (!response.ok) throw new Error(`${metricsUrl}: HTTP ${response.status}`)
  const reading = parseMetrics(await response.text())
  reading.childCpuSeconds = pid ? descendantsCpuSeconds(pid) : 0
  reading.dbCpuSeconds = databaseCpu ? await databaseCpu() : 0
  reading.at = performance.now()
  return reading
}

/** b − a, figure by figure (series missing in a count from 0). */
function delta(a, b) {
  const diff = (x, y) => Object.fromEntries([...new Set([...Object.keys(x), ...Object.keys(y)])].map((k) => [k, (y[k] ?? 0) - (x[k] ?? 0)]))
  return {
    cpuSeconds: b.cpuSeconds - a.cpuSeconds,
    childCpuSeconds: b.childCpuSeconds - a.childCpuSeconds,
    dbCpuSeconds: b.dbCpuSeconds - a.dbCpuSeconds,
    queries: diff(a.queries, b.queries),
    http: diff(a.http, b.http),
    seconds: (b.at - a.at) / 1000,
  }
}

/** x + factor·y over the numeric figures of two deltas. */
function combine(x, y, factor) {
  const add = (p, q) =>
    Object.fromEntries([...new Set([...Object.keys(p), ...Object.keys(q)])].map((k) => [k, (p[k] ?? 0) + factor * (q[k] ?? 0)]))
  return {
    cpuSeconds: x.cpuSeconds + factor * y.cpuSeconds,
    childCpuSeconds: x.childCpuSeconds + factor * y.childCpuSeconds,
    dbCpuSeconds: x.dbCpuSeconds + factor * y.dbCpuSeconds,
    queries: add(x.queries, y.queries),
    http: add(x.http, y.http),
    seconds: x.seconds + factor * y.seconds,
  }
}

const scale = (d, factor) => combine({ cpuSeconds: 0, childCpuSeconds: 0, dbCpuSeconds: 0, queries: {}, http: {}, seconds: 0 }, d, factor)

/**
 * What the server does with no request: one scrape's own cost (`scrape`, a delta of back-to-back
 * scrapes) and the idle rate per second (`perSecond`, over IDLE_SECONDS without requests).
 */
async function idleBaseline(source) {
  const readings = [await snapshot(source)]
  for (let i = 0; i < 5; i++) readings.push(await snapshot(source))
  const scrape = scale(delta(readings[0], readings.at(-1)), 1 / 5)
  const start = await snapshot(source)
  await sleep(IDLE_SECONDS * 1000)
  const idle = delta(start, await snapshot(source))
  const rest = combine(idle, scrape, -1)
  const perSecond = scale(rest, 1 / idle.seconds)
  // Rates cannot be negative; noise in the short scrape figure can make them so.
  perSecond.cpuSeconds = Math.max(0, perSecond.cpuSeconds)
  perSecond.childCpuSeconds = Math.max(0, perSecond.childCpuSeconds)
  perSecond.dbCpuSeconds = Math.max(0, perSecond.dbCpuSeconds)
  for (const key of Object.keys(perSecond.queries)) perSecond.queries[key] = Math.max(0, perSecond.queries[key])
  perSecond.http = {}
  scrape.http = {}
  return { scrape, perSecond }
}

/** A window's figures less what a scrape and the idle server account for over its length. */
function corrected(d, baseline) {
  const idle = scale(baseline.perSecond, d.seconds)
  const expected = combine(idle, baseline.scrape, 1)
  expected.seconds = 0
  return combine(d, expected, -1)
}

/** One counted call: scrape, work, settle, scrape; corrected for scraping and idling. */
async function window(source, baseline, work) {
  const before = await snapshot(source)
  const result = await work()
  await sleep(SETTLE_MS)
  return { d: corrected(delta(before, await snapshot(source)), baseline), result }
}

const totalHttp = (d) => Object.values(d.http).reduce((sum, n) => sum + n, 0)
const failedHttp = (d) =>
  Object.entries(d.http)
    .filter(([key]) => Number(key.split(' ').at(-1)) >= 400)
    .reduce((sum, [, n]) => sum + n, 0)
const round = (n, digits = 4) => Number(n.toFixed(digits))

/** The per-request figures of `d` (the counted requests only), `operations` operations of the row. */
function perRequest(d, operations, withDatabaseCpu) {
  const byOperation = {}
  for (const [key, n] of Object.entries(d.queries)) {
    const [operation, outcome] = key.split('|')
    byOperation[operation] ??= {}
    byOperation[operation][outcome] = round(n / operations)
  }
  const per = (operation) => Object.values(byOperation[operation] ?? {}).reduce((sum, n) => sum + n, 0)
  const others = Object.keys(byOperation).filter((operation) => !['select', 'insert', 'update', 'delete'].includes(operation))
  return {
    requests: operations,
    cpuMs: round(((d.cpuSeconds + d.childCpuSeconds) * 1000) / operations),
    ...(d.childCpuSeconds > 0.005 ? { hasherCpuMs: round((d.childCpuSeconds * 1000) / operations) } : {}),
    ...(withDatabaseCpu ? { databaseCpuMs: round((d.dbCpuSeconds * 1000) / operations) } : {}),
    reads: round(per('select')),
    writes: round(per('insert') + per('update') + per('delete')),
    other: round(others.reduce((sum, operation) => sum + per(operation), 0)),
    byOperation,
  }
}

/** The /authorize request the code and SSO rows begin with: an SSO session cookie in, a code out. */
const authorizeRequest = (ctx) => ({
  method: 'GET',
  path: pathOf(ctx.target.authorizeUrl({ challenge: CHALLENGE })),
  headers: { cookie: ctx.session.cookie },
})

/** Extra rows, beside those of rows.mjs: the code row's preparation and a password login. */
export const EXTRA_ROWS = [
  {
    key: 'authorize',
    label: 'SSO `/authorize` (session cookie → code)',
    run: (ctx, o) => measure(ctx.target.issuer, { ...o, requests: [authorizeRequest(ctx)] }),
  },
  {
    // The login row of rows.mjs (loginRow) runs for a duration with JWKS beside it; this is the
    // same three requests per login, counted, with nothing beside them.
    key: 'login',
    label: 'Password login (authorize → login page → POST /login)',
    steps: 3,
    // argon2id costs tens of milliseconds a login: fewer of them.
    costRequests: 100,
    costWarmup: 20,
    run: async (ctx, o) => {
      let failed = 0
      const result = await measure(ctx.target.issuer, {
        ...o,
        steps: 3,
        requests: ctx.target.loginRequests({ challenge: CHALLENGE, onLogin: (ok) => (ok ? undefined : failed++) }),
      })
      if (failed) throw new Error(`${failed} logins failed`)
      return result
    },
  },
]

/**
 * Per row (key → figures): `requests` operations counted (an operation is `row.steps` HTTP
 * requests: SSO 2, login 3), server CPU ms per operation (`cpuMs`: the server process, all its
 * threads, plus any process below it: argon2id hashing), database statements per operation:
 * `reads` (select), `writes` (insert, update, delete), `other` (BEGIN/COMMIT/ROLLBACK, savepoints
 * and raw SQL), and `byOperation` (operation → outcome → statements per operation).
 * `hasherCpuMs`: the share of cpuMs spent in the hashing process (logins only);
 * `databaseCpuMs` (with `databaseCpu`): the PostgreSQL backends' CPU per operation, not in cpuMs.
 * `method` says how the preparation was kept out; `cpuMsRounds` (rounds > 1) the CPU of each round.
 * `ctx`: what prepare(target) returned; `rows`: rows of rows.mjs (and EXTRA_ROWS; the code row
 * brings `authorize` along). `metricsUrl`: the server's /metrics. `requests`: counted requests
 * per row (a row's `costRequests` overrides it). `warmup`: requests of the warm-up run (and of
 * the shorter run of rows with preparation). `rounds`: counted runs per row, the round of median
 * CPU reported. `databaseCpu`: () → CPU seconds of the database (postgresBackendCpu(name)).
 */
export async function costPerRequest(
  ctx,
  rows,
  { metricsUrl, requests = 400, warmup = 100, rounds = 1, connections = CONNECTIONS, databaseCpu, log = () => {} },
) {
  const source = { metricsUrl, pid: ctx.target.process?.pid ?? ctx.target.serverPids?.[0], databaseCpu }
  const baseline = await idleBaseline(source)
  log(
    `idle: ${round(baseline.perSecond.cpuSeconds * 1000, 2)} CPU ms/s, ${round(
      Object.values(baseline.perSecond.queries).reduce((a, b) => a + b, 0),
      2,
    )} statements/s; a scrape: ${round(baseline.scrape.cpuSeconds * 1000, 2)} CPU ms, ${round(
      Object.values(baseline.scrape.queries).reduce((a, b) => a + b, 0),
      2,
    )} statements`,
  )
  const results = {}
  // The code row's preparation is an SSO /authorize per code: that row is measured first.
  const authorizeRow = EXTRA_ROWS.find((row) => row.key === 'authorize')
  const withAuthorize =
    rows.some((row) => row.key === 'code') && !rows.some((row) => row.key === 'authorize') ? [authorizeRow, ...rows] : rows
  const ordered = [...withAuthorize].sort((a, b) => (a.key === 'authorize' ? -1 : b.key === 'authorize' ? 1 : 0))
  for (const row of ordered) {
    const steps = row.steps ?? 1
    const counted = row.costRequests ?? requests
    const warmRequests = row.costWarmup ?? warmup
    // The code row sizes itself by `codes` (one /authorize and one /token each), the others by `amount`.
    const scalesPreparation = row.key === 'code'
    const perOperation = scalesPreparation ? 2 : steps
    // `duration` for rows that run for a time whatever `amount` says (passkey_login): longer for
    // more requests, so that the difference of two runs still holds requests of the row only.
    const options = (n) => ({ warmup: 0, duration: Math.max(1, Math.round(n / 200)), amount: n * steps, codes: n, connections })
    const run = (n) => window(source, baseline, () => row.run(ctx, options(n)))
    try {
      const warm = await run(warmRequests)
      const prepared = totalHttp(warm.d) !== warmRequests * perOperation
      const method = prepared ? 'difference of two runs (the row prepares with requests of its own)' : 'direct'
      const measured = []
      for (let r = 0; r < rounds; r++) {
        let d
        if (!prepared) d = (await run(counted)).d
        else {
          const short = await run(warmRequests)
          const long = await run(warmRequests + counted)
          d = combine(long.d, short.d, -1)
        }
        const operations = Math.round(totalHttp(d) / perOperation)
        if (operations <= 0) throw new Error('the longer run did not make more requests than the shorter one')
        measured.push({ d, figures: perRequest(d, operations, Boolean(databaseCpu)) })
      }
      // The round of median CPU (statement counts barely differ between rounds).
      const chosen = [...measured].sort((a, b) => a.figures.cpuMs - b.figures.cpuMs)[Math.floor((measured.length - 1) / 2)]
      const { d, figures } = chosen
      let roundsCpu = measured.map((m) => m.figures.cpuMs)
      let how = method
      if (scalesPreparation && results.authorize?.cpuMs !== undefined) {
        // One SSO /authorize per code minted: not part of the exchange.
        const authorize = results.authorize
        for (const figure of ['cpuMs', 'databaseCpuMs', 'reads', 'writes', 'other'])
          if (typeof figures[figure] === 'number') figures[figure] = round(figures[figure] - (authorize[figure] ?? 0))
        for (const [operation, outcomes] of Object.entries(authorize.byOperation))
          for (const [outcome, n] of Object.entries(outcomes)) {
            figures.byOperation[operation] ??= {}
            figures.byOperation[operation][outcome] = round((figures.byOperation[operation][outcome] ?? 0) - n)
          }
        roundsCpu = roundsCpu.map((cpu) => cpu - authorize.cpuMs)
        how += '; less one SSO /authorize per code (row authorize)'
      }
      results[row.key] = {
        ...figures,
        ...(rounds > 1 ? { cpuMsRounds: roundsCpu.map((cpu) => round(cpu, 2)) } : {}),
        method: how,
        httpRequests: round(totalHttp(d), 0),
        failedRequests: round(failedHttp(d), 0),
        seconds: round(d.seconds, 2),
      }
      log(
        `${row.key.padEnd(24)} ${String(figures.requests).padStart(5)} ops  CPU ${figures.cpuMs.toFixed(2)} ms${rounds > 1 ? ` (rounds ${roundsCpu.map((cpu) => cpu.toFixed(2)).join(' ')})` : ''}  reads ${figures.reads.toFixed(2)}  writes ${figures.writes.toFixed(2)}  other ${figures.other.toFixed(2)}${prepared ? '  (difference)' : ''}`,
      )
    } catch (error) {
      log(`${row.key}: failed: ${error.message}`)
      results[row.key] = { error: error.message }
    }
  }
  return results
}

// Statement counts a baseline correction leaves a hair below zero print as 0.00, not -0.00.
const cell = (n) => (typeof n === 'number' && Number.isFinite(n) ? (Math.abs(n) < 0.005 ? 0 : n).toFixed(2) : '—')

/** `cost`: { sqlite?: costPerRequest(…), postgres?: costPerRequest(…) }; `labels`: key → label (optional). */
export function renderCostTable(cost, labels = {}) {
  const keys = [...new Set([...Object.keys(cost.sqlite ?? {}), ...Object.keys(cost.postgres ?? {})])]
  const labelOf = (key) => labels[key] ?? [...ROWS, ...EXTRA_ROWS].find((row) => row.key === key)?.label ?? key
  const lines = [
    '| Row | SQLite CPU ms/request | reads | writes | PostgreSQL CPU ms/request | reads | writes |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ]
  for (const key of keys) {
    const s = cost.sqlite?.[key] ?? {}
    const p = cost.postgres?.[key] ?? {}
    lines.push(
      `| ${labelOf(key)} | ${cell(s.cpuMs)} | ${cell(s.reads)} | ${cell(s.writes)} | ${cell(p.cpuMs)} | ${cell(p.reads)} | ${cell(p.writes)} |`,
    )
  }
  return lines.join('\n')
}
