/**
 * openid-client v6 against registered APIs and self-registration: dynamic registration with an
 * initial access token, private_key_jwt, resource indicators on every grant, and each error a
 * client library must be able to read: invalid_token (no initial access token),
 * invalid_redirect_uri, invalid_client_metadata, invalid_target at /authorize and /token.
 */
import t from 'tap'
import { decodeJwt, exportJWK, generateKeyPair } from 'jose'
import * as client from 'openid-client'
import { registerApi } from '../../src/apis/registry.js'
import { createInitialAccessToken } from '../../src/clients/dynamic-registration.js'
import { createTestApp } from '../helpers/test-app.js'
import { hiddenField, HttpBrowser } from '../helpers/http-client.js'

const PHOTOS = 'https://photos.example/api'
const PAYROLL = 'https://payroll.example/api'
const REDIRECT = 'https://agent.example/callback'
const insecure = { execute: [client.allowInsecureRequests], timeout: 10 }

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => {
      throw new Error('expected a failure')
    },
    (error: unknown) => error,
  )

t.test('openid-client: registration, resource indicators and their errors', async (t) => {
  const ctx = await createTestApp({ listen: true, env: { REGISTRATION: 'token' } })
  t.teardown(() => ctx.close())
  const now = ctx.clock.now()
  await registerApi(
    ctx.deps.repos.apis,
    { identifier: PHOTOS, name: 'Photos', scopes: ['photos:read'], accessTokenTtl: null, firstPartyOnly: false },
    now,
  )
  await registerApi(
    ctx.deps.repos.apis,
    { identifier: PAYROLL, name: 'Payroll', scopes: ['payroll:read'], accessTokenTtl: null, firstPartyOnly: true },
    now,
  )
  const user = await ctx.addUser()
  const { token: initialAccessToken } = await createInitialAccessToken(ctx.deps, { ttl: 3600, maxUses: null })
  const issuer = new URL(ctx.issuer)
  const agentMetadata = {
    client_name: 'Photo Agent',
    redirect_uris: [REDIRECT],
    grant_types: ['authorization_code', 'refresh_token'],
    token_endpoint_auth_method: 'none',
  }

  await t.test('registration errors reach the library as OAuth errors', async (t) => {
    t.match(
      await failure(client.dynamicClientRegistration(issuer, agentMetadata, client.None(), insecure)),
      { status: 401, cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }] },
      'no initial access token',
    )
    const withToken = { ...insecure, initialAccessToken }
    t.match(
      await failure(
        client.dynamicClientRegistration(
          issuer,
          { ...agentMetadata, redirect_uris: ['http://agent.example/cb'] },
          client.None(),
          withToken,
        ),
      ),
      { status: 400, error: 'invalid_redirect_uri', error_description: /https/ },
    )
    t.match(
      await failure(
        client.dynamicClientRegistration(issuer, { ...agentMetadata, userinfo_signed_response_alg: 'RS256' }, client.None(), withToken),
      ),
      { status: 400, error: 'invalid_client_metadata', error_description: /userinfo/ },
    )
  })

  const config = await client.dynamicClientRegistration(issuer, agentMetadata, client.None(), { ...insecure, initialAccessToken })
  t.notOk(config.clientMetadata().client_secret, 'a public agent has no secret')

  /** The authorization request through login and consent; the callback URL the agent receives. */
  async function authorizeWith(parameters: Record<string, string>) {
    const verifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      ...parameters,
    })
    const browser = new HttpBrowser(ctx.issuer)
    const start = await browser.get(url.href)
    // A request refused before any login (invalid_target…) goes straight back to the agent.
    if (!start.location!.startsWith('/')) return { callback: new URL(start.location!), verifier, state }
    const login = await browser.get(start.location!)
    let next = await browser.post('/login', {
      _csrf: hiddenField(login.body, '_csrf'),
      interaction: hiddenField(login.body, 'interaction'),
      email: user.email,
      password: user.password,
    })
    if (next.location?.startsWith('/consent?')) {
      const consent = await browser.get(next.location)
      next = await browser.post('/consent', {
        _csrf: hiddenField(consent.body, '_csrf'),
        interaction: hiddenField(consent.body, 'interaction'),
        decision: 'approve',
      })
    }
    return { callback: new URL(next.location!), verifier, state }
  }

  await t.test('code, refresh and their resources', async (t) => {
    const { callback, verifier, state } = await authorizeWith({
      scope: 'openid offline_access photos:read',
      resource: PHOTOS,
      prompt: 'consent',
    })
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: PHOTOS },
    )
    t.equal(decodeJwt(tokens.access_token).aud, PHOTOS)
    t.equal(tokens.scope, 'photos:read')
    t.ok(tokens.refresh_token)
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!, { resource: PHOTOS })
    t.equal(decodeJwt(refreshed.access_token).aud, PHOTOS)
    t.match(await failure(client.refreshTokenGrant(config, refreshed.refresh_token!, { resource: 'https://unknown.example' })), {
      status: 400,
      error: 'invalid_target',
    })
  })

  await t.test('invalid_target in the authorization response', async (t) => {
    const { callback, verifier, state } = await authorizeWith({ scope: 'openid payroll:read', resource: PAYROLL })
    t.equal(callback.searchParams.get('error'), 'invalid_target')
    t.match(await failure(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })), {
      error: 'invalid_target',
    })
  })

  await t.test('private_key_jwt and client_credentials with a resource', async (t) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const service = await client.dynamicClientRegistration(
      issuer,
      {
        client_name: 'Photo indexer',
        grant_types: ['client_credentials'],
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256' }] },
      },
      client.PrivateKeyJwt(privateKey),
      { ...insecure, initialAccessToken },
    )
    const issued = await client.clientCredentialsGrant(service, { scope: 'photos:read', resource: PHOTOS })
    t.equal(decodeJwt(issued.access_token).aud, PHOTOS)
    t.equal(decodeJwt(issued.access_token)['client_id'], service.clientMetadata().client_id)
    t.match(await failure(client.clientCredentialsGrant(service, { scope: 'payroll:read', resource: PAYROLL })), {
      status: 400,
      error: 'invalid_target',
    })
    const impostor = new client.Configuration(
      service.serverMetadata(),
      service.clientMetadata().client_id,
      {},
      client.PrivateKeyJwt((await generateKeyPair('ES256')).privateKey),
    )
    client.allowInsecureRequests(impostor)
    t.match(
      await failure(client.clientCredentialsGrant(impostor, { scope: 'photos:read', resource: PHOTOS })),
      { status: 401, cause: [{ scheme: 'basic' }] },
      'another key',
    )
  })
})
