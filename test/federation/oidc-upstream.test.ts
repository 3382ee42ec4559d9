/**
 * Sign-in through an upstream OpenID provider (oidc-provider on loopback), with the cookie-based
 * HTTP agent: the connection CLI, the login page's button, just-in-time accounts, linking only
 * after proof of the local account (never by email), takeover attempts, home-realm discovery,
 * refusals, the account page's linked identities, and amr passed on.
 */
import t from 'tap'
import { callbackUrl } from '../../src/connections/registry.js'
import { authorizeUrl, Browser, claims, hiddenField, pkcePair, redeem } from '../helpers/client.js'
import { cliFor } from '../helpers/cli.js'
import { createTestApp } from '../helpers/test-app.js'
import { addCompanySso, continueWith, finishAtUpstream, upstreamRedirect } from './support.js'
import { startOpenIdProvider } from './upstreams.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const upstream = await startOpenIdProvider([callbackUrl(ctx.issuer, 'company-sso')])
t.teardown(() => upstream.close())
const idp = cliFor(ctx)
const rp = await ctx.addClient({ name: 'Photos', redirectUris: ['https://photos.example/cb'] })

let subjects = 0
/** A fresh upstream account the next upstream sign-in will be. */
function upstreamUser(fields: { email?: string; email_verified?: boolean; name?: string; amr?: string[] } = {}) {
  subjects += 1
  upstream.nextUser = {
    sub: `upstream-${subjects}`,
    email: `person${subjects}@partner.test`,
    email_verified: true,
    name: `Person ${subjects}`,
    ...fields,
  }
  return upstream.nextUser
}

const events = async (type: string) => (await ctx.deps.repos.auditEvents.list({ type, limit: 1000 })).length

t.test('idp connections add validates its input with one line each', async (t) => {
  const cases: [string, string[], RegExp][] = [
    ['no issuer', ['--name', 'X', '--client-id', 'a'], /--issuer is required/],
    ['no client id', ['--name', 'X', '--issuer', upstream.issuer], /--client-id is required/],
    ['a bad domain', ['--name', 'X', '--issuer', upstream.issuer, '--client-id', 'a', '--domain', 'not a domain'], /--domain not a domain/],
    [
      'an unreachable issuer',
      ['--name', 'X', '--issuer', 'http://127.0.0.1:9', '--client-id', 'a'],
      /OpenID discovery at http:\/\/127\.0\.0\.1:9 failed/,
    ],
    [
      'oauth2 without endpoints',
      ['--name', 'X', '--type', 'oauth2', '--client-id', 'a', '--client-secret-stdin'],
      /--authorization-endpoint/,
    ],
    ['an unknown type', ['--name', 'X', '--type', 'saml', '--client-id', 'a'], /--type must be oidc or oauth2/],
  ]
  for (const [what, argv, message] of cases) {
    const run = await idp(['connections', 'add', ...argv], 'secret')
    t.equal(run.code, 1, `${what}: exit 1`)
    t.match(run.stderr.join('\n'), message, `${what}: names the problem`)
    t.equal(run.stderr.length, 1, `${what}: one line`)
  }
  // An http upstream only while Tessera itself is on a loopback issuer.
  const production = await cliFor(ctx, { ISSUER: 'https://idp.example.com' })([
    'connections',
    'add',
    '--name',
    'X',
    '--issuer',
    upstream.issuer,
    '--client-id',
    'a',
  ])
  t.equal(production.code, 1)
  t.match(
    production.stderr.join('\n'),
    /--issuer must be https \(http only on a loopback host while ISSUER is on localhost or 127\.0\.0\.1\)/,
  )
  t.same(await ctx.deps.repos.connections.list(), [], 'nothing was added')
})

t.test('idp connections add discovers the provider and prints the redirect URI to register', async (t) => {
  const added = await addCompanySso(ctx, upstream, ['--domain', 'corp.test', '--trust-email', '--json'])
  t.equal(added.code, 0, added.stderr.join('\n'))
  t.equal(added.json.id, 'company-sso')
  t.equal(added.json.redirect_uri, `${ctx.issuer}/login/connections/company-sso/callback`)
  t.same(added.json.scopes, ['openid', 'email', 'profile'])
  t.same(added.json.domains, ['corp.test'])
  const stored = await ctx.deps.repos.connections.find('company-sso')
  t.equal(stored?.endpoints.authorization_endpoint, `${upstream.issuer}/auth`, 'endpoints discovered')
  t.notMatch(stored?.sealedClientSecret ?? '', upstream.clientSecret, 'the client secret is sealed, not stored')
  const again = await idp(['connections', 'add', '--name', 'Company SSO', '--issuer', upstream.issuer, '--client-id', 'x'])
  t.match(again.stderr.join('\n'), /already exists/)
  const taken = await idp([
    'connections',
    'add',
    '--name',
    'Other',
    '--issuer',
    upstream.issuer,
    '--client-id',
    'x',
    '--domain',
    'CORP.test',
  ])
  t.match(taken.stderr.join('\n'), /--domain corp\.test already belongs to the connection company-sso/)
  const list = await idp(['connections', 'list', '--json'])
  t.same(
    (list.json.connections as { id: string }[]).map((c) => c.id),
    ['company-sso'],
  )
})

t.test('the login page offers "Continue with Company SSO", and its form may redirect there', async (t) => {
  const page = await new Browser(ctx).get('/login')
  t.match(page.body, /<button type="submit" class="secondary">Continue with Company SSO<\/button>/)
  t.match(page.headers['content-security-policy'], new RegExp(`form-action 'self' ${upstream.issuer.replace(/\./g, '\\.')}`))
})

t.test('a first sign-in creates the account just in time and the application gets its ID token', async (t) => {
  const person = upstreamUser({ amr: ['pwd', 'otp', 'mfa'] })
  const browser = new Browser(ctx)
  const { verifier, challenge } = pkcePair()
  const start = await browser.get(
    authorizeUrl({
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: 'https://photos.example/cb',
      scope: 'openid email profile',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      nonce: 'n-1',
    }),
  )
  const interaction = new URL(start.headers.location!, ctx.issuer).searchParams.get('interaction')!
  const before = await events('federated_login')
  const back = await continueWith(ctx, browser, 'company-sso', { interaction })
  t.equal(back.statusCode, 303, back.body.slice(0, 300))
  const code = new URL(back.headers.location!).searchParams.get('code')!
  const tokens = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(tokens.statusCode, 200, tokens.body)
  const idToken = claims(tokens.json().id_token)
  const user = await ctx.deps.repos.users.findByEmail(person.email!)
  t.ok(user, 'a local account with the upstream email')
  t.equal(idToken.sub, user!.id, 'the subject is the local account, not the upstream sub')
  t.equal(idToken.email, person.email)
  t.equal(idToken.email_verified, true, 'verified: the connection is trusted for email and the upstream verified it')
  t.equal(idToken.name, person.name)
  t.same(idToken.amr, ['pwd', 'otp', 'mfa'], "the upstream's amr is passed on")
  t.equal(user!.passwordHash, '', 'no password until the user sets one')
  t.equal(await events('federated_login'), before + 1, 'audited')
})

t.test('the same upstream account signs in to the same local account even after its email changed upstream', async (t) => {
  const person = upstreamUser()
  const first = await continueWith(ctx, new Browser(ctx), 'company-sso')
  t.equal(first.headers.location, '/account')
  const original = await ctx.deps.repos.users.findByEmail(person.email!)
  upstream.nextUser = { ...person, email: 'someone-else@partner.test', name: 'Changed' }
  const browser = new Browser(ctx)
  const second = await continueWith(ctx, browser, 'company-sso')
  t.equal(second.headers.location, '/account')
  const account = await browser.get('/account')
  t.match(account.body, original!.email, 'the same account')
  t.equal(await ctx.deps.repos.users.findByEmail('someone-else@partner.test'), undefined, 'no account for the new address')
  t.equal((await ctx.deps.repos.users.findById(original!.id))?.email, original!.email, 'mutable upstream claims change nothing here')
})

t.test('an upstream asserting the email of an existing account gets no session: the owner must prove the account', async (t) => {
  const victim = await ctx.addUser({ email: 'victim@example.com' })
  const attacker = upstreamUser({ email: 'victim@example.com', email_verified: true })
  const browser = new Browser(ctx)
  const answer = await continueWith(ctx, browser, 'company-sso')
  t.equal(answer.statusCode, 200)
  t.match(answer.body, /Link Company SSO to your account/)
  t.notOk(
    [...browser.jar.cookies.keys()].some((name) => name.includes('session')),
    'no session',
  )
  t.equal(await ctx.deps.repos.federatedIdentities.findBySubject('company-sso', attacker.sub), undefined, 'nothing linked by email')
  // Signing in to another account in that browser links nothing either.
  const other = await ctx.addUser()
  t.equal((await browser.login(other.email, other.password)).statusCode, 303)
  t.equal(await ctx.deps.repos.federatedIdentities.findBySubject('company-sso', attacker.sub), undefined, 'not linked to another account')
  t.same(await ctx.deps.repos.federatedIdentities.listForUser(victim.id), [], 'the victim has no identity linked')
})

t.test('linking to an existing account after its password in the same flow; later sign-ins go to it', async (t) => {
  const owner = await ctx.addUser({ email: 'owner@example.com' })
  const person = upstreamUser({ email: 'owner@example.com' })
  const browser = new Browser(ctx)
  const answer = await continueWith(ctx, browser, 'company-sso')
  t.match(answer.body, /Sign in to link/)
  const login = await browser.get('/login')
  t.match(login.body, '<div class="notice" role="status">Sign in as owner@example.com to link Company SSO to that account.</div>')
  t.match(login.body, 'value="owner@example.com"', 'the account to prove, filled in')
  t.equal((await browser.login(owner.email, owner.password)).statusCode, 303)
  const identity = await ctx.deps.repos.federatedIdentities.findBySubject('company-sso', person.sub)
  t.equal(identity?.userId, owner.id, 'linked after the password')
  const account = await browser.get('/account')
  t.match(account.body, /Linked sign-in methods/)
  t.match(account.body, /Unlink Company SSO/)
  const later = new Browser(ctx)
  t.equal((await continueWith(ctx, later, 'company-sso')).headers.location, '/account')
  t.match((await later.get('/account')).body, owner.email, 'signs in as the owner')
  // The owner has a password: unlinking is allowed (after a recent sign-in).
  const page = await browser.get('/account')
  const unlinked = await browser.post('/account/connections/unlink', { _csrf: hiddenField(page.body, '_csrf'), identity: identity!.id })
  t.equal(unlinked.headers.location, '/account?notice=identity-unlinked')
  t.equal(await ctx.deps.repos.federatedIdentities.findBySubject('company-sso', person.sub), undefined)
})

t.test('an unverified upstream email makes an unverified account; the last way to sign in cannot be unlinked', async (t) => {
  const person = upstreamUser({ email_verified: false })
  const browser = new Browser(ctx)
  t.equal((await continueWith(ctx, browser, 'company-sso')).headers.location, '/account')
  const user = await ctx.deps.repos.users.findByEmail(person.email!)
  t.equal(user?.emailVerified, false, 'not verified here either')
  const page = await browser.get('/account')
  const identity = (await ctx.deps.repos.federatedIdentities.listForUser(user!.id))[0]!
  const refused = await browser.post('/account/connections/unlink', { _csrf: hiddenField(page.body, '_csrf'), identity: identity.id })
  t.equal(refused.statusCode, 400)
  t.match(refused.body, /This is your only way to sign in/)
  t.equal((await ctx.deps.repos.federatedIdentities.listForUser(user!.id)).length, 1, 'still linked')
  // No password to guess: the password form never signs this account in.
  t.equal((await new Browser(ctx).login(person.email!, '')).statusCode, 401)
})

t.test('a password reset that proves an unverified address unlinks what was linked before it (pre-account hijacking)', async (t) => {
  const person = upstreamUser({ email_verified: false })
  t.equal((await continueWith(ctx, new Browser(ctx), 'company-sso')).headers.location, '/account')
  const user = (await ctx.deps.repos.users.findByEmail(person.email!))!
  const { completePasswordReset } = await import('../../src/accounts/password-reset.js')
  const { createAccountLink } = await import('../../src/accounts/account-links.js')
  const link = await createAccountLink(ctx.deps.repos.accountTokens, {
    issuer: ctx.issuer,
    userId: user.id,
    purpose: 'reset_password',
    now: ctx.clock.now(),
    ttl: 600,
  })
  const result = await completePasswordReset(ctx.deps, new URL(link).searchParams.get('token')!, 'a brand new long passphrase')
  t.same(result, { ok: true })
  t.same(await ctx.deps.repos.federatedIdentities.listForUser(user.id), [], 'the upstream identity is unlinked')
  t.equal(
    (await continueWith(ctx, new Browser(ctx), 'company-sso')).statusCode,
    200,
    'the upstream account must now prove the account to link',
  )
})

t.test('home-realm discovery: a corp.test address goes straight to Company SSO, from the form or a login_hint', async (t) => {
  const browser = new Browser(ctx)
  const page = await browser.get('/login')
  const fromForm = upstreamRedirect(
    await browser.post('/login', { _csrf: hiddenField(page.body, '_csrf'), interaction: '', email: 'ann@corp.test', password: '' }),
  )
  t.equal(fromForm.origin, upstream.issuer)
  t.equal(fromForm.searchParams.get('login_hint'), 'ann@corp.test')
  t.equal(fromForm.searchParams.get('code_challenge_method'), 'S256')
  t.ok(fromForm.searchParams.get('state') && fromForm.searchParams.get('nonce'), 'state and nonce')
  t.equal(fromForm.searchParams.get('redirect_uri'), `${ctx.issuer}/login/connections/company-sso/callback`)

  const { challenge } = pkcePair()
  const hinted = new Browser(ctx)
  const start = await hinted.get(
    authorizeUrl({
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: 'https://photos.example/cb',
      scope: 'openid',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      login_hint: 'bob@corp.test',
    }),
  )
  const login = await hinted.get(start.headers.location!)
  const sso = upstreamRedirect(login)
  t.equal(sso.searchParams.get('login_hint'), 'bob@corp.test')
  upstream.nextUser = { sub: 'bob-at-corp', email: 'bob@corp.test', email_verified: true, name: 'Bob' }
  const back = await finishAtUpstream(ctx, hinted, sso)
  t.match(back.headers.location, /^https:\/\/photos\.example\/cb\?code=/, 'back at the application with a code')
})

t.test('refusals are pages: cancelled at the upstream, a callback from another browser, a replayed callback', async (t) => {
  upstreamUser()
  const browser = new Browser(ctx)
  const before = await events('federated_login_failure')
  const cancelled = await continueWith(ctx, browser, 'company-sso', { deny: true })
  t.equal(cancelled.statusCode, 403)
  t.match(cancelled.body, /Sign-in cancelled/)
  t.equal(await events('federated_login_failure'), before + 1, 'audited')

  // A callback URL finished in another browser (login CSRF) is refused.
  const victim = new Browser(ctx)
  const page = await browser.get('/login')
  const started = upstreamRedirect(
    await browser.post('/login/connections/company-sso', { _csrf: hiddenField(page.body, '_csrf'), interaction: '' }),
  )
  const planted = await finishAtUpstream(ctx, victim, started)
  t.equal(planted.statusCode, 400)
  t.match(planted.body, /This sign-in has expired/)
  const bogus = await new Browser(ctx).get('/login/connections/company-sso/callback?code=x&state=y')
  t.equal(bogus.statusCode, 400)
  const unknown = await new Browser(ctx).get('/login/connections/nope/callback')
  t.equal(unknown.statusCode, 400)
})

t.test('a disabled connection disappears from the login page and refuses sign-ins; enable brings it back', async (t) => {
  t.equal((await idp(['connections', 'disable', 'company-sso'])).code, 0)
  const browser = new Browser(ctx)
  const page = await browser.get('/login')
  t.notMatch(page.body, /Continue with Company SSO/)
  const refused = await browser.post('/login/connections/company-sso', { _csrf: hiddenField(page.body, '_csrf'), interaction: '' })
  t.equal(refused.statusCode, 404)
  t.match(refused.body, /Sign-in method not available/)
  t.equal((await idp(['connections', 'enable', 'Company SSO'])).code, 0)
  t.match((await browser.get('/login')).body, /Continue with Company SSO/)
})

t.test('a second factor set up here is still asked for after the upstream, unless the upstream reports mfa', async (t) => {
  const { beginTotpSetup, confirmTotp } = await import('../../src/factors/totp.js')
  const { totpCode } = await import('../mfa/support.js')
  const person = upstreamUser()
  t.equal((await continueWith(ctx, new Browser(ctx), 'company-sso')).headers.location, '/account')
  const user = (await ctx.deps.repos.users.findByEmail(person.email!))!
  const setup = (await beginTotpSetup(ctx.deps, user))!
  t.ok(await confirmTotp(ctx.deps, user, await totpCode(ctx, setup.secret)), 'an authenticator app is set up')

  const browser = new Browser(ctx)
  const asked = await continueWith(ctx, browser, 'company-sso')
  t.equal(asked.headers.location, '/login/second-factor', 'the second factor is asked for')
  t.notOk(browser.jar.cookies.has('tessera_session'), 'no session before it')
  ctx.clock.advance(30)
  const page = await browser.get('/login/second-factor')
  const done = await browser.post('/login/second-factor', {
    _csrf: hiddenField(page.body, '_csrf'),
    code: await totpCode(ctx, setup.secret),
  })
  t.equal(done.headers.location, '/account')
  t.ok(browser.jar.cookies.has('tessera_session'), 'signed in after the code')

  upstream.nextUser = { ...person, amr: ['pwd', 'hwk', 'mfa'] }
  const strong = await continueWith(ctx, new Browser(ctx), 'company-sso')
  t.equal(strong.headers.location, '/account', 'the upstream already did two factors')
})
