/**
 * acr_values, the claims parameter and policies: a client asking for more than the session has
 * gets a step-up for the missing factor (not a new sign-in from scratch); setting up a factor does
 * not upgrade a session; prompt=none never asks; an essential acr that cannot be met fails;
 * `--require-mfa` clients and MFA_REQUIRED_ROLES make users enrol first. A step-up offers only the
 * factors that reach the acr asked for (a passkey for phr), and the tokens say a requested acr
 * the session meets (OIDC Core §5.5.1.1).
 */
import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { runCli } from '../../src/cli/main.js'
import { verifyTotp } from '../../src/factors/totp.js'
import { cliFor } from '../helpers/cli.js'
import { mailedApp } from '../helpers/smtp.js'
import { fastHasher } from '../helpers/fast-hasher.js'
import { SoftAuthenticator } from '../helpers/soft-authenticator.js'
import {
  addPasskey,
  enableApp as enableAuthenticatorApp,
  location,
  MfaBrowser,
  passkeySecondFactor,
  passkeySignIn,
  relyingParty,
  totpCode,
} from './support.js'
import type { TestApp } from '../helpers/test-app.js'

async function app(t: Test, env: Record<string, string> = {}) {
  return (await mailedApp(t, { env, overrides: { hasher: fastHasher() } })).ctx
}

async function enableApp(browser: MfaBrowser): Promise<string> {
  return (await enableAuthenticatorApp(browser)).secret
}

const interactionOf = (ctx: TestApp, path: string) => new URL(path, ctx.issuer).searchParams.get('interaction')!

t.test('step-up: a password session asked for urn:tessera:mfa confirms a factor, not the password again', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const rp = relyingParty(ctx, await ctx.addClient({ name: 'Payroll' }))
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  const secret = await enableApp(browser)

  const plain = await browser.get(rp.authorizeUrl())
  const plainClaims = await rp.idToken(location(plain))
  t.equal(plainClaims['acr'], 'urn:tessera:pwd', 'setting up a factor did not upgrade the session')

  ctx.clock.advance(120)
  const asked = await browser.get(rp.authorizeUrl({ acr_values: 'urn:tessera:mfa' }))
  t.equal(location(asked), '/login/second-factor', 'the missing factor is asked for, not a new sign-in')
  const page = await browser.get('/login/second-factor')
  t.match(page.body, 'Payroll asks for a second sign-in step')
  const silent = await browser.get(rp.authorizeUrl({ acr_values: 'urn:tessera:mfa', prompt: 'none' }))
  t.equal(new URL(location(silent)).searchParams.get('error'), 'interaction_required', 'prompt=none never asks')

  const stepped = await browser.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')
  t.match(location(stepped), /^https:\/\/rp\.example\/callback\?code=/)
  const claims = await rp.idToken(location(stepped))
  t.equal(claims['acr'], 'urn:tessera:mfa')
  t.same(claims['amr'], ['pwd', 'otp', 'mfa'])
  t.equal(claims['auth_time'], ctx.clock.now(), 'auth_time is the step-up')
  t.equal((await ctx.deps.repos.auditEvents.list({ type: 'step_up', limit: 5 })).length, 1, 'a security event')

  const again = await browser.get(rp.authorizeUrl({ acr_values: 'urn:tessera:mfa', prompt: 'none' }))
  t.match(location(again), /[?&]code=/, 'the stronger session now answers silently')
  const login = await browser.get(rp.authorizeUrl({ acr_values: 'urn:tessera:mfa', prompt: 'login' }))
  t.match(location(login), /^\/login\?interaction=/, 'prompt=login still asks for a sign-in from scratch')
})

t.test('the claims parameter: an essential acr the user cannot reach fails; acr_values are a preference', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const rp = relyingParty(ctx, await ctx.addClient())
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  const essential = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:tessera:mfa'] } } })
  const failed = await browser.get(rp.authorizeUrl({ claims: essential }))
  const error = new URL(location(failed))
  t.equal(error.searchParams.get('error'), 'unmet_authentication_requirements', 'no second factor to reach it with')
  t.equal(error.searchParams.get('state'), 'st')
  const preferred = await browser.get(rp.authorizeUrl({ acr_values: 'phr' }))
  t.equal((await rp.idToken(location(preferred)))['acr'], 'urn:tessera:pwd', 'a preference only: the token says what was achieved')
  const discovery = (await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>
  t.same(discovery['acr_values_supported'], ['urn:tessera:pwd', 'urn:tessera:mfa', 'phr'])
  t.equal(discovery['claims_parameter_supported'], true)
  t.ok(
    ['amr', 'acr'].every((claim) => (discovery['claims_supported'] as string[]).includes(claim)),
    'amr and acr are supported claims',
  )
})

t.test('idp clients add --require-mfa: a user without a factor sets one up, then confirms it, then gets the code', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const env = { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir, ISSUER: ctx.issuer, LOG_LEVEL: 'silent' }
  const out: string[] = []
  const io = { env, stdout: (line: string) => out.push(line), stderr: () => undefined, readStdin: async () => '' }
  t.equal(
    await runCli(
      ['clients', 'add', '--name', 'Admin console', '--redirect-uri', 'https://rp.example/callback', '--require-mfa', '--json'],
      io,
    ),
    0,
  )
  const added = JSON.parse(out.at(-1)!) as { client_id: string; client_secret: string }
  const client = (await ctx.deps.repos.clients.find(added.client_id))!
  t.equal(client.requireMfa, true)
  const rp = relyingParty(ctx, { client, secret: added.client_secret })

  const browser = new MfaBrowser(ctx)
  const start = location(await browser.get(rp.authorizeUrl()))
  const afterLogin = await browser.login(user.email, user.password, interactionOf(ctx, start))
  t.match(location(afterLogin), /^\/account\/second-factor\?interaction=/, 'sent to set up a second factor first')
  const enrol = await browser.get(location(afterLogin))
  t.match(enrol.body, 'Admin console</strong> asks every sign-in for a second step')
  t.match(enrol.body, '>Add a passkey<')
  t.match(enrol.body, 'Set up an authenticator app')
  const interaction = interactionOf(ctx, location(afterLogin))
  t.equal(
    location(await browser.post('/account/totp/setup', { interaction }, location(afterLogin))),
    `/account/totp?interaction=${interaction}`,
  )
  const secret = /<code class="secret" id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(
    (await browser.get(`/account/totp?interaction=${interaction}`)).body,
  )![1]!
  const codes = await browser.post(
    '/account/totp',
    { interaction, code: await totpCode(ctx, secret) },
    `/account/totp?interaction=${interaction}`,
  )
  const continueHref = /<a class="button" href="([^"]+)">I have saved them/.exec(codes.body)![1]!.replace(/&amp;/g, '&')
  t.equal(continueHref, `/continue?interaction=${interaction}`, 'the recovery codes page continues the authorization')
  t.equal(location(await browser.get(continueHref)), '/login/second-factor', 'the new factor is confirmed at sign-in, not assumed')
  ctx.clock.advance(30)
  const done = await browser.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')
  const claims = await rp.idToken(location(done))
  t.equal(claims['acr'], 'urn:tessera:mfa', 'the client gets what it requires')

  out.length = 0
  t.equal(await runCli(['clients', 'update', client.id, '--no-require-mfa', '--json'], io), 0)
  t.equal((await ctx.deps.repos.clients.find(client.id))!.requireMfa, false, 'the policy changes on an existing client')
})

t.test('MFA_REQUIRED_ROLES: an admin without a factor is asked to set one up at sign-in', async (t) => {
  const ctx = await app(t, { MFA_REQUIRED_ROLES: 'admin' })
  const admin = await ctx.addUser({ roles: ['admin'] })
  const member = await ctx.addUser({ roles: ['member'] })
  t.equal(location(await new MfaBrowser(ctx).login(admin.email, admin.password)), '/account/second-factor')
  t.equal(location(await new MfaBrowser(ctx).login(member.email, member.password)), '/account', 'other roles are not')
  const rp = relyingParty(ctx, await ctx.addClient())
  const browser = new MfaBrowser(ctx)
  const start = location(await browser.get(rp.authorizeUrl()))
  t.match(
    location(await browser.login(admin.email, admin.password, interactionOf(ctx, start))),
    /^\/account\/second-factor\?interaction=/,
    'also on the way to an application',
  )
  const silent = await browser.get(rp.authorizeUrl({ prompt: 'none' }))
  t.equal(new URL(location(silent)).searchParams.get('error'), 'interaction_required', 'and never silently past it')
})

t.test('a phr request from an urn:tessera:mfa session offers only a passkey; a code is refused, not looped', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const rp = relyingParty(ctx, await ctx.addClient({ name: 'Payroll' }))
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const setup = new MfaBrowser(ctx)
  await setup.login(user.email, user.password)
  const secret = await enableApp(setup)
  t.equal(location(await addPasskey(setup, authenticator, 'Laptop')), '/account?notice=passkey-added')

  const browser = new MfaBrowser(ctx)
  ctx.clock.advance(30)
  t.equal(location(await browser.login(user.email, user.password)), '/login/second-factor')
  t.equal(location(await browser.post('/login/second-factor', { code: await totpCode(ctx, secret) }, '/login/second-factor')), '/account')
  const mfa = await rp.idToken(location(await browser.get(rp.authorizeUrl({ acr_values: 'urn:tessera:mfa' }))))
  t.equal(mfa['acr'], 'urn:tessera:mfa', 'a password and a code: urn:tessera:mfa, no step-up needed for it')

  ctx.clock.advance(60)
  const asked = await browser.get(rp.authorizeUrl({ acr_values: 'phr' }))
  t.equal(location(asked), '/login/second-factor', 'phr: a step-up')
  const page = await browser.get('/login/second-factor')
  t.match(page.body, '>Use a passkey<', 'the passkey is offered')
  t.notMatch(page.body, 'name="code"', 'no code field: a code cannot reach phr')
  t.match(
    page.body,
    'Payroll asks for a passkey: a code from an authenticator app or a recovery code is not enough for it.',
    'and the page says why',
  )
  const stored = await ctx.deps.store.db.selectFrom('pending_logins').select('required_acr').where('user_id', '=', user.id).execute()
  t.same(
    stored.map((row) => row.required_acr),
    ['phr'],
    'the required acr is kept with the pending sign-in',
  )

  const code = await totpCode(ctx, secret)
  const refused = await browser.post('/login/second-factor', { code }, '/login/second-factor')
  t.equal(refused.statusCode, 403, 'a code is refused, not taken and looped back')
  t.match(refused.body, 'A code is not enough here: this application asks for a passkey.')
  t.notOk(location(refused), 'no redirect')
  const [event] = await ctx.deps.repos.auditEvents.list({ type: 'second_factor_failure', userId: user.id, limit: 1 })
  t.match(event, { detail: { reason: 'insufficient_factor', factor: 'code', required: 'phr' } }, 'audited')
  t.equal((await ctx.deps.repos.auditEvents.list({ type: 'step_up', limit: 5 })).length, 0, 'no step-up happened')

  const stepped = await passkeySecondFactor(browser, authenticator)
  t.match(location(stepped), /^https:\/\/rp\.example\/callback\?code=/, 'the passkey completes the step-up')
  const claims = await rp.idToken(location(stepped))
  t.equal(claims['acr'], 'phr')
  t.same(claims['amr'], ['pwd', 'otp', 'hwk', 'user', 'mfa'])
  t.equal((await ctx.deps.repos.auditEvents.list({ type: 'step_up', limit: 5 })).length, 1, 'one step-up, audited')
  t.ok(await verifyTotp(ctx.deps, user.id, code), 'the refused code was never checked, so it was not used up')
})

t.test('a phr step-up for a user without a passkey says so on the page', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const rp = relyingParty(ctx, await ctx.addClient({ name: 'Payroll' }))
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  await addPasskey(browser, authenticator, 'Laptop')
  // A password session asks for phr: the passkey reaches it.
  t.equal(location(await browser.get(rp.authorizeUrl({ acr_values: 'phr' }))), '/login/second-factor')
  // The passkey goes (on another device, say) before the step-up is answered.
  const id = (await ctx.deps.repos.passkeys.listForUser(user.id))[0]!.id
  await ctx.deps.repos.passkeys.remove(user.id, id)
  const page = await browser.get('/login/second-factor')
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Payroll asks for a passkey, and your account has none yet.')
  t.notMatch(page.body, '>Use a passkey<')
  t.notMatch(page.body, 'name="code"', 'the recovery codes cannot reach phr either')
  // (The page has no form left; the account page's anti-forgery token serves the forged post.)
  const refused = await browser.post('/login/second-factor', { code: 'aaaa-bbbb-cccc-dddd' }, '/account')
  t.equal(refused.statusCode, 403, 'and a recovery code is refused unchecked')
})

t.test('the tokens say a requested acr the session meets; refreshed ones keep it; unknown essential values fail', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const { client, secret } = await ctx.addClient({ grantTypes: ['authorization_code', 'refresh_token'] })
  const rp = relyingParty(ctx, { client, secret })
  const authenticator = new SoftAuthenticator(new URL(ctx.issuer).origin)
  const setup = new MfaBrowser(ctx)
  await setup.login(user.email, user.password)
  await addPasskey(setup, authenticator, 'Laptop')
  const browser = new MfaBrowser(ctx)
  t.equal(location(await passkeySignIn(browser, authenticator)), '/account', 'a passkey session: phr')

  const essential = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:tessera:mfa'] } } })
  const answered = await browser.get(rp.authorizeUrl({ claims: essential, scope: 'openid email offline_access' }))
  const claims = await rp.idToken(location(answered))
  t.equal(claims['acr'], 'urn:tessera:mfa', 'OIDC Core §5.5.1.1: one of the requested values, which the passkey session meets')
  t.same(claims['amr'], ['hwk', 'user'], 'amr still says how')
  t.match(claims['access'], { acr: 'urn:tessera:mfa' }, 'the access token agrees')
  const refreshToken = claims['refreshToken']
  if (typeof refreshToken !== 'string') throw new Error('no refresh token')
  const refreshed = await rp.tokens({ grant_type: 'refresh_token', refresh_token: refreshToken })
  t.equal(decodeJwt(refreshed.id_token)['acr'], 'urn:tessera:mfa', 'refreshed ID tokens keep it')

  const preferred = await rp.idToken(location(await browser.get(rp.authorizeUrl({ acr_values: 'urn:tessera:mfa phr' }))))
  t.equal(preferred['acr'], 'urn:tessera:mfa', 'acr_values: the first value (in order of preference) the session meets')
  const stronger = await rp.idToken(location(await browser.get(rp.authorizeUrl({ acr_values: 'phr urn:tessera:mfa' }))))
  t.equal(stronger['acr'], 'phr')
  const plain = await rp.idToken(location(await browser.get(rp.authorizeUrl())))
  t.equal(plain['acr'], 'phr', 'nothing asked: what the session achieved')

  const unknown = JSON.stringify({ id_token: { acr: { essential: true, values: ['urn:example:gold'] } } })
  for (const [who, asker] of [
    ['the signed-in browser', browser],
    ['a browser without a session', new MfaBrowser(ctx)],
  ] as const) {
    const failed = new URL(location(await asker.get(rp.authorizeUrl({ claims: unknown }))))
    t.equal(failed.searchParams.get('error'), 'unmet_authentication_requirements', `${who}: an essential acr Tessera never issues fails`)
    t.equal(failed.searchParams.get('state'), 'st')
  }
  const mixed = JSON.stringify({ userinfo: { acr: { essential: true, values: ['urn:example:gold', 'urn:tessera:mfa'] } } })
  t.equal(
    (await rp.idToken(location(await browser.get(rp.authorizeUrl({ claims: mixed })))))['acr'],
    'urn:tessera:mfa',
    'unknown values beside a known one are ignored',
  )
})

t.test('idp clients update --require-mfa on an existing client: its next sign-in needs a second factor', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const { client, secret } = await ctx.addClient({ name: 'Ledger' })
  const rp = relyingParty(ctx, { client, secret })
  const browser = new MfaBrowser(ctx)
  await browser.login(user.email, user.password)
  t.match(location(await browser.get(rp.authorizeUrl())), /[?&]code=/, 'no policy yet: the password session is enough')

  const updated = await cliFor(ctx)(['clients', 'update', client.id, '--require-mfa', '--json'])
  t.equal(updated.code, 0, updated.stderr.join('\n'))
  t.equal((await ctx.deps.repos.clients.find(client.id))!.requireMfa, true, 'stored')
  const enrol = location(await browser.get(rp.authorizeUrl()))
  t.match(enrol, /^\/account\/second-factor\?interaction=/, 'the same session is now sent to set up a second factor')
  const silent = await browser.get(rp.authorizeUrl({ prompt: 'none' }))
  t.equal(new URL(location(silent)).searchParams.get('error'), 'interaction_required')
})
