/**
 * OpenID Connect Back-Channel Logout 1.0 through the durable outbox, end to end: a relying party
 * (a real node:http server on 127.0.0.1) receives a logout token whenever a session it received
 * tokens in ends — logout, the account page, another user signing in, a password reset, a
 * disabled account, the expiry sweep — and validates it with jose against Tessera's JWKS; its sid
 * is the ID tokens' sid. The outbox retries with backoff (the FakeClock moves, never the wall
 * clock), gives up after a bounded number of attempts (audited, the token never logged), survives
 * a restart and a crashed claimer, and two instances on PostgreSQL deliver each logout once.
 * The CLI flags and dynamic registration accept only the allowed logout URIs.
 */
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import t, { type Test } from 'tap'
import { runCli } from '../../src/cli/main.js'
import { passwordResetLink } from '../../src/accounts/password-reset.js'
import { pruneNow } from '../../src/maintenance.js'
import { endSession } from '../../src/sessions/end-session.js'
import { hashSecret, randomId, randomToken } from '../../src/secrets.js'
import {
  authorize,
  Browser,
  claims,
  CookieJar,
  getPage,
  hiddenField,
  introspect,
  pkcePair,
  postForm,
  redeem,
  refresh,
  signIn,
  submitForm,
  userinfo,
  type RegisteredClient,
  type Tokens,
} from '../helpers/client.js'
import { FakeClock } from '../helpers/clock.js'
import { createPostgresDatabase, suiteDatabase, type TestDatabase } from '../helpers/databases.js'
import { freePort } from '../helpers/free-port.js'
import { createTestApp, tempDir, type TestApp, type TestAppOptions } from '../helpers/test-app.js'
import { addLogoutClient, RelyingPartyEndpoint, validateLogoutToken, type ReceivedPost } from './support.js'

/** Only nudges and idle() drive the worker: each step of a test happens when the test says. */
const QUIET_WORKER = { pollIntervalMs: 3_600_000 }

async function app(t: Test, options: TestAppOptions = {}): Promise<TestApp> {
  const ctx = await createTestApp({ listen: true, ...options, overrides: { outbox: QUIET_WORKER, ...options.overrides } })
  t.teardown(() => ctx.close())
  ctx.deps.outbox.start()
  return ctx
}

async function endpoint(t: Test, port?: number): Promise<RelyingPartyEndpoint> {
  const rp = await RelyingPartyEndpoint.start(port)
  t.teardown(() => rp.close())
  return rp
}

const sidOf = (tokens: Tokens): string => claims(tokens.id_token!)['sid'] as string

/** GET /logout with an ID token hint for the browser's session: it ends at once. */
async function logout(ctx: TestApp, jar: CookieJar, idToken: string): Promise<number> {
  const response = await ctx.app.inject({
    method: 'GET',
    url: `/logout?${new URLSearchParams({ id_token_hint: idToken })}`,
    headers: { cookie: jar.header() },
  })
  jar.store(response)
  return response.statusCode
}

/** The relying party's validation of one received POST, at the test's clock. */
const validate = (ctx: TestApp, post: ReceivedPost, clientId: string, jwksBase?: string) =>
  validateLogoutToken(post.token, { issuer: ctx.issuer, clientId, now: ctx.clock.now(), ...(jwksBase ? { jwksBase } : {}) })

const outboxRows = (ctx: TestApp) => ctx.deps.store.db.selectFrom('outbox').selectAll().orderBy('created_at').orderBy('id').execute()

t.test('logout: every client of the session with a logout URI gets a signed logout token; the sid is the ID token’s', async (t) => {
  const ctx = await app(t)
  const rp = await endpoint(t)
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: rp.uri('/shop') })
  const wiki = await addLogoutClient(ctx, { name: 'Wiki', backchannelLogoutUri: rp.uri('/wiki'), backchannelLogoutSessionRequired: true })
  const plain = await addLogoutClient(ctx, { name: 'No logout URI' })
  const user = await ctx.addUser()

  const first = await signIn(ctx, shop, user, { scope: 'openid' })
  const second = await signIn(ctx, wiki, user, { scope: 'openid', jar: first.jar })
  const third = await signIn(ctx, plain, user, { scope: 'openid', jar: first.jar })
  const sid = sidOf(first.tokens)
  t.type(sid, 'string', 'ID tokens carry sid')
  t.ok(sid.length >= 22, 'a random public id')
  t.equal(sidOf(second.tokens), sid, 'the same session: the same sid for every client')
  t.equal(sidOf(third.tokens), sid)
  const cookie = first.jar.cookies.get('tessera_session')!
  t.not(sid, cookie, 'not the cookie')
  t.not(sid, hashSecret(cookie), 'nor its hash')

  // The relying parties are slow: the user's logout does not wait for them.
  rp.hold()
  t.equal(await logout(ctx, first.jar, first.tokens.id_token!), 200, 'signed out')
  const posts = await rp.waitFor(2)
  t.pass('both relying parties were called after the logout had been answered')
  rp.release()
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 2, 'the client without a logout URI got nothing')

  const byPath = new Map(posts.map((post) => [post.path, post]))
  for (const [where, rpClient] of [
    ['/shop', shop],
    ['/wiki', wiki],
  ] as const) {
    const post = byPath.get(where)!
    t.equal(post.contentType, 'application/x-www-form-urlencoded', `${where}: a form POST`)
    t.same([...post.form.keys()], ['logout_token'], `${where}: logout_token only`)
    const logoutClaims = await validate(ctx, post, rpClient.client.id)
    t.equal(logoutClaims.sid, sid, `${where}: the sid of the ID token`)
    t.equal(logoutClaims.sub, user.id, `${where}: the user`)
    t.equal(logoutClaims.aud, rpClient.client.id, `${where}: audience is the client`)
    t.ok((logoutClaims.exp ?? 0) - (logoutClaims.iat ?? 0) <= 300, `${where}: short-lived`)
  }
  t.not(claims(posts[0]!.token)['jti'], claims(posts[1]!.token)['jti'], 'each token has its own jti')
  const rows = await outboxRows(ctx)
  t.equal(rows.length, 2, 'one outbox row per client')
  t.ok(
    rows.every((row) => row.delivered_at !== null && row.attempts === 1),
    'delivered at the first attempt',
  )
  t.ok(
    rows.every((row) => !row.payload.includes('eyJ')),
    'the rows hold identifiers, never a token',
  )
  t.equal((await userinfo(ctx, first.tokens.access_token)).statusCode, 401, 'the session’s tokens are revoked')
  t.equal((await introspect(ctx, wiki, second.tokens.access_token))['active'], false)
})

t.test('offline_access refresh tokens die with the session; a refreshed ID token keeps the sid', async (t) => {
  const ctx = await app(t)
  const rp = await endpoint(t)
  const mobile = await addLogoutClient(ctx, { name: 'Mobile', backchannelLogoutUri: rp.uri() })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, mobile, user, { scope: 'openid offline_access' })
  t.type(tokens.refresh_token, 'string')
  const renewed = await refresh(ctx, mobile, tokens.refresh_token!)
  t.equal(renewed.statusCode, 200, 'the refresh token works while the session lives')
  const next = renewed.json() as Tokens
  t.equal(sidOf(next), sidOf(tokens), 'the refreshed ID token has the session’s sid')

  t.equal(await logout(ctx, jar, tokens.id_token!), 200)
  const refused = await refresh(ctx, mobile, next.refresh_token!)
  t.equal(refused.statusCode, 400)
  t.equal(refused.json().error, 'invalid_grant', 'the offline_access refresh token died with the session')
  t.equal((await userinfo(ctx, next.access_token)).statusCode, 401, 'and its access token')
  const [post] = await rp.waitFor(1)
  t.equal((await validate(ctx, post!, mobile.client.id)).sid, sidOf(tokens), 'the relying party was told')
})

t.test('the sid survives re-authentication by the same user; another user signing in ends the session', async (t) => {
  const ctx = await app(t)
  const rp = await endpoint(t)
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: rp.uri() })
  const alice = await ctx.addUser()
  const bob = await ctx.addUser()
  const first = await signIn(ctx, shop, alice, { scope: 'openid' })
  const sid = sidOf(first.tokens)
  const cookie = first.jar.cookies.get('tessera_session')
  const again = await signIn(ctx, shop, alice, { scope: 'openid', jar: first.jar, params: { prompt: 'login' } })
  t.not(first.jar.cookies.get('tessera_session'), cookie, 'a new session id (no fixation)')
  t.equal(sidOf(again.tokens), sid, 'but the same sid: relying parties still match it')
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 0, 'a renewal is not a logout')
  t.equal((await userinfo(ctx, first.tokens.access_token)).statusCode, 200, 'and revokes nothing')

  const replaced = await signIn(ctx, shop, bob, { scope: 'openid', jar: first.jar, params: { prompt: 'login' } })
  t.not(sidOf(replaced.tokens), sid, 'another user: another sid')
  const [post] = await rp.waitFor(1)
  const told = await validate(ctx, post!, shop.client.id)
  t.same([told.sub, told.sid], [alice.id, sid], 'Alice’s relying party learns her session ended')
  t.equal((await userinfo(ctx, again.tokens.access_token)).statusCode, 401, 'her tokens from it are revoked')
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 1, 'Bob’s new session is not announced')
})

t.test('a password reset and a disabled account end every session of the user, each announced', async (t) => {
  const ctx = await app(t)
  const rp = await endpoint(t)
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: rp.uri() })
  const carol = await ctx.addUser()
  const dave = await ctx.addUser()
  const laptop = await signIn(ctx, shop, carol, { scope: 'openid' })
  const phone = await signIn(ctx, shop, carol, { scope: 'openid' })
  const bystander = await signIn(ctx, shop, dave, { scope: 'openid' })

  // Carol resets her password through the mailed link (made here as `idp users reset-link` does).
  const link = new URL(await passwordResetLink(ctx.deps, carol))
  const jar = new CookieJar()
  t.equal((await getPage(ctx, jar, `${link.pathname}${link.search}`)).statusCode, 303, 'the link is opened')
  const reset = await submitForm(ctx, jar, '/reset-password', '/reset-password', {
    password: 'a brand new passphrase',
    password_confirm: 'a brand new passphrase',
  })
  t.ok(reset.statusCode < 400, `the reset is accepted (${reset.statusCode})`)
  const posts = await rp.waitFor(2)
  const sids = await Promise.all(posts.map(async (post) => (await validate(ctx, post, shop.client.id)).sid))
  t.same(sids.sort(), [sidOf(laptop.tokens), sidOf(phone.tokens)].sort(), 'one logout token per session')

  // Dave is disabled by an operator: the CLI stores the jobs, this running instance delivers them.
  const errors: string[] = []
  const code = await runCli(['users', 'disable', dave.email], {
    env: { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir, ISSUER: ctx.issuer, LOG_LEVEL: 'silent' },
    stdout: () => undefined,
    stderr: (line) => errors.push(line),
    readStdin: async () => '',
  })
  t.equal(code, 0, errors.join('\n'))
  t.equal(rp.received.length, 2, 'the CLI itself delivers nothing')
  // The CLI stored its jobs at the wall clock's time; the app's FakeClock catches up with it.
  ctx.clock.set(Math.max(ctx.clock.now(), Math.ceil(Date.now() / 1000)))
  await ctx.deps.outbox.idle()
  const [, , disabled] = await rp.waitFor(3)
  const told = await validate(ctx, disabled!, shop.client.id)
  t.same([told.sub, told.sid], [dave.id, sidOf(bystander.tokens)], 'Dave’s session is announced')
})

t.test('the account page’s “sign out there” announces that session only', async (t) => {
  const ctx = await app(t)
  const rp = await endpoint(t)
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: rp.uri() })
  const user = await ctx.addUser()
  const here = new Browser(ctx, { userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' })
  const there = new Browser(ctx, {
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36',
  })
  for (const browser of [here, there]) t.equal((await browser.login(user.email, user.password)).statusCode, 303)
  const hereTokens = (await signIn(ctx, shop, user, { scope: 'openid', jar: here.jar })).tokens
  const thereTokens = (await signIn(ctx, shop, user, { scope: 'openid', jar: there.jar })).tokens
  t.not(sidOf(hereTokens), sidOf(thereTokens), 'two browsers, two sessions')

  const account = await here.get('/account')
  const items = [...account.body.matchAll(/<li>([\s\S]*?)<\/li>/g)].map(([, item = '']) => item)
  const other = items.find((item) => item.includes('name="handle"') && !item.includes('this browser'))
  const handle = /name="handle" value="([^"]*)"/.exec(other ?? '')?.[1]
  t.ok(handle, 'the other browser is listed with its handle')
  t.equal((await here.submit('/account', '/account/sessions/end', { handle: handle! })).statusCode, 303)
  const [post] = await rp.waitFor(1)
  t.equal((await validate(ctx, post!, shop.client.id)).sid, sidOf(thereTokens), 'the session ended there is announced')
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 1, 'this browser’s session is not')
  t.equal((await userinfo(ctx, hereTokens.access_token)).statusCode, 200)
})

t.test('the expiry sweep ends idle and expired sessions like a logout (offline_access grants survive expiry)', async (t) => {
  const ctx = await app(t, { env: { SESSION_TTL: '3h', SESSION_IDLE_TTL: '2h' } })
  const rp = await endpoint(t)
  const mobile = await addLogoutClient(ctx, { name: 'Mobile', backchannelLogoutUri: rp.uri('/mobile') })
  const web = await addLogoutClient(ctx, { name: 'Web', backchannelLogoutUri: rp.uri('/web') })
  const user = await ctx.addUser()
  const idle = await signIn(ctx, mobile, user, { scope: 'openid offline_access' })
  const idleWeb = await signIn(ctx, web, user, { scope: 'openid', jar: idle.jar })
  const busy = await signIn(ctx, web, user, { scope: 'openid' })

  ctx.clock.advance(60 * 60)
  t.ok((await authorize(ctx, busy.jar, { ...codeParams(web), prompt: 'none' })).location?.searchParams.get('code'), 'busy stays active')
  ctx.clock.advance(60 * 60)
  t.equal((await pruneNow(ctx.deps)).expiredSessions, 1, 'two hours idle: the first session ends')
  const posts = await rp.waitFor(2)
  for (const post of posts) {
    const clientId = post.path === '/mobile' ? mobile.client.id : web.client.id
    t.equal((await validate(ctx, post, clientId)).sid, sidOf(idle.tokens), `${post.path}: told`)
  }
  t.equal((await userinfo(ctx, idleWeb.tokens.access_token)).statusCode, 401, 'its tokens are revoked')
  t.equal((await refresh(ctx, mobile, idle.tokens.refresh_token!)).statusCode, 200, 'except offline access: expiry is nobody’s logout')

  ctx.clock.advance(60 * 60 + 1)
  const report = await pruneNow(ctx.deps)
  t.equal(report.expiredSessions, 1, 'three hours old: the busy session ends too')
  const [, , expired] = await rp.waitFor(3)
  t.equal((await validate(ctx, expired!, web.client.id)).sid, sidOf(busy.tokens))
  t.equal((await pruneNow(ctx.deps)).expiredSessions, 0, 'a session is ended and announced once')
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 3)
})

t.test('the outbox retries with growing delays while the relying party answers 503, then delivers', async (t) => {
  const ctx = await app(t)
  const rp = await endpoint(t)
  rp.status = (count) => (count <= 2 ? 503 : 200)
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: rp.uri() })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, shop, user, { scope: 'openid' })
  await logout(ctx, jar, tokens.id_token!)

  await ctx.deps.outbox.idle()
  let [row] = await outboxRows(ctx)
  t.match(row, { attempts: 1, delivered_at: null, failed_at: null, locked_until: null, last_error: /HTTP 503/ })
  t.equal(row!.next_attempt_at - ctx.clock.now(), 5, 'first retry after 5 s')
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 1, 'nothing is tried before its time')

  ctx.clock.advance(5)
  await ctx.deps.outbox.idle()
  ;[row] = await outboxRows(ctx)
  t.match(row, { attempts: 2, delivered_at: null })
  t.equal(row!.next_attempt_at - ctx.clock.now(), 10, 'then after 10 s')

  ctx.clock.advance(10)
  await ctx.deps.outbox.idle()
  ;[row] = await outboxRows(ctx)
  t.match(row, { attempts: 3, last_error: null, failed_at: null })
  t.ok(row!.delivered_at !== null, 'delivered at the third attempt')
  t.equal(rp.received.length, 3)
  const jtis = new Set<unknown>()
  for (const post of rp.received) {
    const told = await validate(ctx, post, shop.client.id)
    t.equal(told.sid, sidOf(tokens))
    jtis.add(told.jti)
  }
  t.equal(jtis.size, 3, 'every attempt signs a fresh token')
})

t.test('a relying party that is down (port closed) gets the token once it listens', async (t) => {
  const ctx = await app(t)
  const port = await freePort()
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: `http://127.0.0.1:${port}/backchannel-logout` })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, shop, user, { scope: 'openid' })
  t.equal(await logout(ctx, jar, tokens.id_token!), 200, 'the logout does not care that the relying party is down')
  await ctx.deps.outbox.idle()
  const [row] = await outboxRows(ctx)
  t.match(row, { attempts: 1, delivered_at: null, last_error: /connection failed/ })

  const rp = await endpoint(t, port)
  ctx.clock.advance(5)
  await ctx.deps.outbox.idle()
  const [post] = await rp.waitFor(1)
  t.equal((await validate(ctx, post!, shop.client.id)).sid, sidOf(tokens))
  t.ok((await outboxRows(ctx))[0]!.delivered_at !== null)
})

t.test('after a bounded number of attempts the job is given up: audited and logged, the token never', async (t) => {
  const lines: string[] = []
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'))
        done()
      },
    }),
  )
  const ctx = await app(t, { overrides: { log } })
  const rp = await endpoint(t)
  rp.status = () => 500
  const shop = await addLogoutClient(ctx, { name: 'Shop', backchannelLogoutUri: rp.uri() })
  const user = await ctx.addUser()
  const { tokens, jar } = await signIn(ctx, shop, user, { scope: 'openid' })
  await logout(ctx, jar, tokens.id_token!)

  let row
  for (let round = 0; round < 20; round++) {
    await ctx.deps.outbox.idle()
    ;[row] = await outboxRows(ctx)
    if (row!.failed_at !== null) break
    ctx.clock.set(row!.next_attempt_at)
  }
  t.match(row, { attempts: 12, delivered_at: null, last_error: /HTTP 500/ }, 'twelve attempts, then no more')
  t.ok(row!.failed_at !== null, 'given up')
  t.equal(rp.received.length, 12)
  ctx.clock.advance(86_400)
  await ctx.deps.outbox.idle()
  t.equal(rp.received.length, 12, 'a job given up is not tried again')

  const events = await ctx.deps.store.db.selectFrom('audit_events').selectAll().where('type', '=', 'backchannel_logout_failed').execute()
  t.equal(events.length, 1, 'one security event')
  t.match(events[0], { client_id: shop.client.id, user_id: user.id })
  t.match(JSON.parse(events[0]!.detail), { kind: 'backchannel_logout', attempts: 12, sid: sidOf(tokens) })
  const gaveUp = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line['event'] === 'outbox_gave_up')
  t.match(gaveUp, { kind: 'backchannel_logout', clientId: shop.client.id, attempts: 12 }, 'the log names the client and the kind')
  const everything = lines.join('\n')
  for (const post of rp.received) t.notOk(everything.includes(post.token), 'no logout token in the logs')
  t.notOk(everything.includes(tokens.id_token!), 'nor the ID token')
})

t.test('a stored job survives a restart; a crashed instance’s claim lapses', async (t) => {
  const dir = tempDir('tessera-bcl-')
  const database = await suiteDatabase(dir)
  t.teardown(async () => {
    await database.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const clock = new FakeClock()
  const port = await freePort()
  const env = { DATABASE_URL: database.url, KEYS_DIR: path.join(dir, 'keys') }
  const first = await createTestApp({ listen: true, clock, env, overrides: { outbox: QUIET_WORKER } })
  first.deps.outbox.start()
  const issuer = first.issuer
  const shop = await addLogoutClient(first, { name: 'Shop', backchannelLogoutUri: `http://127.0.0.1:${port}/backchannel-logout` })
  const user = await first.addUser()
  const { tokens, jar } = await signIn(first, shop, user, { scope: 'openid' })
  await logout(first, jar, tokens.id_token!)
  await first.deps.outbox.idle()
  t.match((await outboxRows(first))[0], { attempts: 1, delivered_at: null }, 'the relying party was down')
  await first.close()

  // The relying party is back; a new process opens the same database.
  const rp = await endpoint(t, port)
  clock.advance(5)
  const second = await createTestApp({ listen: true, clock, env: { ...env, ISSUER: issuer }, overrides: { outbox: QUIET_WORKER } })
  t.teardown(() => second.close())
  // A crashed instance claimed the job just now and will never finish it.
  const now = clock.now()
  const claimed = await second.deps.repos.outbox.claim({
    kinds: ['backchannel_logout'],
    now,
    lockedUntil: now + 60,
    lockToken: 'crashed',
    limit: 10,
  })
  t.equal(claimed.length, 1, 'claimed by the crashed instance')
  t.same(await second.deps.repos.outbox.claim({ kinds: ['backchannel_logout'], now, lockedUntil: now + 60, lockToken: 'x', limit: 10 }), [])
  t.equal(rp.received.length, 0, 'nobody else takes it while the claim lasts')

  second.deps.outbox.start()
  clock.advance(60)
  await second.deps.outbox.idle()
  const [post] = await rp.waitFor(1)
  const jwksBase = `http://127.0.0.1:${(second.app.server.address() as AddressInfo).port}`
  const told = await validateLogoutToken(post!.token, { issuer, clientId: shop.client.id, now: clock.now(), jwksBase })
  t.equal(told.sid, sidOf(tokens), 'delivered by the new process, signed with the shared keys')
  t.match((await outboxRows(second))[0], { attempts: 3, last_error: null }, 'the lapsed claim counted as an attempt')
  t.ok((await outboxRows(second))[0]!.delivered_at !== null)
})

t.test('dynamic registration: backchannel_logout_uri is validated, stored, echoed and used', async (t) => {
  const ctx = await app(t, { env: { REGISTRATION: 'open' } })
  const rp = await endpoint(t)
  const register = (metadata: Record<string, unknown>) =>
    ctx.app.inject({ method: 'POST', url: '/register', headers: { 'content-type': 'application/json' }, payload: JSON.stringify(metadata) })
  const base = { client_name: 'Agent', redirect_uris: ['https://agent.example/callback'], token_endpoint_auth_method: 'none' }
  for (const uri of ['http://agent.example/logout', 'https://agent.example/logout#x', 'ftp://agent.example/logout']) {
    const refused = await register({ ...base, backchannel_logout_uri: uri })
    t.equal(refused.statusCode, 400, uri)
    t.equal(refused.json().error, 'invalid_client_metadata', uri)
  }
  const created = await register({ ...base, backchannel_logout_uri: rp.uri(), backchannel_logout_session_required: true })
  t.equal(created.statusCode, 201)
  const body = created.json() as Record<string, unknown>
  t.match(body, { backchannel_logout_uri: rp.uri(), backchannel_logout_session_required: true }, 'echoed (RFC 7591 §3.2.1)')
  const agent: RegisteredClient = { client: (await ctx.deps.repos.clients.find(body['client_id'] as string))!, secret: null }
  t.equal(agent.client.backchannelLogoutUri, rp.uri())

  // A third-party client: the user consents, then signs out.
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const { response } = await authorize(ctx, jar, { ...codeParams(agent), code_challenge: challenge, code_challenge_method: 'S256' }, user)
  const consent = await getPage(ctx, jar, response.headers.location!)
  const approved = await postForm(ctx, jar, '/consent', {
    _csrf: hiddenField(consent.body, '_csrf'),
    interaction: hiddenField(consent.body, 'interaction'),
    decision: 'approve',
  })
  const code = new URL(approved.headers.location!).searchParams.get('code')!
  const tokens = (await redeem(ctx, agent, code, { code_verifier: verifier }, 'none')).json() as Tokens
  await logout(ctx, jar, tokens.id_token!)
  const [post] = await rp.waitFor(1)
  t.equal((await validate(ctx, post!, agent.client.id)).sid, sidOf(tokens), 'delivered to the self-registered client')
})

t.test('idp clients add/update: --backchannel-logout-uri is https, http on loopback only with a localhost issuer', async (t) => {
  const dir = tempDir('tessera-bcl-cli-')
  const database = await suiteDatabase(dir)
  t.teardown(async () => {
    await database.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const run = async (args: string[], issuer = 'https://id.example') => {
    const stdout: string[] = []
    const stderr: string[] = []
    const code = await runCli(args, {
      env: { DATABASE_URL: database.url, KEYS_DIR: path.join(dir, 'keys'), LOG_LEVEL: 'silent', ISSUER: issuer },
      stdout: (line) => stdout.push(line),
      stderr: (line) => stderr.push(line),
      readStdin: async () => '',
    })
    const last = stdout.at(-1)
    return { code, stderr, json: last?.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : {} }
  }
  const add = (uri: string, issuer?: string, ...more: string[]) =>
    run(
      ['clients', 'add', '--name', 'App', '--redirect-uri', 'https://app.example/cb', '--backchannel-logout-uri', uri, ...more, '--json'],
      issuer,
    )

  const refusals: [string, string | undefined, RegExp][] = [
    ['http://127.0.0.1:4000/logout', undefined, /must be https \(http only on a loopback host while the issuer is on localhost\)/],
    ['http://app.example/logout', 'http://localhost:3000', /must be https \(http only on a loopback host\)/],
    ['https://app.example/logout#top', undefined, /must not contain a fragment/],
    ['/logout', undefined, /must be an absolute https URL/],
  ]
  for (const [uri, issuer, reason] of refusals) {
    const refused = await add(uri, issuer)
    t.equal(refused.code, 1, `${uri}: refused`)
    t.equal(refused.stderr.length, 1, `${uri}: one line`)
    t.ok(refused.stderr[0]?.startsWith(`idp: --backchannel-logout-uri ${uri}: `), `${uri}: the line names the flag and the value`)
    t.match(refused.stderr[0], reason)
  }
  const lonely = await run([
    'clients',
    'add',
    '--name',
    'App',
    '--redirect-uri',
    'https://app.example/cb',
    '--backchannel-logout-session-required',
  ])
  t.equal(lonely.code, 1)
  t.match(lonely.stderr, [/--backchannel-logout-session-required: needs a back-channel logout URI/])

  const local = await add('http://127.0.0.1:4000/logout', 'http://localhost:3000', '--backchannel-logout-session-required')
  t.equal(local.code, 0, `loopback http with a localhost issuer: ${local.stderr.join(' ')}`)
  const secure = await add('https://app.example/backchannel-logout')
  t.equal(secure.code, 0, 'https with any issuer')
  const listed = ((await run(['clients', 'list', '--json'])).json['clients'] as Record<string, unknown>[])
    .map((client) => [client['backchannel_logout_uri'], client['backchannel_logout_session_required']])
    .sort()
  t.same(listed, [
    ['http://127.0.0.1:4000/logout', true],
    ['https://app.example/backchannel-logout', false],
  ])

  const id = secure.json['client_id'] as string
  const update = (...args: string[]) => run(['clients', 'update', id, ...args, '--json'])
  t.match((await update('--backchannel-logout-uri', 'http://127.0.0.1:4000/x')).stderr, [/--backchannel-logout-uri .*must be https/])
  t.match((await update('--backchannel-logout-uri', '')).stderr, [/--no-backchannel-logout-uri to remove it/])
  t.match(await update('--backchannel-logout-uri', 'https://app.example/v2/logout', '--backchannel-logout-session-required'), {
    code: 0,
    json: { backchannel_logout_uri: 'https://app.example/v2/logout', backchannel_logout_session_required: true },
  })
  t.match(await update('--no-backchannel-logout-uri', '--no-backchannel-logout-session-required'), {
    code: 0,
    json: { backchannel_logout_uri: null, backchannel_logout_session_required: false },
  })
})

const postgresUrl = process.env['TEST_DATABASE'] === 'postgres' ? process.env['TEST_DATABASE_URL'] : undefined
const postgresOnly = postgresUrl ? false : 'runs in the PostgreSQL pass (TEST_DATABASE=postgres and TEST_DATABASE_URL)'

t.test('two instances on PostgreSQL share the outbox: every logout delivered exactly once', { skip: postgresOnly }, async (t) => {
  const adminUrl = postgresUrl!
  const dir = tempDir('tessera-bcl-pg-')
  const database: TestDatabase = await createPostgresDatabase(adminUrl)
  t.teardown(async () => {
    await database.drop()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  const clock = new FakeClock()
  const env = { DATABASE_URL: database.url, KEYS_DIR: path.join(dir, 'keys') }
  // Both poll often and claim in small batches: they race for the same rows all the time.
  const worker = { outbox: { pollIntervalMs: 10, batchSize: 3 } }
  const a = await createTestApp({ listen: true, clock, env, overrides: worker })
  t.teardown(() => a.close())
  const b = await createTestApp({ listen: true, clock, env: { ...env, ISSUER: a.issuer }, overrides: worker })
  t.teardown(() => b.close())
  const rp = await endpoint(t)
  const clients = await Promise.all(
    ['one', 'two', 'three'].map((name) => addLogoutClient(a, { name, backchannelLogoutUri: rp.uri(`/${name}`) })),
  )
  const user = await a.addUser()

  /** A session of `user` in which every client received tokens (stored as a sign-in would store it). */
  async function session(expiresAt: number): Promise<{ idHash: string; sid: string }> {
    const now = clock.now()
    const idHash = hashSecret(randomToken())
    const sid = randomId()
    await a.deps.repos.sessions.insert({
      idHash,
      userId: user.id,
      authTime: now,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      handle: randomId(),
      userAgent: null,
      amr: ['pwd'],
      sid,
    })
    for (const { client } of clients)
      await a.deps.repos.grants.insert({
        id: randomId(),
        userId: user.id,
        clientId: client.id,
        sessionIdHash: idHash,
        scope: 'openid',
        authTime: now,
        createdAt: now,
        revokedAt: null,
        offline: false,
        expiresAt: null,
        amr: ['pwd'],
        resources: [],
        dpopJkt: null,
      })
    return { idHash, sid }
  }

  const live = await Promise.all(Array.from({ length: 10 }, () => session(clock.now() + 3600)))
  const expired = await Promise.all(Array.from({ length: 6 }, () => session(clock.now() - 1)))
  a.deps.outbox.start()
  b.deps.outbox.start()
  // Logouts at either instance, all at once; both instances' expiry sweeps at once.
  await Promise.all([
    ...live.map(({ idHash }, index) => endSession((index % 2 === 0 ? a : b).deps, { idHash, userId: user.id, reason: 'logout' })),
    pruneNow(a.deps),
    pruneNow(b.deps),
  ])
  const expected = (live.length + expired.length) * clients.length
  await rp.waitFor(expected, 60_000)
  await Promise.all([a.deps.outbox.idle(), b.deps.outbox.idle()])

  t.equal(rp.received.length, expected, `${expected} logout tokens: one per session and client`)
  const seen = new Map<string, number>()
  for (const post of rp.received) {
    const clientId = clients.find(({ client }) => post.path === new URL(client.backchannelLogoutUri!).pathname)!.client.id
    const told = await validate(a, post, clientId)
    const key = `${clientId} ${told.sid}`
    seen.set(key, (seen.get(key) ?? 0) + 1)
  }
  const sids = [...live, ...expired].map((s) => s.sid)
  t.same(
    [...seen.keys()].sort(),
    sids.flatMap((sid) => clients.map(({ client }) => `${client.id} ${sid}`)).sort(),
    'every (client, session) pair',
  )
  t.ok(
    [...seen.values()].every((count) => count === 1),
    'each exactly once',
  )
  const rows = await outboxRows(a)
  t.equal(rows.length, expected)
  t.ok(
    rows.every((row) => row.delivered_at !== null && row.attempts === 1),
    'every row delivered by one claim',
  )
})

/** Authorization request parameters for a client's first redirect URI (a code request). */
function codeParams(rp: RegisteredClient): Record<string, string> {
  const { challenge } = pkcePair()
  return {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: rp.client.redirectUris[0]!,
    scope: 'openid',
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }
}
