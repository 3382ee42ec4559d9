/**
 * The token lifecycle seen by a real relying party: openid-client v6 against Tessera listening on
 * loopback. Refresh rotation and reuse detection, revocation seen at introspection and userinfo,
 * and RP-initiated logout seen by prompt=none. The login page is driven with fetch like a browser.
 */
import t from 'tap'
import * as oidc from 'openid-client'
import { FetchCookieJar, send, signInOverHttp } from '../helpers/http-client.js'
import { createTestApp, type TestApp, type TestUser } from '../helpers/test-app.js'

const REDIRECT_URI = 'https://rp.example/callback'
const BYE = 'https://rp.example/bye'

interface Flow {
  readonly config: oidc.Configuration
  readonly jar: FetchCookieJar
  readonly ctx: TestApp
}

async function codeFlow({ config, jar }: Flow, scope: string, user?: TestUser, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier()
  const state = oidc.randomState()
  const nonce = oidc.randomNonce()
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    state,
    nonce,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  })
  const { callbackUrl: callback } = await signInOverHttp(url, jar, user)
  return {
    callback,
    grant: () => oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce }),
  }
}

async function setup(t: { teardown(fn: () => unknown): void }, options: { isPublic?: boolean } = {}): Promise<Flow & { user: TestUser }> {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  const { client, secret } = await ctx.addClient({
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [BYE],
    isPublic: options.isPublic ?? false,
  })
  const execute = [oidc.allowInsecureRequests]
  const config =
    secret === null
      ? await oidc.discovery(new URL(ctx.issuer), client.id, undefined, oidc.None(), { execute })
      : await oidc.discovery(new URL(ctx.issuer), client.id, secret, undefined, { execute })
  return { ctx, config, jar: new FetchCookieJar(), user: await ctx.addUser({ name: 'Grace Hopper' }) }
}

/** The OAuth error code a rejected openid-client call carries. */
async function oauthError(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError || error instanceof oidc.AuthorizationResponseError) return error.error
    if (error instanceof oidc.WWWAuthenticateChallengeError) return `${error.status} ${String(error.cause[0]?.parameters.error)}`
    throw error
  }
  return 'no error'
}

t.test('refresh rotation and reuse detection through openid-client', async (t) => {
  const flow = await setup(t)
  const { config, user, ctx } = flow
  const first = await (await codeFlow(flow, 'openid email offline_access', user)).grant()
  const original = first.claims()!
  t.type(first.refresh_token, 'string', 'refresh token for offline_access')

  const second = await oidc.refreshTokenGrant(config, first.refresh_token!)
  t.not(second.refresh_token, first.refresh_token, 'rotated')
  t.not(second.access_token, first.access_token)
  const refreshed = second.claims()!
  t.equal(refreshed.sub, original.sub)
  t.equal(refreshed.iss, ctx.issuer)
  t.equal(refreshed.aud, config.clientMetadata().client_id)
  t.equal(refreshed['azp'], original['azp'])
  t.equal(refreshed.auth_time, original.auth_time, 'original auth_time')
  t.notOk('nonce' in refreshed, 'no nonce after refresh')
  t.same(await oidc.fetchUserInfo(config, second.access_token, user.id), { sub: user.id, email: user.email, email_verified: true })

  const live = await oidc.tokenIntrospection(config, second.access_token)
  t.match(live, { active: true, sub: user.id, client_id: config.clientMetadata().client_id, iss: ctx.issuer })
  t.type(live.exp, 'number')
  t.type(live.iat, 'number')
  t.match(live.scope, /offline_access/)

  t.equal(await oauthError(oidc.refreshTokenGrant(config, first.refresh_token!)), 'invalid_grant', 'reuse of the rotated token refused')
  t.equal(await oauthError(oidc.refreshTokenGrant(config, second.refresh_token!)), 'invalid_grant', 'the family is revoked')
  t.same(await oidc.tokenIntrospection(config, second.access_token), { active: false }, 'its access token is inactive')
  t.equal(await oauthError(oidc.fetchUserInfo(config, second.access_token, user.id)), '401 invalid_token', 'and refused at userinfo')
})

t.test('a public client rotates its refresh tokens too', async (t) => {
  const flow = await setup(t, { isPublic: true })
  const first = await (await codeFlow(flow, 'openid offline_access', flow.user)).grant()
  const second = await oidc.refreshTokenGrant(flow.config, first.refresh_token!)
  t.type(second.refresh_token, 'string')
  t.not(second.refresh_token, first.refresh_token)
  t.equal(await oauthError(oidc.refreshTokenGrant(flow.config, first.refresh_token!)), 'invalid_grant')
  await oidc.tokenRevocation(flow.config, second.access_token)
  t.pass('a public client may revoke with its client_id')
})

t.test('revocation is seen at introspection and userinfo', async (t) => {
  const flow = await setup(t)
  const { config, user } = flow
  const tokens = await (await codeFlow(flow, 'openid offline_access', user)).grant()
  const other = await oidc.refreshTokenGrant(config, tokens.refresh_token!)
  t.equal((await oidc.fetchUserInfo(config, other.access_token, user.id)).sub, user.id)

  await oidc.tokenRevocation(config, other.access_token, { token_type_hint: 'access_token' })
  t.same(await oidc.tokenIntrospection(config, other.access_token), { active: false }, 'revoked access token inactive')
  t.equal(
    await oauthError(oidc.fetchUserInfo(config, other.access_token, user.id)),
    '401 invalid_token',
    'revoked access token refused at userinfo',
  )
  t.equal((await oidc.tokenIntrospection(config, other.refresh_token!)).active, true, 'the refresh token is still live')

  await oidc.tokenRevocation(config, other.refresh_token!)
  t.same(
    await oidc.tokenIntrospection(config, other.refresh_token!, { token_type_hint: 'refresh_token' }),
    { active: false },
    'revoked refresh token inactive',
  )
  t.equal(await oauthError(oidc.refreshTokenGrant(config, other.refresh_token!)), 'invalid_grant', 'revoked refresh token refused')
  await oidc.tokenRevocation(config, 'never-issued')
  t.pass('revoking an unknown token succeeds')
})

t.test('RP-initiated logout is seen by prompt=none', async (t) => {
  const flow = await setup(t)
  const { config, user, jar, ctx } = flow
  const offline = await (await codeFlow(flow, 'openid offline_access', user)).grant()
  const sso = await codeFlow(flow, 'openid', undefined, { prompt: 'none' })
  t.ok(sso.callback.searchParams.get('code'), 'before logout, prompt=none signs in silently')
  const online = await sso.grant()

  const endSession = oidc.buildEndSessionUrl(config, { id_token_hint: online.id_token!, post_logout_redirect_uri: BYE, state: 'bye-state' })
  t.equal(endSession.origin + endSession.pathname, `${ctx.issuer}/logout`, 'end_session_endpoint from discovery')
  const logout = await send(endSession, { jar })
  t.equal(logout.status, 303)
  t.equal(logout.headers.get('location'), `${BYE}?state=bye-state`)

  const after = await codeFlow(flow, 'openid', undefined, { prompt: 'none' })
  t.equal(after.callback.searchParams.get('iss'), ctx.issuer)
  t.equal(await oauthError(after.grant()), 'login_required', 'after logout, prompt=none → login_required')
  t.equal(
    await oauthError(oidc.fetchUserInfo(config, online.access_token, user.id)),
    '401 invalid_token',
    'the session’s access token is revoked',
  )
  t.equal(
    await oauthError(oidc.refreshTokenGrant(config, offline.refresh_token!)),
    'invalid_grant',
    'the offline_access refresh token of the session dies with it',
  )
})
