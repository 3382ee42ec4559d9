/**
 * The README's DPoP resource-server recipe ("Tokens a thief cannot use"), run as written against
 * tokens Tessera issues: a bound token with a proof of its key passes; a replayed-elsewhere token
 * (proof of another key), a proof for another request or token, and a bare token fail.
 */
import { createHash } from 'node:crypto'
import t from 'tap'
import { calculateJwkThumbprint, createLocalJWKSet, EmbeddedJWK, jwtVerify, type JWK, type JSONWebKeySet } from 'jose'
import { DpopKey } from '../helpers/dpop.js'
import { basic, FORM, type Tokens } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const RESOURCE = 'https://api.example.com/photos'

t.test('the README recipe verifies DPoP-bound tokens', async (t) => {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  const issuer = ctx.issuer
  // The recipe fetches the JWKS with createRemoteJWKSet; here the same document, read in-process.
  const jwks = createLocalJWKSet((await ctx.app.inject({ url: '/.well-known/jwks.json' })).json() as JSONWebKeySet)

  // --- as in the README -----------------------------------------------------------------------
  async function verifyDpopRequest(request: { method: string; headers: Record<string, string | undefined> }, resourceUrl: string) {
    const token = /^DPoP (.+)$/.exec(request.headers['authorization'] ?? '')?.[1]
    if (!token) throw new Error('DPoP token required')
    const { payload: claims } = await jwtVerify(token, jwks, { issuer, audience: issuer, typ: 'at+jwt' })
    const { payload: proof, protectedHeader } = await jwtVerify(request.headers['dpop'] ?? '', EmbeddedJWK, {
      typ: 'dpop+jwt',
      algorithms: ['ES256', 'EdDSA', 'RS256', 'PS256'],
      maxTokenAge: '60s',
      currentDate: new Date(ctx.clock.now() * 1000),
    })
    if (proof['htm'] !== request.method || proof['htu'] !== resourceUrl) throw new Error('proof for another request')
    if (proof['ath'] !== createHash('sha256').update(token).digest('base64url')) throw new Error('proof for another token')
    if ((claims['cnf'] as { jkt?: string } | undefined)?.jkt !== (await calculateJwkThumbprint(protectedHeader.jwk as JWK)))
      throw new Error('proof of another key')
    return claims
  }
  // ----------------------------------------------------------------------------------------------

  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  const key = await DpopKey.generate()
  const issued = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: {
      ...FORM,
      authorization: basic(service.client.id, service.secret!),
      dpop: await key.proof({ url: `${issuer}/token` }, ctx.clock.now()),
    },
    payload: 'grant_type=client_credentials&scope=api%3Aread',
  })
  const token = (issued.json() as Tokens).access_token
  const request = async (signer: DpopKey, options: { method?: string; url?: string; accessToken?: string } = {}) => ({
    method: 'GET',
    headers: {
      authorization: `DPoP ${token}`,
      dpop: await signer.proof(
        { method: options.method ?? 'GET', url: options.url ?? RESOURCE, accessToken: options.accessToken ?? token },
        ctx.clock.now(),
      ),
    },
  })

  t.equal((await verifyDpopRequest(await request(key), RESOURCE))['client_id'], service.client.id, 'the key holder gets in')
  await t.rejects(
    verifyDpopRequest(await request(await DpopKey.generate()), RESOURCE),
    /another key/,
    'a thief with the token but not the key',
  )
  await t.rejects(verifyDpopRequest(await request(key, { method: 'POST' }), RESOURCE), /another request/, 'a proof for another method')
  await t.rejects(
    verifyDpopRequest(await request(key, { url: 'https://api.example.com/admin' }), RESOURCE),
    /another request/,
    'another URL',
  )
  await t.rejects(verifyDpopRequest(await request(key, { accessToken: 'other' }), RESOURCE), /another token/, 'a proof for another token')
  await t.rejects(
    verifyDpopRequest({ method: 'GET', headers: { authorization: `Bearer ${token}` } }, RESOURCE),
    /DPoP token required/,
    'as a bearer token',
  )
})
