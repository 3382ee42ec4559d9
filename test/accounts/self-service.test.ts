/**
 * Account self-service on the account page: "Download my data" (the export as a JSON attachment,
 * audited with the user as actor, no hash or secret in it) and "Delete my account" (a confirmation
 * page asking for the current password — or, without one, a fresh sign-in — and a tick; then every
 * session ends with back-channel logout, tokens die, the data goes, the cookie is cleared and a
 * mail goes to the former address). Refusals remove nothing; wrong passwords are throttled with
 * the password change; forged posts are refused; the last enabled admin cannot delete themselves.
 */
import fs from 'node:fs'
import t from 'tap'
import { NO_PASSWORD } from '../../src/model/user.js'
import { hashSecret, randomId, randomToken } from '../../src/secrets.js'
import { Browser, claims, hiddenField, loginStatus, refresh, signIn, type RegisteredClient } from '../helpers/client.js'
import { launchChromium } from '../helpers/chromium.js'
import { mailedApp } from '../helpers/smtp.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { addLogoutClient, RelyingPartyEndpoint } from '../sessions/support.js'

const EVIL = 'https://evil.example'

/** A browser signed in on the login page (which sends it to the account page). */
async function signedInBrowser(ctx: TestApp, user: { email: string; password: string }): Promise<Browser> {
  const browser = new Browser(ctx)
  const response = await browser.login(user.email, user.password)
  if (response.statusCode !== 303 || response.headers.location !== '/account')
    throw new Error(`login answered ${response.statusCode} ${String(response.headers.location)}`)
  return browser
}

const fieldProblem = (html: string, id: string): string | null =>
  new RegExp(`<p class="field-problem" id="${id}-problem">([^<]*)</p>`).exec(html)?.[1] ?? null

const alertOn = (html: string): string | null => /<div class="alert" role="alert"[^>]*>([^<]*)<\/div>/.exec(html)?.[1] ?? null

const eventsOf = async (ctx: TestApp, userId: string, type: string) =>
  (await ctx.deps.repos.auditEvents.list({ userId, type, limit: 50 })).map((event) => ({ type: event.type, detail: event.detail }))

const userExists = async (ctx: TestApp, userId: string) => (await ctx.deps.repos.users.findById(userId)) !== undefined

/** The delete form posted from its page, with the page's anti-forgery token. */
const deleteAccount = (browser: Browser, fields: Record<string, string>) => browser.submit('/account/delete', '/account/delete', fields)

t.test(
  'the account page offers both; the download is the export as a no-store attachment, audited, without a hash or secret',
  async (t) => {
    const { ctx } = await mailedApp(t)
    const user = await ctx.addUser({ name: 'Ada' })
    const rp: RegisteredClient = await ctx.addClient({ name: 'Notes' })
    const { tokens, jar } = await signIn(ctx, rp, user)
    const now = ctx.clock.now()
    await ctx.deps.repos.passkeys.insert({
      id: randomId(),
      userId: user.id,
      name: 'Laptop',
      publicKey: 'PASSKEY-PUBLIC-KEY-MARKER',
      counter: 3,
      transports: ['internal'],
      deviceType: 'multiDevice',
      backedUp: true,
      aaguid: '00000000-0000-0000-0000-000000000000',
      createdAt: now,
      lastUsedAt: null,
    })
    await ctx.deps.repos.totp.startSetup(user.id, 'SEALED-TOTP-SECRET-MARKER', now)
    await ctx.deps.repos.totp.acceptTimeStep(user.id, 1, now, true)
    await ctx.deps.repos.federatedIdentities.insert({
      id: randomId(),
      connectionId: 'corp',
      subject: 'upstream-subject',
      userId: user.id,
      email: user.email,
      tokens: 'SEALED-UPSTREAM-TOKENS-MARKER',
      createdAt: now,
      lastUsedAt: now,
    })

    const browser = new Browser(ctx, { jar })
    const page = await browser.get('/account')
    t.equal(page.statusCode, 200)
    t.match(page.body, '<form method="post" action="/account/data">', 'a download form')
    t.match(page.body, 'href="/account/delete"', 'a way to delete the account')

    const download = await browser.submit('/account', '/account/data', {})
    t.equal(download.statusCode, 200)
    t.equal(download.headers['cache-control'], 'no-store')
    t.match(download.headers['content-type'], /^application\/json/)
    t.match(download.headers['content-disposition'], /^attachment; filename="account-data-\d{4}-\d{2}-\d{2}\.json"$/)
    const document = download.json() as Record<string, unknown>
    t.match(document, {
      format: 'tessera-user-data',
      profile: { sub: user.id, email: user.email, name: 'Ada', has_password: true },
      second_factors: { passkeys: [{ name: 'Laptop' }], authenticator_app: { confirmed_at: String } },
      grants: [{ client_id: rp.client.id, client_name: 'Notes', offline_access: true }],
      linked_identities: [{ connection_id: 'corp', subject: 'upstream-subject' }],
    })

    const stored = await ctx.deps.repos.users.findById(user.id)
    const sessionRows = await ctx.deps.store.db
      .selectFrom('sessions')
      .select(['id_hash', 'sid', 'handle'])
      .where('user_id', '=', user.id)
      .execute()
    const secrets = [
      stored!.passwordHash,
      user.password,
      'PASSKEY-PUBLIC-KEY-MARKER',
      'SEALED-TOTP-SECRET-MARKER',
      'SEALED-UPSTREAM-TOKENS-MARKER',
      tokens.access_token,
      tokens.refresh_token!,
      tokens.id_token!,
      hashSecret(tokens.refresh_token!),
      ...sessionRows.flatMap((row) => [row.id_hash, row.sid, row.handle ?? 'none']),
      ...[...browser.jar.cookies.values()],
    ]
    for (const secret of secrets) t.notOk(download.body.includes(secret), `no ${secret.slice(0, 12)}…`)
    const keys: string[] = []
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk)
      else if (typeof value === 'object' && value !== null)
        for (const [key, inner] of Object.entries(value)) {
          keys.push(key)
          walk(inner)
        }
    }
    walk(document)
    t.same(
      keys.filter((key) => /hash|secret|public_key|token|^sid$|handle|^password$/i.test(key)),
      [],
      'no member names a hash, key or secret',
    )
    t.match(
      await eventsOf(ctx, user.id, 'user_data_exported'),
      [{ detail: { actor: `user:${user.id}` } }],
      'audited with the user as actor',
    )
  },
)

t.test('forged posts are refused and change nothing', async (t) => {
  const { ctx } = await mailedApp(t)
  const user = await ctx.addUser()
  const browser = await signedInBrowser(ctx, user)
  const page = await browser.get('/account/delete')
  t.equal(page.statusCode, 200)
  const token = hiddenField(page.body, '_csrf')
  const fields = { password: user.password, confirm: 'yes' }

  const noToken = await browser.post('/account/delete', fields)
  const crossSite = await browser.post('/account/delete', { _csrf: token, ...fields }, EVIL)
  const exportNoToken = await browser.post('/account/data', {})
  const exportCrossSite = await browser.post('/account/data', { _csrf: token }, EVIL)
  // A valid token of another browser's session is no good either: tokens are bound to the session.
  const foreignToken = hiddenField((await (await signedInBrowser(ctx, user)).get('/account')).body, '_csrf')
  const foreign = await browser.post('/account/delete', { _csrf: foreignToken, ...fields })
  const exportForeign = await browser.post('/account/data', { _csrf: foreignToken })
  const fetchSite = await ctx.app.inject({
    method: 'POST',
    url: '/account/delete',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: browser.jar.header(), 'sec-fetch-site': 'cross-site' },
    payload: new URLSearchParams({ _csrf: token, ...fields }).toString(),
  })
  const stranger = new Browser(ctx)
  const strangerPage = await stranger.get('/login')
  const otherSession = await stranger.post('/account/delete', { _csrf: hiddenField(strangerPage.body, '_csrf'), ...fields })
  for (const [label, response] of [
    ['delete without a token', noToken],
    ['delete from another site', crossSite],
    ['download without a token', exportNoToken],
    ['download from another site', exportCrossSite],
    ["delete with another session's token", foreign],
    ["download with another session's token", exportForeign],
    ['delete with Sec-Fetch-Site: cross-site', fetchSite],
  ] as const) {
    t.equal(response.statusCode, 403, label)
    t.match(response.headers['content-type'], /^text\/html/, `${label}: a page`)
    t.notMatch(response.body, '"format"', `${label}: no data`)
  }
  t.equal(otherSession.statusCode, 303, 'without a session: sent to sign in')
  t.equal(otherSession.headers.location, '/login')
  t.ok(await userExists(ctx, user.id), 'the account is still there')
  t.equal((await browser.get('/account')).statusCode, 200, 'and still signed in')
  t.same(await eventsOf(ctx, user.id, 'user_data_exported'), [], 'nothing was exported')
})

t.test('a wrong password or no tick is refused on the page, removes nothing, and is throttled with the password change', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: { LOGIN_FAILURE_LIMIT: '3' } })
  const user = await ctx.addUser()
  const rp: RegisteredClient = await ctx.addClient()
  const { tokens, jar } = await signIn(ctx, rp, user)
  const browser = new Browser(ctx, { jar })

  const page = await browser.get('/account/delete')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['cache-control'], 'no-store')
  t.match(page.body, /<input id="password" name="password" type="password" autocomplete="current-password"/)
  t.match(page.body, /<input id="confirm" name="confirm" type="checkbox" value="yes"/)
  t.match(page.body, `value="${user.email}"`, 'a hidden username for password managers')

  const unticked = await deleteAccount(browser, { password: user.password })
  t.equal(unticked.statusCode, 400)
  t.equal(fieldProblem(unticked.body, 'confirm'), 'Tick the box to confirm that you want to delete your account.')
  t.match(unticked.body, 'aria-describedby="confirm-problem"')

  const wrong = await deleteAccount(browser, { password: 'not my password', confirm: 'yes' })
  t.equal(wrong.statusCode, 400)
  t.equal(fieldProblem(wrong.body, 'password'), 'Your current password is not correct. Nothing was deleted.')
  t.match(wrong.body, /<input id="password"[^>]*aria-invalid="true"/)
  t.equal(wrong.headers['cache-control'], 'no-store')

  const malformed = await deleteAccount(browser, { password: user.password, confirm: 'y'.repeat(100) })
  t.equal(malformed.statusCode, 400, 'a malformed form is a 400 page, not a 500')
  t.match(malformed.headers['content-type'], /^text\/html/)

  t.ok(await userExists(ctx, user.id), 'the account is still there')
  t.equal((await browser.get('/account')).statusCode, 200, 'still signed in')
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 200, 'its refresh token still works')
  t.equal(await loginStatus(ctx, user.email, user.password), 303, 'it still signs in')
  t.equal((await eventsOf(ctx, user.id, 'account_deletion_failure')).length, 1, 'the wrong password is audited')
  t.same(await eventsOf(ctx, user.id, 'user_deleted'), [])

  // Two more wrong passwords reach LOGIN_FAILURE_LIMIT; the counter is the password change's.
  for (let attempt = 0; attempt < 2; attempt++) await deleteAccount(browser, { password: `wrong ${attempt}`, confirm: 'yes' })
  const blocked = await deleteAccount(browser, { password: user.password, confirm: 'yes' })
  t.equal(blocked.statusCode, 429, 'then even the right password waits')
  t.match(blocked.body, /Too many attempts\. Try again in/)
  t.ok(blocked.headers['retry-after'])
  const change = await browser.submit('/account', '/account/password', {
    current_password: user.password,
    password: 'copper kettle whistles twice',
    password_confirm: 'copper kettle whistles twice',
  })
  t.equal(change.statusCode, 429, 'the password change shares the budget')
  ctx.clock.advance(16 * 60)
  const later = await deleteAccount(browser, { password: user.password, confirm: 'yes' })
  t.equal(later.statusCode, 200, 'once the block is over, the right password deletes')
  t.notOk(await userExists(ctx, user.id))
  await smtp.waitFor((mail) => mail.to === user.email && mail.subject === 'Your account was deleted')
})

t.test('delete: sessions end with back-channel logout, tokens die, data goes, the cookie is cleared, a mail goes out', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const endpoint = await RelyingPartyEndpoint.start()
  t.teardown(() => endpoint.close())
  const user = await ctx.addUser({ name: 'Leaving' })
  const logoutRp = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: endpoint.uri() })
  const plainRp: RegisteredClient = await ctx.addClient({ name: 'Notes' })
  const first = await signIn(ctx, logoutRp, user)
  const second = await signIn(ctx, plainRp, user)
  const elsewhere = new Browser(ctx, { jar: second.jar })
  const here = new Browser(ctx, { jar: first.jar })
  await ctx.deps.repos.consents.grant(user.id, plainRp.client.id, 'openid email', ctx.clock.now())
  const grantIds = (await ctx.deps.store.db.selectFrom('grants').select('id').where('user_id', '=', user.id).execute()).map((row) => row.id)
  t.equal(grantIds.length, 2)

  const done = await deleteAccount(here, { password: user.password, confirm: 'yes', username: user.email })
  t.equal(done.statusCode, 200)
  t.equal(done.headers['cache-control'], 'no-store')
  t.match(done.body, '<h1 id="page-title">Your account was deleted</h1>')
  t.match(done.body, `We sent a confirmation to ${user.email}.`)
  const cleared = (done.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]).find(
    (cookie) => cookie.name === 'tessera_session',
  )
  t.ok(cleared && (cleared.value === '' || cleared.maxAge === 0), 'the session cookie is cleared')
  t.equal(here.jar.cookies.get('tessera_session'), undefined)

  for (const [label, browser] of [
    ['this browser', here],
    ['the other browser', elsewhere],
  ] as const) {
    const away = await browser.get('/account')
    t.equal(away.statusCode, 303, `${label} is signed out`)
    t.equal(away.headers.location, '/login')
  }
  for (const [rp, tokens] of [
    [logoutRp, first.tokens],
    [plainRp, second.tokens],
  ] as const)
    t.equal((await refresh(ctx, rp, tokens.refresh_token!)).statusCode, 400, `the ${rp.client.name} refresh token is dead`)
  t.equal(await loginStatus(ctx, user.email, user.password), 401, 'the account cannot sign in')

  const db = ctx.deps.store.db
  t.same(await db.selectFrom('users').select('id').where('id', '=', user.id).execute(), [], 'the account row is gone')
  for (const table of ['sessions', 'grants', 'consents'] as const)
    t.same(await db.selectFrom(table).select('user_id').where('user_id', '=', user.id).execute(), [], `no ${table} row`)
  t.same(await db.selectFrom('refresh_tokens').select('grant_id').where('grant_id', 'in', grantIds).execute(), [], 'no refresh token')
  t.match(
    await eventsOf(ctx, user.id, 'user_deleted'),
    [{ detail: { actor: `user:${user.id}`, sessions: 2, grants: 2 } }],
    'audited, by the user, through the operator’s service',
  )

  const [logout] = await endpoint.waitFor(1)
  t.match(claims(logout!.token), { sub: user.id, aud: logoutRp.client.id }, 'the relying party got a logout token')

  const mail = await smtp.waitFor((m) => m.to === user.email && m.subject === 'Your account was deleted')
  t.match(mail.text, /^Hello,/)
  t.match(mail.text, /was deleted at your request/)
  t.match(mail.html, /was deleted at your request/)
  await ctx.deps.mail.idle()
  const jobs = await db.selectFrom('outbox').select(['payload', 'delivered_at']).where('kind', '=', 'mail').execute()
  const deletion = jobs.find((job) => (JSON.parse(job.payload) as { template?: string }).template === 'account_deleted')
  t.same(JSON.parse(deletion!.payload), { template: 'account_deleted', email: user.email }, 'the job carries the address, nothing more')
  t.ok(deletion!.delivered_at !== null, 'delivered without the account row')
})

t.test('without a password a sign-in within minutes is the proof; a stale one is refused with a link to sign in again', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const email = `passkey-only-${randomId(4).toLowerCase()}@example.com`
  const userId = randomId()
  await ctx.deps.repos.users.insert({
    id: userId,
    email,
    name: null,
    passwordHash: NO_PASSWORD,
    emailVerified: true,
    disabledAt: null,
    createdAt: ctx.clock.now(),
    roles: [],
  })
  /** A browser holding a session as a passkey sign-in leaves it, signed in now. */
  const passkeyBrowser = async (): Promise<Browser> => {
    const raw = randomToken()
    const now = ctx.clock.now()
    await ctx.deps.repos.sessions.insert({
      idHash: hashSecret(raw),
      userId,
      authTime: now,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + 86_400,
      handle: randomId(),
      userAgent: null,
      amr: ['swk', 'user'],
      sid: randomId(),
    })
    const browser = new Browser(ctx)
    browser.jar.cookies.set('tessera_session', raw)
    return browser
  }

  const browser = await passkeyBrowser()
  const fresh = await browser.get('/account/delete')
  t.equal(fresh.statusCode, 200)
  t.notMatch(fresh.body, 'name="password"', 'no password to ask for')
  t.match(fresh.body, 'your recent sign-in proves it is you')
  t.match(fresh.body, '<form method="post" action="/account/delete"')

  ctx.clock.advance(6 * 60)
  const stale = await browser.get('/account/delete')
  t.equal(stale.statusCode, 200)
  t.match(stale.body, '<a class="button" href="/login">Sign in again</a>')
  t.notMatch(stale.body, 'action="/account/delete"', 'no delete form until signed in again')
  const refused = await browser.post('/account/delete', { _csrf: hiddenField(stale.body, '_csrf'), confirm: 'yes' })
  t.equal(refused.statusCode, 403)
  t.match(alertOn(refused.body) ?? '', /Sign in again, then delete your account\. Nothing was deleted\./)
  t.match(refused.body, 'href="/login"')
  t.ok(await userExists(ctx, userId), 'nothing removed')

  const again = await passkeyBrowser()
  const unticked = await deleteAccount(again, {})
  t.equal(unticked.statusCode, 400)
  t.ok(fieldProblem(unticked.body, 'confirm'))
  const done = await deleteAccount(again, { confirm: 'yes' })
  t.equal(done.statusCode, 200)
  t.notOk(await userExists(ctx, userId))
  t.equal((await browser.get('/account')).statusCode, 303, 'the older session ended too')
  await smtp.waitFor((mail) => mail.to === email && mail.subject === 'Your account was deleted')
})

t.test('the last enabled admin cannot delete their account; with another enabled admin they can', async (t) => {
  const { ctx } = await mailedApp(t)
  const admin = await ctx.addUser({ roles: ['admin', 'staff'] })
  const retired = await ctx.addUser({ roles: ['admin'] })
  await ctx.deps.repos.users.disable(retired.id, ctx.clock.now())
  const browser = await signedInBrowser(ctx, admin)

  const page = await browser.get('/account/delete')
  t.equal(page.statusCode, 200)
  t.match(alertOn(page.body) ?? '', /You are the only administrator, so your account cannot be deleted/)
  t.notMatch(page.body, 'action="/account/delete"', 'no delete form')
  t.match(page.body, '<a class="button secondary" href="/account">Back to your account</a>')
  const refused = await browser.post('/account/delete', {
    _csrf: hiddenField(page.body, '_csrf'),
    password: admin.password,
    confirm: 'yes',
  })
  t.equal(refused.statusCode, 403, 'a disabled admin does not count')
  t.match(alertOn(refused.body) ?? '', /only administrator/)
  t.ok(await userExists(ctx, admin.id))
  t.same(await eventsOf(ctx, admin.id, 'user_deleted'), [])

  // A non-admin is never held back by this rule.
  const member = await ctx.addUser()
  t.equal((await deleteAccount(await signedInBrowser(ctx, member), { password: member.password, confirm: 'yes' })).statusCode, 200)

  await ctx.addUser({ roles: ['admin'] })
  const allowed = await browser.get('/account/delete')
  t.equal(alertOn(allowed.body), null, 'with another enabled admin the form is there')
  const done = await deleteAccount(browser, { password: admin.password, confirm: 'yes' })
  t.equal(done.statusCode, 200)
  t.notOk(await userExists(ctx, admin.id))
})

t.test('in Chromium: download the data, then delete the account through the confirmation page', async (t) => {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  const user = await ctx.addUser({ name: 'Browser User' })
  const browser = await launchChromium()
  t.teardown(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, acceptDownloads: true })
  const page = await context.newPage()
  page.setDefaultTimeout(15_000)
  const problems: string[] = []
  page.on('console', (message) => {
    if (!message.location().url.endsWith('/favicon.ico')) problems.push(`${message.type()}: ${message.text()}`)
  })
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`))

  await page.goto(`${ctx.issuer}/login`)
  await page.getByLabel('Email').fill(user.email)
  await page.getByLabel('Password').fill(user.password)
  await Promise.all([page.waitForURL(`${ctx.issuer}/account`), page.getByRole('button', { name: 'Sign in', exact: true }).click()])

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download my data', exact: true }).click(),
  ])
  t.match(download.suggestedFilename(), /^account-data-\d{4}-\d{2}-\d{2}\.json$/)
  const saved = await download.path()
  t.match(JSON.parse(fs.readFileSync(saved, 'utf8')), { profile: { sub: user.id, email: user.email } }, 'the file is the export')

  await Promise.all([page.waitForURL(`${ctx.issuer}/account/delete`), page.getByRole('link', { name: 'Delete my account' }).click()])
  t.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Delete your account')
  await page.screenshot({ path: '/tmp/tessera-account-delete.png', fullPage: true })
  await page.getByLabel('Current password').fill(user.password)
  await page.getByLabel('I understand that my account and its data are deleted for good').check()
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Delete my account' }).click()])
  await page.getByRole('heading', { level: 1, name: 'Your account was deleted' }).waitFor()
  t.notOk(await ctx.deps.repos.users.findById(user.id), 'the account is gone')
  t.notOk(
    (await context.cookies()).some((cookie) => cookie.name === 'tessera_session'),
    'no session cookie left',
  )
  t.same(problems, [], 'no console errors or CSP violations')
})
