/**
 * docs/security.md §E/§G, /userinfo: Bearer header on GET and POST; the query string refused; no
 * token → 401 with the Bearer and DPoP challenges and no error code (RFC 6750 §3.1); every
 * token we did not issue as a live access token → 401 with WWW-Authenticate error="invalid_token"
 * (alg none, HS256 with the public key, a foreign key under our kid, an ID token, expired, …);
 * claims limited to the granted scopes.
 */
import t from 'tap'
import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose'
import type { Assert } from '../helpers/assert.js'
import { FORM, signIn, userinfo } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'
import { withCharacterChanged } from '../helpers/forgery.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const rp = await ctx.addClient({ name: 'Web', redirectUris: ['https://rp.example/cb'] })
const user = await ctx.addUser({ name: 'Ada Lovelace' })
const other = await ctx.addUser({ name: 'Mallory' })

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function assertInvalidToken(t: Assert, response: LightMyRequestResponse, what: string) {
  t.equal(response.statusCode, 401, `${what}: 401 (${response.body})`)
  t.match(response.headers['www-authenticate'], /^Bearer /, `${what}: Bearer challenge`)
  t.match(response.headers['www-authenticate'], /error="invalid_token"/, `${what}: error="invalid_token"`)
  t.notMatch(response.body, new RegExp(user.email), `${what}: no claims`)
}

t.test('GET and POST with a Bearer header return the claims, no-store', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid profile email' })
  for (const method of ['GET', 'POST'] as const) {
    const response = await userinfo(ctx, tokens.access_token, method)
    t.equal(response.statusCode, 200, `${method}: ${response.body}`)
    t.same(response.json(), { sub: user.id, name: 'Ada Lovelace', email: user.email, email_verified: true })
    t.equal(response.headers['cache-control'], 'no-store')
    t.match(response.headers['content-type'], /^application\/json/)
  }
  const posted = await ctx.app.inject({
    method: 'POST',
    url: '/userinfo',
    headers: { ...FORM, authorization: `Bearer ${tokens.access_token}` },
    payload: 'foo=bar',
  })
  t.equal(posted.statusCode, 200, 'POST with an unrelated form body')
})

t.test('claims are limited to the granted scopes', async (t) => {
  const { tokens: minimal } = await signIn(ctx, rp, user, { scope: 'openid' })
  t.same((await userinfo(ctx, minimal.access_token)).json(), { sub: user.id }, 'openid only → just sub')
  const { tokens: email } = await signIn(ctx, rp, user, { scope: 'openid email' })
  t.same((await userinfo(ctx, email.access_token)).json(), { sub: user.id, email: user.email, email_verified: true })
  const { tokens: profile } = await signIn(ctx, rp, user, { scope: 'openid profile' })
  t.same((await userinfo(ctx, profile.access_token)).json(), { sub: user.id, name: 'Ada Lovelace' })
})

t.test('an access token in the query string → 400 invalid_request', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid' })
  const query = await ctx.app.inject({ method: 'GET', url: `/userinfo?access_token=${tokens.access_token}` })
  t.equal(query.statusCode, 400)
  t.equal(query.json().error, 'invalid_request')
  const both = await ctx.app.inject({
    method: 'GET',
    url: `/userinfo?access_token=${tokens.access_token}`,
    headers: { authorization: `Bearer ${tokens.access_token}` },
  })
  t.equal(both.statusCode, 400, 'refused even with a header as well')
})

t.test('no token → 401 with the challenges alone; a malformed one → 401 invalid_token', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid' })
  // RFC 6750 §3.1: a request without credentials (or in a scheme we do not take) gets no error code;
  // the DPoP challenge says which proof algorithms we take (RFC 9449 §7.1).
  for (const [what, response] of [
    ['missing', await ctx.app.inject({ method: 'GET', url: '/userinfo' })],
    ['missing (POST)', await ctx.app.inject({ method: 'POST', url: '/userinfo' })],
    ['other scheme', await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Basic ${tokens.access_token}` } })],
  ] as const) {
    t.equal(response.statusCode, 401, `${what}: 401`)
    t.match(
      response.headers['www-authenticate'],
      /^Bearer realm="tessera", DPoP realm="tessera", algs="[^"]+"$/,
      `${what}: both challenges`,
    )
    t.notMatch(response.headers['www-authenticate'], /error=/, `${what}: no error code in the challenge`)
  }
  assertInvalidToken(t, await userinfo(ctx, 'not-a-jwt'), 'garbage')
  assertInvalidToken(
    t,
    await ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: 'Bearer two words' } }),
    'a malformed Bearer header',
  )
})

t.test('forged and misused tokens → 401 invalid_token', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid email' })
  const parts = tokens.access_token.split('.')
  const header = decodeProtectedHeader(tokens.access_token)
  const claims = decodeJwt(tokens.access_token)
  const signingInput = (h: unknown, p: unknown) => `${b64(h)}.${b64(p)}`

  const signature = parts[2]!
  const flipped = withCharacterChanged(signature, 10)
  assertInvalidToken(t, await userinfo(ctx, `${parts[0]}.${parts[1]}.${flipped}`), 'tampered signature')
  assertInvalidToken(t, await userinfo(ctx, `${parts[0]}.${b64({ ...claims, sub: other.id })}.${signature}`), 'tampered payload')
  assertInvalidToken(t, await userinfo(ctx, `${parts[0]}.${parts[1]}`), 'signature removed')

  for (const alg of ['none', 'None', 'NONE']) {
    assertInvalidToken(t, await userinfo(ctx, `${signingInput({ ...header, alg }, claims)}.`), `alg ${alg}`)
  }

  // HS256 keyed with our public key, as PEM and as the raw JWK modulus (CVE-2015-9235 class).
  const jwks = (await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet
  const ourJwk = jwks.keys.find((key) => key.kid === header.kid)!
  const publicKey = createPublicKey({ key: ourJwk as JsonWebKey, format: 'jwk' })
  const secrets = {
    'SPKI PEM': publicKey.export({ type: 'spki', format: 'pem' }) as string,
    'PKCS#1 PEM': publicKey.export({ type: 'pkcs1', format: 'pem' }) as string,
    'JWK JSON': JSON.stringify(ourJwk),
  }
  for (const [what, secret] of Object.entries(secrets)) {
    const input = signingInput({ ...header, alg: 'HS256' }, claims)
    assertInvalidToken(
      t,
      await userinfo(ctx, `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`),
      `HS256 with the public key (${what})`,
    )
  }

  const attacker = await generateKeyPair('RS256', { extractable: true })
  const forge = (protectedHeader: Record<string, unknown>, payload = claims) =>
    new SignJWT(payload).setProtectedHeader({ alg: 'RS256', ...protectedHeader }).sign(attacker.privateKey)
  assertInvalidToken(t, await userinfo(ctx, await forge({ kid: header.kid, typ: 'at+jwt' })), 'foreign RSA key with our kid')
  assertInvalidToken(t, await userinfo(ctx, await forge({ kid: 'attacker', typ: 'at+jwt' })), 'foreign RSA key with an unknown kid')
  assertInvalidToken(t, await userinfo(ctx, await forge({ typ: 'at+jwt' })), 'no kid at all')
  const attackerJwk = await exportJWK(attacker.publicKey)
  assertInvalidToken(t, await userinfo(ctx, await forge({ kid: header.kid, typ: 'at+jwt', jwk: attackerJwk })), 'embedded jwk header')
  assertInvalidToken(
    t,
    await userinfo(ctx, await forge({ kid: header.kid, typ: 'at+jwt', jku: 'https://evil.example/jwks.json' })),
    'jku header',
  )

  assertInvalidToken(t, await userinfo(ctx, tokens.id_token!), 'an ID token presented as an access token')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'the genuine token still works')
})

t.test('a client_credentials token (no user) is not accepted at userinfo', async (t) => {
  const service = await ctx.addClient({ name: 'Service', redirectUris: [], grantTypes: ['client_credentials'], scopes: ['reports:read'] })
  const issued = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { ...FORM, authorization: `Basic ${Buffer.from(`${service.client.id}:${service.secret!}`).toString('base64')}` },
    payload: 'grant_type=client_credentials',
  })
  t.equal(issued.statusCode, 200, issued.body)
  const response = await userinfo(ctx, issued.json().access_token)
  t.ok(response.statusCode === 401 || response.statusCode === 403, `refused (${response.statusCode})`)
  t.notOk('sub' in (response.json() as object), 'no claims')
})

t.test('an expired access token → 401 invalid_token', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid' })
  const lifetime = ctx.deps.config.accessTokenTtl
  ctx.clock.advance(lifetime - 1)
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200, 'still valid just before exp')
  ctx.clock.advance(2)
  assertInvalidToken(t, await userinfo(ctx, tokens.access_token), 'expired')
})

t.test('a token of a disabled user stops working', async (t) => {
  const victim = await ctx.addUser()
  const { tokens } = await signIn(ctx, rp, victim, { scope: 'openid' })
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200)
  await ctx.deps.store.db.updateTable('users').set({ disabled_at: ctx.clock.now() }).where('id', '=', victim.id).execute()
  assertInvalidToken(t, await userinfo(ctx, tokens.access_token), 'disabled user')
})
