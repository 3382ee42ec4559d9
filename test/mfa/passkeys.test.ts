/**
 * Passkeys through the real pages and a software authenticator (test/helpers/soft-authenticator.ts):
 * registration on the account page (discoverable, user verification required, RP ID = the
 * issuer's host), passwordless sign-in with amr/acr in the ID token, a passkey as the second factor
 * after a password, and every way a ceremony can be forged: another origin or RP ID, no user
 * verification, a replayed challenge, a counter going backwards (cloned authenticator), a removed
 * passkey, a credential whose members are not even strings (userHandle 5), a disabled user. Each
 * is a page, audited, never a 500.
 */
import t, { type Test } from 'tap'
import { mailedApp } from '../helpers/smtp.js'
import { fastHasher } from '../helpers/fast-hasher.js'
import { cliFor } from '../helpers/cli.js'
import { SoftAuthenticator, type Misbehaviour } from '../helpers/soft-authenticator.js'
import type { TestApp } from '../helpers/test-app.js'
import { addPasskey, location, MfaBrowser, passkeySignIn, relyingParty, type PasskeyOptions as Options } from './support.js'

async function app(t: Test) {
  return mailedApp(t, { overrides: { hasher: fastHasher() } })
}

async function signedInWithPasskey(t: Test, ctx: TestApp, authenticator: SoftAuthenticator) {
  const user = await ctx.addUser()
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  const added = await addPasskey(browser, authenticator, 'Laptop')
  t.equal(added.statusCode, 200, 'the first passkey comes with recovery codes')
  t.match(added.body, 'Save your recovery codes')
  return { user, browser }
}

t.test('register on the account page, then sign in with the passkey alone; amr and acr in the ID token', async (t) => {
  const { ctx, smtp } = await app(t)
  const rp = await ctx.addClient({ name: 'Photos' })
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const { user, browser } = await signedInWithPasskey(t, ctx, authenticator)

  const options = (await browser.options('/account/passkeys/options', {}, '/account')) as unknown as Options & {
    authenticatorSelection: Record<string, unknown>
    excludeCredentials: unknown[]
  }
  t.equal(options.rp.id, new URL(ctx.issuer).hostname, 'the RP ID is the issuer’s host')
  t.match(options.authenticatorSelection, { residentKey: 'required', userVerification: 'required' }, 'discoverable, with user verification')
  t.equal(options.excludeCredentials.length, 1, 'the registered passkey is not registered twice')
  const account = await browser.get('/account')
  t.match(account.body, /<strong>Laptop<\/strong> <span class="badge">this device only<\/span>/, 'listed by name')
  t.match(account.body, />Add a passkey</, 'the button')
  const stored = await ctx.deps.repos.passkeys.listForUser(user.id)
  t.match(
    stored,
    [{ name: 'Laptop', deviceType: 'singleDevice', backedUp: false, transports: ['internal'] }],
    'device type, backup flag and transports stored',
  )
  await ctx.deps.mail.idle()
  t.ok(
    smtp.to(user.email).some((mail) => /passkey was added/.test(mail.subject)),
    'the owner is told',
  )

  const login = await new MfaBrowser(ctx).get('/login')
  t.match(login.body, 'autocomplete="username webauthn"', 'browsers may offer passkeys in the email field')
  t.match(login.body, />Sign in with a passkey</)
  t.match(login.body, '<script src="/assets/simplewebauthn-browser.js" defer></script>', 'the WebAuthn script comes from this origin')
  const script = await ctx.app.inject({ method: 'GET', url: '/assets/simplewebauthn-browser.js' })
  t.equal(script.statusCode, 200)
  t.match(script.headers['content-type'], /javascript/)

  const relying = relyingParty(ctx, rp)
  const fresh = new MfaBrowser(ctx)
  const interaction = new URL(location(await fresh.get(relying.authorizeUrl())), ctx.issuer).searchParams.get('interaction')!
  const signedIn = await passkeySignIn(fresh, authenticator, {}, interaction)
  t.equal(signedIn.statusCode, 303)
  const claims = await relying.idToken(location(signedIn))
  t.same(claims['amr'], ['hwk', 'user'], 'a device-bound passkey with user verification (RFC 8176)')
  t.equal(claims['acr'], 'phr', 'phishing-resistant')
  t.equal(claims['sub'], user.id)
  t.ok((await ctx.deps.repos.passkeys.listForUser(user.id))[0]!.lastUsedAt !== null, 'its use is recorded')
})

t.test('a synced passkey says swk', async (t) => {
  const { ctx } = await app(t)
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin, { synced: true })
  const { user } = await signedInWithPasskey(t, ctx, authenticator)
  t.match(await ctx.deps.repos.passkeys.listForUser(user.id), [{ deviceType: 'multiDevice', backedUp: true }])
  const session = await passkeySignIn(new MfaBrowser(ctx), authenticator)
  t.equal(location(session), '/account')
  const rows = await ctx.deps.store.db.selectFrom('sessions').select('amr').where('user_id', '=', user.id).execute()
  t.ok(rows.some((row) => row.amr === '["swk","user"]'))
})

t.test('forged or replayed ceremonies are refused with a page and audited, never a 500', async (t) => {
  const { ctx } = await app(t)
  const origin = new URL(ctx.issuer).origin
  const authenticator = new SoftAuthenticator(origin, { counting: true })
  const { user, browser } = await signedInWithPasskey(t, ctx, authenticator)

  const cases: [string, Misbehaviour][] = [
    ['another origin', { origin: 'https://evil.example' }],
    ['another RP ID', { rpId: 'evil.example' }],
    ['no user verification', { userVerified: false }],
    ['a challenge Tessera never issued', { challenge: 'bm90LWEtY2hhbGxlbmdl' }],
  ]
  for (const [what, misbehave] of cases) {
    const answer = await passkeySignIn(new MfaBrowser(ctx), authenticator, misbehave)
    t.equal(answer.statusCode, 401, `${what}: refused`)
    t.match(answer.body, 'That passkey did not work', `${what}: a page that says so`)
  }

  // A replayed response: the challenge it answers was used up by the first sign-in.
  const replayer = new MfaBrowser(ctx)
  const options = (await replayer.options('/login/passkey/options', { purpose: 'login' }, '/login')) as unknown as Options
  const response = JSON.stringify(authenticator.authenticate(options))
  t.equal(
    location(await replayer.post('/login/passkey', { interaction: '', credential: response }, '/login')),
    '/account',
    'the first use signs in',
  )
  t.equal(
    (await new MfaBrowser(ctx).post('/login/passkey', { interaction: '', credential: response }, '/login')).statusCode,
    401,
    'the same response again: refused',
  )

  // A counter that goes backwards: a cloned authenticator.
  const clone = await passkeySignIn(new MfaBrowser(ctx), authenticator, { counter: 1 })
  t.equal(clone.statusCode, 401, 'a counter lower than the last one seen is refused')
  t.equal((await ctx.deps.repos.auditEvents.list({ type: 'cloned_authenticator', limit: 5 })).length, 1, 'and audited as a possible clone')

  // Credential ids are not secret (the second-factor options list them): a forged response may
  // name a real one with members of any JSON type.
  const known = (await ctx.deps.repos.passkeys.listForUser(user.id))[0]!.id
  const real = authenticator.authenticate(options) as { response: Record<string, unknown> }
  const forgedWith = (members: Record<string, unknown>) =>
    JSON.stringify({ id: known, rawId: known, type: 'public-key', response: { ...real.response, ...members } })
  const typeConfusion: [string, string][] = [
    ['userHandle 5', forgedWith({ userHandle: 5 })],
    ['userHandle {}', forgedWith({ userHandle: {} })],
    ['userHandle true', forgedWith({ userHandle: true })],
    ['clientDataJSON 5', forgedWith({ clientDataJSON: 5 })],
    ['authenticatorData {}', forgedWith({ authenticatorData: {} })],
    ['signature true', forgedWith({ signature: true })],
    ['signature missing', forgedWith({ signature: undefined })],
    ['rawId []', JSON.stringify({ id: known, rawId: [], type: 'public-key', response: real.response })],
  ]
  const garbageList: [string, string][] = [
    ['not json', 'not json'],
    ['{}', '{}'],
    ['empty response', JSON.stringify({ id: 'x', type: 'public-key', response: {} })],
    [
      'unknown credential',
      JSON.stringify({
        id: 'AAAA',
        rawId: 'AAAA',
        type: 'public-key',
        response: { clientDataJSON: 'e30', authenticatorData: '', signature: '' },
      }),
    ],
    ...typeConfusion,
  ]
  const failuresBefore = (await ctx.deps.repos.auditEvents.list({ type: 'passkey_failure', limit: 100 })).length
  for (const [what, garbage] of garbageList) {
    const answer = await new MfaBrowser(ctx).post('/login/passkey', { interaction: '', credential: garbage }, '/login')
    t.equal(answer.statusCode, 401, `garbage (${what}) at /login/passkey: a page, not a 500`)
    t.match(answer.body, 'That passkey did not work', `garbage (${what}): a page that says so`)
  }
  const signInFailures = await ctx.deps.repos.auditEvents.list({ type: 'passkey_failure', limit: 100 })
  t.equal(signInFailures.length - failuresBefore, garbageList.length, 'each garbage sign-in is a passkey_failure event')
  t.equal(
    signInFailures.filter((event) => event.detail['stage'] === 'sign_in' && event.detail['reason'] === 'malformed').length,
    typeConfusion.length + 3,
    'members that are not strings are malformed input (as are not json, {} and an empty response)',
  )
  t.ok(failuresBefore >= 6, `every earlier refusal was a security event too (${failuresBefore})`)

  // The same forgeries as the second factor after a password: the page again, with the passkey refused.
  const halfway = new MfaBrowser(ctx)
  t.equal(location(await halfway.login(user.email, user.password)), '/login/second-factor')
  for (const [what, garbage] of typeConfusion) {
    const answer = await halfway.post('/login/second-factor', { credential: garbage }, '/login/second-factor')
    t.equal(answer.statusCode, 401, `${what} at /login/second-factor: the page, not a 500`)
    t.match(answer.body, 'That passkey did not work')
  }
  const secondFactorFailures = await ctx.deps.repos.auditEvents.list({ type: 'passkey_failure', limit: 100 })
  t.equal(
    secondFactorFailures.filter((event) => event.detail['stage'] === 'second_factor' && event.detail['reason'] === 'malformed').length,
    typeConfusion.length,
    'each is a passkey_failure event of the second-factor stage',
  )

  // A forged registration: another origin.
  const other = new SoftAuthenticator(origin)
  const forged = await addPasskey(browser, other, 'Forged', { origin: 'https://evil.example' })
  t.equal(forged.statusCode, 400, 'a registration for another origin is refused')
  t.equal((await ctx.deps.repos.passkeys.listForUser(user.id)).length, 1, 'nothing was added')
})

t.test('a passkey as the second factor after a password; a removed passkey no longer works', async (t) => {
  const { ctx, smtp } = await app(t)
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const { user, browser } = await signedInWithPasskey(t, ctx, authenticator)
  const second = new MfaBrowser(ctx)
  t.equal(location(await second.login(user.email, user.password)), '/login/second-factor', 'the password alone is not enough any more')
  const page = await second.get('/login/second-factor')
  t.match(page.body, '>Use a passkey<')
  t.match(page.body, 'Recovery code', 'the recovery codes are offered too')
  const options = (await second.options(
    '/login/passkey/options',
    { purpose: 'second-factor' },
    '/login/second-factor',
  )) as unknown as Options
  t.equal(options.allowCredentials?.length, 1, 'only this user’s passkeys are allowed')
  const done = await second.post(
    '/login/second-factor',
    { credential: JSON.stringify(authenticator.authenticate(options)) },
    '/login/second-factor',
  )
  t.equal(location(done), '/account')
  const rows = await ctx.deps.store.db
    .selectFrom('sessions')
    .select('amr')
    .where('user_id', '=', user.id)
    .where('ended_at', 'is', null)
    .execute()
  t.ok(
    rows.some((row) => row.amr === '["pwd","hwk","user","mfa"]'),
    'amr: password, device-bound key, user verified, multi-factor',
  )

  const id = (await ctx.deps.repos.passkeys.listForUser(user.id))[0]!.id
  t.equal(location(await browser.post('/account/passkeys/remove', { id })), '/account?notice=passkey-removed')
  t.equal((await passkeySignIn(new MfaBrowser(ctx), authenticator)).statusCode, 401, 'the removed passkey no longer signs in')
  t.equal(
    location(await new MfaBrowser(ctx).login(user.email, user.password)),
    '/account',
    'with no factor left the password is enough again',
  )
  await ctx.deps.mail.idle()
  t.ok(smtp.to(user.email).some((mail) => /passkey was removed/.test(mail.subject)))
})

t.test('a disabled user’s passkey no longer signs in; enabled again, it does', async (t) => {
  const { ctx } = await app(t)
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const { user } = await signedInWithPasskey(t, ctx, authenticator)
  const idp = cliFor(ctx)
  const disabled = await idp(['users', 'disable', user.email, '--json'])
  t.equal(disabled.code, 0, disabled.stderr.join('\n'))

  const refused = await passkeySignIn(new MfaBrowser(ctx), authenticator)
  t.equal(refused.statusCode, 401, 'refused')
  t.match(refused.body, 'That passkey did not work', 'a page that says so')
  t.notOk(refused.headers['set-cookie']?.toString().includes('tessera_session='), 'no session')
  const [event] = await ctx.deps.repos.auditEvents.list({ type: 'passkey_failure', limit: 1 })
  t.match(event, { detail: { stage: 'sign_in', reason: 'unknown_credential' } }, 'audited like an unknown passkey')
  const sessions = await ctx.deps.store.db
    .selectFrom('sessions')
    .select('id_hash')
    .where('user_id', '=', user.id)
    .where('ended_at', 'is', null)
    .execute()
  t.equal(sessions.length, 0, 'no live session for the disabled user')

  t.equal((await idp(['users', 'enable', user.email, '--json'])).code, 0)
  t.equal(location(await passkeySignIn(new MfaBrowser(ctx), authenticator)), '/account', 'enabled again: the passkey works')
})
