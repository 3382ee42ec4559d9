import t from 'tap'
import { runCli } from '../../src/cli/main.js'
import { CookieJar, hiddenField } from '../helpers/browser-flow.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { FORM, basic } from './support.js'

// The in-memory request caps are raised so that the database failure counters are what is tested.
const ENV = { LOGIN_RATE_LIMIT: '100000', TOKEN_RATE_LIMIT: '100000' }

async function login(ctx: TestApp, email: string, password: string, ip = '127.0.0.1') {
  const jar = new CookieJar()
  const page = await ctx.app.inject({ method: 'GET', url: '/login', remoteAddress: ip })
  jar.store(page)
  return ctx.app.inject({
    method: 'POST',
    url: '/login',
    remoteAddress: ip,
    headers: { ...FORM, cookie: jar.header(), origin: new URL(ctx.issuer).origin },
    payload: new URLSearchParams({ _csrf: hiddenField(page.body, '_csrf'), interaction: '', email, password }).toString(),
  })
}

t.test('login: ten failures block the account with 429 and Retry-After; the block lifts and grows', async (t) => {
  const ctx = await createTestApp({ env: ENV })
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  for (let i = 0; i < 10; i++) t.equal((await login(ctx, user.email, 'wrong password here', `10.0.0.${i + 1}`)).statusCode, 401)
  const blocked = await login(ctx, user.email, user.password, '10.0.1.1')
  t.equal(blocked.statusCode, 429, 'even the right password is refused while blocked, from any IP')
  t.equal(blocked.headers['retry-after'], '60', 'the first block lasts a minute')
  t.equal((await login(ctx, user.email.toUpperCase(), user.password, '10.0.1.2')).statusCode, 429, 'the key is the normalised email')

  ctx.clock.advance(61)
  t.equal((await login(ctx, user.email, user.password, '10.0.1.3')).statusCode, 303, 'the block lifts by itself')
  for (let i = 0; i < 10; i++) await login(ctx, user.email, 'wrong again', `10.0.2.${i + 1}`)
  t.equal((await login(ctx, user.email, user.password)).statusCode, 429)
  for (let i = 0; i < 10; i++) {
    ctx.clock.advance(61)
    // Failures after the block, in the same run, earn a longer one.
    if ((await login(ctx, user.email, 'still wrong', `10.0.3.${i + 1}`)).statusCode === 429) break
  }
  const grown = await login(ctx, user.email, user.password)
  t.equal(grown.statusCode, 429)
  t.ok(Number(grown.headers['retry-after']) > 60, `a repeated block lasts longer (${String(grown.headers['retry-after'])} s)`)

  const lowered = await createTestApp({ env: { ...ENV, LOGIN_ACCOUNT_RATE_LIMIT: '3' } })
  t.teardown(() => lowered.close())
  const other = await lowered.addUser()
  for (let i = 0; i < 3; i++) await login(lowered, other.email, 'nope nope nope', `10.9.0.${i + 1}`)
  t.equal((await login(lowered, other.email, other.password, '10.9.1.1')).statusCode, 429, 'LOGIN_ACCOUNT_RATE_LIMIT sets the number of failures')

  const events = await ctx.deps.repos.auditEvents.list({ limit: 1000 })
  t.ok(events.some((e) => e.type === 'throttled'), 'throttling is a stored security event')
  t.ok(events.filter((e) => e.type === 'login_failure').length >= 20, 'failures are stored')
  t.ok(events.some((e) => e.type === 'login_success' && e.userId === user.id))
  t.notMatch(JSON.stringify(events), user.password, 'no password in the audit trail')
})

t.test('login: one IP failing across many accounts is blocked too (twice the per-account limit); unknown emails count', async (t) => {
  const ctx = await createTestApp({ env: ENV })
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  for (let i = 0; i < 20; i++) t.equal((await login(ctx, `nobody${i}@example.com`, 'guess', '192.0.2.7')).statusCode, 401)
  t.equal((await login(ctx, user.email, user.password, '192.0.2.7')).statusCode, 429, 'the IP is blocked')
  t.equal((await login(ctx, user.email, user.password, '192.0.2.8')).statusCode, 303, 'other IPs are not')
})

t.test('token endpoint: repeated client-authentication failures are blocked per client', async (t) => {
  const ctx = await createTestApp({ env: ENV })
  t.teardown(() => ctx.close())
  const { client, secret } = await ctx.addClient({ grantTypes: ['client_credentials'], scopes: ['api'] })
  const token = (password: string, ip: string) =>
    ctx.app.inject({ method: 'POST', url: '/token', remoteAddress: ip, headers: { ...FORM, authorization: basic(client.id, password) }, payload: 'grant_type=client_credentials' })
  for (let i = 0; i < 10; i++) t.equal((await token('not-the-secret', `198.51.100.${i + 1}`)).statusCode, 401)
  const blocked = await token(secret!, '198.51.100.99')
  t.equal(blocked.statusCode, 429)
  t.ok(Number(blocked.headers['retry-after']) > 0)
  ctx.clock.advance(61)
  t.equal((await token(secret!, '198.51.100.99')).statusCode, 200, 'lifted after the block')
})

t.test('idp audit lists stored security events, filtered by user and time', async (t) => {
  const ctx = await createTestApp({ env: ENV })
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const other = await ctx.addUser()
  await login(ctx, user.email, 'wrong password here')
  await login(ctx, user.email, user.password)
  await login(ctx, other.email, other.password)
  const env = { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir, ISSUER: ctx.issuer, LOG_LEVEL: 'silent' }
  const out: string[] = []
  const code = await runCli(['audit', '--user', user.email, '--json'], { env, stdout: (line) => out.push(line), stderr: () => undefined, readStdin: async () => '' })
  t.equal(code, 0)
  const events = (JSON.parse(out.at(-1)!) as { events: { type: string; user_id: string | null }[] }).events
  t.same(events.map((e) => e.type), ['login_success'], 'only this user’s attributed events (failures carry no user id)')
  t.ok(events.every((e) => e.user_id === user.id))
  const all: string[] = []
  await runCli(['audit', '--since', '1h', '--type', 'login_failure', '--json'], { env, stdout: (line) => all.push(line), stderr: () => undefined, readStdin: async () => '' })
  t.equal((JSON.parse(all.at(-1)!) as { events: unknown[] }).events.length, 1)
  const bad: string[] = []
  t.equal(await runCli(['audit', '--since', 'yesterday'], { env, stdout: () => undefined, stderr: (line) => bad.push(line), readStdin: async () => '' }), 1)
})

t.test('reset form: posts with dead or missing reset tokens are failures per IP; ten of them block', async (t) => {
  const ctx = await createTestApp({ env: { ...ENV, FORGOT_PASSWORD_RATE_LIMIT: '100000' } })
  t.teardown(() => ctx.close())
  const jar = new CookieJar()
  const page = await ctx.app.inject({ method: 'GET', url: '/forgot-password', remoteAddress: '203.0.113.5' })
  jar.store(page)
  const csrf = hiddenField(page.body, '_csrf')
  const post = (cookie: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/reset-password',
      remoteAddress: '203.0.113.5',
      headers: { ...FORM, cookie, origin: new URL(ctx.issuer).origin },
      payload: new URLSearchParams({ _csrf: csrf, password: 'a brand new passphrase', password_confirm: 'a brand new passphrase' }).toString(),
    })
  for (let i = 0; i < 10; i++) t.equal((await post(`${jar.header()}; tessera_reset=made-up-token-${i}`)).statusCode, 400, 'the expired page')
  const blocked = await post(jar.header())
  t.equal(blocked.statusCode, 429)
  t.ok(Number(blocked.headers['retry-after']) > 0)
  const events = await ctx.deps.repos.auditEvents.list({ type: 'throttled', limit: 10 })
  t.equal(events.length, 1, 'recorded as a security event')
})
