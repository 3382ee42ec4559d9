/**
 * Login throttling that never locks out the legitimate (docs/security.md §H8, §H10): failures are
 * throttled, successes never are; a browser that signed in before (device cookie) is limited only
 * by its own failures; the per-address cap is a flood guard far above real use. Each scenario is
 * one an outside review reproduced against the old design.
 */
import t from 'tap'
import { Browser } from '../helpers/client.js'
import { createTestApp, type TestApp, type TestAppOptions } from '../helpers/test-app.js'
import { fastHasher } from '../helpers/fast-hasher.js'

/** Hundreds of login attempts: a cheap (still argon2id) hasher keeps them quick on a loaded machine. */
const throttleApp = (env: Record<string, string> = {}): TestAppOptions => ({ env, overrides: { hasher: fastHasher() } })

/** Signs in at the login page from this browser: the status (303 signed in, 401 refused, 429 throttled). */
const login = async (browser: Browser, email: string, password: string): Promise<number> =>
  (await browser.login(email, password)).statusCode

/** The same from a new browser at this address. */
const loginFrom = (app: TestApp, ip: string, email: string, password: string): Promise<number> =>
  login(new Browser(app, { ip }), email, password)

t.test('login: the owner is never locked out by failures made elsewhere', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  const victim = await ctx.addUser()

  // The review's scenario: ten wrong passwords from two addresses, then the owner from a third.
  for (let i = 0; i < 10; i++) t.equal(await loginFrom(ctx, `198.51.100.${1 + (i % 2)}`, victim.email, 'not the password'), 401)
  const owner = new Browser(ctx, { ip: '203.0.113.10' })
  t.equal(await login(owner, victim.email, victim.password), 303, 'the owner signs in from a third address, even from a new browser')
  t.ok(owner.jar.cookies.has('tessera_device'), 'and the browser now carries a device cookie')
})

t.test('login: a distributed guess blocks unknown browsers for the account, never the owner’s', async (t) => {
  // LOGIN_ACCOUNT_FAILURE_LIMIT (default 50) lowered to keep the test short; the rule is the same.
  const ctx = await createTestApp(throttleApp({ LOGIN_ACCOUNT_FAILURE_LIMIT: '12' }))
  t.teardown(() => ctx.close())
  const victim = await ctx.addUser()
  const owner = new Browser(ctx, { ip: '203.0.113.10' })
  t.equal(await login(owner, victim.email, victim.password), 303)
  owner.forgetSession()
  // Twelve failures from six addresses: no (account, address) pair reaches its own limit.
  for (let i = 0; i < 12; i++) t.equal(await loginFrom(ctx, `192.0.2.${1 + (i % 6)}`, victim.email, `guess ${i}`), 401)
  const stranger = new Browser(ctx, { ip: '203.0.113.99' })
  const refused = await stranger.login(victim.email, victim.password)
  t.equal(refused.statusCode, 429, 'a browser that never signed in to the account waits, even with the right password')
  t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After')
  owner.ip = '203.0.113.11'
  t.equal(await login(owner, victim.email, victim.password), 303, 'the browser that signed in before is not blocked, from any address')
  t.equal(await login(owner, victim.email.toUpperCase(), victim.password), 303, 'any spelling of the address counts as the same account')

  const events = await ctx.deps.repos.auditEvents.list({ limit: 1000 })
  t.ok(
    events.some((e) => e.type === 'throttled'),
    'throttling is a stored security event',
  )
  t.notMatch(JSON.stringify(events), victim.password, 'no password in the audit trail')
})

t.test('login: failures count per (account, address) and per trusted browser', async (t) => {
  const ctx = await createTestApp(throttleApp({ LOGIN_FAILURE_LIMIT: '5' }))
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const other = await ctx.addUser()
  const attacker = new Browser(ctx, { ip: '198.51.100.7' })
  for (let i = 0; i < 5; i++) t.equal(await login(attacker, user.email, 'wrong password'), 401)
  const blocked = await new Browser(ctx, { ip: '198.51.100.7' }).login(user.email, user.password)
  t.equal(blocked.statusCode, 429, 'LOGIN_FAILURE_LIMIT failures block the pair (account, address) for unknown browsers')
  t.equal(blocked.headers['retry-after'], '60', 'the first block lasts a minute')
  t.equal(await loginFrom(ctx, '198.51.100.8', user.email, user.password), 303, 'the account from another address is not blocked')
  t.equal(await loginFrom(ctx, '198.51.100.7', other.email, other.password), 303, 'nor another account from that address')
  ctx.clock.advance(61)
  t.equal(await loginFrom(ctx, '198.51.100.7', user.email, user.password), 303, 'the block lifts by itself')

  // A trusted browser's own failures still count, against it alone.
  const laptop = new Browser(ctx, { ip: '203.0.113.5' })
  t.equal(await login(laptop, user.email, user.password), 303)
  laptop.forgetSession()
  for (let i = 0; i < 5; i++) t.equal(await login(laptop, user.email, 'mistyped'), 401)
  t.equal(await login(laptop, user.email, user.password), 429, 'a trusted browser that keeps failing is blocked too')
  t.equal(await loginFrom(ctx, '203.0.113.5', user.email, user.password), 303, 'but nothing else is, not even at its address')
})

t.test('login: one address failing across many accounts is blocked for unknown browsers only (IP_FAILURE_LIMIT)', async (t) => {
  const ctx = await createTestApp(throttleApp({ IP_FAILURE_LIMIT: '20' }))
  t.teardown(() => ctx.close())
  const user = await ctx.addUser()
  const regular = new Browser(ctx, { ip: '192.0.2.200' })
  t.equal(await login(regular, user.email, user.password), 303)
  regular.forgetSession()
  for (let i = 0; i < 20; i++)
    t.equal(await loginFrom(ctx, '192.0.2.7', `nobody${i}@example.com`, 'guess'), 401, 'unknown emails count like known ones')
  t.equal(await loginFrom(ctx, '192.0.2.7', user.email, user.password), 429, 'the address is blocked for browsers without a device cookie')
  regular.ip = '192.0.2.7'
  t.equal(await login(regular, user.email, user.password), 303, 'a browser that signed in before still gets in from there')
  t.equal(await loginFrom(ctx, '192.0.2.8', user.email, user.password), 303, 'other addresses are not affected')
})

t.test('login: successes are never counted; the flood guard is far above real use and skips trusted browsers', async (t) => {
  const ctx = await createTestApp(throttleApp())
  t.teardown(() => ctx.close())
  t.equal(ctx.deps.config.loginRateLimit, 300, 'LOGIN_RATE_LIMIT defaults to 300 posts per address per minute')
  // An office behind one NAT address: 40 people sign in within a minute.
  const users = await Promise.all(Array.from({ length: 40 }, () => ctx.addUser()))
  const statuses = []
  for (const user of users) statuses.push(await loginFrom(ctx, '203.0.113.1', user.email, user.password))
  t.same(
    statuses,
    users.map(() => 303),
    'all 40 signed in',
  )

  const small = await createTestApp(throttleApp({ LOGIN_RATE_LIMIT: '3' }))
  t.teardown(() => small.close())
  const user = await small.addUser()
  const known = new Browser(small, { ip: '198.51.100.1' })
  t.equal(await login(known, user.email, user.password), 303)
  known.forgetSession()
  for (let i = 0; i < 3; i++) await new Browser(small, { ip: '198.51.100.1' }).login(`flood${i}@example.com`, 'x')
  t.equal(await loginFrom(small, '198.51.100.1', user.email, user.password), 429, 'beyond the cap, unknown browsers at that address wait')
  t.equal(await login(known, user.email, user.password), 303, 'a browser with the account’s device cookie is not counted')
})
