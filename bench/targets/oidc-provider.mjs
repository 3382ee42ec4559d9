// Benchmark target: oidc-provider (panva) in its own process (./oidc-provider-server.mjs), with
// the clients, user and login flow the orchestrator drives. Login is four HTTP requests:
// /authorize → login page → POST password → resume /authorize/:uid → redirect with ?code.
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startNode, stopProcess } from '../lib/process.mjs'

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oidc-provider-server.mjs')
const API = 'https://api.bench.test'
const SCOPE = 'openid email profile api:read offline_access'
const USER = { email: 'bench@example.com', password: 'bench password 123' }

/** `env` and `nodeArgs`: extra settings and Node options for the server process (the loop probe). */
export async function start({ port, workDir, env = {}, nodeArgs = [] }) {
  fs.mkdirSync(workDir, { recursive: true })
  const issuer = `http://127.0.0.1:${port}`
  const service = { clientId: 'service', clientSecret: crypto.randomBytes(32).toString('base64url') }
  const web = { clientId: 'web', redirectUri: 'http://127.0.0.1:9/cb' }
  const child = await startNode(SERVER, {
    env: {
      NODE_ENV: 'production',
      PORT: String(port),
      DATA_DIR: workDir,
      SERVICE_CLIENT_SECRET: service.clientSecret,
      BENCH_USER_EMAIL: USER.email,
      BENCH_USER_PASSWORD: USER.password,
      ...env,
    },
    nodeArgs,
    ready: isReadyLine,
  })
  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()
  const pathOf = (url) => url.slice(issuer.length)
  const loginForm = new URLSearchParams(USER).toString()

  function authorizeUrl({ challenge, state }) {
    // `resource` is what oidc-provider keys JWT access tokens on (the server defaults to it too).
    const params = {
      response_type: 'code',
      client_id: web.clientId,
      redirect_uri: web.redirectUri,
      scope: SCOPE,
      resource: API,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
    }
    return `${discovery.authorization_endpoint}?${new URLSearchParams(params)}`
  }

  async function passwordLogin({ challenge, state = crypto.randomBytes(8).toString('hex') }) {
    const jar = new Map()
    let url = authorizeUrl({ challenge, state })
    let method = 'GET'
    for (let hop = 0; hop < 10; hop++) {
      const post = method === 'POST'
      const response = await fetch(url, {
        method,
        redirect: 'manual',
        headers: { cookie: cookieHeader(jar), ...(post ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
        body: post ? loginForm : undefined,
      })
      storeCookies(jar, response.headers.getSetCookie())
      await response.arrayBuffer()
      const location = response.headers.get('location')
      if (response.status >= 300 && response.status < 400 && location) {
        const next = new URL(location, url)
        if (next.href.startsWith(web.redirectUri)) {
          const code = next.searchParams.get('code')
          if (!code) throw new Error(`login ended without a code: ${next.search}`)
          // The SSO session is the _session cookie pair; the interaction cookies are single-use.
          const cookie = cookieHeader(new Map([...jar].filter(([name]) => name.startsWith('_session'))))
          return { cookie, code }
        }
        url = next.href
        method = 'GET'
      } else if (response.status === 200 && new URL(url).pathname.startsWith('/interaction/')) {
        method = 'POST'
      } else {
        throw new Error(`login failed: HTTP ${response.status} at ${url}`)
      }
    }
    throw new Error('login did not finish in 10 requests')
  }

  function loginRequests({ challenge, onLogin }) {
    const fail = (context) => {
      context.failed = true
      onLogin(false, performance.now() - context.start)
    }
    // Every step after a failure returns null, which makes autocannon start a fresh cycle.
    const step = (setup, check) => ({
      setupRequest: (req, context) => (context.failed ? null : setup(req, context)),
      onResponse: (status, _body, context, headers) => {
        if (context.failed) return
        storeCookies(context.jar, header(headers, 'set-cookie'))
        if (!check(status, header(headers, 'location'), context)) fail(context)
      },
    })
    const withCookies = (req, context) => ({ ...req, headers: { ...req.headers, cookie: cookieHeader(context.jar) } })
    const redirectTo = (status, location) => status >= 300 && status < 400 && typeof location === 'string'
    return [
      step(
        (req, context) => {
          context.start = performance.now()
          context.jar = new Map()
          return { ...req, method: 'GET', path: pathOf(authorizeUrl({ challenge, state: crypto.randomBytes(8).toString('hex') })) }
        },
        (status, location, context) => {
          const uid = redirectTo(status, location) && /^\/interaction\/([\w-]+)$/.exec(new URL(location, issuer).pathname)?.[1]
          context.uid = uid
          return Boolean(uid)
        },
      ),
      step(
        (req, context) => withCookies({ ...req, method: 'GET', path: `/interaction/${context.uid}` }, context),
        (status) => status === 200,
      ),
      step(
        (req, context) =>
          withCookies(
            {
              ...req,
              method: 'POST',
              path: `/interaction/${context.uid}`,
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: loginForm,
            },
            context,
          ),
        (status, location, context) => {
          context.resume = redirectTo(status, location) ? new URL(location, issuer) : undefined
          return context.resume?.origin === issuer
        },
      ),
      step(
        (req, context) => withCookies({ ...req, method: 'GET', path: context.resume.pathname + context.resume.search }, context),
        (status, location, context) => {
          const ok = redirectTo(status, location) && location.startsWith(web.redirectUri) && new URL(location).searchParams.has('code')
          if (ok) onLogin(true, performance.now() - context.start)
          return ok
        },
      ),
    ]
  }

  // oidc-provider's userinfo rejects every token with an audience, so JWT access tokens for the
  // API never work there: userinfo needs an opaque access token, issued when the token request
  // (code or refresh) carries no `resource`. This logs in once and returns such a token.
  async function userinfoToken() {
    const verifier = crypto.randomBytes(32).toString('base64url')
    const challenge = crypto.createHash('sha256').update(verifier).digest('base64url')
    const { code } = await passwordLogin({ challenge })
    const response = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: web.clientId,
        code,
        redirect_uri: web.redirectUri,
        code_verifier: verifier,
      }),
    })
    if (!response.ok) throw new Error(`userinfo token: HTTP ${response.status} ${await response.text()}`)
    return (await response.json()).access_token
  }

  return {
    name: 'oidc-provider',
    issuer,
    process: child,
    pids: () => [child.pid],
    service,
    web,
    user: { ...USER },
    // Without `resource`, a code or refresh exchange that includes openid yields an opaque
    // userinfo token instead of a JWT for the API.
    tokenParams: { resource: API },
    userinfoTokenParams: {},
    endpoints: {
      authorization: discovery.authorization_endpoint,
      token: discovery.token_endpoint,
      userinfo: discovery.userinfo_endpoint,
      introspection: discovery.introspection_endpoint,
      revocation: discovery.revocation_endpoint,
      jwks: discovery.jwks_uri,
    },
    authorizeUrl,
    passwordLogin,
    loginRequests,
    userinfoToken,
    stop: () => stopProcess(child),
  }
}

function isReadyLine(line) {
  try {
    return JSON.parse(line).ready === true
  } catch {
    return false
  }
}

/** A header from autocannon's raw-name header object, whatever its case. */
function header(headers, name) {
  for (const key of Object.keys(headers ?? {})) if (key.toLowerCase() === name) return headers[key]
  return undefined
}

/** Applies Set-Cookie header values (string or array) to a name → value jar. */
function storeCookies(jar, setCookie) {
  for (const line of [setCookie ?? []].flat()) {
    const [pair, ...attributes] = line.split(';')
    const eq = pair.indexOf('=')
    if (eq < 1) continue
    const name = pair.slice(0, eq).trim()
    const value = pair.slice(eq + 1).trim()
    const expired = attributes.some((a) => {
      const [key, v = ''] = a.split('=').map((s) => s.trim())
      return (/^expires$/i.test(key) && Date.parse(v) <= Date.now()) || (/^max-age$/i.test(key) && Number(v) <= 0)
    })
    if (expired || value === '') jar.delete(name)
    else jar.set(name, value)
  }
}

function cookieHeader(jar) {
  return [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
}
