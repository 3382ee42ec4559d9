// oidc-provider (panva) configured as close to Tessera as it allows, for the side-by-side benchmark:
// RS256 with one fresh 2048-bit key, PKCE for the public client, RS256 JWT access tokens for the
// API resource, rotating refresh tokens, SQLite storage, argon2id passwords, and a minimal login
// that grants the requested scopes at once (no consent page).
//
//   PORT=… DATA_DIR=… node bench/targets/oidc-provider-server.mjs
//
// Optional env: SERVICE_CLIENT_SECRET (random if absent), BENCH_USER_EMAIL, BENCH_USER_PASSWORD.
// Prints one JSON line {"ready":true,"issuer":…} to stdout when listening.
import crypto from 'node:crypto'
import http from 'node:http'
import path from 'node:path'
import argon2 from 'argon2'
import Provider, { errors } from 'oidc-provider'
import { openDatabase, prune, sqliteAdapter } from './oidc-provider-sqlite-adapter.mjs'

// oidc-provider prints its "you SHOULD change …" notices with console.info; keep stdout for the
// ready line only.
console.info = console.warn

const port = Number(process.env.PORT)
const dataDir = process.env.DATA_DIR
if (!port || !dataDir) throw new Error('PORT and DATA_DIR are required')

const issuer = `http://127.0.0.1:${port}`
const API = 'https://api.bench.test'
const SERVICE_SECRET = process.env.SERVICE_CLIENT_SECRET || crypto.randomBytes(32).toString('base64url')
const USER = {
  id: 'bench-user',
  email: process.env.BENCH_USER_EMAIL || 'bench@example.com',
  name: 'Bench',
  password: process.env.BENCH_USER_PASSWORD || 'bench password 123',
}
// Tessera's argon2id parameters (OWASP minimum).
const ARGON2 = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 }

const db = openDatabase(path.join(dataDir, 'oidc-provider.db'))
// Users live in the same database, so a login and findAccount cost a SQLite read as in Tessera.
db.exec(
  'CREATE TABLE IF NOT EXISTS users (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, email_verified INTEGER NOT NULL, password_hash TEXT NOT NULL)',
)
db.prepare('INSERT OR REPLACE INTO users (id, email, name, email_verified, password_hash) VALUES (?, ?, ?, 1, ?)').run(
  USER.id,
  USER.email,
  USER.name,
  await argon2.hash(USER.password, ARGON2),
)
const userById = db.prepare('SELECT * FROM users WHERE id = ?')
const userByEmail = db.prepare('SELECT * FROM users WHERE email = ?')
// Unknown emails still pay for one argon2 verification, as Tessera does.
const dummyHash = await argon2.hash(crypto.randomBytes(16).toString('hex'), ARGON2)

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }

const DAY = 24 * 60 * 60
// The one API: RS256 JWT access tokens (RFC 9068 at+jwt) with Tessera's 10 min lifetime.
const RESOURCE_SERVERS = {
  [API]: { scope: 'api:read', audience: API, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } },
}

const provider = new Provider(issuer, {
  adapter: sqliteAdapter(db),
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Tessera's endpoint paths, so the same URLs work against both servers.
  routes: {
    authorization: '/authorize',
    userinfo: '/userinfo',
    jwks: '/.well-known/jwks.json',
    introspection: '/introspect',
    revocation: '/revoke',
    end_session: '/logout',
  },
  clients: [
    {
      client_id: 'service',
      client_secret: SERVICE_SECRET,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      scope: 'api:read',
    },
    {
      client_id: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1:9/cb'],
      scope: 'openid email profile api:read offline_access',
    },
  ],
  // api:read must be a provider scope to appear in a client's `scope` metadata.
  scopes: ['openid', 'offline_access', 'api:read'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
  pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // As Tessera: a refresh token is only described to the client that holds it.
      allowedPolicy: async (_ctx, client, token) => token.kind !== 'RefreshToken' || token.clientId === client.clientId,
    },
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => API,
      // The token request picks the token kind: with `resource` a JWT for the API, without it (and
      // with openid) an opaque token for userinfo, the only kind oidc-provider's userinfo accepts.
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resource) => {
        if (!Object.hasOwn(RESOURCE_SERVERS, resource)) throw new errors.InvalidTarget()
        return RESOURCE_SERVERS[resource]
      },
    },
  },
  // Refresh tokens whenever the client may use them (offline_access is dropped without
  // prompt=consent), rotated on every use; Tessera grants offline_access to first-party clients.
  issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  // Those refresh tokens outlive the login session, like Tessera's offline grants.
  expiresWithSession: async (ctx) => !ctx.oidc.client?.grantTypeAllowed('refresh_token'),
  // Tessera's defaults: 10 min access tokens, 60 s codes, 1 h ID tokens, 14 d idle / 30 d absolute
  // refresh tokens, 24 h sessions, 10 min interactions.
  ttl: {
    AccessToken: 600,
    ClientCredentials: 600,
    AuthorizationCode: 60,
    IdToken: 3600,
    RefreshToken: (_ctx, token) => Math.max(1, Math.min(14 * DAY, token.iiat + 30 * DAY - Math.floor(Date.now() / 1000))),
    Grant: 30 * DAY,
    Session: DAY,
    Interaction: 600,
  },
  // The library default minus its "you SHOULD change it" notice: browser clients from their redirect origins.
  clientBasedCORS: (ctx, origin, client) =>
    origin !== 'null' &&
    (ctx.oidc.route === 'userinfo' || client.clientAuthMethod === 'none') &&
    client.redirectUris.some((uri) => URL.parse(uri)?.origin === origin),
  renderError: async (ctx, out) => {
    ctx.type = 'json'
    ctx.body = out
  },
  findAccount: async (_ctx, sub) => {
    const user = userById.get(sub)
    if (!user) return undefined
    return {
      accountId: user.id,
      claims: async () => ({ sub: user.id, email: user.email, email_verified: user.email_verified === 1, name: user.name }),
    }
  },
})

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
const loginPage = (uid, error = '') => `<!doctype html><meta charset="utf-8"><title>Sign in</title>
<form method="post" action="/interaction/${escape(uid)}">${error ? `<p>${escape(error)}</p>` : ''}
<input name="email" type="email" autocomplete="username"><input name="password" type="password" autocomplete="current-password">
<button>Sign in</button></form>`

function send(res, status, body, type = 'text/html; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' })
  res.end(body)
}

async function readForm(req) {
  let body = ''
  for await (const chunk of req) {
    body += chunk
    if (body.length > 16_384) throw new errors.InvalidRequest('body too large')
  }
  return new URLSearchParams(body)
}

async function verifyPassword(email, password) {
  const user = typeof email === 'string' ? userByEmail.get(email) : undefined
  const ok = await argon2.verify(user?.password_hash ?? dummyHash, password ?? '')
  return ok && user ? user : undefined
}

// Login and consent in one step: the grant covers everything requested, so the resumed
// authorization request goes straight back to the client with a code.
async function finishWithGrant(req, res, details, accountId) {
  const { params, prompt } = details
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined
  const grant = existing?.accountId === accountId ? existing : new provider.Grant({ accountId, clientId: params.client_id })
  if (params.scope) grant.addOIDCScope(params.scope)
  const requested = new Set(params.scope?.split(' '))
  for (const resource of [params.resource ?? []].flat()) {
    const scope = RESOURCE_SERVERS[resource]?.scope
      .split(' ')
      .filter((s) => requested.has(s))
      .join(' ')
    if (scope) grant.addResourceScope(resource, scope)
  }
  const grantId = await grant.save()
  const result = { consent: { grantId } }
  if (prompt.name === 'login') result.login = { accountId }
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false })
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res)
  if (details.uid !== uid) return send(res, 400, 'interaction mismatch', 'text/plain')
  if (req.method === 'GET') return send(res, 200, loginPage(uid))
  if (req.method !== 'POST') return send(res, 405, 'method not allowed', 'text/plain')
  // Signed in already, only the grant is missing (e.g. revoked): consent needs no password.
  if (details.prompt.name !== 'login') return finishWithGrant(req, res, details, details.session.accountId)
  const form = await readForm(req)
  const user = await verifyPassword(form.get('email'), form.get('password'))
  if (!user) return send(res, 401, loginPage(uid, 'Wrong email or password'))
  return finishWithGrant(req, res, details, user.id)
}

provider.proxy = false // the default, stated: X-Forwarded-* headers are not trusted
const callback = provider.callback()
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([\w-]+)$/.exec(req.url.split('?')[0])
  if (!match) return callback(req, res)
  interaction(req, res, match[1]).catch((error) => {
    if (res.headersSent) return res.destroy()
    if (error instanceof errors.OIDCProviderError)
      return send(res, error.statusCode ?? 400, `${error.error}: ${error.error_description}`, 'text/plain')
    console.error(error)
    send(res, 500, 'server error', 'text/plain')
  })
})

const pruner = setInterval(() => prune(db), 10 * 60 * 1000).unref()

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`)
})

process.once('SIGTERM', () => {
  clearInterval(pruner)
  server.close(() => {
    db.close()
    process.exit(0)
  })
  server.closeIdleConnections()
  // Busy keep-alive sockets must not hold up shutdown.
  setTimeout(() => server.closeAllConnections(), 2000).unref()
})
