/**
 * docs/security.md §H headers on every HTML page that security-headers.test.ts does not reach (it
 * covers the login page, /authorize and /login error pages and the JSON 404, CORS on
 * discovery/JWKS, and cookies set at login): signup, forgot/reset (form and expired page), verify-email results, account, consent, logout
 * confirmation, their result pages and their error pages (403, 400, 413, 415, 429). Each carries
 * the CSP, X-Frame-Options, Referrer-Policy, nosniff and no-store, no X-Powered-By, and no CORS
 * even for the Origin of a registered client. Under an https issuer: HSTS, and every cookie these
 * flows set or clear is __Host- and Secure. CORS on /token and /userinfo: registered origins only.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import {
  basic,
  CookieJar,
  FORM,
  forgotPassword,
  hiddenField,
  pkcePair,
  post,
  postForm,
  signIn,
  signInAtLoginPage,
} from '../helpers/client.js'
import { mailedApp, mailedPath, type SmtpSink } from '../helpers/smtp.js'
import type { TestApp } from '../helpers/test-app.js'

const RP_ORIGIN = 'https://rp.example'
const RP = `${RP_ORIGIN}/callback`
const LOGGED_OUT = `${RP_ORIGIN}/logged-out`
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
  SIGNUP_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT: '100000',
}

type Assert = Pick<typeof t, 'equal' | 'same' | 'ok' | 'notOk' | 'match' | 'notMatch'>

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

/** Every §H header of an HTML page; `https` decides whether HSTS must be present or absent. */
function assertPageHeaders(t: Assert, response: LightMyRequestResponse, what: string, https: boolean): void {
  t.match(response.headers['content-type'], /^text\/html/, `${what}: HTML`)
  const policy = csp(response)
  t.same(policy.get('default-src'), ["'self'"], `${what}: default-src 'self'`)
  const scripts = policy.get('script-src') ?? policy.get('default-src') ?? []
  t.notOk(
    scripts.some((source) => /unsafe-inline|unsafe-eval|unsafe-hashes|\*|data:|http:|https:/.test(source)),
    `${what}: no inline or remote script (${scripts.join(' ')})`,
  )
  t.same(policy.get('object-src'), ["'none'"], `${what}: object-src 'none'`)
  t.same(policy.get('base-uri'), ["'none'"], `${what}: base-uri 'none'`)
  t.same(policy.get('frame-ancestors'), ["'none'"], `${what}: frame-ancestors 'none'`)
  t.notOk(
    (policy.get('form-action') ?? []).some((source) => source === '*' || /evil/.test(source)),
    `${what}: form-action names no wildcard`,
  )
  // Scripts only as empty tags naming a file of our own (/assets/…): nothing inline, no handlers.
  t.notMatch(
    response.body,
    /<script(?![^>]*\ssrc="\/assets\/[\w.-]+\.js"[^>]*><\/script>)|\son[a-z]+\s*=/i,
    `${what}: no inline script or event handler`,
  )
  t.equal(response.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options DENY`)
  t.equal(response.headers['referrer-policy'], 'no-referrer', `${what}: Referrer-Policy no-referrer`)
  t.equal(response.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`)
  t.match(response.headers['cache-control'], /(^|,\s*)no-store(,|$)/, `${what}: Cache-Control no-store`)
  t.equal(response.headers['x-powered-by'], undefined, `${what}: no X-Powered-By`)
  t.equal(response.headers['access-control-allow-origin'], undefined, `${what}: no CORS`)
  t.equal(response.headers['access-control-allow-credentials'], undefined, `${what}: no CORS credentials`)
  if (https) t.match(response.headers['strict-transport-security'], /max-age=\d{7,}/, `${what}: HSTS`)
  else t.equal(response.headers['strict-transport-security'], undefined, `${what}: no HSTS under http`)
}

/** GET as a browser navigating from a registered client's site would (its Origin is sent on purpose). */
async function visit(ctx: TestApp, jar: CookieJar, url: string): Promise<LightMyRequestResponse> {
  const response = await ctx.app.inject({ method: 'GET', url, headers: { cookie: jar.header(), accept: 'text/html', origin: RP_ORIGIN } })
  jar.store(response)
  return response
}

interface Visited {
  /** HTML pages by name, with the status each must have. */
  readonly pages: [string, LightMyRequestResponse, number][]
  /** Every Set-Cookie line seen along the way. */
  readonly cookies: string[]
}

/**
 * Walks every page of the account flows once, as a user would, collecting the responses. Uses the
 * real SMTP sink for the reset link.
 */
async function visitEveryPage(ctx: TestApp, smtp: SmtpSink): Promise<Visited> {
  const pages: [string, LightMyRequestResponse, number][] = []
  const cookies: string[] = []
  const keep = (name: string, response: LightMyRequestResponse, status: number) => {
    cookies.push(...[response.headers['set-cookie'] ?? []].flat())
    pages.push([name, response, status])
    return response
  }
  const rp = await ctx.addClient({ redirectUris: [RP], postLogoutRedirectUris: [LOGGED_OUT], grantTypes: ['authorization_code'] })
  const third = await ctx.addClient({ name: 'Third Party', redirectUris: [RP], firstParty: false, grantTypes: ['authorization_code'] })
  const user = await ctx.addUser({ password: 'headers are worth testing' })

  // Signup: the form, its answer, a cross-site post, an oversized body.
  const anon = new CookieJar()
  const signupPage = keep('signup form', await visit(ctx, anon, '/signup'), 200)
  keep(
    'signup done',
    await postForm(ctx, anon, '/signup', {
      _csrf: hiddenField(signupPage.body, '_csrf'),
      interaction: '',
      name: 'N',
      email: 'new@example.com',
      password: 'a rather long new password',
    }),
    200,
  )
  keep(
    'signup refused (weak password)',
    await postForm(ctx, anon, '/signup', {
      _csrf: hiddenField(signupPage.body, '_csrf'),
      interaction: '',
      name: 'N',
      email: 'x@example.com',
      password: 'password',
    }),
    400,
  )
  keep(
    'signup cross-site post',
    await postForm(
      ctx,
      anon,
      '/signup',
      { _csrf: 'x', interaction: '', name: 'N', email: 'e@example.com', password: 'p' },
      'https://evil.example',
    ),
    403,
  )
  keep(
    'signup oversized body',
    await ctx.app.inject({
      method: 'POST',
      url: '/signup',
      headers: { ...FORM, origin: RP_ORIGIN },
      payload: `name=${'n'.repeat(70 * 1024)}`,
    }),
    413,
  )

  // Forgot and reset: the form, its answer, the mailed link, the form, a mismatch, success, expiry.
  const forgotJar = new CookieJar()
  keep('forgot-password form', await visit(ctx, forgotJar, '/forgot-password'), 200)
  keep('forgot-password done', await forgotPassword(ctx, forgotJar, user.email), 200)
  const mail = await smtp.waitFor((m) => m.to === user.email && /reset/i.test(m.subject))
  const resetJar = new CookieJar()
  const link = await visit(ctx, resetJar, mailedPath(ctx, mail, '/reset-password'))
  cookies.push(...[link.headers['set-cookie'] ?? []].flat())
  if (link.statusCode !== 303) throw new Error(`reset link answered ${link.statusCode}`)
  const resetForm = keep('reset-password form', await visit(ctx, resetJar, '/reset-password'), 200)
  const csrf = hiddenField(resetForm.body, '_csrf')
  keep(
    'reset-password mismatch',
    await postForm(ctx, resetJar, '/reset-password', {
      _csrf: csrf,
      password: 'one new password here',
      password_confirm: 'another one entirely',
    }),
    400,
  )
  keep(
    'reset-password done',
    await postForm(ctx, resetJar, '/reset-password', {
      _csrf: csrf,
      password: 'the chosen new password',
      password_confirm: 'the chosen new password',
    }),
    200,
  )
  keep('reset-password expired page', await visit(ctx, new CookieJar(), '/reset-password'), 400)

  // Verification results.
  keep('verify-email verified', await visit(ctx, new CookieJar(), '/verify-email?status=verified'), 200)
  keep('verify-email invalid', await visit(ctx, new CookieJar(), '/verify-email?status=invalid'), 400)
  keep('verify-email bad status value', await visit(ctx, new CookieJar(), '/verify-email?status=%3Cb%3E'), 400)

  // Account page, its error answer, a multipart post, its throttled answer.
  const jar = new CookieJar()
  const signedIn = await signInAtLoginPage(ctx, jar, user.email, 'the chosen new password')
  cookies.push(...[signedIn.headers['set-cookie'] ?? []].flat())
  const account = keep('account page', await visit(ctx, jar, '/account'), 200)
  const accountCsrf = hiddenField(account.body, '_csrf')
  keep(
    'account password mismatch',
    await postForm(ctx, jar, '/account/password', {
      _csrf: accountCsrf,
      current_password: 'the chosen new password',
      password: 'first new password',
      password_confirm: 'second new password',
    }),
    400,
  )
  keep('account form without token', await postForm(ctx, jar, '/account/profile', { name: 'x' }), 403)
  keep(
    'account multipart post',
    await ctx.app.inject({
      method: 'POST',
      url: '/account/profile',
      headers: { 'content-type': 'multipart/form-data; boundary=x', cookie: jar.header(), origin: RP_ORIGIN },
      payload: '--x--',
    }),
    415,
  )
  let throttled: LightMyRequestResponse | undefined
  for (let i = 0; i < 10 && throttled === undefined; i++) {
    const response = await postForm(ctx, jar, '/account/verify-email', { _csrf: accountCsrf })
    if (response.statusCode === 429) throttled = response
  }
  if (!throttled) throw new Error('/account/verify-email never answered 429')
  keep('account throttled', throttled, 429)

  // Consent for a third-party client, and its expired page.
  const { challenge } = pkcePair()
  const start = await visit(
    ctx,
    jar,
    `/authorize?${new URLSearchParams({ response_type: 'code', client_id: third.client.id, redirect_uri: RP, scope: 'openid email', code_challenge: challenge, code_challenge_method: 'S256' }).toString()}`,
  )
  if (!String(start.headers.location).startsWith('/consent'))
    throw new Error(`no consent page: ${start.statusCode} ${String(start.headers.location)}`)
  keep('consent page', await visit(ctx, jar, String(start.headers.location)), 200)
  keep('consent with an unknown interaction', await visit(ctx, jar, '/consent?interaction=nope'), 400)

  // Logout: confirmation, "stay", done, refused.
  const confirm = keep(
    'logout confirmation',
    await visit(ctx, jar, `/logout?${new URLSearchParams({ client_id: rp.client.id, post_logout_redirect_uri: LOGGED_OUT }).toString()}`),
    200,
  )
  const logoutCsrf = hiddenField(confirm.body, '_csrf')
  keep('logout: stay signed in', await postForm(ctx, jar, '/logout/confirm', { _csrf: logoutCsrf, decision: 'stay' }), 200)
  keep('logout: signed out', await postForm(ctx, jar, '/logout/confirm', { _csrf: logoutCsrf, decision: 'logout' }), 200)
  keep('logout refused (repeated parameter)', await visit(ctx, new CookieJar(), '/logout?state=a&state=b'), 400)

  // Not found, as a browser asks for it (with the Origin of a registered client).
  keep('not found page', await visit(ctx, new CookieJar(), '/no/such/page'), 404)
  return { pages, cookies }
}

t.test('under http: every page carries the §H headers, no HSTS, no CORS', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: NO_THROTTLE })
  const { pages } = await visitEveryPage(ctx, smtp)
  t.ok(pages.length >= 25, `${pages.length} pages visited`)
  for (const [what, response, status] of pages) {
    t.equal(response.statusCode, status, `${what}: ${status}`)
    assertPageHeaders(t, response, what, false)
  }
  const consent = pages.find(([what]) => what === 'consent page')![1]
  t.same(csp(consent).get('form-action'), ["'self'", RP_ORIGIN], 'consent: form-action widened to the redirect_uri origin only')
  const confirm = pages.find(([what]) => what === 'logout confirmation')![1]
  t.same(
    csp(confirm).get('form-action'),
    ["'self'", RP_ORIGIN],
    'logout confirmation: form-action widened to the registered post-logout origin only',
  )
  const signup = pages.find(([what]) => what === 'signup form')![1]
  t.same(csp(signup).get('form-action'), ["'self'"], 'signup: form-action self only')
})

t.test('under an https issuer: HSTS on every page; every cookie set or cleared is __Host- and Secure', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: { ...NO_THROTTLE, ISSUER: 'https://id.example.test' } })
  const { pages, cookies } = await visitEveryPage(ctx, smtp)
  for (const [what, response, status] of pages) {
    t.equal(response.statusCode, status, `${what}: ${status}`)
    assertPageHeaders(t, response, what, true)
  }
  const names = new Set(cookies.map((line) => line.split('=')[0]!))
  t.ok(names.has('__Host-tessera_session'), 'the session cookie was set')
  t.ok(names.has('__Host-tessera_csrf'), 'the anti-forgery cookie was set')
  t.ok(names.has('__Host-tessera_reset'), 'the reset-link cookie was set')
  for (const line of cookies) {
    const name = line.split('=')[0]!
    t.match(name, /^__Host-/, `${name}: __Host- prefix`)
    t.match(line, /;\s*Secure/i, `${name}: Secure`)
    t.match(line, /;\s*Path=\/(;|$)/i, `${name}: Path=/`)
    t.notMatch(line, /;\s*Domain=/i, `${name}: no Domain`)
    t.match(line, /;\s*HttpOnly/i, `${name}: HttpOnly`)
  }
  // Clearing a __Host- cookie without Secure would be ignored by browsers: logout and the reset
  // must clear with the same attributes.
  const cleared = cookies.filter((line) => /Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line))
  t.ok(
    cleared.some((line) => line.startsWith('__Host-tessera_session=')),
    'the session cookie is cleared (reset, logout)',
  )
  t.ok(
    cleared.some((line) => line.startsWith('__Host-tessera_reset=')),
    'the reset cookie is cleared after the reset',
  )
})

t.test('JSON answers of token, userinfo, introspection and revocation are never stored', async (t) => {
  const { ctx } = await mailedApp(t, { env: NO_THROTTLE })
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp = { client, secret }
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid offline_access' })
  const answers: Record<string, LightMyRequestResponse> = {
    'token: refresh grant': await post(ctx, '/token', rp, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }),
    'token: invalid_grant': await post(ctx, '/token', rp, {
      grant_type: 'authorization_code',
      code: 'nope',
      redirect_uri: RP,
      code_verifier: 'x'.repeat(43),
    }),
    'token: invalid_client': await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: { ...FORM, authorization: basic(client.id, 'wrong') },
      payload: 'grant_type=refresh_token&refresh_token=x',
    }),
    'userinfo: invalid_token': await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: 'Bearer nope' } }),
    'introspect: active': await post(ctx, '/introspect', rp, { token: tokens.access_token }),
    'introspect: inactive': await post(ctx, '/introspect', rp, { token: 'nope' }),
    revoke: await post(ctx, '/revoke', rp, { token: 'nope' }),
  }
  for (const [what, response] of Object.entries(answers)) {
    t.match(response.headers['cache-control'], /(^|,\s*)no-store(,|$)/, `${what} (${response.statusCode}): no-store`)
    t.equal(response.headers['x-powered-by'], undefined, `${what}: no X-Powered-By`)
  }
  t.equal(answers['token: refresh grant']!.statusCode, 200, 'the refresh grant worked')
  t.equal(answers['introspect: active']!.json().active, true)
})

t.test('CORS: /token and /userinfo answer a registered client origin, not another; preflights likewise; pages never', async (t) => {
  const { ctx } = await mailedApp(t, { env: NO_THROTTLE })
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [RP] })
  const rp = { client, secret }
  const user = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid offline_access' })

  for (const [origin, allowed] of [
    [RP_ORIGIN, true],
    ['https://evil.example', false],
    ['https://rp.example.evil.example', false],
    ['http://rp.example', false],
    ['null', false],
  ] as const) {
    const refreshed = await ctx.app.inject({
      method: 'POST',
      url: '/token',
      headers: { ...FORM, origin, authorization: basic(client.id, secret!) },
      payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-real-one' }).toString(),
    })
    const info = await ctx.app.inject({
      method: 'GET',
      url: '/userinfo',
      headers: { origin, authorization: `Bearer ${tokens.access_token}` },
    })
    t.equal(info.statusCode, 200)
    const preflight = await ctx.app.inject({
      method: 'OPTIONS',
      url: '/token',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    })
    for (const [what, response] of [
      ['token', refreshed],
      ['userinfo', info],
      ['token preflight', preflight],
    ] as const) {
      t.equal(
        response.headers['access-control-allow-origin'],
        allowed ? origin : undefined,
        `${what} from ${origin}: ${allowed ? 'allowed' : 'no CORS'}`,
      )
      t.not(response.headers['access-control-allow-credentials'], 'true', `${what} from ${origin}: never with credentials`)
    }
    if (allowed) t.match(String(preflight.headers['access-control-allow-methods']), /POST/, 'the preflight allows POST')
  }

  // Pages never answer CORS, not even a preflight from a registered client's origin.
  for (const url of [
    '/signup',
    '/forgot-password',
    '/reset-password',
    '/verify-email',
    '/account',
    '/account/profile',
    '/consent',
    '/logout',
    '/logout/confirm',
    '/authorize',
  ]) {
    const preflight = await ctx.app.inject({
      method: 'OPTIONS',
      url,
      headers: { origin: RP_ORIGIN, 'access-control-request-method': 'POST' },
    })
    t.equal(preflight.headers['access-control-allow-origin'], undefined, `OPTIONS ${url}: no CORS`)
    const get = await ctx.app.inject({ method: 'GET', url, headers: { origin: RP_ORIGIN } })
    t.equal(get.headers['access-control-allow-origin'], undefined, `GET ${url}: no CORS`)
  }
  // A trailing slash or a query does not turn a page path into a CORS path, nor an API path off.
  const slashed = await ctx.app.inject({
    method: 'OPTIONS',
    url: '/account/?x=1',
    headers: { origin: RP_ORIGIN, 'access-control-request-method': 'POST' },
  })
  t.equal(slashed.headers['access-control-allow-origin'], undefined, 'OPTIONS /account/?x=1: no CORS')
  const jwks = await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json?x=1', headers: { origin: RP_ORIGIN } })
  t.equal(jwks.headers['access-control-allow-origin'], RP_ORIGIN, 'JWKS with a query: CORS for the registered origin')
})
