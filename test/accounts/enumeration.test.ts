/**
 * Account enumeration (docs/security.md §H, OWASP Authentication Cheat Sheet): /forgot-password and
 * /signup must not tell whether an address has an account — not by status, body, headers or
 * (roughly) timing — and their throttles count addresses as typed, known or not.
 */
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import { CookieJar, forgotPassword, getPage, hiddenField, postForm, signInAtLoginPage, signUp } from '../helpers/client.js'
import { mailedApp } from '../helpers/smtp.js'
import type { TestApp } from '../helpers/test-app.js'

type Assert = Pick<typeof t, 'equal' | 'same' | 'ok'>

// The per-IP limits (@fastify/rate-limit) count real time per IP, and app.inject always comes from
// 127.0.0.1; the per-address quotas are counted in the database on the injected clock. Tests that
// are not about throttling raise them all.
const NO_THROTTLE = {
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
  FORGOT_PASSWORD_RATE_LIMIT: '100000',
  FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT: '100000',
  SIGNUP_RATE_LIMIT: '100000',
}
const PASSWORD = 'a long and unusual passphrase'

/**
 * Headers whose value changes from one request to the next whatever the email: the date, and the
 * per-IP throttle's countdown (remaining requests, seconds to the window's end). Their names must
 * still match; every other header must match by name and value.
 */
const VARYING = new Set(['date', 'x-ratelimit-remaining', 'x-ratelimit-reset'])

function assertIndistinguishable(t: Assert, a: LightMyRequestResponse, b: LightMyRequestResponse, what: string): void {
  t.equal(a.statusCode, b.statusCode, `${what}: same status`)
  t.ok(a.rawPayload.equals(b.rawPayload), `${what}: byte-identical bodies`)
  t.same(Object.keys(a.headers).sort(), Object.keys(b.headers).sort(), `${what}: same header names`)
  const stable = (r: LightMyRequestResponse) => Object.fromEntries(Object.entries(r.headers).filter(([name]) => !VARYING.has(name)))
  t.same(stable(a), stable(b), `${what}: same header values (but ${[...VARYING].join(', ')})`)
}

/** A browser that has loaded the form once and then posts it as often as asked. */
async function formPoster(ctx: TestApp, page: string) {
  const jar = new CookieJar()
  const form = await getPage(ctx, jar, page)
  if (form.statusCode !== 200) throw new Error(`${page} answered ${form.statusCode}`)
  const csrf = hiddenField(form.body, '_csrf')
  return (url: string, fields: Record<string, string>) => postForm(ctx, jar, url, { _csrf: csrf, ...fields })
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

async function timed(request: () => Promise<LightMyRequestResponse>): Promise<number> {
  const start = performance.now()
  const response = await request()
  const elapsed = performance.now() - start
  if (response.statusCode !== 200) throw new Error(`timed request answered ${response.statusCode}`)
  return elapsed
}

/** Known and unknown requests interleaved (so drift hits both alike) after a warm-up of each. */
async function compareTimings(
  count: number,
  known: (i: number) => Promise<LightMyRequestResponse>,
  unknown: (i: number) => Promise<LightMyRequestResponse>,
) {
  await timed(() => known(count))
  await timed(() => unknown(count))
  const knownMs: number[] = []
  const unknownMs: number[] = []
  for (let i = 0; i < count; i += 1) {
    if (i % 2 === 0) {
      knownMs.push(await timed(() => known(i)))
      unknownMs.push(await timed(() => unknown(i)))
    } else {
      unknownMs.push(await timed(() => unknown(i)))
      knownMs.push(await timed(() => known(i)))
    }
  }
  return { known: median(knownMs), unknown: median(unknownMs) }
}

t.test('/forgot-password answers an existing, a disabled and an unknown address identically', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: NO_THROTTLE })
  const known = await ctx.addUser()
  const disabled = await ctx.addUser()
  await ctx.deps.repos.users.disable(disabled.id, ctx.clock.now())

  const forKnown = await forgotPassword(ctx, new CookieJar(), known.email)
  const forUnknown = await forgotPassword(ctx, new CookieJar(), 'no.such.person@example.com')
  const forDisabled = await forgotPassword(ctx, new CookieJar(), disabled.email)
  t.equal(forKnown.statusCode, 200)
  t.match(forKnown.body, /If an account uses this address/)
  assertIndistinguishable(t, forKnown, forUnknown, 'known vs unknown')
  assertIndistinguishable(t, forKnown, forDisabled, 'known vs disabled')
  t.notOk('set-cookie' in forKnown.headers, 'no cookie that could differ')

  // The same browser asking for both in a row: still the same.
  const post = await formPoster(ctx, '/forgot-password')
  const again = [
    await post('/forgot-password', { email: 'no.such.person@example.com' }),
    await post('/forgot-password', { email: known.email }),
  ]
  assertIndistinguishable(t, again[1]!, again[0]!, 'known vs unknown, one browser')
  // And an address that differs only in letter case from a known one.
  assertIndistinguishable(
    t,
    await post('/forgot-password', { email: known.email.toUpperCase() }),
    again[0]!,
    'known (upper case) vs unknown',
  )

  // Control: the known address really was treated as known (a mail went out), the others not.
  await smtp.waitFor((m) => m.to === known.email && m.subject === 'Reset your password')
  await ctx.deps.mail.idle()
  t.same([...new Set(smtp.messages.map((m) => m.to))], [known.email], 'mail only for the existing, enabled account')
})

t.test('/signup with a taken address answers like a fresh signup and changes nothing', async (t) => {
  const { ctx, smtp } = await mailedApp(t, { env: NO_THROTTLE })
  const owner = await ctx.addUser({ name: 'Original Owner', emailVerified: false })
  const fresh = 'brand.new@example.com'

  const forTaken = await signUp(ctx, new CookieJar(), { name: 'Intruder', email: owner.email, password: PASSWORD })
  const forFresh = await signUp(ctx, new CookieJar(), { name: 'Newcomer', email: fresh, password: PASSWORD })
  t.equal(forFresh.statusCode, 200)
  t.match(forFresh.body, /Check your email/)
  assertIndistinguishable(t, forTaken, forFresh, 'taken vs fresh')
  t.notOk('set-cookie' in forTaken.headers, 'neither signs anyone in')
  const forTakenUpper = await signUp(ctx, new CookieJar(), { name: 'Intruder', email: owner.email.toUpperCase(), password: PASSWORD })
  assertIndistinguishable(t, forTakenUpper, forFresh, 'taken (upper case) vs fresh')

  const attempt = await smtp.waitFor((m) => m.to === owner.email && m.subject === 'Someone tried to sign up with your address')
  t.match(attempt.text, /Hello Original Owner,/, 'addressed with the owner’s name, not the one typed')
  t.notMatch(attempt.text, /Intruder/)
  t.match(attempt.text, new RegExp(`${ctx.issuer}/forgot-password`), 'offers a password reset')
  await smtp.waitFor((m) => m.to === fresh && m.subject === 'Confirm your email address')
  await ctx.deps.mail.idle()
  t.same(
    smtp.to(owner.email).map((m) => m.subject),
    ['Someone tried to sign up with your address', 'Someone tried to sign up with your address'],
    'the owner gets one notice per attempt and no verification link',
  )

  const users = await ctx.deps.repos.users.list()
  t.same(users.map((u) => u.email).sort(), [owner.email, fresh].sort(), 'no second account for the taken address')
  const stored = users.find((u) => u.email === owner.email)
  t.equal(stored?.id, owner.id)
  t.equal(stored?.name, 'Original Owner', 'the name was not overwritten')
  t.equal(stored?.emailVerified, false)
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), owner.email, owner.password)).statusCode, 303, 'the existing password still works')
  t.equal((await signInAtLoginPage(ctx, new CookieJar(), owner.email, PASSWORD)).statusCode, 401, 'the password typed at signup does not')
})

t.test('/forgot-password takes about as long for known and unknown addresses', async (t) => {
  const { ctx } = await mailedApp(t, { env: NO_THROTTLE })
  const known = await ctx.addUser()
  const post = await formPoster(ctx, '/forgot-password')
  const { known: knownMs, unknown: unknownMs } = await compareTimings(
    15,
    () => post('/forgot-password', { email: known.email }),
    (i) => post('/forgot-password', { email: `nobody-${i}@example.com` }),
  )
  await ctx.deps.mail.idle()
  const bound = Math.max(25, 0.5 * Math.max(knownMs, unknownMs))
  t.ok(
    Math.abs(knownMs - unknownMs) < bound,
    `median known ${knownMs.toFixed(1)} ms vs unknown ${unknownMs.toFixed(1)} ms (bound ${bound.toFixed(1)} ms)`,
  )
})

t.test('/signup takes about as long for taken and fresh addresses', async (t) => {
  const { ctx } = await mailedApp(t, { env: NO_THROTTLE })
  // The per-address signup throttle is fixed (5 per 15 minutes): one known user per attempt.
  const owners: { email: string }[] = []
  for (let i = 0; i <= 15; i += 1) owners.push(await ctx.addUser())
  const post = await formPoster(ctx, '/signup')
  const signup = (email: string) => post('/signup', { interaction: '', name: 'Timing Probe', email, password: PASSWORD })
  const { known: takenMs, unknown: freshMs } = await compareTimings(
    15,
    (i) => signup(owners[i]!.email),
    (i) => signup(`fresh-${i}@example.com`),
  )
  await ctx.deps.mail.idle()
  t.equal((await ctx.deps.repos.users.list()).length, 16 + 16, 'every fresh address made an account, no taken one did')
  const bound = Math.max(75, 0.75 * Math.max(takenMs, freshMs))
  t.ok(
    Math.abs(takenMs - freshMs) < bound,
    `median taken ${takenMs.toFixed(1)} ms vs fresh ${freshMs.toFixed(1)} ms (bound ${bound.toFixed(1)} ms)`,
  )
})

t.test('/forgot-password is throttled per address (known or not) with the default limit', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const known = await ctx.addUser()
  const unknown = 'nobody@example.com'
  const post = await formPoster(ctx, '/forgot-password')
  const answers = { known: [] as LightMyRequestResponse[], unknown: [] as LightMyRequestResponse[] }
  for (let i = 0; i < 4; i += 1) {
    answers.known.push(await post('/forgot-password', { email: known.email }))
    answers.unknown.push(await post('/forgot-password', { email: unknown }))
  }
  t.same(
    answers.known.map((r) => r.statusCode),
    [200, 200, 200, 429],
    'FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT (3) per 15 minutes, then 429',
  )
  t.same(
    answers.unknown.map((r) => r.statusCode),
    [200, 200, 200, 429],
    'the same for an unknown address',
  )
  for (const [name, limited] of [
    ['known', answers.known[3]!],
    ['unknown', answers.unknown[3]!],
  ] as const) {
    const retryAfter = Number(limited.headers['retry-after'])
    t.ok(
      Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 15 * 60,
      `${name}: Retry-After ${String(limited.headers['retry-after'])} s within the 15-minute window`,
    )
    t.match(limited.body, /Too many attempts/)
  }
  t.ok(answers.known[3]!.rawPayload.equals(answers.unknown[3]!.rawPayload), 'the 429 page does not tell them apart either')
  t.same(Object.keys(answers.known[3]!.headers).sort(), Object.keys(answers.unknown[3]!.headers).sort())

  // Per address, not per browser: another address is still served (and by letter case, one address).
  t.equal((await post('/forgot-password', { email: 'someone.else@example.com' })).statusCode, 200)
  t.equal((await post('/forgot-password', { email: known.email.toUpperCase() })).statusCode, 429, 'the limit ignores letter case')
  await ctx.deps.mail.idle()
  t.equal(smtp.to(known.email).length, 3, 'the throttled request sent no mail')
})

t.test('/forgot-password has a per-address flood guard (FORGOT_PASSWORD_RATE_LIMIT)', async (t) => {
  t.equal(
    (await mailedApp(t)).ctx.deps.config.forgotPasswordRateLimit,
    100,
    'by default 100 requests per address per 10 minutes: far above one office',
  )
  const { ctx } = await mailedApp(t, { env: { FORGOT_PASSWORD_RATE_LIMIT: '10' } })
  const post = await formPoster(ctx, '/forgot-password')
  const statuses = []
  for (let i = 0; i < 10; i += 1) statuses.push((await post('/forgot-password', { email: `person-${i}@example.com` })).statusCode)
  t.same(statuses, Array(10).fill(200), 'FORGOT_PASSWORD_RATE_LIMIT (10) different addresses are served')
  const limited = await post('/forgot-password', { email: 'person-10@example.com' })
  t.equal(limited.statusCode, 429, 'the 11th from this IP is refused')
  const retryAfter = Number(limited.headers['retry-after'])
  t.ok(
    Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 10 * 60,
    `Retry-After ${String(limited.headers['retry-after'])} s within the 10-minute window`,
  )
  t.equal(limited.headers['x-ratelimit-limit'], '10')

  // Another client address is not affected.
  const jar = new CookieJar()
  const form = await getPage(ctx, jar, '/forgot-password')
  const elsewhere = await ctx.app.inject({
    method: 'POST',
    url: '/forgot-password',
    remoteAddress: '192.0.2.7',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), origin: new URL(ctx.issuer).origin },
    payload: new URLSearchParams({ _csrf: hiddenField(form.body, '_csrf'), email: 'person-11@example.com' }).toString(),
  })
  t.equal(elsewhere.statusCode, 200, 'another IP address is still served')
})

t.test('a per-address block lifts when its window has passed (FakeClock)', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const known = await ctx.addUser()
  const post = await formPoster(ctx, '/forgot-password')
  const ask = () => post('/forgot-password', { email: known.email })
  t.same([(await ask()).statusCode, (await ask()).statusCode, (await ask()).statusCode], [200, 200, 200])
  const blocked = await ask()
  t.equal(blocked.statusCode, 429)
  t.equal(blocked.headers['retry-after'], String(15 * 60), 'blocked for the 15-minute window')
  ctx.clock.advance(14 * 60)
  const stillBlocked = await ask()
  t.equal(stillBlocked.statusCode, 429, 'still blocked after 14 minutes')
  t.equal(stillBlocked.headers['retry-after'], '60', 'Retry-After counts down with the clock')
  ctx.clock.advance(60)
  t.equal((await ask()).statusCode, 200, 'served again once the window has passed')
  await smtp.waitFor((m) => m.to === known.email && smtp.to(known.email).length === 4)
  await ctx.deps.mail.idle()
  t.equal(smtp.to(known.email).length, 4, 'three mails before the block, one after it lifted')
})

t.test('/signup is throttled per address, taken or not, and the 429 tells nothing', async (t) => {
  const { ctx } = await mailedApp(t, { env: { SIGNUP_RATE_LIMIT: '100000' } })
  const owner = await ctx.addUser()
  const post = await formPoster(ctx, '/signup')
  const signup = (email: string) => post('/signup', { interaction: '', name: 'Repeat', email, password: PASSWORD })
  const taken: LightMyRequestResponse[] = []
  const fresh: LightMyRequestResponse[] = []
  for (let i = 0; i < 6; i += 1) {
    taken.push(await signup(owner.email))
    fresh.push(await signup('never.seen@example.com'))
  }
  t.same(
    taken.map((r) => r.statusCode),
    [200, 200, 200, 200, 200, 429],
    'five per address per 15 minutes',
  )
  t.same(
    fresh.map((r) => r.statusCode),
    [200, 200, 200, 200, 200, 429],
    'the same for an address without an account',
  )
  assertIndistinguishable(t, taken[5]!, fresh[5]!, 'the 429s')
  t.ok(Number(taken[5]!.headers['retry-after']) > 0, 'with Retry-After')
})

t.test('configured forgot-password limits are honoured', async (t) => {
  const { ctx } = await mailedApp(t, { env: { FORGOT_PASSWORD_RATE_LIMIT: '4', FORGOT_PASSWORD_ACCOUNT_RATE_LIMIT: '1' } })
  const post = await formPoster(ctx, '/forgot-password')
  t.equal((await post('/forgot-password', { email: 'a@example.com' })).statusCode, 200)
  t.equal((await post('/forgot-password', { email: 'a@example.com' })).statusCode, 429, 'one per address')
  t.equal((await post('/forgot-password', { email: 'b@example.com' })).statusCode, 200)
  t.equal((await post('/forgot-password', { email: 'c@example.com' })).statusCode, 200)
  t.equal((await post('/forgot-password', { email: 'd@example.com' })).statusCode, 429, 'four per IP, the refused one included')
})
