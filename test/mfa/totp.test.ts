/**
 * Authenticator apps (RFC 6238) and recovery codes through the real pages: setup with the QR code
 * and the key as text, confirmation with a current code, recovery codes shown once, the code asked
 * after the password, no code accepted twice, recovery codes once each, amr/acr in the ID token,
 * mails for every change, removal, and the operator's reset (after which no old factor works);
 * secrets sealed and codes hashed in storage; failure counters cleared by a success; max_age.
 */
import t, { type Test } from 'tap'
import { createHash } from 'node:crypto'
import { runCli } from '../../src/cli/main.js'
import { cliFor } from '../helpers/cli.js'
import { mailedApp } from '../helpers/smtp.js'
import { fastHasher } from '../helpers/fast-hasher.js'
import { SoftAuthenticator } from '../helpers/soft-authenticator.js'
import { addPasskey, location, MfaBrowser, passkeySignIn, relyingParty, totpCode, type PasskeyOptions } from './support.js'

async function app(t: Test, env: Record<string, string> = {}) {
  return mailedApp(t, { env, overrides: { hasher: fastHasher() } })
}

/** Sets up an authenticator app for a signed-in browser; returns the key and the recovery codes. */
async function setUpApp(t: Test, browser: MfaBrowser): Promise<{ secret: string; codes: string[] }> {
  t.equal(location(await browser.post('/account/totp/setup', {})), '/account/totp', 'setup leads to the QR code page')
  const page = await browser.get('/account/totp')
  t.match(
    page.body,
    /<img class="qr" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="QR code/,
    'a QR code rendered on the server, as an image from a data URI',
  )
  const secret = /<code class="secret" id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page.body)?.[1]
  if (!secret) throw new Error('no key on the setup page')
  t.match(
    page.body,
    /name="code" type="text" inputmode="numeric" autocomplete="one-time-code"/,
    'a code field named code, for one-time codes',
  )
  const wrong = await browser.post('/account/totp', { code: '000000' }, '/account/totp')
  t.equal(wrong.statusCode, 400, 'a wrong code does not turn it on')
  const confirmed = await browser.post('/account/totp', { code: await totpCode(browser.ctx, secret) }, '/account/totp')
  t.equal(confirmed.statusCode, 200, 'the first factor comes with recovery codes, shown at once')
  const codes = [...confirmed.body.matchAll(/<li><code>([a-z2-9-]{19})<\/code><\/li>/g)].map((match) => match[1]!)
  t.equal(codes.length, 10, 'ten recovery codes')
  return { secret, codes }
}

t.test('set up, then every password sign-in asks for a code; amr and acr say so', async (t) => {
  const { ctx, smtp } = await app(t)
  const user = await ctx.addUser()
  const rp = await ctx.addClient({ name: 'Photos' })
  const browser = new MfaBrowser(ctx)
  t.equal(location(await browser.login(user.email, user.password)), '/account', 'no factor yet: the password is enough')
  const { secret, codes } = await setUpApp(t, browser)
  await ctx.deps.mail.idle()
  t.ok(
    smtp.to(user.email).some((mail) => /authenticator app was set up/.test(mail.subject)),
    'the owner is told',
  )
  const setupFailures = await ctx.deps.repos.auditEvents.list({ type: 'second_factor_failure', userId: user.id, limit: 5 })
  t.match(setupFailures, [{ detail: { factor: 'totp', stage: 'setup' } }], 'the wrong code at setup was audited')

  // Storage holds neither the key nor the codes (compare test/federation/oidc-upstream.test.ts).
  const plainKey = secret.replace(/\s/g, '')
  const [stored] = await ctx.deps.store.db.selectFrom('totp_factors').select('secret').where('user_id', '=', user.id).execute()
  t.ok(stored && stored.secret.length > 0, 'a stored secret')
  for (const form of [
    plainKey,
    plainKey.toLowerCase(),
    Buffer.from(plainKey).toString('base64'),
    Buffer.from(plainKey).toString('base64url'),
  ])
    t.notOk(stored!.secret.includes(form), 'the TOTP key is sealed, not stored as it is shown')
  const hashes = await ctx.deps.store.db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', user.id).execute()
  t.equal(hashes.length, 10)
  const storedText = hashes.map((row) => row.code_hash).join('\n')
  for (const code of codes) {
    t.notOk(storedText.includes(code) || storedText.includes(code.replace(/-/g, '')), 'no recovery code in storage')
    t.notOk(storedText.includes(createHash('sha256').update('').digest('hex')), 'nor the hash of nothing')
  }

  const relying = relyingParty(ctx, rp)
  const other = new MfaBrowser(ctx)
  const start = await other.get(relying.authorizeUrl())
  const loginPage = location(start)
  const interaction = new URL(loginPage, ctx.issuer).searchParams.get('interaction')!
  const afterPassword = await other.login(user.email, user.password, interaction)
  t.equal(location(afterPassword), '/login/second-factor', 'the password alone does not sign in')
  t.notOk(other.cookies.has('tessera_session'), 'no session exists yet')
  const page = await other.get('/login/second-factor')
  t.match(page.body, 'Code from your authenticator app')
  t.match(page.body, 'autocomplete="one-time-code"')

  ctx.clock.advance(60)
  const stale = await other.post('/login/second-factor', { code: await totpCode(ctx, secret, -300) }, '/login/second-factor')
  t.equal(stale.statusCode, 401, 'a code from five minutes ago is refused')
  const code = await totpCode(ctx, secret)
  const accepted = await other.post('/login/second-factor', { code }, '/login/second-factor')
  t.equal(accepted.statusCode, 303)
  t.match(location(accepted), /^https:\/\/rp\.example\/callback\?code=/, 'back at the relying party')
  const claims = await relying.idToken(location(accepted))
  t.same(claims['amr'], ['pwd', 'otp', 'mfa'], 'RFC 8176: password, one-time code, more than one factor')
  t.equal(claims['acr'], 'urn:tessera:mfa')
  t.match(claims['access'], { amr: ['pwd', 'otp', 'mfa'], acr: 'urn:tessera:mfa' }, 'the access token says it too')

  // The same code again, within its window: refused (RFC 6238 §5.2).
  const third = new MfaBrowser(ctx)
  t.equal(location(await third.login(user.email, user.password)), '/login/second-factor')
  t.equal((await third.post('/login/second-factor', { code }, '/login/second-factor')).statusCode, 401, 'a code works once')
  const events = await ctx.deps.repos.auditEvents.list({ type: 'second_factor_failure', limit: 10 })
  t.ok(events.length >= 2, 'refused codes are security events')
})

t.test('recovery codes: each works once, in the code field; the owner is told; new ones void the old', async (t) => {
  const { ctx, smtp } = await app(t)
  const user = await ctx.addUser()
  const setup = new MfaBrowser(ctx)
  await setup.login(user.email, user.password)
  const { codes } = await setUpApp(t, setup)

  const first = new MfaBrowser(ctx)
  await first.login(user.email, user.password)
  const used = await first.post('/login/second-factor', { code: codes[0]!.toUpperCase().replace(/-/g, ' ') }, '/login/second-factor')
  t.equal(location(used), '/account', 'a recovery code signs in (spaces and capitals do not matter)')
  await ctx.deps.mail.idle()
  t.ok(
    smtp.to(user.email).some((mail) => /recovery code was used/.test(mail.subject)),
    'a mail says a recovery code was used',
  )

  const again = new MfaBrowser(ctx)
  await again.login(user.email, user.password)
  t.equal(
    (await again.post('/login/second-factor', { code: codes[0]! }, '/login/second-factor')).statusCode,
    401,
    'the same code twice: refused',
  )

  const renewed = await first.post('/account/recovery-codes', {})
  t.equal(renewed.statusCode, 200, 'new codes are shown once')
  const fresh = [...renewed.body.matchAll(/<li><code>([a-z2-9-]{19})<\/code><\/li>/g)].map((match) => match[1]!)
  t.equal(fresh.length, 10)
  t.equal(
    (await again.post('/login/second-factor', { code: codes[1]! }, '/login/second-factor')).statusCode,
    401,
    'the old set no longer works',
  )
  t.equal(location(await again.post('/login/second-factor', { code: fresh[0]! }, '/login/second-factor')), '/account', 'the new set does')
})

t.test('failed codes are throttled per account for unknown browsers, never the owner’s browser', async (t) => {
  const { ctx } = await app(t, { LOGIN_FAILURE_LIMIT: '3' })
  const user = await ctx.addUser()
  const owner = new MfaBrowser(ctx)
  await owner.login(user.email, user.password)
  const { secret } = await setUpApp(t, owner)
  const attacker = new MfaBrowser(ctx)
  await attacker.login(user.email, user.password)
  for (let i = 0; i < 3; i++)
    t.equal((await attacker.post('/login/second-factor', { code: '123456' }, '/login/second-factor')).statusCode, 401)
  t.equal(
    (await attacker.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')).statusCode,
    429,
    'then even a right code waits',
  )

  // The owner's browser signed in before (device cookie): its own budget.
  owner.cookies.delete('tessera_session')
  await owner.login(user.email, user.password)
  ctx.clock.advance(30)
  t.equal(
    location(await owner.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')),
    '/account',
    'the owner is not locked out',
  )
})

t.test('removing the app needs a recent sign-in; afterwards the password is enough again and the codes are gone', async (t) => {
  const { ctx, smtp } = await app(t)
  const user = await ctx.addUser()
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  const { codes } = await setUpApp(t, browser)
  ctx.clock.advance(16 * 60)
  t.equal((await browser.post('/account/totp/remove', {})).statusCode, 403, 'a sign-in older than 15 minutes must be renewed first')
  browser.cookies.delete('tessera_session')
  await browser.login(user.email, user.password)
  t.equal(location(await browser.post('/login/second-factor', { code: codes[3]! }, '/login/second-factor')), '/account')
  t.equal(location(await browser.post('/account/totp/remove', {})), '/account?notice=totp-removed')
  t.equal(await ctx.deps.repos.recoveryCodes.countUnused(user.id), 0, 'recovery codes stand in for a factor that is gone: removed too')
  t.equal(location(await new MfaBrowser(ctx).login(user.email, user.password)), '/account', 'the password alone signs in again')
  await ctx.deps.mail.idle()
  t.ok(smtp.to(user.email).some((mail) => /authenticator app was removed/.test(mail.subject)))
})

t.test('idp users mfa-reset removes every factor, is audited, mails the user; idp users list shows factors', async (t) => {
  const { ctx, smtp } = await app(t)
  const user = await ctx.addUser()
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  await setUpApp(t, browser)
  const env = {
    DATABASE_URL: ctx.databaseUrl,
    KEYS_DIR: ctx.deps.config.keysDir,
    ISSUER: ctx.issuer,
    LOG_LEVEL: 'silent',
    SMTP_URL: ctx.deps.config.smtpUrl!,
  }
  const cli = async (args: string[]) => {
    const out: string[] = []
    const code = await runCli([...args, '--json'], {
      env,
      stdout: (line) => out.push(line),
      stderr: () => undefined,
      readStdin: async () => '',
    })
    return { code, json: JSON.parse(out.at(-1)!) as Record<string, unknown> }
  }
  const listed = await cli(['users', 'list'])
  t.match(
    (listed.json['users'] as Record<string, unknown>[]).find((entry) => entry['id'] === user.id),
    { factors: { passkeys: 0, totp: true, recovery_codes: 10 } },
  )
  const reset = await cli(['users', 'mfa-reset', user.email])
  t.equal(reset.code, 0)
  t.match(reset.json, { mfa_reset: user.email, removed: { totp: true, recovery_codes: 10 } })
  t.equal(location(await new MfaBrowser(ctx).login(user.email, user.password)), '/account', 'the password alone signs in again')
  t.equal((await ctx.deps.repos.auditEvents.list({ type: 'factors_reset', limit: 5 })).length, 1, 'audited')
  // The CLI stored the mail at the wall clock's time; this running instance sends it once its FakeClock catches up.
  ctx.clock.set(Math.max(ctx.clock.now(), Math.ceil(Date.now() / 1000)))
  await ctx.deps.mail.idle()
  await smtp.waitFor((mail) => mail.to === user.email && /second factors were reset/.test(mail.subject))
  t.pass('the user was told by mail')
})

t.test('a success clears the browser’s own failure counter, as a correct password does', async (t) => {
  const { ctx } = await app(t, { LOGIN_FAILURE_LIMIT: '3' })
  const user = await ctx.addUser()
  const owner = new MfaBrowser(ctx)
  await owner.login(user.email, user.password)
  const { secret } = await setUpApp(t, owner)
  for (const round of [1, 2]) {
    owner.cookies.delete('tessera_session')
    t.equal(location(await owner.login(user.email, user.password)), '/login/second-factor')
    for (let i = 0; i < 2; i++)
      t.equal(
        (await owner.post('/login/second-factor', { code: '123456' }, '/login/second-factor')).statusCode,
        401,
        `round ${round}: a wrong code`,
      )
    ctx.clock.advance(30)
    t.equal(
      location(await owner.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')),
      '/account',
      `round ${round}: the right code signs in (four failures in all, with a limit of three: the first success cleared them)`,
    )
  }
})

t.test('max_age for a user with an authenticator app: a fresh sign-in means the password and the code again', async (t) => {
  const { ctx } = await app(t)
  const user = await ctx.addUser()
  const rp = relyingParty(ctx, await ctx.addClient({ name: 'Photos' }))
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  const { secret } = await setUpApp(t, browser)
  browser.cookies.delete('tessera_session')
  await browser.login(user.email, user.password)
  ctx.clock.advance(30)
  t.equal(location(await browser.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')), '/account')
  const signedInAt = ctx.clock.now()

  ctx.clock.advance(600)
  const recent = await rp.idToken(location(await browser.get(rp.authorizeUrl({ max_age: '3600' }))))
  t.equal(recent['auth_time'], signedInAt, 'within max_age: the session answers')
  t.equal(recent['acr'], 'urn:tessera:mfa')

  const start = location(await browser.get(rp.authorizeUrl({ max_age: '300' })))
  t.match(start, /^\/login\?interaction=/, 'older than max_age: a sign-in from scratch')
  const interaction = new URL(start, ctx.issuer).searchParams.get('interaction')!
  t.equal(location(await browser.login(user.email, user.password, interaction)), '/login/second-factor', 'the password alone is not enough')
  ctx.clock.advance(30)
  const done = await browser.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')
  const claims = await rp.idToken(location(done))
  t.equal(claims['auth_time'], ctx.clock.now(), 'auth_time is the new sign-in')
  t.same(claims['amr'], ['pwd', 'otp', 'mfa'])
  t.equal(claims['acr'], 'urn:tessera:mfa')
})

t.test('after idp users mfa-reset the old passkey, app code and recovery codes are refused', async (t) => {
  const { ctx } = await app(t)
  const user = await ctx.addUser()
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const setup = new MfaBrowser(ctx)
  await setup.login(user.email, user.password)
  const { secret, codes } = await setUpApp(t, setup)
  t.equal(location(await addPasskey(setup, authenticator, 'Laptop')), '/account?notice=passkey-added')

  // Someone half-way through a sign-in (password done) when the operator resets the factors.
  const halfway = new MfaBrowser(ctx)
  t.equal(location(await halfway.login(user.email, user.password)), '/login/second-factor')
  const passkeyOptions = (await halfway.options(
    '/login/passkey/options',
    { purpose: 'second-factor' },
    '/login/second-factor',
  )) as unknown as PasskeyOptions
  const reset = await cliFor(ctx)(['users', 'mfa-reset', user.email, '--json'])
  t.equal(reset.code, 0, reset.stderr.join('\n'))
  t.match(reset.json, { removed: { passkeys: 1, totp: true, recovery_codes: 10 } })

  ctx.clock.advance(30)
  const page = await halfway.get('/login/second-factor')
  t.match(page.body, 'Your account has no second factor any more', 'the waiting page says the factors are gone')
  t.notMatch(page.body, 'name="code"')
  for (const [what, code] of [
    ['a current app code', await totpCode(ctx, secret)],
    ['an unused recovery code', codes[0]!],
    ['another recovery code', codes[9]!],
  ] as const) {
    // The page has no form left (it says why); the login page's anti-forgery token serves the post.
    const answer = await halfway.post('/login/second-factor', { code }, '/login')
    t.equal(answer.statusCode, 401, `${what}: refused`)
    t.match(answer.body, 'That code did not work')
  }
  const oldPasskey = await halfway.post(
    '/login/second-factor',
    { credential: JSON.stringify(authenticator.authenticate(passkeyOptions)) },
    '/login',
  )
  t.equal(oldPasskey.statusCode, 401, 'the old passkey as a second factor: refused')
  t.equal((await passkeySignIn(new MfaBrowser(ctx), authenticator)).statusCode, 401, 'the old passkey alone: refused')
  const [event] = await ctx.deps.repos.auditEvents.list({ type: 'passkey_failure', limit: 1 })
  t.match(event, { detail: { reason: 'unknown_credential' } }, 'audited')
  t.equal(await ctx.deps.repos.recoveryCodes.countUnused(user.id), 0)
  t.notOk(halfway.cookies.has('tessera_session'), 'the half-way sign-in never completed')
  t.equal(location(await new MfaBrowser(ctx).login(user.email, user.password)), '/account', 'the password alone signs in again')
})
