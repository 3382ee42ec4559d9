/**
 * Self-service signup through the real forms: the way in from an authorization request and back,
 * the password and field rules, duplicate and concurrent signups, SIGNUP=off, anti-forgery, the
 * per-address throttle, and email_verified until the mailed link is used.
 */
import type { LightMyRequestResponse } from 'fastify'
import t from 'tap'
import {
  authorize,
  claims,
  CookieJar,
  getPage,
  hiddenField,
  loginStatus,
  pkcePair,
  postForm,
  redeem,
  RP,
  signIn,
  signUp,
  userinfo,
} from '../helpers/client.js'
import { mailedApp, mailedPath } from '../helpers/smtp.js'
import type { TestApp } from '../helpers/test-app.js'

// The per-IP throttles count real time and app.inject is always 127.0.0.1; they are raised here
// except where the throttle is what is tested.
const NO_THROTTLE = {
  SIGNUP_RATE_LIMIT: '100000',
  LOGIN_RATE_LIMIT: '100000',
  LOGIN_FAILURE_LIMIT: '100000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
  IP_FAILURE_LIMIT: '100000',
}
const GOOD_PASSWORD = 'lantern quietly orbits'
const VERIFY_SUBJECT = 'Confirm your email address'
const ATTEMPT_SUBJECT = 'Someone tried to sign up with your address'

const TOO_SHORT = 'Use at least 8 characters (12 or more is better).'
const TOO_LONG = 'Use at most 1024 characters.'
const TOO_COMMON = 'This password is too common. Choose one that is harder to guess.'

function signupApp(t: { teardown(fn: () => unknown): void }, env: Record<string, string> = {}) {
  return mailedApp(t, { env: { ...NO_THROTTLE, ...env } })
}

/** Every stored account with this address (emails are stored lower-cased). */
async function accountsFor(ctx: TestApp, email: string) {
  return (await ctx.deps.repos.users.list()).filter((user) => user.email === email.toLowerCase())
}

/** The problem text rendered under a field, or null when the field is not marked. */
function fieldProblem(html: string, field: 'name' | 'email' | 'password'): string | null {
  const problem = new RegExp(`<p class="field-problem" id="${field}-problem">([^<]*)</p>`).exec(html)?.[1] ?? null
  const input = new RegExp(`<input id="${field}" [^>]*>`).exec(html)?.[0] ?? ''
  // The problem only counts when the input itself points at it.
  if (problem !== null && !/aria-invalid="true"/.test(input)) return null
  return problem
}

const inputValue = (html: string, field: string): string | undefined =>
  new RegExp(`<input id="${field}" [^>]*value="([^"]*)"`).exec(html)?.[1]

t.test('from an authorization request: login → signup → back to login with the same interaction → code', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const { client, secret } = await ctx.addClient({ name: 'Photo Album', grantTypes: ['authorization_code'] })
  const rp = { client, secret }

  // The standalone login page offers both links.
  const plain = await getPage(ctx, new CookieJar(), '/login')
  t.equal(plain.statusCode, 200)
  t.match(plain.body, '<a href="/signup">Create an account</a>')
  t.match(plain.body, '<a href="/forgot-password">')

  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const { response } = await authorize(ctx, jar, {
    response_type: 'code',
    client_id: client.id,
    redirect_uri: RP,
    scope: 'openid email',
    state: 'st-signup',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  })
  t.equal(response.statusCode, 303)
  const loginPath = response.headers.location ?? ''
  const interaction = new URLSearchParams(loginPath.split('?')[1]).get('interaction') ?? ''
  t.match(loginPath, /^\/login\?interaction=/)
  t.ok(interaction.length > 0, 'an interaction id')

  const login = await getPage(ctx, jar, loginPath)
  t.equal(login.statusCode, 200)
  t.match(login.body, `<a href="/signup?interaction=${interaction}">Create an account</a>`, 'the signup link carries the interaction')
  t.match(login.body, '<a href="/forgot-password">')

  const signupPage = await getPage(ctx, jar, `/signup?interaction=${interaction}`)
  t.equal(signupPage.statusCode, 200)
  t.match(signupPage.body, 'Photo Album', 'names the client')
  t.match(signupPage.body, `<a href="/login?interaction=${interaction}">Sign in</a>`, 'links back to the same login')
  t.equal(hiddenField(signupPage.body, 'interaction'), interaction)
  t.equal(signupPage.headers['cache-control'], 'no-store')

  const email = 'via.authorize@example.com'
  const done = await postForm(ctx, jar, '/signup', {
    _csrf: hiddenField(signupPage.body, '_csrf'),
    interaction,
    name: 'Via Authorize',
    email,
    password: GOOD_PASSWORD,
  })
  t.equal(done.statusCode, 200)
  t.match(done.body, /Check your email/)
  t.match(done.body, `<a class="button" href="/login?interaction=${interaction}">Continue to sign in</a>`)
  t.equal(done.headers['cache-control'], 'no-store')
  await smtp.waitFor((m) => m.to === email && m.subject === VERIFY_SUBJECT)

  // Continue to sign in: the parked authorization completes with the new account.
  const continued = await getPage(ctx, jar, `/login?interaction=${interaction}`)
  t.equal(continued.statusCode, 200)
  const signedIn = await postForm(ctx, jar, '/login', {
    _csrf: hiddenField(continued.body, '_csrf'),
    interaction: hiddenField(continued.body, 'interaction'),
    email,
    password: GOOD_PASSWORD,
  })
  t.equal(signedIn.statusCode, 303)
  const location = new URL(signedIn.headers.location ?? 'about:blank')
  t.equal(`${location.origin}${location.pathname}`, RP, 'back at the relying party')
  t.equal(location.searchParams.get('state'), 'st-signup')
  const code = location.searchParams.get('code') ?? ''
  t.ok(code.length > 0, 'with a code')
  const tokens = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(tokens.statusCode, 200)
  const account = (await accountsFor(ctx, email))[0]
  t.equal(claims(tokens.json().id_token as string)['sub'], account?.id, 'for the account just created')
})

t.test('password rules: refused with the message next to the field, and no account', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const cases: [string, string, string][] = [
    ['seven characters', 'abcdefg', TOO_SHORT],
    ['seven code points (eight UTF-16 units)', 'ab🔐defg', TOO_SHORT],
    ['a common password', 'password123', TOO_COMMON],
    ['a common password in other letter case', 'Password123', TOO_COMMON],
    ['a common keyboard run', 'qwertyuiop', TOO_COMMON],
    ['1025 characters', 'x'.repeat(1025), TOO_LONG],
  ]
  let n = 0
  for (const [label, password, message] of cases) {
    n += 1
    const email = `refused${n}@example.com`
    const response = await signUp(ctx, new CookieJar(), { name: 'Refused Person', email, password })
    t.equal(response.statusCode, 400, `${label}: 400`)
    t.equal(fieldProblem(response.body, 'password'), message, `${label}: the message under the password field`)
    t.equal(fieldProblem(response.body, 'email'), null, `${label}: the email is fine`)
    t.equal(response.headers['cache-control'], 'no-store')
    t.notMatch(response.body, password.length > 20 ? 'x'.repeat(20) : `value="${password}"`, `${label}: the password is not echoed`)
    t.same(await accountsFor(ctx, email), [], `${label}: no account`)
  }
  await ctx.deps.mail.idle()
  t.equal(smtp.messages.length, 0, 'no mail for refused signups')
})

t.test('password rules: what is accepted, judged exactly as typed', async (t) => {
  const { ctx } = await signupApp(t)
  const accepted: [string, string][] = [
    ['exactly 8 uncommon characters', 'zq7#Lm2!'],
    ['128 characters', 'kv9'.repeat(42) + 'Zq'],
    ['1024 characters', 'w'.repeat(1000) + 'z'.repeat(24)],
    ['unicode', 'пароль-密码-🔐-ünïcödé'],
  ]
  let n = 0
  for (const [label, password] of accepted) {
    n += 1
    const email = `accepted${n}@example.com`
    const response = await signUp(ctx, new CookieJar(), { name: 'Accepted Person', email, password })
    t.equal(response.statusCode, 200, `${label}: 200`)
    t.match(response.body, /Check your email/)
    t.equal((await accountsFor(ctx, email)).length, 1, `${label}: the account exists`)
    t.equal(await loginStatus(ctx, email, password), 303, `${label}: signs in`)
  }
  t.equal(accepted[1]![1].length, 128)

  // Spaces around the password are part of it: never trimmed away.
  const spaced = '  spaced out secret  '
  const email = 'spaces@example.com'
  t.equal((await signUp(ctx, new CookieJar(), { name: 'Spacey', email, password: spaced })).statusCode, 200)
  t.equal(await loginStatus(ctx, email, spaced.trim()), 401, 'the trimmed password fails')
  t.equal(await loginStatus(ctx, email, ` ${spaced}`), 401, 'an extra space fails')
  t.equal(await loginStatus(ctx, email, spaced), 303, 'exactly as typed works')
})

t.test('missing or invalid name and email: 400 with field messages, values re-filled and escaped', async (t) => {
  const { ctx, smtp } = await signupApp(t)

  const empty = await signUp(ctx, new CookieJar(), { name: '   ', email: '', password: GOOD_PASSWORD })
  t.equal(empty.statusCode, 400)
  t.equal(fieldProblem(empty.body, 'name'), 'Enter your name.')
  t.equal(fieldProblem(empty.body, 'email'), 'Enter an email address like name@example.com.')
  t.equal(fieldProblem(empty.body, 'password'), null)
  t.match(empty.body, 'Please correct the fields marked below.')

  const script = '<script>alert(1)</script> "Mallory"'
  const invalid = await signUp(ctx, new CookieJar(), { name: script, email: 'not-an-email', password: GOOD_PASSWORD })
  t.equal(invalid.statusCode, 400)
  t.equal(fieldProblem(invalid.body, 'email'), 'Enter an email address like name@example.com.')
  t.equal(fieldProblem(invalid.body, 'name'), null, 'the name itself is fine')
  t.equal(inputValue(invalid.body, 'email'), 'not-an-email', 'the email is re-filled')
  t.equal(inputValue(invalid.body, 'name'), '&lt;script&gt;alert(1)&lt;/script&gt; &quot;Mallory&quot;', 'the name is re-filled, escaped')
  t.notMatch(invalid.body, '<script>alert', 'the markup is never reflected raw')
  t.notMatch(invalid.body, GOOD_PASSWORD, 'the password is not re-filled')

  const problems: Record<string, string> = {
    'two@@example.com': 'Enter an email address like name@example.com.',
    'spaces in@example.com': 'An email address cannot contain spaces or invisible characters.',
    'no-dot@example': 'The part after @ is not a valid domain name.',
    [`${'a'.repeat(310)}@example.com`]: 'Enter an email address like name@example.com.',
  }
  for (const [email, problem] of Object.entries(problems)) {
    const response = await signUp(ctx, new CookieJar(), { name: 'Someone', email, password: GOOD_PASSWORD })
    t.equal(response.statusCode, 400, `${email.slice(0, 30)}: 400`)
    t.equal(fieldProblem(response.body, 'email'), problem, 'the reason is named')
  }

  const longName = await signUp(ctx, new CookieJar(), { name: 'n'.repeat(201), email: 'long.name@example.com', password: GOOD_PASSWORD })
  t.equal(longName.statusCode, 400)
  t.equal(fieldProblem(longName.body, 'name'), 'Use at most 200 characters.')
  t.equal(inputValue(longName.body, 'email'), 'long.name@example.com')

  // A form without the name field at all is malformed: refused before anything is stored.
  const jar = new CookieJar()
  const page = await getPage(ctx, jar, '/signup')
  const noName = await postForm(ctx, jar, '/signup', {
    _csrf: hiddenField(page.body, '_csrf'),
    email: 'no.name@example.com',
    password: GOOD_PASSWORD,
  })
  t.equal(noName.statusCode, 400)

  t.same(await ctx.deps.repos.users.list(), [], 'no account was created')
  await ctx.deps.mail.idle()
  t.equal(smtp.messages.length, 0, 'no mail')
})

t.test('signup with an existing email: same page, no second account, the owner is told, the new password is useless', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const owner = await ctx.addUser({ email: 'user@example.com', name: 'Original Owner' })
  const intruderPassword = 'intruder chooses this one'

  const fresh = await signUp(ctx, new CookieJar(), { name: 'Fresh', email: 'fresh@example.com', password: GOOD_PASSWORD })
  const same = await signUp(ctx, new CookieJar(), { name: 'Intruder', email: owner.email, password: intruderPassword })
  const upper = await signUp(ctx, new CookieJar(), { name: 'Intruder', email: 'USER@Example.com', password: intruderPassword })
  for (const [label, response] of [
    ['same address', same],
    ['other letter case', upper],
  ] as [string, LightMyRequestResponse][]) {
    t.equal(response.statusCode, 200, `${label}: 200`)
    t.equal(response.body, fresh.body, `${label}: the page a new account gets`)
  }

  const accounts = await accountsFor(ctx, owner.email)
  t.equal(accounts.length, 1, 'still one account')
  t.equal(accounts[0]?.id, owner.id)
  t.equal(accounts[0]?.name, 'Original Owner', 'the owner’s name is untouched')

  await ctx.deps.mail.idle()
  const attempts = smtp.to(owner.email).filter((m) => m.subject === ATTEMPT_SUBJECT)
  t.equal(attempts.length, 2, 'the owner gets a mail for each attempt')
  t.match(attempts[0]?.text ?? '', /Hello Original Owner,/)
  t.match(attempts[0]?.text ?? '', `${ctx.issuer}/forgot-password`)
  t.equal(smtp.to(owner.email).filter((m) => m.subject === VERIFY_SUBJECT).length, 0, 'no verification mail for the existing account')

  t.equal(await loginStatus(ctx, owner.email, intruderPassword), 401, 'the password typed at signup does not work')
  t.equal(await loginStatus(ctx, 'USER@Example.com', intruderPassword), 401)
  t.equal(await loginStatus(ctx, owner.email, owner.password), 303, 'the owner’s password still does')
})

t.test('two simultaneous signups for one fresh address: both 200, one account', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const email = 'race@example.com'
  const [a, b] = await Promise.all([
    signUp(ctx, new CookieJar(), { name: 'Racer A', email, password: 'first racer passphrase' }),
    signUp(ctx, new CookieJar(), { name: 'Racer B', email: 'Race@Example.com', password: 'second racer passphrase' }),
  ])
  t.equal(a.statusCode, 200)
  t.equal(b.statusCode, 200)
  t.equal((await accountsFor(ctx, email)).length, 1, 'exactly one account')
  await ctx.deps.mail.idle()
  t.equal(smtp.to(email).filter((m) => m.subject === VERIFY_SUBJECT).length, 1, 'one verification mail')
  t.equal(smtp.to(email).filter((m) => m.subject === ATTEMPT_SUBJECT).length, 1, 'the loser is reported to the winner')
  const works = [await loginStatus(ctx, email, 'first racer passphrase'), await loginStatus(ctx, email, 'second racer passphrase')].sort()
  t.same(works, [303, 401], 'exactly one of the two passwords works')
})

t.test('SIGNUP=off: no signup page, no signup form, no link', async (t) => {
  const { ctx, smtp } = await signupApp(t, { SIGNUP: 'off' })
  const jar = new CookieJar()
  const login = await getPage(ctx, jar, '/login')
  t.equal(login.statusCode, 200)
  t.notMatch(login.body, '/signup', 'no link to /signup')
  t.notMatch(login.body, 'Create an account')
  t.match(login.body, '<a href="/forgot-password">', 'the forgot-password link stays')

  t.equal((await getPage(ctx, jar, '/signup')).statusCode, 404)
  t.equal((await getPage(ctx, jar, '/signup?interaction=abc')).statusCode, 404)
  // A valid anti-forgery token, so the 404 comes from SIGNUP=off and not from the form guards.
  const post = await postForm(ctx, jar, '/signup', {
    _csrf: hiddenField(login.body, '_csrf'),
    interaction: '',
    name: 'Nobody',
    email: 'off@example.com',
    password: GOOD_PASSWORD,
  })
  t.equal(post.statusCode, 404)
  t.same(await ctx.deps.repos.users.list(), [], 'no account')
  await ctx.deps.mail.idle()
  t.equal(smtp.messages.length, 0, 'no mail')
})

t.test('cross-site or token-less signup posts: 403, no account', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const jar = new CookieJar()
  const page = await getPage(ctx, jar, '/signup')
  const csrf = hiddenField(page.body, '_csrf')
  const fields = { interaction: '', name: 'Forged', email: 'forged@example.com', password: GOOD_PASSWORD }

  t.equal((await postForm(ctx, jar, '/signup', { ...fields, _csrf: csrf }, 'https://evil.example')).statusCode, 403, 'a foreign Origin')
  t.equal((await postForm(ctx, jar, '/signup', fields)).statusCode, 403, 'no anti-forgery token')
  t.equal(
    (await postForm(ctx, jar, '/signup', { ...fields, _csrf: `${csrf.slice(0, -2)}xx` })).statusCode,
    403,
    'a wrong anti-forgery token',
  )
  t.equal((await postForm(ctx, new CookieJar(), '/signup', { ...fields, _csrf: csrf })).statusCode, 403, 'a token without its cookie')
  const fetchSite = await ctx.app.inject({
    method: 'POST',
    url: '/signup',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), 'sec-fetch-site': 'cross-site' },
    payload: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
  })
  t.equal(fetchSite.statusCode, 403, 'Sec-Fetch-Site: cross-site')
  t.same(await ctx.deps.repos.users.list(), [], 'no account')
  await ctx.deps.mail.idle()
  t.equal(smtp.messages.length, 0, 'no mail')

  // Control: the same browser and token, posted from our own origin, work.
  t.equal((await postForm(ctx, jar, '/signup', { ...fields, _csrf: csrf })).statusCode, 200)
  t.equal((await accountsFor(ctx, fields.email)).length, 1)
})

t.test('per-address throttle: the 6th signup for one email within 15 minutes gets 429 with Retry-After', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const email = 'throttled@example.com'
  // Five signups for one address (letter case varies: it is still one address): one account, four duplicates.
  for (const variant of [email, 'Throttled@example.com', email, 'THROTTLED@EXAMPLE.COM', email]) {
    t.equal((await signUp(ctx, new CookieJar(), { name: 'Tries', email: variant, password: GOOD_PASSWORD })).statusCode, 200)
  }
  const sixth = await signUp(ctx, new CookieJar(), { name: 'Tries', email: 'Throttled@Example.com', password: GOOD_PASSWORD })
  t.equal(sixth.statusCode, 429, 'the sixth is refused')
  const retryAfter = Number(sixth.headers['retry-after'])
  t.ok(
    Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 15 * 60,
    `Retry-After: ${String(sixth.headers['retry-after'])} seconds`,
  )
  t.notMatch(sixth.body, /Check your email/)
  t.equal((await accountsFor(ctx, email)).length, 1, 'one account')
  await ctx.deps.mail.idle()
  t.equal(
    smtp.to(email).filter((m) => m.subject === ATTEMPT_SUBJECT).length,
    4,
    'only the four duplicates before the limit were mailed about',
  )

  // Another address from the same IP is not affected.
  const other = await signUp(ctx, new CookieJar(), { name: 'Other', email: 'other@example.com', password: GOOD_PASSWORD })
  t.equal(other.statusCode, 200)
  t.equal((await accountsFor(ctx, 'other@example.com')).length, 1)
})

t.test('a new account has email_verified false in userinfo until the link is used', async (t) => {
  const { ctx, smtp } = await signupApp(t)
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code'] })
  const rp = { client, secret }
  const email = 'unverified@example.com'
  t.equal((await signUp(ctx, new CookieJar(), { name: 'Not Yet', email, password: GOOD_PASSWORD })).statusCode, 200)
  const user = { id: '', email, password: GOOD_PASSWORD, name: 'Not Yet' }

  const before = await signIn(ctx, rp, user, { scope: 'openid email' })
  const info = (await userinfo(ctx, before.tokens.access_token)).json()
  t.equal(info.email, email)
  t.equal(info.email_verified, false)
  t.equal(claims(before.tokens.id_token!)['email_verified'], false, 'the ID token agrees')

  const mail = await smtp.waitFor((m) => m.to === email && m.subject === VERIFY_SUBJECT)
  t.equal((await getPage(ctx, new CookieJar(), mailedPath(ctx, mail, '/verify-email'))).headers.location, '/verify-email?status=verified')

  const after = await signIn(ctx, rp, user, { scope: 'openid email' })
  t.equal((await userinfo(ctx, after.tokens.access_token)).json().email_verified, true)
})

t.test('signup → verification mail → link → email_verified true in userinfo and ID token', async (t) => {
  const { ctx, smtp } = await mailedApp(t)
  const jar = new CookieJar()
  const email = 'new.person@example.com'
  const response = await signUp(ctx, jar, { name: 'New Person', email, password: 'a long and unusual passphrase' })
  t.equal(response.statusCode, 200)
  t.match(response.body, /Check your email/)
  const mail = await smtp.waitFor((m) => m.to === email && /Confirm your email/.test(m.subject))
  t.equal(mail.from, 'idp@example.com', 'sent from MAIL_FROM')
  t.match(mail.html, /<a href="http:\/\/localhost:3000\/verify-email\?token=/, 'the HTML body links to the issuer')

  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp = { client, secret }
  const user = { id: '', email, password: 'a long and unusual passphrase', name: 'New Person' }
  const before = await signIn(ctx, rp, user, { scope: 'openid email' })
  const info = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${before.tokens.access_token}` } })
  t.equal(info.json().email_verified, false, 'not verified before the link is used')

  const path = mailedPath(ctx, mail, '/verify-email')
  const visit = await getPage(ctx, new CookieJar(), path)
  t.equal(visit.statusCode, 303)
  t.equal(visit.headers.location, '/verify-email?status=verified', 'the token leaves the URL')
  const again = await getPage(ctx, new CookieJar(), path)
  t.equal(again.headers.location, '/verify-email?status=invalid', 'the link works once')

  const after = await signIn(ctx, rp, user, { scope: 'openid email' })
  const info2 = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${after.tokens.access_token}` } })
  t.equal(info2.json().email_verified, true)
})
