/**
 * docs/security.md §H: headers on HTML responses (CSP without inline script, no framing, no referrer,
 * nosniff, no-store), no CORS on pages, Secure __Host- cookies and HSTS under https, and error
 * responses that never leak stack traces, SQL or paths.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { authorize, authorizeUrl, CookieJar, FORM, pkcePair } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'
import { STACK_TRACE } from './support.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const rp = await ctx.addClient({ name: 'Web', redirectUris: ['https://rp.example/cb'] })
const native = await ctx.addClient({ name: 'Native', isPublic: true, redirectUris: ['http://127.0.0.1/cb'] })
const authorizeParams = {
  response_type: 'code',
  client_id: rp.client.id,
  redirect_uri: 'https://rp.example/cb',
  scope: 'openid',
  code_challenge: pkcePair().challenge,
  code_challenge_method: 'S256',
}

function csp(response: LightMyRequestResponse): Map<string, string[]> {
  const header = String(response.headers['content-security-policy'] ?? '')
  return new Map(
    header
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter((words) => words[0])
      .map(([name, ...values]) => [name!.toLowerCase(), values]),
  )
}

function assertPageHeaders(t: Assert, response: LightMyRequestResponse, what: string) {
  t.match(response.headers['content-type'], /^text\/html/, `${what}: HTML`)
  const policy = csp(response)
  t.same(policy.get('default-src'), ["'self'"], `${what}: default-src 'self'`)
  t.same(policy.get('object-src'), ["'none'"], `${what}: object-src 'none'`)
  t.same(policy.get('base-uri'), ["'none'"], `${what}: base-uri 'none'`)
  t.same(policy.get('frame-ancestors'), ["'none'"], `${what}: frame-ancestors 'none'`)
  const scripts = policy.get('script-src') ?? policy.get('default-src') ?? []
  t.notOk(
    scripts.some((source) => /unsafe-inline|unsafe-eval|unsafe-hashes|\*|data:|http:|https:/.test(source)),
    `${what}: no inline or remote script sources (${scripts.join(' ')})`,
  )
  // Scripts only as empty tags naming a file of our own (/assets/…): nothing inline, no handlers.
  t.notMatch(
    response.body,
    /<script(?![^>]*\ssrc="\/assets\/[\w.-]+\.js"[^>]*><\/script>)|\son[a-z]+\s*=/i,
    `${what}: no inline script or handlers in the page`,
  )
  t.equal(response.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options DENY`)
  t.equal(response.headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy no-referrer`)
  t.equal(response.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
  t.match(response.headers['cache-control'], /no-store/, `${what}: Cache-Control no-store`)
  t.equal(response.headers['access-control-allow-origin'], undefined, `${what}: no CORS`)
  t.equal(response.headers['strict-transport-security'], undefined, `${what}: no HSTS under http`)
}

t.test('the login page carries the security headers', async (t) => {
  const { response } = await authorize(ctx, new CookieJar(), authorizeParams)
  const page = await ctx.app.inject({
    method: 'GET',
    url: response.headers.location as string,
    headers: { origin: 'https://evil.example' },
  })
  t.equal(page.statusCode, 200)
  assertPageHeaders(t, page, 'login page')
  t.equal(page.headers['cache-control'], 'no-store', 'login page: exactly no-store')
})

t.test('HTML error pages carry them too', async (t) => {
  const pages: Record<string, LightMyRequestResponse> = {
    'authorize: unknown client': await ctx.app.inject({ method: 'GET', url: authorizeUrl({ ...authorizeParams, client_id: 'nope' }) }),
    'authorize: unregistered redirect_uri': await ctx.app.inject({
      method: 'GET',
      url: authorizeUrl({ ...authorizeParams, redirect_uri: 'https://evil.example/' }),
    }),
    'login: unknown interaction': await ctx.app.inject({ method: 'GET', url: '/login?interaction=nope' }),
    'login: cross-site post': await ctx.app.inject({
      method: 'POST',
      url: '/login',
      headers: { ...FORM, origin: 'https://evil.example' },
      payload: 'interaction=x&email=a&password=b&_csrf=c',
    }),
    'not found, as HTML': await ctx.app.inject({ method: 'GET', url: '/nothing-here', headers: { accept: 'text/html' } }),
  }
  for (const [what, response] of Object.entries(pages)) {
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `${what}: 4xx (${response.statusCode})`)
    assertPageHeaders(t, response, what)
  }
})

t.test('CORS: API endpoints answer registered origins only; pages never', async (t) => {
  for (const url of ['/.well-known/openid-configuration', '/.well-known/jwks.json']) {
    const evil = await ctx.app.inject({ method: 'GET', url, headers: { origin: 'https://evil.example' } })
    t.equal(evil.headers['access-control-allow-origin'], undefined, `${url}: no CORS for an unregistered origin`)
    const registered = await ctx.app.inject({ method: 'GET', url, headers: { origin: 'https://rp.example' } })
    t.equal(registered.headers['access-control-allow-origin'], 'https://rp.example', `${url}: CORS for a registered origin`)
    t.not(registered.headers['access-control-allow-credentials'], 'true', `${url}: never with credentials`)
  }
  const preflight = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/token',
    headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
  })
  t.equal(preflight.headers['access-control-allow-origin'], undefined, 'no preflight approval for an unregistered origin')
  for (const url of ['/token', '/par', '/userinfo']) {
    const spa = await ctx.app.inject({
      method: 'OPTIONS',
      url,
      headers: {
        origin: 'https://rp.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'dpop, content-type',
      },
    })
    t.equal(spa.headers['access-control-allow-origin'], 'https://rp.example', `${url}: a registered origin may call it`)
    t.match(spa.headers['access-control-allow-headers'], /DPoP/, `${url}: with a DPoP proof (RFC 9449)`)
  }
  const tokenCall = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...FORM, origin: 'https://rp.example' },
    payload: 'grant_type=x',
  })
  t.match(tokenCall.headers['access-control-expose-headers'], /DPoP-Nonce/, 'the DPoP nonce is readable by the browser client')
  const login = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/login',
    headers: { origin: 'https://rp.example', 'access-control-request-method': 'POST' },
  })
  t.equal(login.headers['access-control-allow-origin'], undefined, 'no CORS preflight approval on pages, even for a registered origin')
  const page = await ctx.app.inject({ method: 'GET', url: '/login?interaction=x', headers: { origin: 'https://rp.example' } })
  t.equal(page.headers['access-control-allow-origin'], undefined, 'no CORS on page responses')
})

t.test('error responses never contain stack traces, SQL or paths', async (t) => {
  const longValue = 'x'.repeat(9000)
  const manyParams = Array.from({ length: 80 }, (_, i) => `p${i}=1`).join('&')
  const requests: Record<string, LightMyRequestResponse> = {
    'token: broken JSON': await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'application/json' },
      payload: '{"grant_type":',
    }),
    'token: unsupported media type': await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    }),
    'token: oversized body': await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: FORM,
      payload: `grant_type=${'a'.repeat(70 * 1024)}`,
    }),
    'token: over-long value': await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: FORM,
      payload: `grant_type=authorization_code&code=${longValue}`,
    }),
    'token: SQL-looking code': await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: FORM,
      payload: `grant_type=authorization_code&client_id=${encodeURIComponent("x' OR 1=1 --")}&code=${encodeURIComponent("'; DROP TABLE users; --")}`,
    }),
    'authorize: too many parameters': await ctx.app.inject({ method: 'GET', url: `/authorize?${manyParams}` }),
    'authorize: over-long value': await ctx.app.inject({ method: 'GET', url: `/authorize?client_id=${longValue}` }),
    'authorize: broken percent-encoding': await ctx.app.inject({ method: 'GET', url: '/authorize?client_id=%E0%A4%A&redirect_uri=%' }),
    'authorize: impossible loopback port': await ctx.app.inject({
      method: 'GET',
      url: authorizeUrl({ ...authorizeParams, client_id: native.client.id, redirect_uri: 'http://127.0.0.1:99999/cb', prompt: 'none' }),
    }),
    'userinfo: garbage token': await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: 'Bearer a.b.c' } }),
    'userinfo: JWT-shaped garbage': await ctx.app.inject({
      method: 'GET',
      url: '/userinfo',
      headers: { authorization: `Bearer ${Buffer.from('{"alg":"RS256","kid":"x"}').toString('base64url')}.e30.AAAA` },
    }),
    'login: malformed form': await ctx.app.inject({ method: 'POST', url: '/login', headers: FORM, payload: 'email=a' }),
    'not found, as JSON': await ctx.app.inject({ method: 'GET', url: '/nothing-here' }),
  }
  for (const [what, response] of Object.entries(requests)) {
    t.ok(response.statusCode >= 400, `${what}: an error status (${response.statusCode})`)
    t.notMatch(response.body, STACK_TRACE, `${what}: no stack trace or path`)
    t.notMatch(
      response.body,
      /sqlite|SQLITE_|select |insert into|FST_[A-Z_]+|TypeError|ReferenceError|ERR_[A-Z_]+/i,
      `${what}: no SQL or internal error names`,
    )
  }
})

t.test('under an https issuer: Secure __Host- cookies and HSTS', async (t) => {
  const secure = await createTestApp({ env: { ISSUER: 'https://id.example' } })
  t.teardown(() => secure.close())
  const client = await secure.addClient({ redirectUris: ['https://rp.example/cb'] })
  const user = await secure.addUser()
  const params = { ...authorizeParams, client_id: client.client.id }
  const { response, location } = await authorize(secure, new CookieJar(), params, user)
  t.equal(response.statusCode, 303, response.body)
  t.ok(location?.searchParams.get('code'), 'the login worked')
  t.equal(location?.searchParams.get('iss'), 'https://id.example')

  const lines = [response.headers['set-cookie'] ?? []].flat()
  const session = lines.find((line) => /^[^=]*tessera_session=/.test(line))
  t.ok(session, 'a session cookie')
  t.match(session, /^__Host-tessera_session=/, 'the __Host- prefix')
  t.match(session, /;\s*Secure/i, 'Secure')
  t.match(session, /;\s*HttpOnly/i, 'HttpOnly')
  t.match(session, /;\s*SameSite=Lax/i, 'SameSite=Lax')
  t.match(session, /;\s*Path=\/(;|$)/i, 'Path=/ (required by __Host-)')
  t.notMatch(session, /;\s*Domain=/i, 'no Domain (required by __Host-)')
  for (const line of lines) t.match(line, /;\s*Secure/i, `every cookie is Secure: ${line.split('=')[0]}`)

  const page = await secure.app.inject({ method: 'GET', url: '/login?interaction=nope' })
  t.match(page.headers['strict-transport-security'], /max-age=\d+/, 'HSTS under https')
})
