/**
 * docs/security.md §E: the tokens we sign. ID tokens RS256 with a published kid, iss byte-equal to
 * discovery, aud/azp = client_id, exp/iat/auth_time, at_hash; sub never the email. Access tokens
 * typed at+jwt (RFC 9068) with iss, sub, aud, client_id, scope, jti, iat, exp (≤ 1 h).
 */
import t from 'tap'
import { createHash } from 'node:crypto'
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { signIn } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const rp = await ctx.addClient({ name: 'Web', redirectUris: ['https://rp.example/cb'] })
const user = await ctx.addUser({ name: 'Grace Hopper', email: 'grace@example.com' })

const discovery = (await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>
const jwks = (await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as JSONWebKeySet
const publishedKids = jwks.keys.map((key) => key.kid)
const keySet = createLocalJWKSet(jwks)
const currentDate = () => new Date(ctx.clock.now() * 1000)

t.test('ID token: header, signature and required claims', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid' })
  const header = decodeProtectedHeader(tokens.id_token!)
  t.equal(header.alg, 'RS256')
  t.type(header.kid, 'string')
  t.ok(publishedKids.includes(header.kid), 'kid is published in the JWKS')
  t.notOk(header.jku ?? header.x5u ?? header.jwk, 'no key-location headers')

  const { payload } = await jwtVerify(tokens.id_token!, keySet, { algorithms: ['RS256'], currentDate: currentDate() })
  t.equal(payload.iss, discovery['issuer'], 'iss byte-equal to the discovery issuer')
  t.equal(payload.iss, ctx.issuer)
  t.same(Array.isArray(payload.aud) ? payload.aud : [payload.aud], [rp.client.id], 'aud is the client_id')
  t.equal(payload['azp'], rp.client.id, 'azp')
  t.equal(payload.iat, ctx.clock.now(), 'iat now')
  t.type(payload.exp, 'number')
  t.ok(payload.exp! > payload.iat!, 'exp after iat')
  t.type(payload['auth_time'], 'number')
  t.ok((payload['auth_time'] as number) <= payload.iat!, 'auth_time not in the future')
})

t.test('ID token: at_hash is the left half of SHA-256 of the access token', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid' })
  const digest = createHash('sha256').update(tokens.access_token, 'ascii').digest()
  t.equal(decodeJwt(tokens.id_token!)['at_hash'], digest.subarray(0, 16).toString('base64url'))
})

t.test('ID token: sub is a stable identifier, never the email', async (t) => {
  const first = decodeJwt((await signIn(ctx, rp, user, { scope: 'openid' })).tokens.id_token!)
  const second = decodeJwt((await signIn(ctx, rp, user, { scope: 'openid email profile' })).tokens.id_token!)
  t.type(first.sub, 'string')
  t.not(first.sub, user.email)
  t.notMatch(first.sub, /@/, 'sub does not look like an email')
  t.notMatch(first.sub, new RegExp(user.email.split('@')[0]!, 'i'), 'sub is not derived from the email')
  t.equal(second.sub, first.sub, 'the same sub at every login')
  t.equal(second['email'], user.email, 'the email is its own claim, with the email scope')
})

t.test('ID token claims follow the granted scopes', async (t) => {
  const minimal = decodeJwt((await signIn(ctx, rp, user, { scope: 'openid' })).tokens.id_token!)
  t.notOk('email' in minimal, 'no email without the email scope')
  t.notOk('name' in minimal, 'no name without the profile scope')
  const full = decodeJwt((await signIn(ctx, rp, user, { scope: 'openid profile email' })).tokens.id_token!)
  t.equal(full['name'], 'Grace Hopper')
  t.equal(full['email_verified'], true)
})

t.test('access token: at+jwt with the RFC 9068 claims, at most an hour', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid email' })
  const header = decodeProtectedHeader(tokens.access_token)
  t.equal(header.typ, 'at+jwt')
  t.equal(header.alg, 'RS256')
  t.ok(publishedKids.includes(header.kid), 'kid is published in the JWKS')

  const { payload } = await jwtVerify(tokens.access_token, keySet, { algorithms: ['RS256'], typ: 'at+jwt', currentDate: currentDate() })
  t.equal(payload.iss, discovery['issuer'])
  t.equal(payload.sub, user.id)
  t.ok(payload.aud, 'aud present')
  t.not(payload.aud, rp.client.id, 'the audience is the resource (userinfo), not the client')
  t.equal(payload['client_id'], rp.client.id)
  t.equal(payload['scope'], 'openid email')
  t.type(payload.jti, 'string')
  t.ok(payload.jti!.length >= 16, 'jti is not guessable')
  t.equal(payload.iat, ctx.clock.now())
  t.type(payload.exp, 'number')
  t.ok(payload.exp! - payload.iat! <= 3600, 'exp - iat ≤ 3600')
  t.ok(payload.exp! > payload.iat!)
  t.equal(tokens.expires_in, payload.exp! - payload.iat!, 'expires_in matches the token lifetime')
  t.notOk('nonce' in payload, 'no nonce in access tokens')
})

t.test('every access token has its own jti', async (t) => {
  const jtis = new Set<string>()
  for (let i = 0; i < 3; i++) jtis.add(decodeJwt((await signIn(ctx, rp, user, { scope: 'openid' })).tokens.access_token).jti!)
  t.equal(jtis.size, 3)
})

t.test('ID token and access token types cannot be confused', async (t) => {
  const { tokens } = await signIn(ctx, rp, user, { scope: 'openid' })
  t.not(decodeProtectedHeader(tokens.id_token!).typ, 'at+jwt', 'the ID token is not typed as an access token')
  await t.rejects(
    jwtVerify(tokens.id_token!, keySet, { typ: 'at+jwt', currentDate: currentDate() }),
    'an at+jwt check refuses the ID token',
  )
})
