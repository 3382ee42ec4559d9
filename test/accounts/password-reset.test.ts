/**
 * Forgot password and reset, end to end: the form, the mail the real SMTP sink receives, the link,
 * the cookie it leaves behind, the new password, and everything the reset must end or refuse.
 * Expiry moves the FakeClock, never the wall clock.
 */
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import {
  CookieJar,
  forgotPassword,
  getPage,
  hiddenField,
  introspect,
  loginStatus,
  postForm,
  refresh,
  type RegisteredClient,
  signIn,
  signInAtLoginPage,
  silentAuthorize,
  submitForm,
  userinfo,
} from '../helpers/client.js'
import { linkIn, mailedApp, mailedPath, type ReceivedMail, type SmtpSink } from '../helpers/smtp.js'
import type { TestApp } from '../helpers/test-app.js'

// Every throttle these flows touch counts real time per IP (app.inject is always 127.0.0.1), so
// they are raised here; enumeration.test.ts tests the throttling itself.
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
  FORGOT_PASSWORD_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT: '100000',
}
type Assert = Pick<typeof t, 'equal' | 'match' | 'notMatch'>

const NEW_PASSWORD = 'violet anchor drizzle museum'
const RESET_SUBJECT = 'Reset your password'
const CHANGED_SUBJECT = 'Your password was changed'

function resetApp(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  return mailedApp(t, { env: { ...NO_THROTTLE, ...env } })
}

/** Asks for a reset for `email` and returns the reset mail this request caused. */
async function requestReset(ctx: TestApp, smtp: SmtpSink, email: string): Promise<ReceivedMail> {
  const seen = new Set(smtp.messages)
  const response = await forgotPassword(ctx, new CookieJar(), email)
  if (response.statusCode !== 200) throw new Error(`/forgot-password answered ${response.statusCode}`)
  return smtp.waitFor((mail) => !seen.has(mail) && mail.to === email && mail.subject === RESET_SUBJECT)
}

const tokenOf = (path: string): string => new URLSearchParams(path.split('?')[1]).get('token') ?? ''

/** A fresh browser follows the mailed link; its jar then holds the reset cookie. */
async function openLink(ctx: TestApp, path: string, jar = new CookieJar()): Promise<CookieJar> {
  const visit = await getPage(ctx, jar, path)
  if (visit.statusCode !== 303) throw new Error(`${path} answered ${visit.statusCode}`)
  return jar
}

/** Fills in the reset form shown to this browser (its anti-forgery token included). */
function submitReset(ctx: TestApp, jar: CookieJar, password: string, confirmation = password): Promise<LightMyRequestResponse> {
  return submitForm(ctx, jar, '/reset-password', '/reset-password', { password, password_confirm: confirmation })
}

/**
 * POSTs the reset form when the browser is not shown one (dead link): the anti-forgery token
 * comes from another form of the same browser, so only the reset token decides the outcome.
 */
async function postResetAnyway(ctx: TestApp, jar: CookieJar, password: string): Promise<LightMyRequestResponse> {
  const page = await getPage(ctx, jar, '/forgot-password')
  return postForm(ctx, jar, '/reset-password', { _csrf: hiddenField(page.body, '_csrf'), password, password_confirm: password })
}

function assertExpiredPage(t: Assert, response: LightMyRequestResponse, message: string): void {
  t.equal(response.statusCode, 400, `${message}: status 400`)
  t.match(response.body, /This link has expired/, `${message}: the expired page`)
  t.notMatch(response.body, /name="password"/, `${message}: no password form`)
}

t.test('the mailed link is built on the issuer and carries a token of at least 128 bits', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser({ name: 'Ada Lovelace' })
  // A forged Host / X-Forwarded-Host must not leak into the link (docs/security.md §H: links from the issuer).
  const jar = new CookieJar()
  const page = await getPage(ctx, jar, '/forgot-password')
  t.equal(page.statusCode, 200)
  const response = await ctx.app.inject({
    method: 'POST',
    url: '/forgot-password',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: jar.header(),
      origin: new URL(ctx.issuer).origin,
      host: 'evil.example',
      'x-forwarded-host': 'evil.example',
      'x-forwarded-proto': 'https',
    },
    payload: new URLSearchParams({ _csrf: hiddenField(page.body, '_csrf'), email: user.email }).toString(),
  })
  t.equal(response.statusCode, 200)
  t.match(response.body, /Check your email/)
  t.match(response.body, /expires in 30 minutes/, 'the page states the default lifetime')

  const mail = await smtp.waitFor((m) => m.to === user.email && m.subject === RESET_SUBJECT)
  t.equal(mail.from, 'idp@example.com')
  t.match(mail.text, /Hello Ada Lovelace,/)
  t.match(mail.text, /expires in 30 minutes/)
  const link = linkIn(mail, `${ctx.issuer}/reset-password?token=`)
  t.notMatch(mail.text + mail.html, /evil\.example/, 'nothing from the request headers')
  const token = new URL(link).searchParams.get('token') ?? ''
  t.match(token, /^[A-Za-z0-9_-]+$/, 'base64url')
  t.ok(token.length >= 22, `token of ${token.length} base64url chars (≥ 128 bits)`)
  t.equal(new URL(link).search, `?token=${token}`, 'the token is the only parameter')
  t.match(mail.html, `href="${link}"`, 'the HTML body has the same link')
})

t.test('the link moves the token into an HttpOnly cookie, then the form is shown', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const token = tokenOf(path)

  const visit = await ctx.app.inject({ method: 'GET', url: path, headers: { accept: 'text/html' } })
  t.equal(visit.statusCode, 303)
  t.equal(visit.headers.location, '/reset-password', 'redirected to the same path without the token')
  t.notMatch(String(visit.headers.location), token)
  t.notMatch(visit.body, token, 'the token is not echoed in the body')
  const cookie = (
    visit.cookies as { name: string; value: string; httpOnly?: boolean; sameSite?: string; path?: string; maxAge?: number }[]
  ).find((c) => c.name === 'tessera_reset')
  t.ok(cookie, 'the reset cookie is set')
  t.equal(cookie?.value, token, 'it holds the token')
  t.equal(cookie?.httpOnly, true, 'HttpOnly')
  t.equal(cookie?.sameSite, 'Lax')
  t.equal(cookie?.path, '/')
  t.ok(cookie?.maxAge !== undefined && cookie.maxAge > 0 && cookie.maxAge <= 30 * 60, 'lives no longer than the link')

  const jar = new CookieJar()
  jar.store(visit)
  const form = await getPage(ctx, jar, '/reset-password')
  t.equal(form.statusCode, 200)
  t.match(form.body, /Choose a new password/)
  t.match(form.body, /<form method="post" action="\/reset-password"/)
  t.match(form.body, /name="password_confirm"/)
  t.ok(hiddenField(form.body, '_csrf').length > 0, 'with an anti-forgery token')
  t.notMatch(form.body, token, 'the token is not in the page')

  const noCookie = await getPage(ctx, new CookieJar(), '/reset-password')
  assertExpiredPage(t, noCookie, 'without the cookie')
  const wrongCookie = await ctx.app.inject({
    method: 'GET',
    url: '/reset-password',
    headers: { cookie: `tessera_reset=${'A'.repeat(43)}` },
  })
  assertExpiredPage(t, wrongCookie, 'with a made-up token')
})

t.test('a new password: changed page, not signed in, old password dead, new one works, notification mailed', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser({ name: 'Grace' })
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const jar = await openLink(ctx, path)

  const done = await submitReset(ctx, jar, NEW_PASSWORD)
  t.equal(done.statusCode, 200)
  t.match(done.body, /Your password was changed/)
  t.match(done.body, /Sign in with your new password/)
  const setCookies = done.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]
  t.notOk(
    setCookies.some((c) => c.name === 'tessera_session' && c.value !== ''),
    'no session cookie is set',
  )
  const resetCookie = setCookies.find((c) => c.name === 'tessera_reset')
  t.ok(
    resetCookie && (resetCookie.value === '' || resetCookie.maxAge === 0 || (resetCookie.expires?.getTime() ?? Infinity) < Date.now()),
    'the reset cookie is cleared',
  )
  t.notOk(jar.cookies.has('tessera_reset'))
  const account = await getPage(ctx, jar, '/account')
  t.equal(account.statusCode, 303)
  t.equal(account.headers.location, '/login', 'the reset did not sign the user in')

  t.equal(await loginStatus(ctx, user.email, user.password), 401, 'the old password no longer works')
  const login = await signInAtLoginPage(ctx, new CookieJar(), user.email, NEW_PASSWORD)
  t.equal(login.statusCode, 303, 'the new password works')
  t.equal(login.headers.location, '/account')

  const notice = await smtp.waitFor((m) => m.to === user.email && m.subject === CHANGED_SUBJECT)
  t.match(notice.text, /Hello Grace,/)
  t.match(notice.text, /reset with a link sent to this address/)
  t.equal(linkIn(notice, `${ctx.issuer}/forgot-password`), `${ctx.issuer}/forgot-password`, 'points to a new reset in case it was not them')
  t.notMatch(notice.text, NEW_PASSWORD, 'never the password itself')
})

t.test('a reset ends refresh tokens, access tokens and every browser session', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp: RegisteredClient = { client, secret }
  const { tokens, jar: otherBrowser } = await signIn(ctx, rp, user, { scope: 'openid offline_access' })
  const refreshToken = tokens.refresh_token
  if (refreshToken === undefined) throw new Error('no refresh token')
  // This browser is signed in too and is the one that resets: its own cookie must go as well.
  const resetBrowser = new CookieJar()
  t.equal((await signInAtLoginPage(ctx, resetBrowser, user.email, user.password)).statusCode, 303)

  // Controls: everything works before the reset.
  t.equal((await introspect(ctx, rp, tokens.access_token)).active, true)
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200)
  t.ok((await silentAuthorize(ctx, rp, otherBrowser)).searchParams.get('code'), 'the other browser is signed in')
  t.equal((await getPage(ctx, resetBrowser, '/account')).statusCode, 200)

  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  await openLink(ctx, path, resetBrowser)
  const done = await submitReset(ctx, resetBrowser, NEW_PASSWORD)
  t.equal(done.statusCode, 200)
  t.match(done.body, /Your password was changed/)
  t.notOk(resetBrowser.cookies.has('tessera_session'), 'the resetting browser lost its session cookie')

  const refreshed = await refresh(ctx, rp, refreshToken)
  t.equal(refreshed.statusCode, 400)
  t.equal(refreshed.json().error, 'invalid_grant', 'the refresh token is dead')
  t.equal((await introspect(ctx, rp, tokens.access_token)).active, false, 'the access token is inactive')
  t.equal((await introspect(ctx, rp, refreshToken)).active, false, 'the refresh token is inactive')
  const info = await userinfo(ctx, tokens.access_token)
  t.equal(info.statusCode, 401, 'userinfo refuses the old access token')
  t.match(String(info.headers['www-authenticate']), /invalid_token/)

  const silent = await silentAuthorize(ctx, rp, otherBrowser)
  t.equal(silent.searchParams.get('error'), 'login_required', 'the other browser session is over')
  t.equal(silent.searchParams.get('state'), 'silent-state')
  const otherAccount = await getPage(ctx, otherBrowser, '/account')
  t.equal(otherAccount.statusCode, 303)
  t.equal(otherAccount.headers.location, '/login')

  // Signing in again with the new password gives working tokens: only the old access ended.
  const again = await signIn(ctx, rp, { ...user, password: NEW_PASSWORD }, { scope: 'openid offline_access' })
  t.equal((await userinfo(ctx, again.tokens.access_token)).statusCode, 200)
})

t.test('a link works once', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const first = await openLink(ctx, path)
  t.equal((await submitReset(ctx, first, NEW_PASSWORD)).statusCode, 200)

  // Another browser (or the same one) follows the same link again.
  const second = await openLink(ctx, path)
  assertExpiredPage(t, await getPage(ctx, second, '/reset-password'), 'the form for a used link')
  assertExpiredPage(t, await postResetAnyway(ctx, second, 'another quite different passphrase'), 'a second POST')
  const same = await openLink(ctx, path, first)
  assertExpiredPage(t, await postResetAnyway(ctx, same, 'another quite different passphrase'), 'a second POST from the first browser')

  t.equal(await loginStatus(ctx, user.email, 'another quite different passphrase'), 401, 'the second POST changed nothing')
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 303, 'the first reset stands')
  await ctx.deps.mail.idle()
  t.equal(smtp.to(user.email).filter((m) => m.subject === CHANGED_SUBJECT).length, 1, 'one notification only')
})

t.test('two simultaneous submissions of one link: exactly one wins', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const a = await openLink(ctx, path)
  const b = await openLink(ctx, path)
  const [formA, formB] = [await getPage(ctx, a, '/reset-password'), await getPage(ctx, b, '/reset-password')]
  t.equal(formA.statusCode, 200)
  t.equal(formB.statusCode, 200)
  const passwords = ['first racing passphrase here', 'second racing passphrase here'] as const
  const results = await Promise.all([
    postForm(ctx, a, '/reset-password', {
      _csrf: hiddenField(formA.body, '_csrf'),
      password: passwords[0],
      password_confirm: passwords[0],
    }),
    postForm(ctx, b, '/reset-password', {
      _csrf: hiddenField(formB.body, '_csrf'),
      password: passwords[1],
      password_confirm: passwords[1],
    }),
  ])
  t.same(results.map((r) => r.statusCode).sort(), [200, 400], 'one changed page, one expired page')
  const winner = results[0].statusCode === 200 ? passwords[0] : passwords[1]
  const loser = winner === passwords[0] ? passwords[1] : passwords[0]
  t.equal(await loginStatus(ctx, user.email, winner), 303, 'the winning password is set')
  t.equal(await loginStatus(ctx, user.email, loser), 401, 'the losing one is not')
})

t.test('a link dies after PASSWORD_RESET_TTL (30 minutes by default)', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  ctx.clock.advance(29 * 60)
  const jar = await openLink(ctx, path)
  t.equal((await getPage(ctx, jar, '/reset-password')).statusCode, 200, 'still live after 29 minutes')
  ctx.clock.advance(2 * 60)
  assertExpiredPage(t, await getPage(ctx, jar, '/reset-password'), 'after 31 minutes, the form')
  assertExpiredPage(t, await postResetAnyway(ctx, jar, NEW_PASSWORD), 'after 31 minutes, the POST')
  const fresh = await openLink(ctx, path)
  assertExpiredPage(t, await getPage(ctx, fresh, '/reset-password'), 'after 31 minutes, a fresh visit')
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 401, 'the password did not change')
  t.equal(await loginStatus(ctx, user.email, user.password), 303)
})

t.test('a shorter PASSWORD_RESET_TTL is honoured', async (t) => {
  const { ctx, smtp } = await resetApp(t, { PASSWORD_RESET_TTL: '10m' })
  const user = await ctx.addUser()
  const mail = await requestReset(ctx, smtp, user.email)
  t.match(mail.text, /expires in 10 minutes/, 'the mail states the configured lifetime')
  const path = mailedPath(ctx, mail, '/reset-password')
  const visit = await ctx.app.inject({ method: 'GET', url: path })
  const cookie = (visit.cookies as { name: string; maxAge?: number }[]).find((c) => c.name === 'tessera_reset')
  t.equal(cookie?.maxAge, 600, 'the cookie lives as long as the link')
  ctx.clock.advance(9 * 60)
  const jar = await openLink(ctx, path)
  t.equal((await getPage(ctx, jar, '/reset-password')).statusCode, 200, 'live after 9 minutes')
  ctx.clock.advance(2 * 60)
  assertExpiredPage(t, await getPage(ctx, jar, '/reset-password'), 'after 11 minutes, the form')
  assertExpiredPage(t, await postResetAnyway(ctx, jar, NEW_PASSWORD), 'after 11 minutes, the POST')
  t.equal(await loginStatus(ctx, user.email, user.password), 303, 'the password did not change')

  const page = await forgotPassword(ctx, new CookieJar(), user.email)
  t.match(page.body, /expires in 10 minutes/, 'the confirmation page states the configured lifetime')
})

t.test('a newer request voids the older link', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const older = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const newer = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  t.not(older, newer, 'two different links')

  const oldJar = await openLink(ctx, older)
  assertExpiredPage(t, await getPage(ctx, oldJar, '/reset-password'), 'the older link')
  assertExpiredPage(t, await postResetAnyway(ctx, oldJar, 'passphrase from the older link'), 'a POST with the older link')
  t.equal(await loginStatus(ctx, user.email, 'passphrase from the older link'), 401)

  const newJar = await openLink(ctx, newer)
  const done = await submitReset(ctx, newJar, NEW_PASSWORD)
  t.equal(done.statusCode, 200, 'the newer link works')
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 303)
})

t.test('a refused or mismatched password shows the form again and leaves the link usable', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const jar = await openLink(ctx, path)

  const common = await submitReset(ctx, jar, 'password123')
  t.equal(common.statusCode, 400)
  t.match(common.body, /too common/)
  t.match(common.body, /id="password-problem"/)
  t.match(common.body, /name="password"/, 'the form is shown again')
  t.notMatch(common.body, /password123/, 'the refused password is not echoed')

  const commonUpper = await submitReset(ctx, jar, 'PASSWORD123')
  t.equal(commonUpper.statusCode, 400, 'the common list ignores case')
  t.match(commonUpper.body, /too common/)

  const short = await submitReset(ctx, jar, 'short')
  t.equal(short.statusCode, 400)
  t.match(short.body, /Use at least 8 characters/)

  const mismatch = await submitReset(ctx, jar, NEW_PASSWORD, `${NEW_PASSWORD}!`)
  t.equal(mismatch.statusCode, 400)
  t.match(mismatch.body, /The two passwords are not the same/)
  t.match(mismatch.body, /name="password_confirm"/)

  t.ok(jar.cookies.has('tessera_reset'), 'the browser keeps its reset cookie')
  t.equal(await loginStatus(ctx, user.email, user.password), 303, 'the password did not change yet')
  for (const refused of ['password123', 'short']) t.equal(await loginStatus(ctx, user.email, refused), 401)

  const done = await submitReset(ctx, jar, NEW_PASSWORD)
  t.equal(done.statusCode, 200, 'the same link, from the same cookie, still works')
  t.match(done.body, /Your password was changed/)
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 303)
})

t.test('no mail for an unknown email or a disabled account, and the same answer', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const known = await ctx.addUser()
  const disabled = await ctx.addUser()
  await ctx.deps.repos.users.disable(disabled.id, ctx.clock.now())

  const unknownPage = await forgotPassword(ctx, new CookieJar(), 'nobody@example.com')
  const disabledPage = await forgotPassword(ctx, new CookieJar(), disabled.email)
  await ctx.deps.mail.idle()
  t.equal(unknownPage.statusCode, 200)
  t.equal(disabledPage.statusCode, 200)
  t.equal(smtp.messages.length, 0, 'nothing was sent')

  // Control: the same steps for a known, enabled account do send a mail (and answer the same).
  const knownPage = await forgotPassword(ctx, new CookieJar(), known.email)
  t.equal(knownPage.body, unknownPage.body, 'the same page for every address')
  t.equal(knownPage.body, disabledPage.body)
  await smtp.waitFor((m) => m.to === known.email && m.subject === RESET_SUBJECT)
  await ctx.deps.mail.idle()
  t.same(
    smtp.messages.map((m) => m.to),
    [known.email],
    'only the enabled account got a mail',
  )
})

t.test('an account disabled after the link was sent cannot be reset', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const jar = await openLink(ctx, path)
  t.equal((await getPage(ctx, jar, '/reset-password')).statusCode, 200)
  await ctx.deps.repos.users.disable(user.id, ctx.clock.now())
  assertExpiredPage(t, await postResetAnyway(ctx, jar, NEW_PASSWORD), 'the POST for a disabled account')
  await ctx.deps.repos.users.enable(user.id, ctx.clock.now())
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 401, 'the password did not change')
  t.equal(await loginStatus(ctx, user.email, user.password), 303)
})

t.test('a reset proves the mailbox: the email becomes verified', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser({ emailVerified: false })
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp: RegisteredClient = { client, secret }
  const before = await signIn(ctx, rp, user, { scope: 'openid email' })
  t.equal((await userinfo(ctx, before.tokens.access_token)).json().email_verified, false, 'unverified before')

  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  t.equal((await submitReset(ctx, await openLink(ctx, path), NEW_PASSWORD)).statusCode, 200)

  const after = await signIn(ctx, rp, { ...user, password: NEW_PASSWORD }, { scope: 'openid email' })
  t.equal((await userinfo(ctx, after.tokens.access_token)).json().email_verified, true, 'verified after the reset')
})

t.test('cross-site or token-less form posts are refused and change nothing', async (t) => {
  const { ctx, smtp } = await resetApp(t)
  const user = await ctx.addUser()
  const evil = 'https://evil.example'

  // /forgot-password
  const jar = new CookieJar()
  const page = await getPage(ctx, jar, '/forgot-password')
  const csrf = hiddenField(page.body, '_csrf')
  const noToken = await postForm(ctx, jar, '/forgot-password', { email: user.email })
  t.equal(noToken.statusCode, 403, 'no anti-forgery token: 403')
  const badToken = await postForm(ctx, jar, '/forgot-password', { _csrf: `${csrf.slice(0, -2)}xx`, email: user.email })
  t.equal(badToken.statusCode, 403, 'a wrong anti-forgery token: 403')
  const crossSite = await postForm(ctx, jar, '/forgot-password', { _csrf: csrf, email: user.email }, evil)
  t.equal(crossSite.statusCode, 403, 'a foreign Origin: 403')
  const fetchSite = await ctx.app.inject({
    method: 'POST',
    url: '/forgot-password',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), 'sec-fetch-site': 'cross-site' },
    payload: new URLSearchParams({ _csrf: csrf, email: user.email }).toString(),
  })
  t.equal(fetchSite.statusCode, 403, 'Sec-Fetch-Site: cross-site: 403')
  for (const refused of [noToken, badToken, crossSite, fetchSite]) t.notMatch(refused.body, /Check your email/)
  await ctx.deps.mail.idle()
  t.equal(smtp.messages.length, 0, 'no mail was sent')

  // /reset-password, with a live link in the browser
  const path = mailedPath(ctx, await requestReset(ctx, smtp, user.email), '/reset-password')
  const browser = await openLink(ctx, path)
  const form = await getPage(ctx, browser, '/reset-password')
  t.equal(form.statusCode, 200)
  const formToken = hiddenField(form.body, '_csrf')
  const fields = { password: NEW_PASSWORD, password_confirm: NEW_PASSWORD }
  t.equal((await postForm(ctx, browser, '/reset-password', fields)).statusCode, 403, 'reset without anti-forgery token: 403')
  t.equal(
    (await postForm(ctx, browser, '/reset-password', { ...fields, _csrf: formToken }, evil)).statusCode,
    403,
    'reset from a foreign Origin: 403',
  )
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 401, 'the password did not change')
  t.equal(await loginStatus(ctx, user.email, user.password), 303)
  await ctx.deps.mail.idle()
  t.equal(smtp.to(user.email).filter((m) => m.subject === CHANGED_SUBJECT).length, 0, 'no change notification')

  // Control: the refused posts did not use the link up; the genuine form still works.
  const done = await postForm(ctx, browser, '/reset-password', { ...fields, _csrf: formToken })
  t.equal(done.statusCode, 200)
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 303)
})
