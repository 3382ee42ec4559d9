/**
 * DPoP and PAR with the client libraries people use, against Tessera on loopback: openid-client
 * v6 (with DPOP_NONCE=on, so its nonce handling is exercised) and oauth4webapi v3 (with nonces
 * off and on; it caches the nonces, the application retries on use_dpop_nonce). Each pushes
 * the authorization request with a proof, signs a user in, redeems the code for DPoP-bound
 * tokens, calls userinfo with a proof and refreshes with the same key.
 */
import t from 'tap'
import { decodeJwt } from 'jose'
import * as client from 'openid-client'
import * as oauth from 'oauth4webapi'
import { createTestApp } from '../helpers/test-app.js'
import { FetchCookieJar, signInOverHttp } from '../helpers/http-client.js'

const REDIRECT_URI = 'http://127.0.0.1:9/callback'

t.test('openid-client: PAR + DPoP with server nonces', async (t) => {
  const ctx = await createTestApp({ listen: true, env: { DPOP_NONCE: 'on' } })
  t.teardown(() => ctx.close())
  const { client: registered } = await ctx.addClient({ name: 'SPA', isPublic: true, redirectUris: [REDIRECT_URI] })
  await ctx.deps.repos.clients.setPolicies(registered.id, { requireDpop: true, requirePar: true })
  const user = await ctx.addUser()
  const config = await client.discovery(new URL(ctx.issuer), registered.id, undefined, client.None(), {
    execute: [client.allowInsecureRequests],
    timeout: 10,
  })
  t.ok(config.serverMetadata().pushed_authorization_request_endpoint, 'PAR advertised')
  const dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const verifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const authorizationUrl = await client.buildAuthorizationUrlWithPAR(
    config,
    {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email offline_access',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    },
    { DPoP: dpop },
  )
  t.same([...authorizationUrl.searchParams.keys()].sort(), ['client_id', 'request_uri'], 'the browser carries a reference only')
  const { callbackUrl } = await signInOverHttp(authorizationUrl, new FetchCookieJar(), user)
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, { pkceCodeVerifier: verifier, expectedState: state }, undefined, {
    DPoP: dpop,
  })
  t.equal(tokens.token_type, 'dpop')
  const bound = (decodeJwt(tokens.access_token)['cnf'] as { jkt: string }).jkt
  t.match(bound, /^[A-Za-z0-9_-]{43}$/)
  const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub, { DPoP: dpop })
  t.equal(info.email, user.email, 'userinfo with a DPoP proof')
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, undefined, { DPoP: dpop })
  t.equal((decodeJwt(refreshed.access_token)['cnf'] as { jkt: string }).jkt, bound, 'the same key after refresh')
  const thief = client.getDPoPHandle(config, await client.randomDPoPKeyPair('ES256'))
  const stolen = await client
    .refreshTokenGrant(config, refreshed.refresh_token!, undefined, { DPoP: thief })
    .catch((error: unknown) => error)
  t.match(stolen, { error: 'invalid_grant' }, 'a stolen refresh token with another key')
})

/**
 * oauth4webapi keeps the nonce each response brings (per origin, DPoP-Nonce) but leaves the retry
 * to the application: one more attempt when the answer was use_dpop_nonce, as its documentation
 * shows with isDPoPNonceError. `retried` records where that happened.
 */
async function withNonceRetry<T>(what: string, retried: string[], attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt()
  } catch (error) {
    if (!oauth.isDPoPNonceError(error)) throw error
    retried.push(what)
    return attempt()
  }
}

for (const nonces of ['off', 'on'] as const) {
  t.test(`oauth4webapi: PAR + DPoP, DPOP_NONCE=${nonces}`, async (t) => {
    const ctx = await createTestApp({ listen: true, env: { DPOP_NONCE: nonces } })
    t.teardown(() => ctx.close())
    const { client: registered } = await ctx.addClient({ name: 'Native', isPublic: true, redirectUris: [REDIRECT_URI] })
    const user = await ctx.addUser()
    const insecure = { [oauth.allowInsecureRequests]: true }
    const issuer = new URL(ctx.issuer)
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))
    const oauthClient: oauth.Client = { client_id: registered.id }
    const auth = oauth.None()
    const DPoP = oauth.DPoP(oauthClient, await oauth.generateKeyPair('ES256'))
    const verifier = oauth.generateRandomCodeVerifier()
    const state = oauth.generateRandomState()
    const retried: string[] = []
    const pushed = await withNonceRetry('par', retried, async () =>
      oauth.processPushedAuthorizationResponse(
        as,
        oauthClient,
        await oauth.pushedAuthorizationRequest(
          as,
          oauthClient,
          auth,
          {
            response_type: 'code',
            redirect_uri: REDIRECT_URI,
            scope: 'openid offline_access',
            code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
            code_challenge_method: 'S256',
            state,
          },
          { DPoP, ...insecure },
        ),
      ),
    )
    const authorizationUrl = new URL(as.authorization_endpoint!)
    authorizationUrl.searchParams.set('client_id', registered.id)
    authorizationUrl.searchParams.set('request_uri', pushed.request_uri)
    const { callbackUrl } = await signInOverHttp(authorizationUrl, new FetchCookieJar(), user)
    const params = oauth.validateAuthResponse(as, oauthClient, callbackUrl, state)
    const result = await withNonceRetry('token', retried, async () =>
      oauth.processAuthorizationCodeResponse(
        as,
        oauthClient,
        await oauth.authorizationCodeGrantRequest(as, oauthClient, auth, params, REDIRECT_URI, verifier, { DPoP, ...insecure }),
      ),
    )
    t.equal(result.token_type, 'dpop')
    const sub = oauth.getValidatedIdTokenClaims(result)!.sub
    const userinfo = await withNonceRetry('userinfo', retried, async () => {
      const response = await oauth.userInfoRequest(as, oauthClient, result.access_token, { DPoP, ...insecure })
      if (nonces === 'on' && response.ok) t.type(response.headers.get('dpop-nonce'), 'string', 'userinfo sends a fresh nonce on success')
      return oauth.processUserInfoResponse(as, oauthClient, sub, response)
    })
    t.equal(userinfo.sub, user.id, 'userinfo with a proof')
    const refreshed = await withNonceRetry('refresh', retried, async () =>
      oauth.processRefreshTokenResponse(
        as,
        oauthClient,
        await oauth.refreshTokenGrantRequest(as, oauthClient, auth, result.refresh_token!, { DPoP, ...insecure }),
      ),
    )
    t.equal(refreshed.token_type, 'dpop')
    // With nonces on, only the very first request lacks one: every answer after it (/par, /token,
    // /userinfo) brought a fresh nonce that oauth4webapi put in the next proof.
    t.same(retried, nonces === 'on' ? ['par'] : [], nonces === 'on' ? 'one use_dpop_nonce, then nonces all along' : 'no nonce asked for')
    const bearer = await oauth
      .processRefreshTokenResponse(
        as,
        oauthClient,
        await oauth.refreshTokenGrantRequest(as, oauthClient, auth, refreshed.refresh_token!, insecure),
      )
      .catch((error: unknown) => error)
    t.match(bearer, { error: 'invalid_dpop_proof' }, 'the bound refresh token without a proof')
  })
}
