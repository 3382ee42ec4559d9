/**
 * The resource-server guides in docs/guides, run for real: each guide's example API
 * (test/guides/fixtures, shown verbatim in docs/guides/resource-servers.md) runs in its own process
 * against one real Tessera whose access tokens carry a separate API audience. Each must accept
 * Tessera's access tokens (a user's and a client_credentials one, and again after a key rotation)
 * and refuse everything else: no token, an ID token, tampered, unsigned, HMAC-confused, expired,
 * foreign-key, other-audience tokens, and a token from an issuer that hosts its own JWKS.
 */
import t, { type Test } from 'tap'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHmac, createPublicKey, generateKeyPairSync, randomUUID, type JsonWebKey, type KeyObject } from 'node:crypto'
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK } from 'jose'
import * as client from 'openid-client'
import { signJwt } from '../../src/tokens/sign.js'
import { createTestApp } from '../helpers/test-app.js'
import { discover } from '../helpers/code-flow.js'
import { clientCredentialsGrant, json as answerJson, clientPost } from '../helpers/http-client.js'
import { Browser, guideShowsFixture, reservePort, startExample, type RunningApp } from './helpers/kit.js'

const API_AUDIENCE = 'https://api.example.test'
const RP_REDIRECT_URI = 'https://rp.example/callback'

const GUIDES = [
  { name: 'jose', fixture: 'resource-server-jose.mjs' },
  { name: 'express-oauth2-jwt-bearer', fixture: 'express-oauth2-jwt-bearer.mjs' },
  { name: '@fastify/jwt + get-jwks', fixture: 'fastify-jwt.mjs' },
  { name: 'PyJWT (Debian python3-jwt) with Flask', fixture: 'pyjwt_flask.py' },
] as const

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')

interface ApiAnswer {
  readonly status: number
  readonly body: string
  readonly challenge: string | null
}

async function callApi(api: RunningApp, token: string | null): Promise<ApiAnswer> {
  const response = await fetch(`${api.url}/api/me`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(15_000),
  })
  return { status: response.status, body: await response.text(), challenge: response.headers.get('www-authenticate') }
}

/** An "issuer" an attacker controls: its own key, served as a JWKS (and discovery) on loopback. */
async function attackerIssuer(
  t: Test,
): Promise<{ issuer: string; sign(claims: Record<string, unknown>): Promise<string>; requests: string[] }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'attacker-key', alg: 'RS256', use: 'sig' }
  const requests: string[] = []
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '')
    const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const body = req.url === '/.well-known/jwks.json' ? { keys: [jwk] } : { issuer, jwks_uri: `${issuer}/.well-known/jwks.json` }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    issuer,
    requests,
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: 'attacker-key' }).sign(privateKey),
  }
}

t.test('resource-server guides against a real Tessera', async (t) => {
  const ctx = await createTestApp({ listen: true, env: { LOGIN_RATE_LIMIT: '100000', ACCESS_TOKEN_AUDIENCE: API_AUDIENCE } })
  t.teardown(() => ctx.close())
  const syncClock = () => ctx.clock.set(Math.floor(Date.now() / 1000))
  syncClock()

  // The example APIs and the pitfall (the @fastify/jwt README's JWKS example) start together.
  const starting = Promise.all(
    [...GUIDES.map((guide) => guide.fixture), 'pitfalls/fastify-jwt-readme.mjs'].map(async (fixture) => {
      const { port } = await reservePort()
      return [fixture, await startExample(t, fixture, port, { ISSUER: ctx.issuer, AUDIENCE: API_AUDIENCE })] as const
    }),
  )
  starting.catch(() => undefined) // awaited below; this only keeps an early failure from going unhandled

  // Real tokens: a user's access and ID tokens (code flow with PKCE), and a client_credentials one.
  const rp = await ctx.addClient({ name: 'Web app', redirectUris: [RP_REDIRECT_URI] })
  const user = await ctx.addUser({ name: 'Ada Lovelace' })
  const config = await discover(ctx.issuer, rp.client.id, rp.secret!, client.ClientSecretBasic())
  const pkceCodeVerifier = client.randomPKCECodeVerifier()
  const expectedState = client.randomState()
  const expectedNonce = client.randomNonce()
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: RP_REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(pkceCodeVerifier),
    code_challenge_method: 'S256',
    state: expectedState,
    nonce: expectedNonce,
  })
  const login = await new Browser(ctx.issuer, user).navigate(authorizationUrl, { stopBefore: RP_REDIRECT_URI })
  if (!login.authorizationResponse) throw new Error(`no authorization response: ${login.visited.map(String).join(' → ')}`)
  const tokens = await client.authorizationCodeGrant(config, login.authorizationResponse, {
    pkceCodeVerifier,
    expectedState,
    expectedNonce,
    idTokenExpected: true,
  })
  const accessToken = tokens.access_token
  const idToken = tokens.id_token!
  const machine = await ctx.addClient({ name: 'Batch job', grantTypes: ['client_credentials'], scopes: ['api:read'], redirectUris: [] })
  const machineCredentials = { id: machine.client.id, secret: machine.secret! }
  const machineToken = async () => {
    const answer = await clientCredentialsGrant(ctx.issuer, machineCredentials, 'api:read')
    if (answer.status !== 200) throw new Error(`client_credentials grant answered ${answer.status}: ${answer.text}`)
    return String(answerJson(answer)['access_token'])
  }
  const serviceToken = await machineToken()
  t.equal(decodeJwt(accessToken).aud, API_AUDIENCE, 'access tokens carry ACCESS_TOKEN_AUDIENCE')
  t.equal(decodeProtectedHeader(accessToken).typ, 'at+jwt', 'access tokens are typed at+jwt')
  t.equal(decodeProtectedHeader(idToken).typ, 'JWT', 'ID tokens are typed JWT')

  // An expired access token: issued with Tessera's clock two hours back.
  ctx.clock.set(Math.floor(Date.now() / 1000) - 7200)
  const expired = await machineToken()
  syncClock()

  // Forgeries built from the real token and the published key.
  const claims = decodeJwt(accessToken)
  const { kid } = decodeProtectedHeader(accessToken)
  const [header, payload, signature] = accessToken.split('.') as [string, string, string]
  const tamperedPayload = `${header}.${b64url(JSON.stringify({ ...claims, sub: 'someone-else' }))}.${signature}`
  const algNone = `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${payload}.`
  const jwks = (await (await fetch(`${ctx.issuer}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) })).json()) as {
    keys: (JsonWebKey & { kid: string })[]
  }
  const publicPem = createPublicKey({ key: jwks.keys.find((key) => key.kid === kid)!, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string
  const hsInput = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid }))}.${payload}`
  const hmacConfused = `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`
  const { privateKey: strangerKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const signWith = (key: KeyObject, kidHeader: string, body: Record<string, unknown>) =>
    new SignJWT(body).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: kidHeader }).sign(key)
  const foreignSameKid = await signWith(strangerKey, kid!, { ...claims, sub: 'intruder' })
  const foreignUnknownKid = await signWith(strangerKey, 'not-a-tessera-kid', { ...claims, sub: 'intruder' })
  // Genuinely signed by Tessera's active key, but for another audience (say, another API).
  const otherAudience = await signJwt(
    ctx.deps.signer,
    'access_token',
    { ...claims, aud: ctx.issuer, jti: randomUUID() },
    ctx.deps.keys.signingKey(),
  )
  // A whole other "issuer" with its own JWKS on loopback: the token names it in iss.
  const attacker = await attackerIssuer(t)
  const now = Math.floor(Date.now() / 1000)
  const attackerToken = await attacker.sign({
    iss: attacker.issuer,
    aud: API_AUDIENCE,
    sub: 'intruder',
    client_id: 'intruder',
    scope: 'openid',
    jti: randomUUID(),
    iat: now,
    exp: now + 600,
  })

  const refused: [string, string | null][] = [
    ['no token', null],
    ['an ID token', idToken],
    ['a tampered payload', tamperedPayload],
    ['alg none', algNone],
    ['HS256 keyed with the RSA public key', hmacConfused],
    ['an expired access token', expired],
    ['a token signed by another key under Tessera’s kid', foreignSameKid],
    ['a token signed by another key under an unknown kid', foreignUnknownKid],
    ['a Tessera-signed token for another audience', otherAudience],
    ['a token from another issuer that publishes its own JWKS', attackerToken],
  ]

  const apis = new Map(await starting)
  const api = (fixture: string) => apis.get(fixture)!

  for (const guide of GUIDES) {
    t.test(`${guide.name} (docs/guides/resource-servers.md)`, async (t) => {
      t.ok(guideShowsFixture('resource-servers.md', guide.fixture), 'the guide shows the example program verbatim')
      const user200 = await callApi(api(guide.fixture), accessToken)
      t.equal(user200.status, 200, `accepts a user’s access token: ${user200.body}`)
      t.same(
        JSON.parse(user200.body),
        { sub: user.id, client_id: rp.client.id, scope: 'openid email profile' },
        'and sees the user’s claims',
      )
      const service200 = await callApi(api(guide.fixture), serviceToken)
      t.equal(service200.status, 200, `accepts a client_credentials access token: ${service200.body}`)
      t.same(
        JSON.parse(service200.body),
        { sub: machine.client.id, client_id: machine.client.id, scope: 'api:read' },
        'whose subject is the client',
      )
      for (const [what, token] of refused) {
        const answer = await callApi(api(guide.fixture), token)
        t.equal(answer.status, 401, `refuses ${what} (${answer.status}: ${answer.body.slice(0, 200)})`)
        t.match(answer.challenge, /^Bearer\b/, 'with a WWW-Authenticate: Bearer challenge')
      }
    })
  }

  t.test('no example API ever asked the foreign issuer for keys', async (t) => {
    t.same(attacker.requests, [], 'the foreign issuer’s JWKS was never fetched')
  })

  t.test('the @fastify/jwt README example accepts the foreign issuer’s token (the pitfall the guide warns about)', async (t) => {
    t.ok(guideShowsFixture('resource-servers.md', 'pitfalls/fastify-jwt-readme.mjs'), 'the guide shows the example it warns about')
    const readme = api('pitfalls/fastify-jwt-readme.mjs')
    t.equal((await callApi(readme, accessToken)).status, 200, 'it accepts Tessera’s tokens')
    const answer = await callApi(readme, attackerToken)
    t.equal(answer.status, 200, `and a token from any issuer that hosts its own JWKS: ${answer.body}`)
    t.same(JSON.parse(answer.body), { sub: 'intruder', client_id: 'intruder', scope: 'openid' })
    t.ok(attacker.requests.includes('/.well-known/jwks.json'), 'after fetching the keys from the URL in the token’s own iss')
    t.equal((await callApi(readme, otherAudience)).status, 200, 'and tokens for another audience')
  })

  t.test('local verification does not see revocation (the guide says: introspect if you need it)', async (t) => {
    const revoked = await clientPost(
      ctx.issuer,
      '/revoke',
      { id: rp.client.id, secret: rp.secret! },
      { token: accessToken, token_type_hint: 'access_token' },
    )
    t.equal(revoked.status, 200, 'Tessera revoked the access token')
    const userinfo = await fetch(`${ctx.issuer}/userinfo`, {
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(10_000),
    })
    t.equal(userinfo.status, 401, 'Tessera’s own userinfo refuses it now')
    for (const guide of GUIDES) {
      t.equal((await callApi(api(guide.fixture), accessToken)).status, 200, `${guide.name} still accepts it until it expires`)
    }
  })

  t.test('after a key rotation every example API accepts tokens signed by the new key', async (t) => {
    const before = ctx.deps.keys.signingKey().kid
    // The same rotation as `npx idp keys rotate`: the pre-published next key starts signing.
    await ctx.deps.keys.rotate({ immediately: true })
    syncClock()
    const rotatedToken = await machineToken()
    const rotatedKid = decodeProtectedHeader(rotatedToken).kid
    t.not(rotatedKid, before, `the new token is signed by the promoted key (${rotatedKid})`)
    for (const guide of GUIDES) {
      const answer = await callApi(api(guide.fixture), rotatedToken)
      t.equal(answer.status, 200, `${guide.name} accepts it: ${answer.body}`)
      t.equal((await callApi(api(guide.fixture), serviceToken)).status, 200, `${guide.name} still accepts tokens of the retired key`)
    }
  })
})
