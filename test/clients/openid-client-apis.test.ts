/**
 * openid-client v6 against registered APIs and self-registration: dynamic registration with an
 * initial access token, private_key_jwt, resource indicators, and each error a client library
 * must be able to read: invalid_token (no initial access token; RFC 7592 with a wrong token),
 * invalid_redirect_uri, invalid_client_metadata (client_credentials too: a self-registered
 * client gets API tokens only with a user's consent), invalid_target at /authorize, code
 * redemption and refresh (unknown, unpermitted, malformed), userinfo's invalid_token for an API
 * token, unauthorized_client, invalid_client for a refused metadata document, 429 from /register.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { decodeJwt, exportJWK, generateKeyPair } from 'jose'
import * as client from 'openid-client'
import { registerApi } from '../../src/apis/registry.js'
import { createInitialAccessToken } from '../../src/clients/dynamic-registration.js'
import { clientFromMetadata } from '../../src/clients/self-described.js'
import { parseClientMetadata } from '../../src/oauth/client-metadata.js'
import { hashSecret, randomId, randomToken } from '../../src/secrets.js'
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

  await t.test('invalid_target at code redemption leaves the code redeemable', async (t) => {
    const { callback, verifier, state } = await authorizeWith({ scope: 'openid photos:read', resource: PHOTOS })
    for (const [resource, why] of [
      ['https://unknown.example', 'a resource the authorization did not cover'],
      ['photos', 'not an absolute URI'],
    ] as const) {
      t.match(
        await failure(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource })),
        { status: 400, error: 'invalid_target' },
        why,
      )
    }
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      { resource: PHOTOS },
    )
    t.equal(decodeJwt(tokens.access_token).aud, PHOTOS, 'the same code, with a good resource')
  })

  await t.test('unknown and malformed resources in the authorization response', async (t) => {
    for (const resource of ['https://unknown.example', 'photos', 'https://photos.example/api#x']) {
      const { callback, verifier, state } = await authorizeWith({ scope: 'openid', resource })
      t.equal(callback.searchParams.get('state'), state, `${resource}: sent back to the client, with its state`)
      t.match(
        await failure(client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })),
        { error: 'invalid_target' },
        resource,
      )
    }
  })

  await t.test('userinfo refuses a token for an API (invalid_token challenge)', async (t) => {
    const { callback, verifier, state } = await authorizeWith({ scope: 'openid photos:read', resource: PHOTOS })
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state })
    t.equal(decodeJwt(tokens.access_token).aud, PHOTOS)
    const sub = tokens.claims()!.sub
    t.match(await failure(client.fetchUserInfo(config, tokens.access_token, sub)), {
      status: 401,
      cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }],
    })
  })

  await t.test('client_credentials: refused at registration, and at the token endpoint for a self-registered client', async (t) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256' }] }
    t.match(
      await failure(
        client.dynamicClientRegistration(
          issuer,
          { client_name: 'Photo indexer', grant_types: ['client_credentials'], token_endpoint_auth_method: 'private_key_jwt', jwks },
          client.PrivateKeyJwt(privateKey),
          { ...insecure, initialAccessToken },
        ),
      ),
      { status: 400, error: 'invalid_client_metadata', error_description: /client_credentials/ },
      'no tokens without a user for a client nobody vetted',
    )
    const signed = await client.dynamicClientRegistration(
      issuer,
      { ...agentMetadata, client_name: 'Signed agent', token_endpoint_auth_method: 'private_key_jwt', jwks },
      client.PrivateKeyJwt(privateKey),
      { ...insecure, initialAccessToken },
    )
    t.match(
      await failure(client.clientCredentialsGrant(signed, { scope: 'photos:read', resource: PHOTOS })),
      { status: 400, error: 'unauthorized_client' },
      'not its grant',
    )
    const impostor = new client.Configuration(
      signed.serverMetadata(),
      signed.clientMetadata().client_id,
      {},
      client.PrivateKeyJwt((await generateKeyPair('ES256')).privateKey),
    )
    client.allowInsecureRequests(impostor)
    t.match(
      await failure(client.clientCredentialsGrant(impostor, { scope: 'photos:read', resource: PHOTOS })),
      { status: 401, cause: [{ scheme: 'basic' }] },
      'another key: the client is not authenticated',
    )

    // A row stored before the registration rule (or by any other path): the token endpoint refuses too.
    const legacy = clientFromMetadata(
      {
        ...parseClientMetadata(
          { client_name: 'Legacy service', grant_types: ['authorization_code'], redirect_uris: [REDIRECT] },
          'dynamic',
        ),
        grantTypes: ['client_credentials'],
      },
      'dynamic',
      randomId(),
      { now: ctx.clock.now(), refreshAt: null },
    )
    await ctx.deps.repos.clients.insert(legacy.client, hashSecret(randomToken()))
    const legacyConfig = new client.Configuration(config.serverMetadata(), legacy.client.id, {}, client.ClientSecretBasic(legacy.secret!))
    client.allowInsecureRequests(legacyConfig)
    t.match(await failure(client.clientCredentialsGrant(legacyConfig, { resource: PHOTOS })), {
      status: 400,
      error: 'unauthorized_client',
      error_description: /registered by an operator/,
    })
  })

  await t.test('RFC 7592: read and delete with a wrong token are invalid_token challenges', async (t) => {
    const registered = await client.dynamicClientRegistration(issuer, agentMetadata, client.None(), { ...insecure, initialAccessToken })
    const metadata = registered.clientMetadata()
    const uri = new URL(metadata['registration_client_uri'] as string)
    const token = metadata['registration_access_token'] as string
    for (const method of ['GET', 'DELETE'] as const) {
      t.match(
        await failure(client.fetchProtectedResource(registered, 'not-the-token', uri, method)),
        { status: 401, cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }] },
        `${method} with a wrong token`,
      )
    }
    const read = await client.fetchProtectedResource(registered, token, uri, 'GET')
    t.equal(read.status, 200)
    t.match(await read.json(), { client_id: metadata.client_id, registration_access_token: token })
    const deleted = await client.fetchProtectedResource(registered, token, uri, 'DELETE')
    t.equal(deleted.status, 204)
    t.match(
      await failure(client.fetchProtectedResource(registered, token, uri, 'GET')),
      { status: 401, cause: [{ scheme: 'bearer', parameters: { error: 'invalid_token' } }] },
      'deleted: its token is no longer valid',
    )
  })

  await t.test('a refused client metadata document is invalid_client', async (t) => {
    const site = http.createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ client_id: 'https://someone-else.example/client.json', redirect_uris: [REDIRECT] }))
    })
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve))
    t.teardown(() => new Promise<void>((resolve) => site.close(() => resolve())))
    const documentUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/client.json`
    const byUrl = new client.Configuration(config.serverMetadata(), documentUrl, {}, client.None())
    client.allowInsecureRequests(byUrl)
    const refused = (await failure(client.refreshTokenGrant(byUrl, 'any-refresh-token'))) as client.WWWAuthenticateChallengeError
    // RFC 6749 §5.2: invalid_client is a 401 with a challenge; the library surfaces the challenge, the body says why.
    t.match(refused, { status: 401, cause: [{ scheme: 'basic' }] })
    t.match(await refused.response.json(), {
      error: 'invalid_client',
      error_description: /metadata document cannot be used: its client_id is not exactly the URL it was fetched from/,
    })
  })
})

t.test('openid-client: 429 from /register once an address used up its registrations', async (t) => {
  const ctx = await createTestApp({ listen: true, env: { REGISTRATION: 'open', REGISTRATION_RATE_LIMIT: '1' } })
  t.teardown(() => ctx.close())
  const issuer = new URL(ctx.issuer)
  const metadata = { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }
  const first = await client.dynamicClientRegistration(issuer, metadata, client.None(), insecure)
  t.ok(first.clientMetadata().client_id)
  const limited = (await failure(client.dynamicClientRegistration(issuer, metadata, client.None(), insecure))) as {
    status?: number
    cause?: unknown
  }
  const status = limited.status ?? (limited.cause as Response | undefined)?.status
  t.equal(status, 429, 'the library reports the status')
})
