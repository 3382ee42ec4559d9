// npm run bench: throughput and memory of a real Tessera server on loopback (SQLite, real keys,
// real argon2). Measures client_credentials token issuance, JWKS and discovery serving,
// userinfo, and full logins (argon2id-bound). Prints one JSON object at the end.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import pino from 'pino'
import { buildApp } from '../dist/src/app.js'
import { buildClient } from '../dist/src/cli/clients.js'
import { loadConfig } from '../dist/src/config/config.js'
import { closeDeps, createDeps } from '../dist/src/deps.js'

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 5) * 1000
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-'))
const port = 39000 + Math.floor(Math.random() * 1000)
const issuer = `http://127.0.0.1:${port}`
const config = loadConfig({ DATABASE_URL: `sqlite:${dir}/idp.db`, KEYS_DIR: `${dir}/keys`, ISSUER: issuer, PORT: String(port), TOKEN_RATE_LIMIT: '1000000', LOGIN_RATE_LIMIT: '100000', LOG_LEVEL: 'silent' })
const deps = await createDeps(config, { log: pino({ level: 'silent' }) })
const app = await buildApp(deps)
await app.listen({ port, host: '127.0.0.1' })

const now = Math.floor(Date.now() / 1000)
const service = buildClient({ name: 'bench-service', redirectUris: [], postLogoutRedirectUris: [], isPublic: false, grantTypes: ['client_credentials'], pkce: undefined, scopes: ['api:read'] }, now)
await deps.repos.clients.insert(service.client)
const web = buildClient({ name: 'bench-web', redirectUris: ['http://127.0.0.1/cb'], postLogoutRedirectUris: [], isPublic: true, grantTypes: [], pkce: undefined, scopes: [] }, now)
await deps.repos.clients.insert(web.client)
await deps.repos.users.insert({ id: 'bench-user', email: 'bench@example.com', name: 'Bench', passwordHash: await deps.hasher.hash('bench password 123'), emailVerified: true, disabledAt: null, createdAt: now })
const basic = `Basic ${Buffer.from(`${service.client.id}:${service.secret}`).toString('base64')}`

async function measure(name, once) {
  const latencies = []
  const deadline = performance.now() + DURATION_MS
  let errors = 0
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < deadline) {
      const start = performance.now()
      try {
        await once()
      } catch {
        errors++
      }
      latencies.push(performance.now() - start)
    }
  }))
  latencies.sort((a, b) => a - b)
  const pct = (p) => Number(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))].toFixed(2))
  return { name, requests: latencies.length, perSecond: Math.round(latencies.length / (DURATION_MS / 1000)), p50ms: pct(0.5), p99ms: pct(0.99), errors }
}

async function expectOk(response) {
  if (!response.ok) throw new Error(`HTTP ${response.status}`)
  await response.arrayBuffer()
  return response
}

const tokenRequest = () => fetch(`${issuer}/token`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })
const accessToken = (await (await tokenRequest()).json()).access_token

async function login() {
  const verifier = 'v'.repeat(43)
  const { createHash } = await import('node:crypto')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  const authorize = await fetch(`${issuer}/authorize?${new URLSearchParams({ response_type: 'code', client_id: web.client.id, redirect_uri: 'http://127.0.0.1/cb', scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256' })}`, { redirect: 'manual' })
  const loginPath = authorize.headers.get('location')
  const page = await fetch(`${issuer}${loginPath}`)
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ')
  const html = await page.text()
  const field = (name) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)[1]
  const posted = await fetch(`${issuer}/login`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: issuer, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: field('_csrf'), interaction: field('interaction'), email: 'bench@example.com', password: 'bench password 123' }) })
  const code = new URL(posted.headers.get('location')).searchParams.get('code')
  await expectOk(await fetch(`${issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', client_id: web.client.id, code, redirect_uri: 'http://127.0.0.1/cb', code_verifier: verifier }) }))
}

const results = []
results.push(await measure('jwks', async () => expectOk(await fetch(`${issuer}/.well-known/jwks.json`))))
results.push(await measure('discovery', async () => expectOk(await fetch(`${issuer}/.well-known/openid-configuration`))))
results.push(await measure('token client_credentials (RS256 sign + insert)', async () => expectOk(await tokenRequest())))
results.push(await measure('introspect access token', async () => expectOk(await fetch(`${issuer}/introspect`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: accessToken }) }))))
results.push(await measure('full login: authorize + login page + argon2id + code + token', login))

const memory = process.memoryUsage()
const report = { node: process.version, cpus: os.cpus().length, concurrency: CONCURRENCY, secondsPerScenario: DURATION_MS / 1000, results, rssMiB: Math.round(memory.rss / 1048576), heapUsedMiB: Math.round(memory.heapUsed / 1048576) }
for (const r of results) console.log(`${r.name.padEnd(62)} ${String(r.perSecond).padStart(6)}/s  p50 ${r.p50ms} ms  p99 ${r.p99ms} ms  errors ${r.errors}`)
console.log(`rss ${report.rssMiB} MiB, heap ${report.heapUsedMiB} MiB`)
console.log(JSON.stringify(report))
await app.close()
await closeDeps(deps)
fs.rmSync(dir, { recursive: true, force: true })
