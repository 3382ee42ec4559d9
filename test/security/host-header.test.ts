/**
 * Host-header spoofing changes nothing (docs/security.md §G, §H; ZITADEL CVE-2023-49097: reset links
 * built from a forwarded host). Every request below carries `Host: evil.example`,
 * `X-Forwarded-Host`, `X-Forwarded-Proto: http`, `Forwarded` and friends, with TRUST_PROXY unset
 * and with TRUST_PROXY=127.0.0.1 (where Fastify itself believes them): discovery, JWKS, token
 * `iss`, the `iss` response parameter, /authorize redirects, the login page's form and links,
 * and the mails the real SMTP sink receives all name the configured ISSUER only, and no response
 * or mail contains the spoofed host.
 *
 * X-Forwarded-For decides the client IP used for throttling only behind a trusted proxy.
 */
import t from 'tap'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import {
  claims,
  CookieJar,
  forgotPassword,
  FORM,
  getPage,
  hiddenField,
  obtainCode,
  pkcePair,
  postForm,
  redeem,
  RP,
  signUp,
  submitForm,
  type Tokens,
} from '../helpers/client.js'
import { linkIn, mailedApp, mailedPath, type ReceivedMail } from '../helpers/smtp.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

const ISSUER = 'https://id.example.test'
const EVIL = 'evil.example'
const SPOOF: Record<string, string> = {
  host: EVIL,
  'x-forwarded-host': EVIL,
  'x-forwarded-proto': 'http',
  'x-forwarded-port': '8443',
  'x-forwarded-prefix': '/evil',
  forwarded: `for=203.0.113.9;host=${EVIL};proto=http`,
  'x-forwarded-server': EVIL,
  'x-host': EVIL,
  'x-original-host': EVIL,
}
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
  SIGNUP_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT: '100000',
}

/**
 * The same test app, but every request it injects carries the spoofing headers (the test client,
 * helpers/client.ts, then runs unchanged); every response is kept for the final scan.
 */
function spoofed(ctx: TestApp, seen: LightMyRequestResponse[]): TestApp {
  const inject = async (options: InjectOptions) => {
    const response = await ctx.app.inject({ ...options, headers: { ...SPOOF, ...(options.headers as Record<string, string> | undefined) } })
    seen.push(response)
    return response
  }
  const app = new Proxy(ctx.app, { get: (target, property) => (property === 'inject' ? inject : Reflect.get(target, property, target)) })
  return { ...ctx, app }
}

/** Every URL-ish attribute of a page: form actions and links. */
const urlsInPage = (html: string): string[] => [...html.matchAll(/\s(?:action|href|src|formaction)="([^"]*)"/g)].map((match) => match[1]!)

/** Relative to our own origin, or absolute on the issuer. */
const ours = (url: string) => (url.startsWith('/') && !url.startsWith('//')) || url.startsWith(`${ISSUER}/`) || url === ISSUER

for (const trustProxy of ['', '127.0.0.1']) {
  t.test(`TRUST_PROXY=${trustProxy || '(unset)'}: spoofed host headers change no URL, token, redirect or mail`, async (t) => {
    const { ctx: real, smtp } = await mailedApp(t, { env: { ...NO_THROTTLE, ISSUER, TRUST_PROXY: trustProxy } })
    const seen: LightMyRequestResponse[] = []
    const ctx = spoofed(real, seen)
    const { client, secret } = await ctx.addClient({ redirectUris: [RP], grantTypes: ['authorization_code', 'refresh_token'] })
    const rp = { client, secret }
    const user = await ctx.addUser({ password: 'spoofing changes nothing' })

    // Discovery and JWKS.
    const discovery = await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })
    t.equal(discovery.statusCode, 200)
    const metadata = discovery.json() as Record<string, unknown>
    t.equal(metadata['issuer'], ISSUER, 'issuer from configuration')
    const endpoints = Object.entries(metadata).filter(([name]) => name.endsWith('_endpoint') || name === 'jwks_uri')
    t.ok(endpoints.length >= 6, `${endpoints.length} endpoint URLs`)
    for (const [name, value] of endpoints) t.ok(String(value).startsWith(`${ISSUER}/`), `${name}: ${String(value)}`)
    const jwks = await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
    t.equal(jwks.statusCode, 200)
    for (const key of (jwks.json() as { keys: Record<string, unknown>[] }).keys) {
      t.notOk('x5u' in key || 'jku' in key, 'no URL members in the JWKS')
    }

    // /authorize → login page → code, with the iss response parameter.
    const { challenge } = pkcePair()
    const jar = new CookieJar()
    const params = {
      response_type: 'code',
      client_id: client.id,
      redirect_uri: RP,
      scope: 'openid email offline_access',
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }
    const start = await ctx.app.inject({
      method: 'GET',
      url: `/authorize?${new URLSearchParams(params).toString()}`,
      headers: { cookie: jar.header() },
    })
    jar.store(start)
    t.equal(start.statusCode, 303)
    t.match(start.headers.location, /^\/login\?interaction=/, 'to the login page, as a relative path')
    const loginPage = await getPage(ctx, jar, String(start.headers.location))
    t.equal(loginPage.statusCode, 200)
    const urls = urlsInPage(loginPage.body)
    t.ok(
      urls.some((url) => url === '/login'),
      'the form posts to /login',
    )
    for (const url of urls) t.ok(ours(url), `login page URL ${url} is ours`)
    // The Origin check compares with the issuer, not with the Host the request claims.
    const crossSite = await ctx.app.inject({
      method: 'POST',
      url: '/login',
      headers: { ...FORM, cookie: jar.header(), origin: `http://${EVIL}` },
      payload: new URLSearchParams({
        _csrf: hiddenField(loginPage.body, '_csrf'),
        interaction: new URL(String(start.headers.location), ISSUER).searchParams.get('interaction')!,
        email: user.email,
        password: user.password,
      }).toString(),
    })
    t.equal(crossSite.statusCode, 403, 'a post whose Origin matches the spoofed Host is still cross-site')

    const prompted = await ctx.app.inject({
      method: 'GET',
      url: `/authorize?${new URLSearchParams({ ...params, prompt: 'none' }).toString()}`,
    })
    const errorRedirect = new URL(String(prompted.headers.location))
    t.equal(`${errorRedirect.origin}${errorRedirect.pathname}`, RP, 'prompt=none without a session: back to the client')
    t.equal(errorRedirect.searchParams.get('error'), 'login_required')
    t.equal(errorRedirect.searchParams.get('iss'), ISSUER, 'iss on an error response')

    const { code, verifier, location } = await obtainCode(ctx, rp, user, { params: { scope: 'openid email offline_access', state: 'st' } })
    t.equal(location.searchParams.get('iss'), ISSUER, 'iss on the code response (RFC 9207)')
    const redeemed = await redeem(ctx, rp, code, { code_verifier: verifier })
    t.equal(redeemed.statusCode, 200, redeemed.body)
    const tokens = redeemed.json() as Tokens
    t.equal(claims(tokens.id_token!)['iss'], ISSUER, 'ID token iss')
    t.equal(claims(tokens.access_token)['iss'], ISSUER, 'access token iss')
    t.equal(claims(tokens.access_token)['aud'], ISSUER, 'access token aud (default: the issuer)')
    const info = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } })
    t.equal(info.statusCode, 200, 'the token verifies against the configured issuer')
    const introspected = await ctx.app.inject({
      method: 'POST',
      url: '/introspect',
      headers: { ...FORM, authorization: `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}` },
      payload: `token=${tokens.refresh_token}`,
    })
    t.equal(introspected.json().iss, ISSUER, 'introspection iss')

    // Mails: verification (signup), signup attempt for a known address, reset, password changed.
    const newcomer = 'newcomer@example.com'
    t.equal((await signUp(ctx, new CookieJar(), { name: 'New', email: newcomer, password: 'a long enough passphrase' })).statusCode, 200)
    const verification = await smtp.waitFor((mail) => mail.to === newcomer && /Confirm/.test(mail.subject))
    t.ok(linkIn(verification, `${ISSUER}/verify-email?token=`), 'verification link on the issuer')
    t.equal(
      (await signUp(ctx, new CookieJar(), { name: 'Again', email: user.email, password: 'a long enough passphrase' })).statusCode,
      200,
    )
    const attempt = await smtp.waitFor((mail) => mail.to === user.email && /tried to sign up/.test(mail.subject))
    t.ok(linkIn(attempt, `${ISSUER}/forgot-password`), 'the signup-attempt mail links to the issuer')

    t.equal((await forgotPassword(ctx, new CookieJar(), user.email)).statusCode, 200)
    const reset = await smtp.waitFor((mail) => mail.to === user.email && mail.subject === 'Reset your password')
    const resetJar = new CookieJar()
    const followed = await getPage(ctx, resetJar, mailedPath(ctx, reset, '/reset-password'))
    t.equal(followed.statusCode, 303)
    t.equal(followed.headers.location, '/reset-password', 'the token leaves the URL by a relative redirect')
    const done = await submitForm(ctx, resetJar, '/reset-password', '/reset-password', {
      password: 'a brand new passphrase',
      password_confirm: 'a brand new passphrase',
    })
    t.equal(done.statusCode, 200, 'the reset worked through the spoofed host')
    const changed = await smtp.waitFor((mail) => mail.to === user.email && mail.subject === 'Your password was changed')
    t.ok(linkIn(changed, `${ISSUER}/forgot-password`), 'the notification links to the issuer')

    // The account page's resend-verification mail (the newcomer is not verified yet).
    const accountJar = new CookieJar()
    t.equal(
      (await submitForm(ctx, accountJar, '/login', '/login', { interaction: '', email: newcomer, password: 'a long enough passphrase' }))
        .statusCode,
      303,
    )
    const account = await getPage(ctx, accountJar, '/account')
    for (const url of urlsInPage(account.body)) t.ok(ours(url), `account page URL ${url} is ours`)
    const before = smtp.to(newcomer).length
    t.equal((await postForm(ctx, accountJar, '/account/verify-email', { _csrf: hiddenField(account.body, '_csrf') })).statusCode, 303)
    const resent = await smtp.waitFor(
      (mail) => mail.to === newcomer && /Confirm/.test(mail.subject) && smtp.to(newcomer).indexOf(mail) >= before,
    )
    t.ok(linkIn(resent, `${ISSUER}/verify-email?token=`), 'the resent verification link is on the issuer')

    // Nothing anywhere names the spoofed host.
    await real.deps.mail.idle()
    const mails: ReceivedMail[] = smtp.messages
    t.ok(mails.length >= 5, `${mails.length} mails sent`)
    for (const mail of mails) t.notOk(`${mail.text}\n${mail.html}`.includes(EVIL), `mail "${mail.subject}" does not name ${EVIL}`)
    t.ok(seen.length >= 20, `${seen.length} responses scanned`)
    t.ok(
      seen.every((response) => response.raw.req.headers.host === EVIL && response.raw.req.headers['x-forwarded-host'] === EVIL),
      'every request really carried the spoofed headers',
    )
    for (const response of seen) {
      const text = `${JSON.stringify(response.headers)}\n${response.body}`
      if (text.includes(EVIL))
        t.fail(
          `a ${response.statusCode} response names ${EVIL}: ${text.slice(Math.max(0, text.indexOf(EVIL) - 100), text.indexOf(EVIL) + 40)}`,
        )
      const location = response.headers.location
      if (typeof location === 'string') t.ok(ours(location) || location.startsWith(`${RP}?`), `redirect to ${location.slice(0, 60)}`)
    }
  })
}

// --- X-Forwarded-For and throttling ---------------------------------------------------------------

interface LoginAttempt {
  readonly xff?: string
  readonly socket?: string
  readonly email: string
  readonly password: string
}

/** A login form post (the anonymous anti-forgery token of `jar`) from a socket address, with an X-Forwarded-For. */
async function attempt(ctx: TestApp, jar: CookieJar, token: string, login: LoginAttempt): Promise<number> {
  const headers: Record<string, string> = { ...FORM, cookie: jar.header(), origin: new URL(ctx.issuer).origin }
  if (login.xff !== undefined) headers['x-forwarded-for'] = login.xff
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: login.socket ?? '127.0.0.1',
    headers,
    payload: new URLSearchParams({ _csrf: token, interaction: '', email: login.email, password: login.password }).toString(),
  })
  return response.statusCode
}

async function throttleApp(t: { teardown(fn: () => unknown): void }, env: Record<string, string>) {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  const user = await ctx.addUser({ password: 'the right password' })
  const jar = new CookieJar()
  const token = hiddenField((await getPage(ctx, jar, '/login')).body, '_csrf')
  return {
    ctx,
    user,
    send: (login: Omit<LoginAttempt, 'email' | 'password'> & Partial<LoginAttempt>) =>
      attempt(ctx, jar, token, { email: user.email, password: 'the right password', ...login }),
  }
}

// Per-address failure counting in the database: IP_FAILURE_LIMIT=10 blocks an address (for
// browsers without a device cookie; these posts keep none) after 10 failures; each failure uses
// another email, so no account block interferes. The in-memory flood guard is raised out of the way.
const FAILURES = { LOGIN_RATE_LIMIT: '100000', IP_FAILURE_LIMIT: '10' }
// The in-memory flood guard on login posts (LOGIN_RATE_LIMIT per minute), with failure counting raised out of the way.
const REQUESTS = { LOGIN_RATE_LIMIT: '10', IP_FAILURE_LIMIT: '100000' }

t.test('TRUST_PROXY unset: X-Forwarded-For does not change the IP that is throttled', async (t) => {
  for (const [what, env] of [
    ['failure counter', FAILURES],
    ['request cap', REQUESTS],
  ] as const) {
    const { ctx, send } = await throttleApp(t, env)
    for (let i = 0; i < 10; i++)
      t.equal(
        await send({ xff: `198.51.100.${i + 1}`, email: `nobody${i}@example.com`, password: 'wrong' }),
        401,
        `${what}: failure ${i + 1}`,
      )
    t.equal(await send({ xff: '198.51.100.200' }), 429, `${what}: the socket address is blocked, whatever X-Forwarded-For says`)
    t.equal(await send({ xff: '203.0.113.1, 198.51.100.201' }), 429, `${what}: a forwarded chain does not help either`)
    t.equal(await send({ socket: '192.0.2.50', xff: '198.51.100.1' }), 303, `${what}: another socket address is not blocked`)
    if (what === 'failure counter') {
      const failures = (await ctx.deps.repos.auditEvents.list({ limit: 100 })).filter((event) => event.type === 'login_failure')
      t.ok(failures.length >= 10 && failures.every((event) => event.ip === '127.0.0.1'), 'failures are recorded with the socket address')
    }
  }
})

t.test('TRUST_PROXY=127.0.0.1: X-Forwarded-For from that proxy names the client; from elsewhere it is ignored', async (t) => {
  for (const [what, env] of [
    ['failure counter', FAILURES],
    ['request cap', REQUESTS],
  ] as const) {
    const { ctx, send } = await throttleApp(t, { ...env, TRUST_PROXY: '127.0.0.1' })
    for (let i = 0; i < 10; i++)
      t.equal(
        await send({ xff: `198.51.100.${i + 1}`, email: `nobody${i}@example.com`, password: 'wrong' }),
        401,
        `${what}: failure ${i + 1} from client ${i + 1}`,
      )
    t.equal(await send({ xff: '198.51.100.200' }), 303, `${what}: ten clients behind the proxy are counted separately`)

    for (let i = 0; i < 10; i++) await send({ xff: '203.0.113.7', email: `someone${i}@example.com`, password: 'wrong' })
    t.equal(await send({ xff: '203.0.113.7' }), 429, `${what}: one client behind the proxy is blocked`)
    t.equal(await send({ xff: '203.0.113.8' }), 303, `${what}: its neighbour is not`)

    // The header is believed only from the configured proxy.
    for (let i = 0; i < 10; i++)
      await send({ socket: '192.0.2.77', xff: `198.18.0.${i + 1}`, email: `other${i}@example.com`, password: 'wrong' })
    t.equal(await send({ socket: '192.0.2.77', xff: '198.18.0.200' }), 429, `${what}: X-Forwarded-For from an untrusted address is ignored`)
    if (what === 'failure counter') {
      const ips = new Set(
        (await ctx.deps.repos.auditEvents.list({ limit: 100 })).filter((event) => event.type === 'login_failure').map((event) => event.ip),
      )
      t.ok(
        ips.has('198.51.100.1') && ips.has('203.0.113.7') && ips.has('192.0.2.77') && !ips.has('198.18.0.1'),
        'failures are recorded with the client address the proxy named, and only then',
      )
    }
  }
})
