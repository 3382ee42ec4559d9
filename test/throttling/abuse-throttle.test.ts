/**
 * Throttling beyond the login form (docs/security.md §H9–§H12): a correct client secret is never
 * refused and a public client's bogus secrets are not counted; the API has no per-address cap;
 * mail quotas give the owner's browser its own budget; dead reset links are counted per address;
 * the audit trail; renamed settings.
 */
import t from 'tap'
import { runCli } from '../../src/cli/main.js'
import { basic, Browser, CookieJar, FORM, hiddenField } from '../helpers/client.js'
import { createTestApp, type TestAppOptions } from '../helpers/test-app.js'
import { fastHasher } from '../helpers/fast-hasher.js'

/** Hundreds of login attempts: a cheap (still argon2id) hasher keeps them quick on a loaded machine. */
const throttleApp = (env: Record<string, string> = {}): TestAppOptions => ({ env, overrides: { hasher: fastHasher() } })

t.test('token endpoint: a correct client secret is never refused', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  const { client, secret } = await ctx.addClient({ grantTypes: ['client_credentials'], scopes: ['api'] })
  const token = (password: string, ip: string) =>
    ctx.app.inject({
      method: 'POST',
      url: '/token',
      remoteAddress: ip,
      headers: { ...FORM, authorization: basic(client.id, password) },
      payload: 'grant_type=client_credentials',
    })

  // The review's scenario: anyone, anywhere, sends wrong secrets for a public client_id.
  for (let i = 0; i < 12; i++) await token('not-the-secret', '198.51.100.66')
  for (let i = 0; i < 12; i++) await token('not-the-secret', `198.51.100.${i + 1}`)
  t.equal((await token(secret!, '192.0.2.1')).statusCode, 200, 'the real client from its own address')
  t.equal((await token(secret!, '198.51.100.66')).statusCode, 200, 'even from the address that failed')

  const blocked = await token('still-not-it', '198.51.100.66')
  t.equal(blocked.statusCode, 429, 'failing requests from a failing address are throttled')
  t.equal(blocked.json().error, 'invalid_client', 'with an RFC 6749 §5.2 error code')
  t.ok(Number(blocked.headers['retry-after']) > 0, 'and Retry-After')
  t.equal((await token('not-the-secret', '198.51.100.200')).statusCode, 401, 'another address failing is answered 401 as usual')

  const events = await ctx.deps.repos.auditEvents.list({ limit: 100 })
  t.ok(
    events.some((e) => e.type === 'client_auth_failure'),
    'failures are security events',
  )
  t.ok(
    events.some((e) => e.type === 'throttled'),
    'so are blocks',
  )
})

t.test('token endpoint: a public client sending a secret is refused without counting', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  const { client } = await ctx.addClient({ isPublic: true })
  const send = (form: Record<string, string>) =>
    ctx.app.inject({
      method: 'POST',
      url: '/token',
      remoteAddress: '198.51.100.9',
      headers: FORM,
      payload: new URLSearchParams({
        grant_type: 'authorization_code',
        code: 'no-such-code',
        redirect_uri: client.redirectUris[0]!,
        code_verifier: 'x'.repeat(43),
        ...form,
      }).toString(),
    })
  for (let i = 0; i < 15; i++) {
    const refused = await send({ client_id: client.id, client_secret: 'bogus' })
    t.equal(refused.statusCode, 401)
    t.equal(refused.json().error, 'invalid_client', 'RFC 6749 §5.2: a public client has no secret to send')
  }
  const answer = await send({ client_id: client.id })
  t.equal(answer.statusCode, 400, 'the app itself still authenticates (the bad code is what it gets refused for)')
  t.equal(answer.json().error, 'invalid_grant')
  t.equal(
    await ctx.deps.repos.throttleCounters.blockedFor(
      [`client-auth:${client.id}:198.51.100.9`, 'client-auth-ip:198.51.100.9'],
      ctx.clock.now(),
    ),
    0,
    'nothing was counted',
  )
})

t.test('API endpoints have no per-address request cap: a gateway introspecting 400 tokens from one address', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  const api = await ctx.addClient({ grantTypes: ['client_credentials'], scopes: ['api'], introspect: true })
  const issued = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...FORM, authorization: basic(api.client.id, api.secret!) },
    payload: 'grant_type=client_credentials',
  })
  const accessToken = issued.json().access_token as string
  const statuses = new Map<number, number>()
  for (let i = 0; i < 400; i++) {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/introspect',
      remoteAddress: '10.1.2.3',
      headers: { ...FORM, authorization: basic(api.client.id, api.secret!) },
      payload: `token=${accessToken}`,
    })
    statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
  }
  t.same([...statuses], [[200, 400]], 'all 400 answered')
})

t.test('signup and forgot-password quotas: a stranger cannot block the owner’s own browser', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const owner = new Browser(ctx, { ip: '203.0.113.20' })
  t.equal((await owner.login(user.email, user.password)).statusCode, 303)
  owner.forgetSession()
  const forgot = (browser: Browser) => browser.submit('/forgot-password', '/forgot-password', { email: user.email })
  for (let i = 0; i < 3; i++) t.equal((await forgot(new Browser(ctx, { ip: `198.51.100.${i + 1}` }))).statusCode, 200)
  t.equal(
    (await forgot(new Browser(ctx, { ip: '198.51.100.50' }))).statusCode,
    429,
    'the shared per-address quota (FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT) is spent',
  )
  t.equal((await forgot(owner)).statusCode, 200, 'the owner’s browser has a quota of its own')

  const signup = (browser: Browser, name: string) =>
    browser.submit('/signup', '/signup', { name, email: user.email, password: 'a long enough passphrase' })
  for (let i = 0; i < 5; i++) await signup(new Browser(ctx, { ip: '198.51.100.60' }), 'X')
  t.equal((await signup(new Browser(ctx, { ip: '198.51.100.61' }), 'X')).statusCode, 429)
  t.equal((await signup(owner, 'Me')).statusCode, 200, 'signup too')
})

t.test('idp audit lists stored security events, filtered by user and time', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const other = await ctx.addUser()
  await new Browser(ctx, { ip: '127.0.0.1' }).login(user.email, 'wrong password here')
  await new Browser(ctx, { ip: '127.0.0.1' }).login(user.email, user.password)
  await new Browser(ctx, { ip: '127.0.0.1' }).login(other.email, other.password)
  const env = { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir, ISSUER: ctx.issuer, LOG_LEVEL: 'silent' }
  const out: string[] = []
  const code = await runCli(['audit', '--user', user.email.toUpperCase(), '--json'], {
    env,
    stdout: (line) => out.push(line),
    stderr: () => undefined,
    readStdin: async () => '',
  })
  t.equal(code, 0)
  const events = (JSON.parse(out.at(-1)!) as { events: { type: string; user_id: string | null }[] }).events
  t.same(
    events.map((e) => e.type),
    ['login_success'],
    'only this user’s attributed events (failures carry no user id)',
  )
  t.ok(events.every((e) => e.user_id === user.id))
  const all: string[] = []
  await runCli(['audit', '--since', '1h', '--type', 'login_failure', '--json'], {
    env,
    stdout: (line) => all.push(line),
    stderr: () => undefined,
    readStdin: async () => '',
  })
  t.equal((JSON.parse(all.at(-1)!) as { events: unknown[] }).events.length, 1)
  const bad: string[] = []
  t.equal(
    await runCli(['audit', '--since', 'yesterday'], {
      env,
      stdout: () => undefined,
      stderr: (line) => bad.push(line),
      readStdin: async () => '',
    }),
    1,
  )
})

t.test('reset form: posts with dead or missing reset tokens are failures per address', async (t) => {
  const ctx = await createTestApp(throttleApp({ IP_FAILURE_LIMIT: '10' }))
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
      payload: new URLSearchParams({
        _csrf: csrf,
        password: 'a brand new passphrase',
        password_confirm: 'a brand new passphrase',
      }).toString(),
    })
  for (let i = 0; i < 10; i++)
    t.equal((await post(`${jar.header()}; tessera_reset=made-up-token-${i}`)).statusCode, 400, 'the expired page')
  const blocked = await post(jar.header())
  t.equal(blocked.statusCode, 429)
  t.ok(Number(blocked.headers['retry-after']) > 0)
  const events = await ctx.deps.repos.auditEvents.list({ type: 'throttled', limit: 10 })
  t.equal(events.length, 1, 'recorded as a security event')
})

t.test('configuration: renamed limits stop the start with one line naming the new variable', async (t) => {
  const { loadConfig, obsoleteVariableWarnings } = await import('../../src/config/config.js')
  t.throws(() => loadConfig({ LOGIN_ACCOUNT_RATE_LIMIT: '5' }), /LOGIN_ACCOUNT_RATE_LIMIT: renamed LOGIN_FAILURE_LIMIT/)
  t.match(obsoleteVariableWarnings({ TOKEN_RATE_LIMIT: '300' }), [/TOKEN_RATE_LIMIT is no longer used/])
  t.same(obsoleteVariableWarnings({}), [])
})
