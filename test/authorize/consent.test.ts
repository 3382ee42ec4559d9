/**
 * Consent for third-party clients (OIDC Core §3.1.2.4, §11): the page names the client and the
 * scopes in plain words; approval is remembered per user, client and scopes; denial is
 * access_denied; prompt=none without consent is consent_required; offline_access only with
 * prompt=consent; the account page lists authorised clients and revokes them.
 */
import t from 'tap'
import {
  authorize,
  CookieJar,
  getPage,
  hiddenField,
  introspect,
  pkcePair,
  postForm,
  redeem,
  refresh,
  type RegisteredClient,
  RP,
  signIn,
  silentAuthorize,
  type Tokens,
  userinfo,
} from '../helpers/client.js'
import { createTestApp, type TestApp, type TestUser } from '../helpers/test-app.js'

// test/helpers/test-app.ts does not forward `thirdParty` to buildClient; `firstParty: false` is what takes effect.
const thirdParty = (ctx: TestApp, name = 'Photo Printer') => ctx.addClient({ name, thirdParty: true, firstParty: false })

/** Authorize (logging in if needed) up to the consent page. */
async function consentPage(ctx: TestApp, rp: RegisteredClient, jar: CookieJar, user: TestUser, params: Record<string, string> = {}) {
  const { verifier, challenge } = pkcePair()
  const { response } = await authorize(
    ctx,
    jar,
    {
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: RP,
      scope: 'openid',
      state: 'st-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      ...params,
    },
    user,
  )
  const target = response.headers.location ?? ''
  if (!target.startsWith('/consent?')) throw new Error(`expected the consent page, got ${response.statusCode} ${target}`)
  const page = await getPage(ctx, jar, target)
  return { page, verifier }
}

async function decide(ctx: TestApp, jar: CookieJar, html: string, decision: 'approve' | 'deny', origin?: string) {
  const response = await postForm(
    ctx,
    jar,
    '/consent',
    { _csrf: hiddenField(html, '_csrf'), interaction: hiddenField(html, 'interaction'), decision },
    origin,
  )
  return { response, location: response.headers.location ? new URL(response.headers.location) : null }
}

/** The whole third-party login with approval: the token response. */
async function approveAndRedeem(
  ctx: TestApp,
  rp: RegisteredClient,
  jar: CookieJar,
  user: TestUser,
  params: Record<string, string> = {},
): Promise<Tokens> {
  const { page, verifier } = await consentPage(ctx, rp, jar, user, params)
  const { location } = await decide(ctx, jar, page.body, 'approve')
  return (await redeem(ctx, rp, location!.searchParams.get('code')!, { code_verifier: verifier })).json() as Tokens
}

t.test('the consent page names the client and the scopes in plain words; approve → code', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx, 'Photo <Printer>')
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const { page, verifier } = await consentPage(ctx, rp, jar, user, { scope: 'openid email profile' })
  t.equal(page.statusCode, 200)
  t.match(page.body, 'Photo &lt;Printer&gt;', 'the client name, escaped')
  t.match(page.body, 'See your email address')
  t.match(page.body, 'See your name')
  t.match(page.body, 'Know who you are')
  t.notMatch(page.body, />\s*email\s*</, 'no raw scope names as list items')
  t.equal(page.headers['cache-control'], 'no-store')

  const { response, location } = await decide(ctx, jar, page.body, 'approve')
  t.equal(response.statusCode, 303, 'consent post answers 303')
  t.equal(`${location!.origin}${location!.pathname}`, RP)
  t.equal(location!.searchParams.get('state'), 'st-1')
  t.equal(location!.searchParams.get('iss'), ctx.issuer)
  const tokens = (await redeem(ctx, rp, location!.searchParams.get('code')!, { code_verifier: verifier })).json() as Tokens
  t.equal(tokens.scope, 'openid email profile')
  t.equal((await userinfo(ctx, tokens.access_token)).json().email, user.email)
})

t.test('approval is remembered per user, client and scopes', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx)
  const otherRp = await thirdParty(ctx, 'Other App')
  const user = await ctx.addUser()
  const jar = new CookieJar()
  await approveAndRedeem(ctx, rp, jar, user, { scope: 'openid email' })

  const again = await silentAuthorize(ctx, rp, jar, { scope: 'openid email', prompt: '' })
  t.ok(again.searchParams.get('code'), 'second authorization: straight to a code, no consent page')
  const silent = await silentAuthorize(ctx, rp, jar, { scope: 'openid' })
  t.ok(silent.searchParams.get('code'), 'prompt=none with a narrower scope: code')
  const freshBrowser = await authorize(
    ctx,
    new CookieJar(),
    {
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: RP,
      scope: 'openid email',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    },
    user,
  )
  t.ok(freshBrowser.location?.searchParams.get('code'), 'a new login of the same user: no consent page')

  const wider = await silentAuthorize(ctx, rp, jar, { scope: 'openid email profile' })
  t.equal(wider.searchParams.get('error'), 'consent_required', 'a wider scope needs consent again')
  const otherClient = await silentAuthorize(ctx, otherRp, jar)
  t.equal(otherClient.searchParams.get('error'), 'consent_required', 'another client needs its own consent')
  const otherUser = await ctx.addUser()
  const { page } = await consentPage(ctx, rp, new CookieJar(), otherUser, { scope: 'openid email' })
  t.equal(page.statusCode, 200, 'another user is asked')
})

t.test('deny → access_denied with state and iss; nothing remembered', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx)
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const { page } = await consentPage(ctx, rp, jar, user, { state: 'deny me' })
  const { response, location } = await decide(ctx, jar, page.body, 'deny')
  t.equal(response.statusCode, 303)
  t.equal(`${location!.origin}${location!.pathname}`, RP)
  t.equal(location!.searchParams.get('error'), 'access_denied')
  t.equal(location!.searchParams.get('state'), 'deny me')
  t.equal(location!.searchParams.get('iss'), ctx.issuer)
  t.notOk(location!.searchParams.has('code'), 'no code')
  t.equal((await silentAuthorize(ctx, rp, jar)).searchParams.get('error'), 'consent_required', 'denial is not remembered as approval')
})

t.test('prompt=none without consent → consent_required; first-party clients never ask', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx)
  const firstParty = await ctx.addClient({ name: 'Our own app' })
  const user = await ctx.addUser()
  const jar = new CookieJar()
  t.equal((await silentAuthorize(ctx, rp, jar)).searchParams.get('error'), 'login_required', 'no session: login_required')

  const login = await authorize(
    ctx,
    jar,
    {
      response_type: 'code',
      client_id: firstParty.client.id,
      redirect_uri: RP,
      scope: 'openid email offline_access',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
    },
    user,
  )
  t.ok(login.location?.searchParams.get('code'), 'first-party: code straight after login, no consent page')

  const none = await silentAuthorize(ctx, rp, jar, { state: 'quiet' })
  t.equal(none.searchParams.get('error'), 'consent_required')
  t.equal(none.searchParams.get('state'), 'quiet')
  t.equal(none.searchParams.get('iss'), ctx.issuer)
  t.notOk(none.searchParams.has('code'))
})

t.test('third-party offline_access only with prompt=consent', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx)
  const user = await ctx.addUser()
  const jar = new CookieJar()

  const plain = await approveAndRedeem(ctx, rp, jar, user, { scope: 'openid offline_access' })
  t.equal(plain.scope, 'openid', 'offline_access dropped without prompt=consent')
  t.notOk(plain.refresh_token, 'no refresh token')

  const { page, verifier } = await consentPage(ctx, rp, jar, user, { scope: 'openid offline_access', prompt: 'consent' })
  t.match(page.body, 'Stay connected', 'the page says what offline_access means')
  const { location } = await decide(ctx, jar, page.body, 'approve')
  const offline = (await redeem(ctx, rp, location!.searchParams.get('code')!, { code_verifier: verifier })).json() as Tokens
  t.equal(offline.scope, 'openid offline_access')
  t.type(offline.refresh_token, 'string', 'refresh token with prompt=consent')
  t.equal((await refresh(ctx, rp, offline.refresh_token!)).statusCode, 200)
})

t.test('the account page lists authorised clients and revokes them', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx, 'Photo Printer')
  const keep = await thirdParty(ctx, 'Calendar Sync')
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const tokens = await approveAndRedeem(ctx, rp, jar, user, { scope: 'openid email offline_access', prompt: 'consent' })
  const kept = await approveAndRedeem(ctx, keep, jar, user)

  t.equal((await getPage(ctx, new CookieJar(), '/account')).statusCode, 303, 'no session: sent to login')
  const account = await getPage(ctx, jar, '/account')
  t.equal(account.statusCode, 200)
  t.match(account.body, 'Photo Printer')
  t.match(account.body, 'Calendar Sync')
  t.match(account.body, 'See your email address', 'scopes in plain words')

  const csrf = hiddenField(account.body, '_csrf')
  const forged = await postForm(ctx, jar, '/account/applications/revoke', { client_id: rp.client.id, _csrf: 'forged' })
  t.equal(forged.statusCode, 403, 'bad anti-forgery token → 403')
  const crossSite = await postForm(
    ctx,
    jar,
    '/account/applications/revoke',
    { client_id: rp.client.id, _csrf: csrf },
    'https://evil.example',
  )
  t.equal(crossSite.statusCode, 403, 'cross-site → 403')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'nothing changed by the refused posts')

  const revoked = await postForm(ctx, jar, '/account/applications/revoke', { client_id: rp.client.id, _csrf: csrf })
  t.equal(revoked.statusCode, 303)
  t.equal(revoked.headers.location, '/account?notice=application-removed')
  const after = await getPage(ctx, jar, '/account')
  t.notMatch(after.body, 'Photo Printer', 'no longer listed')
  t.match(after.body, 'Calendar Sync', 'the other application stays')

  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'its access token is revoked')
  t.equal((await introspect(ctx, rp, tokens.access_token)).active, false)
  t.equal((await refresh(ctx, rp, tokens.refresh_token!)).json().error, 'invalid_grant', 'its refresh token is dead')
  t.equal((await silentAuthorize(ctx, rp, jar)).searchParams.get('error'), 'consent_required', 'consent is asked again')
  t.equal((await userinfo(ctx, kept.access_token)).statusCode, 200, 'the other application’s tokens live on')
})

t.test('a cross-site consent post is refused and issues no code', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await thirdParty(ctx)
  const user = await ctx.addUser()
  const jar = new CookieJar()
  const { page } = await consentPage(ctx, rp, jar, user)
  const { response } = await decide(ctx, jar, page.body, 'approve', 'https://evil.example')
  t.equal(response.statusCode, 403)
  t.notOk(response.headers.location)
  t.equal((await silentAuthorize(ctx, rp, jar)).searchParams.get('error'), 'consent_required', 'nothing remembered')
})

t.test('the consent endpoint cannot complete a request that still needs a login', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const rp = await ctx.addClient({ name: 'Our own app' }) // first-party: never a consent page
  const alice = await ctx.addUser()
  const bob = await ctx.addUser()
  const { tokens: bobTokens } = await signIn(ctx, rp, bob, { scope: 'openid' })
  const jar = new CookieJar()
  await signIn(ctx, rp, alice, { scope: 'openid', jar })
  ctx.clock.advance(600)

  // Requests that must show the login page: forced re-authentication, and a hint naming another user.
  for (const [label, extra] of [
    ['prompt=login', { prompt: 'login' }],
    ['max_age=0', { max_age: '0' }],
    ['id_token_hint of another user', { id_token_hint: bobTokens.id_token! }],
  ] as const) {
    const { response } = await authorize(ctx, jar, {
      response_type: 'code',
      client_id: rp.client.id,
      redirect_uri: RP,
      scope: 'openid',
      code_challenge: pkcePair().challenge,
      code_challenge_method: 'S256',
      ...extra,
    })
    const target = response.headers.location ?? ''
    t.match(target, /^\/login\?interaction=/, `${label}: the login page is required`)
    const interaction = new URLSearchParams(target.split('?')[1]).get('interaction')!
    const page = await getPage(ctx, jar, `/consent?interaction=${encodeURIComponent(interaction)}`)
    const csrf = /name="_csrf" value="([^"]*)"/.exec(page.body)?.[1] ?? ''
    const approved = await postForm(ctx, jar, '/consent', { _csrf: csrf, interaction, decision: 'approve' })
    t.notMatch(approved.headers.location ?? '', /[?&]code=/, `${label}: POST /consent must not issue a code without the login`)
  }
})
