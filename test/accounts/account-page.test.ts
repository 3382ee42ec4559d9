/**
 * The account page through real browsers (cookie jars with their own User-Agent): what it shows,
 * changing the password, the session list and ending sessions, a new verification link, the
 * name, the anti-forgery checks on every form, fixed notices only, and no caching.
 */
import t from 'tap'
import {
  Browser,
  CookieJar,
  getPage,
  hiddenField,
  introspect,
  loginStatus,
  refresh,
  type RegisteredClient,
  signIn,
  signUp,
  userinfo,
} from '../helpers/client.js'
import { mailedApp, mailedPath } from '../helpers/smtp.js'
import type { TestApp } from '../helpers/test-app.js'

// Per-IP throttles count real time and app.inject is always 127.0.0.1: raised, they are not tested here.
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
  SIGNUP_RATE_LIMIT: '100000',
}
const FIREFOX_LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
const NEW_PASSWORD = 'copper kettle whistles twice'
const EVIL = 'https://evil.example'

function accountApp(t: { teardown(fn: () => unknown): void }) {
  return mailedApp(t, { env: NO_THROTTLE })
}

/** A browser with this User-Agent, signed in on the login page (which then shows it the account). */
async function signedInBrowser(ctx: TestApp, user: { email: string; password: string }, userAgent = FIREFOX_LINUX): Promise<Browser> {
  const browser = new Browser(ctx, { userAgent })
  const response = await browser.login(user.email, user.password)
  if (response.statusCode !== 303 || response.headers.location !== '/account') {
    throw new Error(`login answered ${response.statusCode} ${String(response.headers.location)}`)
  }
  return browser
}

const sessionCookie = (browser: Browser): string | undefined => browser.jar.cookies.get('tessera_session')

interface ListedSession {
  readonly device: string
  readonly current: boolean
  readonly handle: string
}

/** The "Where you are signed in" list as the page shows it. */
function sessionsOn(html: string): ListedSession[] {
  const list = /<ul class="apps sessions">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? ''
  return [...list.matchAll(/<li>([\s\S]*?)<\/li>/g)].map(([, item = '']) => ({
    device: /<strong>([^<]*)<\/strong>/.exec(item)?.[1] ?? '',
    current: item.includes('<span class="badge">this browser</span>'),
    handle: /name="handle" value="([^"]*)"/.exec(item)?.[1] ?? '',
  }))
}

function fieldProblem(html: string, id: 'name' | 'current-password' | 'password'): string | null {
  return new RegExp(`<p class="field-problem" id="${id}-problem">([^<]*)</p>`).exec(html)?.[1] ?? null
}

const noticeOn = (html: string): string | null => /<div class="notice" role="status">([^<]*)<\/div>/.exec(html)?.[1] ?? null

async function client(ctx: TestApp): Promise<RegisteredClient> {
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  return { client, secret }
}

t.test('/account needs a session; signed in it shows the profile, the sessions and the forms', async (t) => {
  const { ctx } = await accountApp(t)
  const anonymous = new Browser(ctx, { userAgent: FIREFOX_LINUX })
  const away = await anonymous.get('/account')
  t.equal(away.statusCode, 303)
  t.equal(away.headers.location, '/login')
  // A form post without a session changes nothing and sends the browser to sign in.
  const login = await anonymous.get('/login')
  const blind = await anonymous.post('/account/profile', { _csrf: hiddenField(login.body, '_csrf'), name: 'Nobody' })
  t.equal(blind.statusCode, 303)
  t.equal(blind.headers.location, '/login')

  const user = await ctx.addUser({ name: 'Ada Lovelace', email: 'ada@example.com', emailVerified: false })
  const browser = await signedInBrowser(ctx, user)
  const page = await browser.get('/account')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.match(page.body, '<dt>Name</dt><dd>Ada Lovelace</dd>')
  t.match(page.body, /<dt>Email<\/dt><dd>ada@example\.com <span class="badge warn">not verified<\/span>/)
  t.same(sessionsOn(page.body), [{ device: 'Firefox on Linux', current: true, handle: sessionsOn(page.body)[0]?.handle }])
  t.match(sessionsOn(page.body)[0]?.handle ?? '', /^[A-Za-z0-9_-]{8,}$/, 'a handle to end the session with')
  for (const action of [
    '/account/verify-email',
    '/account/profile',
    '/account/language',
    '/account/password',
    '/account/sessions/end',
    '/logout/confirm',
  ]) {
    t.match(page.body, `<form method="post" action="${action}"`, `a form posting to ${action}`)
  }
  t.match(page.body, 'name="current_password"')
  t.match(page.body, 'name="password_confirm"')
  t.match(page.body, /<input id="name" name="name"[^>]*value="Ada Lovelace"/, 'the name form is filled in')

  const verified = await signedInBrowser(ctx, await ctx.addUser({ email: 'grace@example.com' }))
  const verifiedPage = await verified.get('/account')
  t.match(verifiedPage.body, /grace@example\.com <span class="badge">verified<\/span>/)
  t.notMatch(verifiedPage.body, 'action="/account/verify-email"', 'no resend form once verified')
  t.notMatch(verifiedPage.body, 'ada@example.com', 'only the own account')
})

t.test('change password: refusals change nothing; success keeps this browser and ends everything else', async (t) => {
  const { ctx, smtp } = await accountApp(t)
  const user = await ctx.addUser({ name: 'Changer' })
  const rp = await client(ctx)
  const earlier = await signIn(ctx, rp, user) // openid offline_access: a refresh token, in a third browser
  const here = await signedInBrowser(ctx, user, FIREFOX_LINUX)
  const elsewhere = await signedInBrowser(ctx, user, CHROME_WINDOWS)

  const wrongCurrent = await here.submit('/account', '/account/password', {
    current_password: 'not my password',
    password: NEW_PASSWORD,
    password_confirm: NEW_PASSWORD,
  })
  t.equal(wrongCurrent.statusCode, 400)
  t.equal(fieldProblem(wrongCurrent.body, 'current-password'), 'Your current password is not correct.')
  t.equal(wrongCurrent.headers['cache-control'], 'no-store')

  const mismatch = await here.submit('/account', '/account/password', {
    current_password: user.password,
    password: NEW_PASSWORD,
    password_confirm: `${NEW_PASSWORD}!`,
  })
  t.equal(mismatch.statusCode, 400)
  t.equal(fieldProblem(mismatch.body, 'password'), 'The two new passwords are not the same.')

  const common = await here.submit('/account', '/account/password', {
    current_password: user.password,
    password: 'Password123',
    password_confirm: 'Password123',
  })
  t.equal(common.statusCode, 400)
  t.equal(fieldProblem(common.body, 'password'), 'This password is too common. Choose one that is harder to guess.')

  const short = await here.submit('/account', '/account/password', {
    current_password: user.password,
    password: 'short',
    password_confirm: 'short',
  })
  t.equal(short.statusCode, 400)
  t.match(fieldProblem(short.body, 'password') ?? '', /^Use at least 8 characters/)

  for (const refused of [wrongCurrent, mismatch, common, short]) t.equal(noticeOn(refused.body), null, 'no success notice')
  t.equal((await elsewhere.get('/account')).statusCode, 200, 'after the refusals the other browser is still signed in')
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 401, 'the new password was not set')
  t.equal(await loginStatus(ctx, user.email, 'Password123'), 401)
  await ctx.deps.mail.idle()
  t.equal(smtp.to(user.email).length, 0, 'no mail for refused changes')

  const done = await here.submit('/account', '/account/password', {
    current_password: user.password,
    password: NEW_PASSWORD,
    password_confirm: NEW_PASSWORD,
  })
  t.equal(done.statusCode, 303)
  t.equal(done.headers.location, '/account?notice=password-changed')
  const after = await here.get('/account?notice=password-changed')
  t.equal(after.statusCode, 200, 'this browser stays signed in')
  t.equal(noticeOn(after.body), 'Your password was changed. Your other sessions were signed out.')
  t.same(
    sessionsOn(after.body).map((s) => [s.device, s.current]),
    [['Firefox on Linux', true]],
    'only this browser is left in the list',
  )

  const other = await elsewhere.get('/account')
  t.equal(other.statusCode, 303, 'the other browser is signed out')
  t.equal(other.headers.location, '/login')
  const refreshed = await refresh(ctx, rp, earlier.tokens.refresh_token!)
  t.equal(refreshed.statusCode, 400, 'the earlier refresh token is dead')
  t.equal(refreshed.json().error, 'invalid_grant')
  t.equal((await introspect(ctx, rp, earlier.tokens.access_token)).active, false, 'and its access token')

  const mail = await smtp.waitFor((m) => m.to === user.email && m.subject === 'Your password was changed')
  t.match(mail.text, /Hello Changer,/)
  t.match(mail.text, `${ctx.issuer}/forgot-password`)
  t.equal(await loginStatus(ctx, user.email, user.password), 401, 'the old password stops working')
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 303, 'the new one works')
})

t.test('sessions: listed per device; ending another ends it and its grants; ending this one signs out', async (t) => {
  const { ctx } = await accountApp(t)
  const user = await ctx.addUser()
  const rp = await client(ctx)
  const firefox = await signedInBrowser(ctx, user, FIREFOX_LINUX)
  const chrome = await signedInBrowser(ctx, user, CHROME_WINDOWS)
  // The Chrome browser signs in to an application: one grant tied to its session, one offline.
  const online = await signIn(ctx, rp, user, { jar: chrome.jar, scope: 'openid' })
  const offline = await signIn(ctx, rp, user, { jar: chrome.jar, scope: 'openid offline_access' })

  const page = await firefox.get('/account')
  const listed = sessionsOn(page.body)
  t.same(
    listed.map((s) => [s.device, s.current]).sort(),
    [
      ['Chrome on Windows', false],
      ['Firefox on Linux', true],
    ],
    'both sessions, this one marked',
  )
  t.equal(new Set(listed.map((s) => s.handle)).size, 2, 'each with its own handle')
  t.match(page.body, /End this session/)
  t.match(page.body, /Sign out here/)
  t.notMatch(page.body, sessionCookie(firefox)!, 'the session cookie value is not on the page')
  const chromeHandle = listed.find((s) => !s.current)!.handle
  const firefoxHandle = listed.find((s) => s.current)!.handle
  t.same(
    sessionsOn((await chrome.get('/account')).body).find((s) => s.current)?.handle,
    chromeHandle,
    'the other browser sees the same handle for itself',
  )

  // Another user's session handle does nothing to that session.
  const stranger = await ctx.addUser()
  const safari = await signedInBrowser(ctx, stranger, SAFARI_IPHONE)
  const strangerHandle = sessionsOn((await safari.get('/account')).body)[0]!.handle
  t.equal(sessionsOn((await safari.get('/account')).body)[0]?.device, 'Safari on iOS')
  const meddle = await firefox.submit('/account', '/account/sessions/end', { handle: strangerHandle })
  t.equal(meddle.statusCode, 303)
  t.equal((await safari.get('/account')).statusCode, 200, 'the stranger is still signed in')
  t.equal((await firefox.get('/account')).statusCode, 200, 'and so is the one who tried')
  t.equal(sessionsOn((await firefox.get('/account')).body).length, 2, 'no session of this user ended either')

  // Ending the Chrome session from Firefox.
  const end = await firefox.submit('/account', '/account/sessions/end', { handle: chromeHandle })
  t.equal(end.statusCode, 303)
  t.equal(end.headers.location, '/account?notice=session-ended')
  const afterEnd = await firefox.get('/account?notice=session-ended')
  t.equal(noticeOn(afterEnd.body), 'The session was ended.')
  t.same(
    sessionsOn(afterEnd.body).map((s) => s.device),
    ['Firefox on Linux'],
  )
  const chromeAccount = await chrome.get('/account')
  t.equal(chromeAccount.statusCode, 303, 'the ended browser is sent to sign in')
  t.equal(chromeAccount.headers.location, '/login')
  t.equal((await introspect(ctx, rp, online.tokens.access_token)).active, false, 'the grant of that session is revoked')
  t.equal((await userinfo(ctx, online.tokens.access_token)).statusCode, 401)
  t.equal((await refresh(ctx, rp, offline.tokens.refresh_token!)).statusCode, 400, 'an offline grant of that session dies with it')

  // Ending the current session signs this browser out.
  const cookie = sessionCookie(firefox)!
  const self = await firefox.submit('/account', '/account/sessions/end', { handle: firefoxHandle })
  t.equal(self.statusCode, 303)
  t.equal(self.headers.location, '/login')
  t.equal(sessionCookie(firefox), undefined, 'the session cookie is cleared')
  t.equal((await firefox.get('/account')).headers.location, '/login')
  const replay = await ctx.app.inject({ method: 'GET', url: '/account', headers: { cookie: `tessera_session=${cookie}` } })
  t.equal(replay.statusCode, 303, 'the old cookie no longer opens the account')
  t.equal((await safari.get('/account')).statusCode, 200, 'the other user is unaffected')
})

t.test('resend verification: a new link replaces the old one; nothing is sent once verified', async (t) => {
  const { ctx, smtp } = await accountApp(t)
  const email = 'resend@example.com'
  const password = 'a rather unusual passphrase'
  t.equal((await signUp(ctx, new CookieJar(), { name: 'Resender', email, password })).statusCode, 200)
  const first = await smtp.waitFor((m) => m.to === email && m.subject === 'Confirm your email address')

  const browser = await signedInBrowser(ctx, { email, password })
  const page = await browser.get('/account')
  t.match(page.body, '<span class="badge warn">not verified</span>')
  const resent = await browser.post('/account/verify-email', { _csrf: hiddenField(page.body, '_csrf') })
  t.equal(resent.statusCode, 303)
  t.equal(resent.headers.location, '/account?notice=verification-sent')
  t.equal(noticeOn((await browser.get('/account?notice=verification-sent')).body), 'We sent a new verification link to your email address.')
  const second = await smtp.waitFor((m) => m !== first && m.to === email && m.subject === 'Confirm your email address')
  const firstPath = mailedPath(ctx, first, '/verify-email')
  const secondPath = mailedPath(ctx, second, '/verify-email')
  t.not(secondPath, firstPath, 'a new link')

  t.equal(
    (await getPage(ctx, new CookieJar(), firstPath)).headers.location,
    '/verify-email?status=invalid',
    'the older link no longer works',
  )
  t.equal((await browser.get('/account')).body.includes('badge warn">not verified'), true, 'still unverified')
  t.equal((await getPage(ctx, new CookieJar(), secondPath)).headers.location, '/verify-email?status=verified', 'the new one does')
  const verifiedPage = await browser.get('/account')
  t.match(verifiedPage.body, `${email} <span class="badge">verified</span>`)
  t.notMatch(verifiedPage.body, 'action="/account/verify-email"')

  // Verified: the request is answered the same way, but no mail goes out.
  const sentBefore = smtp.messages.length
  const again = await browser.post('/account/verify-email', { _csrf: hiddenField(verifiedPage.body, '_csrf') })
  t.equal(again.statusCode, 303)
  await ctx.deps.mail.idle()
  t.equal(smtp.messages.length, sentBefore, 'no mail for a verified address')

  const verifiedUser = await ctx.addUser()
  const other = await signedInBrowser(ctx, verifiedUser)
  t.equal((await other.submit('/account', '/account/verify-email', {})).statusCode, 303)
  await ctx.deps.mail.idle()
  t.equal(smtp.to(verifiedUser.email).length, 0, 'no mail for a user created verified')
})

t.test('name: saved and shown, at most 200 characters, escaped in the page', async (t) => {
  const { ctx } = await accountApp(t)
  const user = await ctx.addUser({ name: 'Old Name' })
  const browser = await signedInBrowser(ctx, user)

  const saved = await browser.submit('/account', '/account/profile', { name: '  Grace Hopper  ' })
  t.equal(saved.statusCode, 303)
  t.equal(saved.headers.location, '/account?notice=name-saved')
  const page = await browser.get('/account?notice=name-saved')
  t.equal(noticeOn(page.body), 'Your name was saved.')
  t.match(page.body, '<dt>Name</dt><dd>Grace Hopper</dd>')
  t.equal((await ctx.deps.repos.users.findById(user.id))?.name, 'Grace Hopper', 'stored trimmed')

  const tooLong = await browser.submit('/account', '/account/profile', { name: 'n'.repeat(201) })
  t.equal(tooLong.statusCode, 400)
  t.equal(fieldProblem(tooLong.body, 'name'), 'Use at most 200 characters.')
  t.match(tooLong.body, /<input id="name" name="name"[^>]*aria-invalid="true"/, 'the field is marked')
  t.equal(tooLong.headers['cache-control'], 'no-store')
  t.equal((await ctx.deps.repos.users.findById(user.id))?.name, 'Grace Hopper', 'unchanged')
  t.equal((await browser.submit('/account', '/account/profile', { name: 'm'.repeat(200) })).statusCode, 303, '200 characters are fine')

  const html = '<img src=x onerror=alert(1)> & "quotes"'
  t.equal((await browser.submit('/account', '/account/profile', { name: html })).statusCode, 303)
  const escaped = await browser.get('/account')
  t.match(escaped.body, '<dd>&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;</dd>', 'shown escaped')
  t.match(escaped.body, 'value="&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quotes&quot;"', 'filled in escaped')
  t.notMatch(escaped.body, '<img src=x', 'never raw')
})

t.test('every account form refuses posts without the anti-forgery token or from another origin', async (t) => {
  const { ctx, smtp } = await accountApp(t)
  const user = await ctx.addUser({ name: 'Target', emailVerified: false })
  const thirdParty = await ctx.addClient({ name: 'Photo Printer', firstParty: false })
  await ctx.deps.repos.consents.grant(user.id, thirdParty.client.id, 'openid', ctx.clock.now())
  const victim = await signedInBrowser(ctx, user, FIREFOX_LINUX)
  const second = await signedInBrowser(ctx, user, CHROME_WINDOWS)
  const page = await victim.get('/account')
  t.match(page.body, 'Remove access for Photo Printer')
  const csrf = hiddenField(page.body, '_csrf')
  const secondHandle = sessionsOn(page.body).find((s) => !s.current)!.handle
  // A valid token of another browser's session is no good either: tokens are bound to the session.
  const foreignToken = hiddenField((await second.get('/account')).body, '_csrf')

  const forms: [string, Record<string, string>][] = [
    ['/account/profile', { name: 'Hijacked' }],
    ['/account/password', { current_password: user.password, password: NEW_PASSWORD, password_confirm: NEW_PASSWORD }],
    ['/account/sessions/end', { handle: secondHandle }],
    ['/account/verify-email', {}],
    ['/account/applications/revoke', { client_id: thirdParty.client.id }],
    ['/account/language', { locale: 'de' }],
  ]
  for (const [url, fields] of forms) {
    t.equal((await victim.post(url, fields)).statusCode, 403, `${url} without a token`)
    t.equal((await victim.post(url, { ...fields, _csrf: csrf }, EVIL)).statusCode, 403, `${url} from another origin`)
    t.equal((await victim.post(url, { ...fields, _csrf: foreignToken })).statusCode, 403, `${url} with another session's token`)
    const fetchSite = await ctx.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: victim.jar.header(), 'sec-fetch-site': 'cross-site' },
      payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
    })
    t.equal(fetchSite.statusCode, 403, `${url} with Sec-Fetch-Site: cross-site`)
  }

  t.equal((await ctx.deps.repos.users.findById(user.id))?.name, 'Target', 'the name is unchanged')
  t.equal((await ctx.deps.repos.users.findById(user.id))?.locale, null, 'no language was chosen')
  t.equal((await victim.get('/account')).statusCode, 200, 'this browser is still signed in')
  t.equal((await second.get('/account')).statusCode, 200, 'the other session was not ended')
  t.ok(await ctx.deps.repos.consents.find(user.id, thirdParty.client.id), 'the application keeps its access')
  await ctx.deps.mail.idle()
  t.equal(smtp.to(user.email).length, 0, 'no verification or password mail')
  t.equal(await loginStatus(ctx, user.email, NEW_PASSWORD), 401, 'the password is unchanged')
  t.equal(await loginStatus(ctx, user.email, user.password), 303)

  // Control: the same form with this browser's own token from our origin does work.
  t.equal(
    (await victim.post('/account/profile', { name: 'Renamed', _csrf: hiddenField((await victim.get('/account')).body, '_csrf') }))
      .statusCode,
    303,
  )
  t.equal((await ctx.deps.repos.users.findById(user.id))?.name, 'Renamed')
})

t.test('the notice parameter only selects fixed texts', async (t) => {
  const { ctx } = await accountApp(t)
  const browser = await signedInBrowser(ctx, await ctx.addUser())
  const injected = await browser.get(`/account?notice=${encodeURIComponent('<script>alert(1)</script>')}`)
  t.equal(injected.statusCode, 200)
  t.equal(noticeOn(injected.body), null, 'no notice')
  t.notMatch(injected.body, 'alert(1)', 'nothing reflected, not even escaped')
  t.notMatch(injected.body, '<script>')
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'password-changed ']) {
    const response = await browser.get(`/account?notice=${encodeURIComponent(name)}`)
    t.equal(response.statusCode, 200)
    t.equal(noticeOn(response.body), null, `no notice for ${JSON.stringify(name)}`)
  }
  t.equal(
    noticeOn((await browser.get('/account?notice=application-removed')).body),
    'The application no longer has access to your account.',
    'a known notice shows its fixed text',
  )
})

t.test('account pages are never cached', async (t) => {
  const { ctx } = await accountApp(t)
  const browser = await signedInBrowser(ctx, await ctx.addUser())
  for (const url of ['/account', '/account?notice=name-saved', '/login', '/signup']) {
    const response = await browser.get(url)
    t.equal(response.statusCode, 200, `${url}: 200`)
    t.equal(response.headers['cache-control'], 'no-store', `${url}: no-store`)
  }
  const refused = await browser.submit('/account', '/account/password', {
    current_password: 'wrong wrong wrong',
    password: NEW_PASSWORD,
    password_confirm: NEW_PASSWORD,
  })
  t.equal(refused.statusCode, 400)
  t.equal(refused.headers['cache-control'], 'no-store', 'the re-rendered page too')
})
