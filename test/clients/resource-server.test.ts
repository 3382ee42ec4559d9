/**
 * Tessera's access tokens verified by a resource server in a separate process, the way real APIs
 * do it: jose (createRemoteJWKSet + jwtVerify) and the Express-tutorial stack (jsonwebtoken +
 * jwks-rsa). Both accept a real access token and refuse tampered, ID, `alg: none`, HMAC-confused,
 * foreign-key and expired tokens (RFC 8725, RFC 9068 §4).
 */
import t from 'tap'
import { createHmac, createPublicKey, generateKeyPairSync, sign as rsaSign, type JsonWebKey } from 'node:crypto'
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import * as client from 'openid-client'
import { createTestApp } from '../helpers/test-app.js'
import { authorizeOverHttp, discover, runCodeFlow } from '../helpers/code-flow.js'
import { startFixture } from '../helpers/processes.js'
import { withCharacterChanged } from '../helpers/forgery.js'

const REDIRECT_URI = 'https://rp.example/callback'
const FIXTURES = ['resource-server-jose.mjs', 'resource-server-express-style.mjs'] as const

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url')
const parts = (token: string) => token.split('.') as [string, string, string]

async function callApi(
  baseUrl: string,
  token: string | null,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const response = await fetch(`${baseUrl}/api/me`, {
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(10_000),
  })
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    challenge: response.headers.get('www-authenticate'),
  }
}

t.test('resource servers in separate processes verify Tessera access tokens', async (t) => {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  const { client: registered, secret } = await ctx.addClient({ redirectUris: [REDIRECT_URI] })
  const user = await ctx.addUser()
  const config = await discover(ctx.issuer, registered.id, secret!, client.ClientSecretBasic())
  const jwksUrl = config.serverMetadata().jwks_uri!
  const { tokens } = await runCodeFlow(config, { redirectUri: REDIRECT_URI, credentials: user })
  const accessToken = tokens.access_token
  const idToken = tokens.id_token!

  // The default audience of access tokens is the issuer itself (src/config/config.ts accessTokenAudience).
  t.equal(decodeJwt(accessToken).aud, ctx.issuer)
  t.equal(decodeProtectedHeader(accessToken).typ, 'at+jwt')

  // Forgeries, built from the real tokens.
  const [header, payload, signature] = parts(accessToken)
  const claims = decodeJwt(accessToken)
  const { kid } = decodeProtectedHeader(accessToken)
  const tamperedPayload = `${header}.${b64url(JSON.stringify({ ...claims, sub: 'someone-else' }))}.${signature}`
  const tamperedSignature = `${header}.${payload}.${withCharacterChanged(signature, 10)}`
  const algNone = `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid }))}.${payload}.`
  const algNoneUnsigned = `${b64url(JSON.stringify({ alg: 'none', typ: 'at+jwt' }))}.${payload}.`
  // Key confusion (CVE-2015-9235 family): HS256 keyed with the published RSA public key in PEM.
  const jwks = (await (await fetch(jwksUrl, { signal: AbortSignal.timeout(10_000) })).json()) as { keys: (JsonWebKey & { kid: string })[] }
  const publicPem = createPublicKey({ key: jwks.keys.find((key) => key.kid === kid)!, format: 'jwk' }).export({
    type: 'spki',
    format: 'pem',
  }) as string
  const hsInput = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid }))}.${payload}`
  const hmacConfused = `${hsInput}.${createHmac('sha256', publicPem).update(hsInput).digest('base64url')}`
  // A key that is not Tessera's, claiming Tessera's kid.
  const { privateKey: foreignKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const foreignInput = `${header}.${b64url(JSON.stringify({ ...claims, sub: 'intruder' }))}`
  const foreignSigned = `${foreignInput}.${rsaSign('sha256', Buffer.from(foreignInput), foreignKey).toString('base64url')}`

  // An expired access token: issued with Tessera's clock two hours in the past.
  const realNow = ctx.clock.now()
  ctx.clock.set(realNow - 7200)
  // The code is redeemed by hand: openid-client would rightly refuse the expired ID token.
  const old = await authorizeOverHttp(config, { redirectUri: REDIRECT_URI, credentials: user })
  const redeemed = await fetch(config.serverMetadata().token_endpoint!, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${registered.id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: old.callbackUrl.searchParams.get('code')!,
      redirect_uri: REDIRECT_URI,
      code_verifier: old.verifier,
    }),
    signal: AbortSignal.timeout(10_000),
  })
  t.equal(redeemed.status, 200)
  const expired = ((await redeemed.json()) as { access_token: string }).access_token
  ctx.clock.set(realNow)
  t.ok(decodeJwt(expired).exp! < Math.floor(Date.now() / 1000), 'the old token has expired')

  const forgeries: [string, string | null][] = [
    ['no token', null],
    ['a tampered payload', tamperedPayload],
    ['a tampered signature', tamperedSignature],
    ['an ID token', idToken],
    ['alg none (with kid)', algNone],
    ['alg none (no kid)', algNoneUnsigned],
    ['HS256 keyed with the RSA public key', hmacConfused],
    ['a token signed by another key under Tessera’s kid', foreignSigned],
    ['an expired access token', expired],
  ]

  t.test('Tessera’s own userinfo refuses the same tokens (docs/security.md §E)', async (t) => {
    const userinfo = config.serverMetadata().userinfo_endpoint!
    const good = await fetch(userinfo, { headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(10_000) })
    t.equal(good.status, 200)
    for (const [what, token] of forgeries) {
      const answer = await fetch(userinfo, {
        headers: token === null ? {} : { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      })
      t.equal(answer.status, 401, `refuses ${what}`)
      t.match(answer.headers.get('www-authenticate'), /^Bearer/)
    }
  })

  for (const fixture of FIXTURES) {
    t.test(`${fixture} with AUDIENCE = issuer`, async (t) => {
      const api = await startFixture(t, fixture, { JWKS_URL: jwksUrl, ISSUER: ctx.issuer, AUDIENCE: ctx.issuer })

      const ok = await callApi(api.url, accessToken)
      t.equal(ok.status, 200, `accepts a real access token: ${JSON.stringify(ok.body)}`)
      t.same(ok.body, { sub: user.id, client_id: registered.id, scope: 'openid email profile' })

      for (const [what, token] of forgeries) {
        const answer = await callApi(api.url, token)
        t.equal(answer.status, 401, `refuses ${what} (${String(answer.body['reason'])})`)
        t.equal(answer.body['error'], 'invalid_token')
        t.match(answer.challenge, /^Bearer/)
      }
    })

    t.test(`${fixture}: the typ check alone keeps ID tokens out when the audience includes the client_id`, async (t) => {
      const audience = [ctx.issuer, registered.id]
      // Without a typ check the ID token verifies: same issuer, same key, same algorithm.
      const { payload: idClaims } = await jwtVerify(idToken, createRemoteJWKSet(new URL(jwksUrl)), {
        algorithms: ['RS256'],
        issuer: ctx.issuer,
        audience,
      })
      t.equal(idClaims.sub, user.id, 'an ID token passes signature, iss and aud checks')
      const api = await startFixture(t, fixture, { JWKS_URL: jwksUrl, ISSUER: ctx.issuer, AUDIENCE: audience.join(',') })
      t.equal((await callApi(api.url, accessToken)).status, 200, 'the access token is still accepted')
      const answer = await callApi(api.url, idToken)
      t.equal(answer.status, 401, 'the ID token is refused')
      t.match(String(answer.body['reason']), /typ/, `because of its typ header (${String(answer.body['reason'])})`)
    })
  }
})
