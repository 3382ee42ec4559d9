// Tessera as a benchmark target: the production start (`node dist/src/main.js`, NODE_ENV=production)
// on a fresh SQLite file (or the PostgreSQL database it is given), seeded through the `idp` CLI like
// an operator would. With `instances` > 1, that many separate servers share the database and the
// key directory behind a round-robin TCP balancer (bench/lib/balancer.mjs), whose URL is the issuer.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { absorbCookies, cookieHeader, fetchWithJar, FORM, formField as field, header, pathOf } from '../lib/http.mjs'
import { childPids, runNode, startNode, stopProcess, freePort } from '../lib/process.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const MAIN = path.join(ROOT, 'dist/src/main.js')
const CLI = path.join(ROOT, 'bin/idp.js')
const REDIRECT_URI = 'http://127.0.0.1:9/cb'
const USER = { email: 'bench@example.com', password: 'bench password 123' }
/** The APIs of the token-exchange row: a user's token for PHOTOS is exchanged for one for SEARCH. */
const PHOTOS_API = 'https://photos.bench.example'
const SEARCH_API = 'https://search.bench.example'
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code'

const BALANCER = path.join(ROOT, 'bench/lib/balancer.mjs')

/**
 * `port`: where the load generator connects (the server's, or the balancer's with `instances` > 1).
 * `workers`: WORKERS for each server (1 = a single process). `env`: extra settings (TTLs for the
 * soak run). `nodeArgs`: e.g. --cpu-prof for profiling. `databaseUrl`: DATABASE_URL (default a
 * fresh SQLite file in workDir). `instances`: separate servers behind the balancer (default 1, no
 * balancer).
 */
export async function start({ port, workDir, workers = 1, env = {}, nodeArgs = [], databaseUrl, instances = 1 }) {
  fs.mkdirSync(workDir, { recursive: true })
  const issuer = `http://127.0.0.1:${port}`
  // Everything the instances share comes from the database and KEYS_DIR (the key-encryption key,
  // from which the cookie, form and DPoP-nonce keys are derived): the same for all of them.
  const serverEnv = {
    NODE_ENV: 'production',
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    DATABASE_URL: databaseUrl ?? `sqlite:${path.join(workDir, 'tessera.db')}`,
    KEYS_DIR: path.join(workDir, 'keys'),
    // The per-request access log (info) is off, as oidc-provider has none; warnings still show.
    LOG_LEVEL: 'warn',
    WORKERS: String(workers),
    // One load generator on one address: per-IP limits would measure the limiter, not the server.
    LOGIN_RATE_LIMIT: '100000',
    LOGIN_FAILURE_LIMIT: '100000',
    LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
    IP_FAILURE_LIMIT: '100000',
    DEVICE_AUTHORIZATION_RATE_LIMIT: '1000000',
    ...env,
  }
  const cli = async (args, input) => JSON.parse(await runNode(CLI, [...args, '--json'], { env: serverEnv, input }))
  const service = await cli(['clients', 'add', '--name', 'bench-service', '--grant-type', 'client_credentials', '--scope', 'api:read'])
  const web = await cli([
    'clients',
    'add',
    '--name',
    'bench-web',
    '--public',
    '--redirect-uri',
    REDIRECT_URI,
    '--grant-type',
    'authorization_code',
    '--grant-type',
    'refresh_token',
  ])
  await cli(['users', 'add', '--email', USER.email, '--name', 'Bench User', '--password-stdin'], `${USER.password}\n`)
  await cli(['apis', 'add', '--identifier', PHOTOS_API, '--name', 'Photos', '--scope', 'photos:read'])
  await cli(['apis', 'add', '--identifier', SEARCH_API, '--name', 'Search', '--scope', 'photos:read'])
  const photosApp = await cli(['clients', 'add', '--name', 'bench-photos', '--public', '--redirect-uri', REDIRECT_URI, '--api', PHOTOS_API])
  const exchanger = await cli([
    'clients',
    'add',
    '--name',
    'bench-exchanger',
    '--grant-type',
    TOKEN_EXCHANGE,
    '--api',
    PHOTOS_API,
    '--api',
    SEARCH_API,
  ])
  const device = await cli(['clients', 'add', '--name', 'bench-device', '--public', '--grant-type', DEVICE_CODE])

  return {
    ...(await launch()),
    databaseUrl: serverEnv.DATABASE_URL,
    service: { clientId: service.client_id, clientSecret: service.client_secret },
    web: { clientId: web.client_id, redirectUri: REDIRECT_URI },
    // Rows only Tessera runs (the grants oidc-provider is not configured for here).
    extra: {
      photosApp: { clientId: photosApp.client_id, redirectUri: REDIRECT_URI, resource: PHOTOS_API },
      exchanger: { clientId: exchanger.client_id, clientSecret: exchanger.client_secret, target: SEARCH_API },
      device: { clientId: device.client_id },
    },
  }

  async function launch() {
    const servers = []
    let balancer
    const stopAll = async () => {
      if (balancer) await stopProcess(balancer)
      await Promise.all(servers.map((server) => stopProcess(server)))
    }
    try {
      if (instances === 1) servers.push(await startNode(MAIN, { env: serverEnv, nodeArgs, readyUrl: `${issuer}/readyz` }))
      else {
        // Each ready before the next starts. The CLI above already migrated the database and made
        // the first signing key, so the instances find them instead of racing to create them.
        const ports = []
        for (let i = 0; i < instances; i++) {
          const instancePort = await freePort()
          ports.push(instancePort)
          const instanceUrl = `http://127.0.0.1:${instancePort}`
          servers.push(
            await startNode(MAIN, { env: { ...serverEnv, PORT: String(instancePort) }, nodeArgs, readyUrl: `${instanceUrl}/readyz` }),
          )
        }
        balancer = await startNode(BALANCER, {
          env: { LISTEN_PORT: String(port), BACKENDS: ports.map((p) => `127.0.0.1:${p}`).join(',') },
          ready: (line) => line.includes('ready'),
        })
      }
    } catch (error) {
      await stopAll()
      throw error
    }
    const server = servers[0]
    const authorizeUrl = ({ challenge, state = 'bench' }) =>
      `${issuer}/authorize?${new URLSearchParams({ response_type: 'code', client_id: web.client_id, redirect_uri: REDIRECT_URI, scope: 'openid email profile offline_access', code_challenge: challenge, code_challenge_method: 'S256', state })}`

    async function passwordLogin({ challenge }) {
      const jar = {}
      const authorize = await fetchWithJar(authorizeUrl({ challenge }), jar)
      const page = await fetchWithJar(new URL(authorize.headers.get('location'), issuer), jar)
      const html = await page.text()
      const posted = await fetchWithJar(`${issuer}/login`, jar, {
        method: 'POST',
        headers: { origin: issuer, 'content-type': FORM },
        body: new URLSearchParams({
          _csrf: field(html, '_csrf'),
          interaction: field(html, 'interaction'),
          email: USER.email,
          password: USER.password,
        }),
      })
      const code = new URL(posted.headers.get('location')).searchParams.get('code')
      if (!code) throw new Error(`login did not return a code (HTTP ${posted.status})`)
      return { cookie: cookieHeader(jar), code }
    }

    /** One password login per cycle: authorize → login page → POST /login → redirect with a code. */
    function loginRequests({ challenge, onLogin }) {
      const start = pathOf(authorizeUrl({ challenge }))
      return [
        {
          method: 'GET',
          path: start,
          setupRequest: (request, context) => {
            context.started = performance.now()
            context.jar = {}
            return request
          },
          onResponse: (status, _body, context, headers) => {
            absorbCookies(context.jar, header(headers, 'set-cookie'))
            context.next = header(headers, 'location')
          },
        },
        {
          method: 'GET',
          setupRequest: (request, context) => ({
            ...request,
            path: context.next ?? '/login',
            headers: { cookie: cookieHeader(context.jar) },
          }),
          onResponse: (_status, body, context, headers) => {
            absorbCookies(context.jar, header(headers, 'set-cookie'))
            context.form = {
              _csrf: field(body, '_csrf') ?? '',
              interaction: field(body, 'interaction') ?? '',
              email: USER.email,
              password: USER.password,
            }
          },
        },
        {
          method: 'POST',
          path: '/login',
          setupRequest: (request, context) => ({
            ...request,
            headers: { cookie: cookieHeader(context.jar), origin: issuer, 'content-type': FORM },
            body: new URLSearchParams(context.form).toString(),
          }),
          onResponse: (_status, _body, context, headers) => {
            const location = header(headers, 'location') ?? ''
            onLogin(location.includes('code='), performance.now() - context.started)
          },
        },
      ]
    }

    return {
      name: 'Tessera',
      issuer,
      process: server,
      // The servers' processes (a cluster's workers), not the balancer's.
      pids: async () => (await Promise.all(servers.map((s) => (workers > 1 ? childPids(s.pid) : [s.pid])))).flat(),
      // Where CPU is counted: each server with everything below it (workers, the hashing process), and the balancer.
      serverPids: servers.map((s) => s.pid),
      balancerPid: balancer?.pid,
      user: USER,
      tokenParams: {},
      authorizeUrl,
      passwordLogin,
      loginRequests,
      stop: stopAll,
    }
  }
}
