// node bench/cost.mjs [sqlite|postgres] — what one request of each benchmark row costs Tessera:
// server CPU ms and database statements per request (bench/lib/cost.mjs), on a fresh SQLite file
// or a fresh PostgreSQL database (BENCH_POSTGRES_ADMIN_URL, default
// postgres://tessera:tessera@127.0.0.1:5432/postgres: a role that may create databases; the
// database bench_cost_<random> is made for the run and dropped after it). Prints the table and one
// JSON line ({ dialect, cost }).
//
//   BENCH_COST_REQUESTS=400   counted requests per row (logins: 100)
//   BENCH_COST_ROUNDS=2       rounds per row; the round of median CPU (of two: the lower) is reported
//   BENCH_COST_ROWS=a,b       only these row keys (default: every row of rows.mjs, `authorize` and `login`)
//   BENCH_COST_LOGIN=0        leaves the password-login row out
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createDatabase, dropDatabase } from './lib/postgres.mjs'
import { costPerRequest, EXTRA_ROWS, postgresBackendCpu, renderCostTable } from './lib/cost.mjs'
import { prepare, ROWS } from './lib/rows.mjs'
import * as tessera from './targets/tessera.mjs'
import { freePort } from './lib/process.mjs'

const dialect = process.argv[2] ?? 'sqlite'
if (!['sqlite', 'postgres'].includes(dialect)) {
  process.stderr.write('usage: node bench/cost.mjs [sqlite|postgres]\n')
  process.exit(2)
}
const REQUESTS = Number(process.env.BENCH_COST_REQUESTS ?? 400)
const ROUNDS = Number(process.env.BENCH_COST_ROUNDS ?? 2)
const ONLY = process.env.BENCH_COST_ROWS ? new Set(process.env.BENCH_COST_ROWS.split(',')) : undefined
const LOGIN = process.env.BENCH_COST_LOGIN !== '0'
const ADMIN_URL = process.env.BENCH_POSTGRES_ADMIN_URL ?? 'postgres://tessera:tessera@127.0.0.1:5432/postgres'
const log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`)

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cost-'))
let database
let target
try {
  const env = { METRICS_HOST: '127.0.0.1', METRICS_PORT: String(await freePort()) }
  if (dialect === 'postgres') {
    database = `bench_cost_${Math.random().toString(36).slice(2, 10)}`
    env.DATABASE_URL = await createDatabase(ADMIN_URL, database)
    log(`database ${database}`)
  }
  target = await tessera.start({ port: await freePort(), workDir, env })
  const ctx = await prepare(target)
  const rows = [...ROWS, ...EXTRA_ROWS].filter((row) => (ONLY ? ONLY.has(row.key) : LOGIN || row.key !== 'login'))
  const metricsUrl = `http://127.0.0.1:${env.METRICS_PORT}/metrics`
  const databaseCpu = database ? postgresBackendCpu(database) : undefined
  const cost = await costPerRequest(ctx, rows, { metricsUrl, requests: REQUESTS, rounds: ROUNDS, databaseCpu, log })
  process.stdout.write(`${renderCostTable({ [dialect]: cost })}\n`)
  process.stdout.write(`${JSON.stringify({ dialect, cost })}\n`)
} finally {
  await target?.stop().catch(() => undefined)
  fs.rmSync(workDir, { recursive: true, force: true })
  if (database) await dropDatabase(ADMIN_URL, database).catch((error) => log(`could not drop ${database}: ${error.message}`))
}
