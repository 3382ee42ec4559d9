/**
 * The whole login with openid-client v6 as the relying party against a real Tessera listening on
 * loopback: discovery, PKCE S256 + state + nonce, the login page over real HTTP, the code grant
 * with each client authentication method, ID token claims, userinfo.
 */
import t from 'tap'
import { decodeProtectedHeader } from 'jose'
import * as client from 'openid-client'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { authorizeOverHttp, discover, runCodeFlow } from '../helpers/code-flow.js'
import { FetchCookieJar } from '../helpers/http-client.js'
import type { Teardown } from '../helpers/processes.js'

/** The error a promise rejects with (undefined if it resolves), for t.match on its fields. */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

const REDIRECT_URI = 'https://rp.example/callback'

async function listeningApp(t: Teardown): Promise<TestApp> {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  return ctx
}

t.test('discovery through openid-client', async (t) => {
  const ctx = await listeningApp(t)
  const { client: registered, secret } = await ctx.addClient({ redirectUris: [REDIRECT_URI] })
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretBasic())
  const metadata = config.serverMetadata()
  t.equal(metadata.issuer, ctx.issuer, 'issuer byte-equal to the configured one')
  t.equal(metadata.authorization_endpoint, `${ctx.issuer}/authorize`)
  t.equal(metadata.token_endpoint, `${ctx.issuer}/token`)
  t.equal(metadata.userinfo_endpoint, `${ctx.issuer}/userinfo`)
  t.equal(metadata.jwks_uri, `${ctx.issuer}/.well-known/jwks.json`)
  t.same(metadata.code_challenge_methods_supported, ['S256'])
  t.ok(metadata.supportsPKCE('S256'))
  t.equal(metadata.authorization_response_iss_parameter_supported, true)
  t.same(metadata.id_token_signing_alg_values_supported, ['RS256'])
})

t.test('confidential client, client_secret_basic: code flow with PKCE, state and nonce; claims; userinfo', async (t) => {
  const ctx = await listeningApp(t)
  const { client: registered, secret } = await ctx.addClient({ name: 'Basic RP', redirectUris: [REDIRECT_URI] })
  const user = await ctx.addUser({ name: 'Ada Lovelace' })
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretBasic())

  const flow = await runCodeFlow(config, { redirectUri: REDIRECT_URI, credentials: user })
  t.ok(flow.sawLoginForm, 'the login form was shown')
  t.equal(flow.authorizationUrl.searchParams.get('code_challenge_method'), 'S256')
  t.equal(flow.callbackUrl.origin + flow.callbackUrl.pathname, REDIRECT_URI, 'redirected to the registered URI exactly')
  t.equal(flow.callbackUrl.searchParams.get('state'), flow.state, 'state returned byte for byte')
  t.equal(flow.callbackUrl.searchParams.get('iss'), ctx.issuer, 'RFC 9207 iss in the authorization response')
  t.match(flow.callbackUrl.searchParams.get('code'), /^[A-Za-z0-9_-]{22,}$/, 'a code of at least 128 bits')

  const { tokens } = flow
  t.equal(tokens.token_type.toLowerCase(), 'bearer')
  t.ok(typeof tokens.expires_in === 'number' && tokens.expires_in > 0 && tokens.expires_in <= 3600, 'expires_in within 1 h')
  const claims = tokens.claims()!
  t.equal(claims.iss, ctx.issuer)
  t.equal(claims.sub, user.id, 'sub is the stable user id')
  t.not(claims.sub, user.email, 'sub is never the email')
  t.equal(claims.aud, registered.id)
  t.equal(claims['azp'], registered.id)
  t.equal(claims.nonce, flow.nonce)
  t.equal(claims['email'], user.email)
  t.equal(claims['email_verified'], true)
  t.equal(claims['name'], 'Ada Lovelace')
  t.type(claims.auth_time, 'number')
  t.type(claims['at_hash'], 'string')
  t.equal(decodeProtectedHeader(tokens.id_token!).alg, 'RS256')
  t.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt')

  const info = await client.fetchUserInfo(config, tokens.access_token, user.id)
  t.same(info, { sub: user.id, name: 'Ada Lovelace', email: user.email, email_verified: true })
})

t.test('confidential client, client_secret_post', async (t) => {
  const ctx = await listeningApp(t)
  const { client: registered, secret } = await ctx.addClient({ name: 'Post RP', redirectUris: [REDIRECT_URI] })
  const user = await ctx.addUser()
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretPost())
  const { tokens } = await runCodeFlow(config, { redirectUri: REDIRECT_URI, credentials: user })
  const claims = tokens.claims()!
  t.equal(claims.sub, user.id)
  t.equal(claims['email'], user.email)
  const info = await client.fetchUserInfo(config, tokens.access_token, user.id)
  t.equal(info.email, user.email)

  // A wrong secret: 401 invalid_client with WWW-Authenticate (RFC 6749 §5.2).
  const wrong = await discover(ctx.issuer, registered.id, 'not-the-secret', client.ClientSecretPost())
  const flow = await authorizeOverHttp(wrong, { redirectUri: REDIRECT_URI, credentials: user })
  const refused = await client
    .authorizationCodeGrant(wrong, flow.callbackUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
    })
    .then(
      () => null,
      (error: unknown) => error,
    )
  // openid-client surfaces a 401 with WWW-Authenticate as a challenge error; the body is still RFC 6749 §5.2 JSON.
  t.type(refused, client.WWWAuthenticateChallengeError, 'a wrong client secret is refused with a challenge')
  const challengeError = refused as client.WWWAuthenticateChallengeError
  t.equal(challengeError.status, 401)
  t.ok(challengeError.cause.length > 0, `WWW-Authenticate: ${challengeError.response.headers.get('www-authenticate')}`)
  t.match(await challengeError.response.json(), { error: 'invalid_client' })
})

t.test('public client, token endpoint auth none', async (t) => {
  const ctx = await listeningApp(t)
  const { client: registered, secret } = await ctx.addClient({ name: 'SPA', redirectUris: [REDIRECT_URI], isPublic: true })
  t.equal(secret, null, 'a public client has no secret')
  const user = await ctx.addUser()
  const config = await discover(ctx.issuer, registered.id, undefined, client.None())
  const { tokens } = await runCodeFlow(config, { redirectUri: REDIRECT_URI, scope: 'openid email', credentials: user })
  const claims = tokens.claims()!
  t.equal(claims.sub, user.id)
  t.equal(claims['email'], user.email)
  t.equal(claims['name'], undefined, 'no profile claims without the profile scope')
  t.equal(tokens.scope, 'openid email')
  const info = await client.fetchUserInfo(config, tokens.access_token, user.id)
  t.same(info, { sub: user.id, email: user.email, email_verified: true })
})

t.test('single sign-on: a second authorization with the same cookies skips the form', async (t) => {
  const ctx = await listeningApp(t)
  const { client: registered, secret } = await ctx.addClient({ redirectUris: [REDIRECT_URI] })
  const user = await ctx.addUser()
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretBasic())
  const jar = new FetchCookieJar()
  const first = await runCodeFlow(config, { redirectUri: REDIRECT_URI, jar, credentials: user })
  const second = await runCodeFlow(config, { redirectUri: REDIRECT_URI, jar })
  t.notOk(second.sawLoginForm, 'no login form the second time')
  t.equal(second.tokens.claims()!.sub, user.id)
  t.equal(second.tokens.claims()!.auth_time, first.tokens.claims()!.auth_time, 'auth_time is the original login')
})

t.test('the server refuses what openid-client would be tricked into sending', async (t) => {
  const ctx = await listeningApp(t)
  const { client: registered, secret } = await ctx.addClient({ redirectUris: [REDIRECT_URI] })
  const user = await ctx.addUser()
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretBasic())

  t.test('a wrong PKCE verifier → invalid_grant', async (t) => {
    const flow = await authorizeOverHttp(config, { redirectUri: REDIRECT_URI, credentials: user })
    t.match(
      await failure(
        client.authorizationCodeGrant(config, flow.callbackUrl, {
          pkceCodeVerifier: client.randomPKCECodeVerifier(),
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        }),
      ),
      { error: 'invalid_grant', status: 400 },
    )
  })

  t.test('a replayed code → invalid_grant, and the first redemption’s access token dies', async (t) => {
    const flow = await authorizeOverHttp(config, { redirectUri: REDIRECT_URI, credentials: user })
    const checks = { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce }
    const tokens = await client.authorizationCodeGrant(config, flow.callbackUrl, checks)
    t.equal((await client.fetchUserInfo(config, tokens.access_token, user.id)).sub, user.id)
    t.match(
      await failure(client.authorizationCodeGrant(config, flow.callbackUrl, checks)),
      { error: 'invalid_grant' },
      'the replay is refused',
    )
    t.match(
      await failure(client.fetchUserInfo(config, tokens.access_token, user.id)),
      { status: 401 },
      'userinfo refuses the revoked access token',
    )
  })

  t.test('a code for client A is refused to client B', async (t) => {
    const other = await ctx.addClient({ redirectUris: [REDIRECT_URI] })
    const otherConfig = await discover(ctx.issuer, other.client.id, other.secret!, client.ClientSecretBasic())
    const flow = await authorizeOverHttp(config, { redirectUri: REDIRECT_URI, credentials: user })
    t.match(
      await failure(
        client.authorizationCodeGrant(otherConfig, flow.callbackUrl, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
          expectedNonce: flow.nonce,
        }),
      ),
      { error: 'invalid_grant' },
    )
  })
})
