// Bytes stored per user, per session, per grant and per client_credentials token, on SQLite or
// PostgreSQL: many of each are made through real paths, and the size of every table (with its
// indexes) is read before and after. For a scaling model ("how big is PostgreSQL at 10 M users").
//
// - users: `idp import` of an installation export holding N users (the path that moves an
//   installation: the rows are the ones `idp users add` writes, the argon2id hash made once by
//   `idp users add` on a scratch installation and reused, so every imported user can sign in);
// - sessions: password logins of distinct imported users (authorize → login page → POST /login);
// - grants: SSO authorize + code exchange (PKCE, scope with offline_access) spread over those
//   sessions: a grant with its refresh token;
// - client_credentials tokens: nothing is stored per access token (expected 0).
//
// SQLite: dbstat pages (tables and their indexes) after a WAL checkpoint. PostgreSQL: after
// VACUUM ANALYZE, the main fork of each table, its TOAST table and its indexes (the free-space
// and visibility maps, a few pages per table whatever its size, are left out).
//
// Tables are sorted into kinds: `durable` (grow with users, sessions, grants: the model's bytes),
// `transient` (expire in minutes and are pruned: codes, interactions, challenges, throttling),
// `retention` (event logs kept for a time, not per entity: audit_events, the outbox) and
// `installation` (keys, clients: one-off). Only durable tables make up `bytes`; the others are
// reported beside them (`transientBytes`, `retentionBytes`) and per table.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fetchWithJar, FORM, formField, pkce } from './http.mjs'
import { createDatabase, dropDatabase } from './postgres.mjs'
import { runNode, freePort } from './process.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = path.join(ROOT, 'bin/idp.js')
const PASSWORD = 'storage bench password 1'
const { verifier: VERIFIER, challenge: CHALLENGE } = pkce()
export const DEFAULT_ADMIN_URL = 'postgres://tessera:tessera@127.0.0.1:5432/postgres'

const KIND = {
  audit_events: 'retention',
  outbox: 'retention',
  interactions: 'transient',
  authorization_codes: 'transient',
  webauthn_challenges: 'transient',
  pending_logins: 'transient',
  pushed_requests: 'transient',
  device_codes: 'transient',
  dpop_proofs: 'transient',
  client_assertions: 'transient',
  upstream_logins: 'transient',
  pending_links: 'transient',
  idempotency_keys: 'transient',
  throttle_counters: 'transient',
  account_tokens: 'transient',
  access_tokens: 'transient',
  revoked_access_tokens: 'transient',
  signing_keys: 'installation',
  key_store_state: 'installation',
  clients: 'installation',
  client_apis: 'installation',
  client_logos: 'installation',
  apis: 'installation',
  connections: 'installation',
  webhooks: 'installation',
  registration_tokens: 'installation',
  kysely_migration: 'installation',
  kysely_migration_lock: 'installation',
}
const kindOf = (table) => KIND[table] ?? 'durable'

const FIRST = ['Anna', 'Ben', 'Carla', 'David', 'Elena', 'Farid', 'Grace', 'Hiroshi', 'Ines', 'Jonas', 'Katarzyna', 'Liam', 'Maria', 'Noah']
const LAST = ['Schmidt', 'Okafor', 'García', 'Nguyen', 'Johansson', 'Rossi', 'Kowalski', 'Dubois', 'Tanaka', 'Murphy', 'Silva', 'Müller']

/** Runs `task(i)` for i < count, `concurrency` at a time. */
async function pool(count, concurrency, task) {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await task(next++)
    }),
  )
}

// --- Table sizes -------------------------------------------------------------------------------

async function sqliteMeter(file) {
  const { default: Database } = await import('better-sqlite3')
  return {
    async snapshot() {
      const db = new Database(file, { fileMustExist: true })
      try {
        db.pragma('busy_timeout = 5000')
        db.pragma('wal_checkpoint(PASSIVE)')
        const owner = new Map(
          db
            .prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index')")
            .all()
            .map((row) => [row.name, row.tbl_name]),
        )
        const tables = {}
        for (const { name, bytes } of db.prepare('SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name').all()) {
          const table = owner.get(name) ?? name
          if (table.startsWith('sqlite_')) continue
          tables[table] ??= { bytes: 0, rows: 0 }
          tables[table].bytes += bytes
        }
        for (const table of Object.keys(tables)) tables[table].rows = db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get().n
        const pageSize = db.pragma('page_size', { simple: true })
        return { tables, fileBytes: db.pragma('page_count', { simple: true }) * pageSize, pageSize }
      } finally {
        db.close()
      }
    },
    async close() {},
  }
}

async function postgresMeter(url) {
  const { default: pg } = await import('pg')
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  return {
    async snapshot() {
      await client.query('VACUUM ANALYZE')
      const { rows } = await client.query(`
        SELECT c.relname AS name,
               pg_relation_size(c.oid)
             + COALESCE(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0)
             + COALESCE((SELECT SUM(pg_relation_size(i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.reltoastrelid), 0)
             + COALESCE((SELECT SUM(pg_relation_size(i.indexrelid)) FROM pg_index i WHERE i.indrelid = c.oid), 0) AS bytes,
               pg_total_relation_size(c.oid) AS total
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`)
      const tables = {}
      for (const row of rows) {
        const count = await client.query(`SELECT COUNT(*)::int AS n FROM "${row.name}"`)
        tables[row.name] = { bytes: Number(row.bytes), totalBytes: Number(row.total), rows: count.rows[0].n }
      }
      const size = await client.query('SELECT pg_database_size(current_database()) AS bytes')
      return { tables, fileBytes: Number(size.rows[0].bytes), pageSize: 8192 }
    },
    close: () => client.end(),
  }
}

/** Per-item deltas of every table that changed between two snapshots, sorted into kinds. */
function perItem(before, after, count) {
  const byTable = {}
  const sums = { durable: 0, transient: 0, retention: 0, installation: 0 }
  for (const [table, now] of Object.entries(after.tables)) {
    const was = before.tables[table] ?? { bytes: 0, rows: 0 }
    const bytes = now.bytes - was.bytes
    const rows = now.rows - was.rows
    if (bytes === 0 && rows === 0) continue
    const kind = kindOf(table)
    byTable[table] = {
      kind,
      bytes: Math.round((bytes / count) * 10) / 10,
      rows: Math.round((rows / count) * 10000) / 10000,
      rowsAdded: rows,
      ...(rows > 0 ? { bytesPerRow: Math.round(bytes / rows) } : {}),
    }
    sums[kind] += bytes / count
  }
  const round = (n) => Math.round(n * 10) / 10
  return {
    bytes: round(sums.durable),
    transientBytes: round(sums.transient),
    retentionBytes: round(sums.retention),
    installationBytes: round(sums.installation),
    byTable,
    count,
  }
}

// --- The installation ---------------------------------------------------------------------------

/** An installation export with `count` users, made from a scratch installation's export (its KEK, its signing keys). */
async function usersExport(cliEnv, workDir, count) {
  const scratch = { ...cliEnv, DATABASE_URL: `sqlite:${path.join(workDir, 'scratch.db')}` }
  const cli = async (args, input) => JSON.parse(await runNode(CLI, [...args, '--json'], { env: scratch, input }))
  await cli(['users', 'add', '--email', 'template@example.com', '--name', 'Template User', '--password-stdin'], `${PASSWORD}\n`)
  const exported = path.join(workDir, 'scratch-export.json')
  await cli(['export', '--to', exported])
  const document = JSON.parse(fs.readFileSync(exported, 'utf8'))
  const [template] = document.tables.users
  const now = Math.floor(Date.now() / 1000)
  const users = []
  for (let i = 0; i < count; i++) {
    const first = FIRST[i % FIRST.length]
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length]
    const created = now - Math.floor(Math.random() * 3 * 365 * 86400)
    users.push({
      ...template,
      id: randomBytes(16).toString('base64url'),
      email: `${first}.${last}${i}@example.com`
        .toLowerCase()
        .normalize('NFD')
        .replace(/[\u0300-\u036f]/g, ''),
      name: `${first} ${last}`,
      email_verified: 1,
      created_at: created,
      updated_at: created,
    })
  }
  document.tables.users = users
  document.counts = { ...document.counts, users: count }
  const file = path.join(workDir, 'users-export.json')
  fs.writeFileSync(file, JSON.stringify(document), { mode: 0o600 })
  return { file, emails: users.map((user) => user.email) }
}

/** A password login of `email` at `target` (authorize → login page → POST /login): its session cookie. */
async function passwordLogin(target, email) {
  const jar = {}
  const authorize = await fetchWithJar(target.authorizeUrl({ challenge: CHALLENGE }), jar)
  const page = await fetchWithJar(new URL(authorize.headers.get('location'), target.issuer), jar)
  const html = await page.text()
  const field = (name) => formField(html, name) ?? ''
  const posted = await fetchWithJar(`${target.issuer}/login`, jar, {
    method: 'POST',
    headers: { origin: target.issuer, 'content-type': FORM },
    body: new URLSearchParams({ _csrf: field('_csrf'), interaction: field('interaction'), email, password: PASSWORD }),
  })
  const code = new URL(posted.headers.get('location') ?? '/', target.issuer).searchParams.get('code')
  if (!code) throw new Error(`storage: login of ${email} did not return a code (HTTP ${posted.status})`)
  return Object.entries(jar)
    .map(([name, value]) => `${name}=${value}`)
    .join('; ')
}

/** SSO authorize with `cookie`, then the code exchange: one grant with a refresh token. */
async function grant(target, tokenEndpoint, cookie) {
  const authorized = await fetch(target.authorizeUrl({ challenge: CHALLENGE }), { headers: { cookie }, redirect: 'manual' })
  const code = new URL(authorized.headers.get('location') ?? '/', target.issuer).searchParams.get('code')
  if (!code) throw new Error(`storage: SSO authorize gave no code (HTTP ${authorized.status})`)
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': FORM },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: target.web.redirectUri,
      client_id: target.web.clientId,
      code_verifier: VERIFIER,
    }),
  })
  const body = await response.json()
  if (!response.ok || !body.refresh_token) throw new Error(`storage: code exchange gave no refresh token: ${JSON.stringify(body)}`)
}

async function clientCredentialsToken(target, tokenEndpoint) {
  const { clientId, clientSecret } = target.service
  const response = await fetch(tokenEndpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`,
      'content-type': FORM,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'api:read' }).toString(),
  })
  if (!response.ok) throw new Error(`storage: client_credentials HTTP ${response.status}`)
  await response.arrayBuffer()
}

/**
 * Measures one dialect. `target`: the target module (bench/targets/tessera.mjs: start()).
 * Counts: `users` imported, `sessions` password logins (argon2id-bound), `grants` authorize +
 * exchange, `clientCredentials` tokens. Returns { dialect, perUser, perSession, perGrant,
 * perClientCredentialsToken, counts, database } (each per-item result: bytes of durable tables,
 * transientBytes, retentionBytes, byTable).
 */
export async function storageCost({
  target,
  dialect,
  users = 5000,
  sessions = 500,
  grants = 5000,
  clientCredentials = 2000,
  adminUrl = process.env.BENCH_POSTGRES_ADMIN_URL ?? DEFAULT_ADMIN_URL,
  log = (message) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} storage ${dialect}: ${message}\n`),
}) {
  if (dialect !== 'sqlite' && dialect !== 'postgres') throw new Error(`storage: unknown dialect ${dialect}`)
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-storage-${dialect}-`))
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const database = `bench_storage_${process.pid}_${randomBytes(3).toString('hex')}`
  let databaseUrl = `sqlite:${path.join(workDir, 'tessera.db')}`
  let server
  let meter
  try {
    if (dialect === 'postgres') databaseUrl = await createDatabase(adminUrl, database)
    // What bench/targets/tessera.mjs gives the server (its KEYS_DIR is workDir/keys): the export
    // and the import need the same KEK.
    const cliEnv = {
      NODE_ENV: 'production',
      ISSUER: issuer,
      DATABASE_URL: databaseUrl,
      KEYS_DIR: path.join(workDir, 'keys'),
      LOG_LEVEL: 'warn',
    }
    const cli = async (args) => JSON.parse(await runNode(CLI, [...args, '--json'], { env: cliEnv }))

    log(`export of ${users} users`)
    const { file, emails } = await usersExport(cliEnv, workDir, users)
    await cli(['migrate'])
    meter = dialect === 'sqlite' ? await sqliteMeter(path.join(workDir, 'tessera.db')) : await postgresMeter(databaseUrl)
    const empty = await meter.snapshot()
    let started = performance.now()
    await cli(['import', '--from', file])
    const imported = await meter.snapshot()
    const perUser = perItem(empty, imported, users)
    log(`import: ${Math.round(performance.now() - started)} ms, ${perUser.bytes} B per user`)

    server = await target.start({ port, workDir, databaseUrl, env: { DATABASE_URL: databaseUrl } })
    const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()
    // The seeding (clients, the bench user) and the first requests are not counted.
    await grant(server, discovery.token_endpoint, await passwordLogin(server, emails[emails.length - 1]))

    const beforeSessions = await meter.snapshot()
    started = performance.now()
    const cookies = []
    await pool(sessions, 4, async (i) => {
      cookies[i] = await passwordLogin(server, emails[i % emails.length])
    })
    const loggedIn = await meter.snapshot()
    const perSession = perItem(beforeSessions, loggedIn, sessions)
    log(`${sessions} logins: ${Math.round(performance.now() - started)} ms, ${perSession.bytes} B per session`)

    started = performance.now()
    await pool(grants, 16, (i) => grant(server, discovery.token_endpoint, cookies[i % cookies.length]))
    const granted = await meter.snapshot()
    const perGrant = perItem(loggedIn, granted, grants)
    log(`${grants} grants: ${Math.round(performance.now() - started)} ms, ${perGrant.bytes} B per grant`)

    started = performance.now()
    await pool(clientCredentials, 16, () => clientCredentialsToken(server, discovery.token_endpoint))
    const tokens = await meter.snapshot()
    const perClientCredentialsToken = perItem(granted, tokens, clientCredentials)
    log(
      `${clientCredentials} client_credentials tokens: ${Math.round(performance.now() - started)} ms, ${perClientCredentialsToken.bytes} B per token`,
    )

    return {
      dialect,
      perUser,
      perSession,
      perGrant,
      perClientCredentialsToken,
      counts: { users, sessions, grants, clientCredentials },
      database: { bytes: tokens.fileBytes, pageSize: tokens.pageSize },
    }
  } finally {
    await meter?.close()
    await server?.stop().catch(() => undefined)
    if (dialect === 'postgres') await dropDatabase(adminUrl, database).catch((error) => log(`could not drop ${database}: ${error.message}`))
    fs.rmSync(workDir, { recursive: true, force: true })
  }
}

// --- The report -------------------------------------------------------------------------------

const CATEGORIES = [
  ['perUser', 'user'],
  ['perSession', 'session (password login)'],
  ['perGrant', 'grant (code + refresh token, offline_access)'],
  ['perClientCredentialsToken', '`client_credentials` token'],
]

const fmt = (n) => (n === undefined || n === null ? '–' : Number.isInteger(n) ? String(n) : n.toFixed(1))
const fmtRows = (n) => (Number.isInteger(n) ? String(n) : n >= 1 ? n.toFixed(2) : n.toFixed(4))
const gb = (bytes) => (bytes / 1e9).toFixed(bytes >= 1e10 ? 0 : 1)

/** Markdown for the results of storageCost per dialect ({ sqlite, postgres }, either may be missing). */
export function renderStorageTable(results) {
  const dialects = [
    ['sqlite', 'SQLite'],
    ['postgres', 'PostgreSQL'],
  ].filter(([key]) => results[key])
  const lines = []
  lines.push(
    `| Per | ${dialects.map(([, name]) => `${name} bytes (+ transient, + retention-bound)`).join(' | ')} | ${dialects.map(([, name]) => `${name} × 10 M`).join(' | ')} |`,
  )
  lines.push(`|---|${dialects.map(() => '---:|').join('')}${dialects.map(() => '---:|').join('')}`)
  for (const [key, label] of CATEGORIES) {
    const cells = dialects.map(([dialect]) => {
      const r = results[dialect][key]
      return `${fmt(r.bytes)} (+ ${fmt(r.transientBytes)}, + ${fmt(r.retentionBytes)})`
    })
    const projections = dialects.map(([dialect]) => `${gb(results[dialect][key].bytes * 1e7)} GB`)
    lines.push(`| ${label} | ${cells.join(' | ')} | ${projections.join(' | ')} |`)
  }
  lines.push('')
  lines.push(`| Per | Table | Kind | Rows per item | ${dialects.map(([, name]) => `${name} bytes per item (per row)`).join(' | ')} |`)
  lines.push(`|---|---|---|---:|${dialects.map(() => '---:|').join('')}`)
  for (const [key, label] of CATEGORIES) {
    const tables = new Set(dialects.flatMap(([dialect]) => Object.keys(results[dialect][key].byTable)))
    const order = { durable: 0, transient: 1, retention: 2, installation: 3 }
    const sorted = [...tables].sort((a, b) => order[kindOf(a)] - order[kindOf(b)] || a.localeCompare(b))
    for (const table of sorted) {
      const any = dialects.map(([dialect]) => results[dialect][key].byTable[table]).find(Boolean)
      const cells = dialects.map(([dialect]) => {
        const entry = results[dialect][key].byTable[table]
        return entry ? `${fmt(entry.bytes)}${entry.bytesPerRow !== undefined ? ` (${entry.bytesPerRow})` : ''}` : '0'
      })
      lines.push(`| ${label} | \`${table}\` | ${kindOf(table)} | ${fmtRows(any.rows)} | ${cells.join(' | ')} |`)
    }
  }
  const counts = dialects.map(([dialect, name]) => {
    const c = results[dialect].counts
    return `${name}: ${c.users} users imported, ${c.sessions} password logins, ${c.grants} grants, ${c.clientCredentials} client_credentials tokens`
  })
  lines.push('')
  lines.push(
    `Bytes: tables and their indexes (SQLite: dbstat pages of ${results.sqlite?.database.pageSize ?? 4096} B after a WAL checkpoint; PostgreSQL: main fork of heap, TOAST and indexes after VACUUM ANALYZE, pages of 8 KiB, free-space and visibility maps left out). Durable tables only in the first number; transient tables (codes, interactions, challenges, throttling: pruned within minutes) and retention-bound ones (audit_events, outbox: grow with events, kept for AUDIT_RETENTION) beside. ${counts.join('; ')}.`,
  )
  return `${lines.join('\n')}\n`
}
