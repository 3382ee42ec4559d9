/**
 * DPoP (RFC 9449) at the token endpoint, userinfo and introspection: bound access tokens
 * (cnf.jkt, token_type DPoP), every proof check, replay across instances sharing a database,
 * public clients' refresh tokens bound to the key, dpop_jkt binding the code, --require-dpop, and
 * server nonces with DPOP_NONCE=on (at /token and /userinfo); RSA proofs accepted, symmetric,
 * unsigned and private-key proofs refused; htu compared normalised.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { exportJWK, SignJWT } from 'jose'
import { DpopKey } from '../helpers/dpop.js'
import { basic, claims, FORM, obtainCode, type RegisteredClient, type Tokens } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

async function app(t: Test, env: Record<string, string> = {}): Promise<TestApp> {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  return ctx
}

/** POST /token as `rp` (Basic for a confidential client, client_id for a public one), with DPoP headers. */
function token(ctx: TestApp, rp: RegisteredClient, fields: Record<string, string>, dpop?: string | string[]) {
  const headers: Record<string, string | string[]> = { ...FORM }
  const body = { ...fields }
  if (rp.secret !== null) headers['authorization'] = basic(rp.client.id, rp.secret)
  else body['client_id'] = rp.client.id
  if (dpop !== undefined) headers['dpop'] = dpop
  return ctx.app.inject({ method: 'POST', url: '/token', headers, payload: new URLSearchParams(body).toString() })
}

const tokenUrl = (ctx: TestApp) => `${ctx.issuer}/token`

t.test('client_credentials with a proof: a DPoP-bound token, introspected with its key', async (t) => {
  const ctx = await app(t)
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'], introspect: true })
  const key = await DpopKey.generate()
  const response = await token(
    ctx,
    service,
    { grant_type: 'client_credentials', scope: 'api:read' },
    await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now()),
  )
  t.equal(response.statusCode, 200, response.body)
  const tokens = response.json() as Tokens
  t.equal(tokens.token_type, 'DPoP')
  t.same(claims(tokens.access_token)['cnf'], { jkt: key.thumbprint })
  const introspected = await token(ctx, service, {}, undefined).then(() =>
    ctx.app.inject({
      method: 'POST',
      url: '/introspect',
      headers: { ...FORM, authorization: basic(service.client.id, service.secret!) },
      payload: new URLSearchParams({ token: tokens.access_token }).toString(),
    }),
  )
  t.match(introspected.json(), { active: true, token_type: 'DPoP', cnf: { jkt: key.thumbprint } }, 'RFC 9449 §6.2')
  const bearer = await token(ctx, service, { grant_type: 'client_credentials', scope: 'api:read' })
  t.equal((bearer.json() as Tokens).token_type, 'Bearer', 'without a proof: a bearer token, as before')
  t.notOk(claims((bearer.json() as Tokens).access_token)['cnf'])
})

t.test('every proof check at the token endpoint (RFC 9449 §4.3)', async (t) => {
  const ctx = await app(t)
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  const key = await DpopKey.generate()
  const other = await DpopKey.generate('EdDSA')
  const now = ctx.clock.now()
  const url = tokenUrl(ctx)
  const replayed = await key.proof({ url }, now)
  const grant = { grant_type: 'client_credentials', scope: 'api:read' }
  t.equal((await token(ctx, service, grant, replayed)).statusCode, 200, 'first use')
  const cases: [string, string | string[]][] = [
    ['the same proof again', replayed],
    ['another method', await key.proof({ url, method: 'GET' }, now)],
    ['another URL', await key.proof({ url: `${ctx.issuer}/userinfo` }, now)],
    ['made an hour ago', await key.proof({ url, iat: now - 3600 }, now)],
    ['made in the future', await key.proof({ url, iat: now + 3600 }, now)],
    ['not typed dpop+jwt', await key.proof({ url, header: { typ: 'JWT' } }, now)],
    ['signed by another key than its jwk', await key.proof({ url, header: { jwk: other.publicJwk } }, now)],
    ['no jwk', await key.proof({ url, header: { jwk: undefined } }, now)],
    ['two proofs', [await key.proof({ url }, now), await key.proof({ url }, now)]],
    ['not a JWT', 'not-a-jwt'],
  ]
  for (const [what, proof] of cases) {
    const response = await token(ctx, service, grant, proof)
    t.equal(response.statusCode, 400, what)
    t.match(response.json(), { error: 'invalid_dpop_proof', error_description: String }, what)
  }
  const eddsa = await token(ctx, service, grant, await other.proof({ url }, now))
  t.equal(eddsa.statusCode, 200, 'EdDSA keys work too')
  t.same(claims((eddsa.json() as Tokens).access_token)['cnf'], { jkt: other.thumbprint })
})

t.test('a replayed proof is refused by another instance on the same database', async (t) => {
  const ctx = await app(t)
  const second = await createTestApp({ clock: ctx.clock, env: { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir } })
  t.teardown(() => second.close())
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  const key = await DpopKey.generate()
  const proof = await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now())
  const grant = { grant_type: 'client_credentials', scope: 'api:read' }
  t.equal((await token(ctx, service, grant, proof)).statusCode, 200, 'at the first instance')
  const again = await token(second, service, grant, proof)
  t.equal(again.statusCode, 400, 'at the second')
  t.match(again.json(), { error: 'invalid_dpop_proof', error_description: /used before/ })
})

t.test("a public client's refresh token is bound to its key; a confidential client's is not", async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const spa = await ctx.addClient({ name: 'SPA', isPublic: true })
  const key = await DpopKey.generate()
  const thief = await DpopKey.generate()
  const url = tokenUrl(ctx)
  const { code, verifier } = await obtainCode(ctx, spa, user, { params: { scope: 'openid offline_access' } })
  const redeemed = await token(
    ctx,
    spa,
    { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: spa.client.redirectUris[0]! },
    await key.proof({ url }, ctx.clock.now()),
  )
  t.equal(redeemed.statusCode, 200, redeemed.body)
  const tokens = redeemed.json() as Tokens
  t.equal(tokens.token_type, 'DPoP')
  const refreshWith = (proof?: string) => token(ctx, spa, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }, proof)
  const bare = await refreshWith()
  t.equal(bare.statusCode, 400)
  t.match(bare.json(), { error: 'invalid_dpop_proof' }, 'no proof: refused')
  const stolen = await refreshWith(await thief.proof({ url }, ctx.clock.now()))
  t.equal(stolen.statusCode, 400)
  t.match(stolen.json(), { error: 'invalid_grant' }, 'another key: refused')
  const owner = await refreshWith(await key.proof({ url }, ctx.clock.now()))
  t.equal(owner.statusCode, 200, 'the refused attempts did not rotate the token away from its owner')
  t.same(claims((owner.json() as Tokens).access_token)['cnf'], { jkt: key.thumbprint })

  const web = await ctx.addClient({ name: 'Web' })
  const webCode = await obtainCode(ctx, web, user, { params: { scope: 'openid offline_access' } })
  const webTokens = (
    await token(
      ctx,
      web,
      { grant_type: 'authorization_code', code: webCode.code, code_verifier: webCode.verifier, redirect_uri: web.client.redirectUris[0]! },
      await key.proof({ url }, ctx.clock.now()),
    )
  ).json() as Tokens
  const webRefresh = await token(ctx, web, { grant_type: 'refresh_token', refresh_token: webTokens.refresh_token! })
  t.equal(webRefresh.statusCode, 200, 'a confidential client authenticates; its refresh token is not bound')
  t.equal((webRefresh.json() as Tokens).token_type, 'Bearer')
})

t.test('dpop_jkt at /authorize binds the code to that key (RFC 9449 §10)', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const spa = await ctx.addClient({ name: 'SPA', isPublic: true })
  const key = await DpopKey.generate()
  const url = tokenUrl(ctx)
  const { code, verifier } = await obtainCode(ctx, spa, user, { params: { dpop_jkt: key.thumbprint } })
  const fields = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: spa.client.redirectUris[0]! }
  t.match((await token(ctx, spa, fields)).json(), { error: 'invalid_dpop_proof' }, 'no proof')
  t.match(
    (await token(ctx, spa, fields, await (await DpopKey.generate()).proof({ url }, ctx.clock.now()))).json(),
    { error: 'invalid_grant' },
    'another key',
  )
  const bound = await token(ctx, spa, fields, await key.proof({ url }, ctx.clock.now()))
  t.equal(bound.statusCode, 200, 'the named key')
})

t.test('--require-dpop: every token request needs a proof', async (t) => {
  const ctx = await app(t)
  const service = await ctx.addClient({ name: 'Strict', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  await ctx.deps.repos.clients.setPolicies(service.client.id, { requireDpop: true })
  const grant = { grant_type: 'client_credentials', scope: 'api:read' }
  const refused = await token(ctx, service, grant)
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { error: 'invalid_dpop_proof', error_description: /must send a DPoP proof/ })
  const key = await DpopKey.generate()
  t.equal((await token(ctx, service, grant, await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now()))).statusCode, 200)
})

t.test('userinfo: a bound token only with the DPoP scheme and a proof of its key (RFC 9449 §7)', async (t) => {
  const ctx = await app(t)
  const user = await ctx.addUser()
  const spa = await ctx.addClient({ name: 'SPA', isPublic: true })
  const key = await DpopKey.generate()
  const { code, verifier } = await obtainCode(ctx, spa, user)
  const tokens = (
    await token(
      ctx,
      spa,
      { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: spa.client.redirectUris[0]! },
      await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now()),
    )
  ).json() as Tokens
  const userinfoUrl = `${ctx.issuer}/userinfo`
  const call = (authorization: string, dpop?: string) =>
    ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization, ...(dpop !== undefined ? { dpop } : {}) } })
  const proofFor = (accessToken: string, signer = key, method = 'GET') =>
    signer.proof({ url: userinfoUrl, method, accessToken }, ctx.clock.now())

  const ok = await call(`DPoP ${tokens.access_token}`, await proofFor(tokens.access_token))
  t.equal(ok.statusCode, 200, ok.body)
  t.equal((ok.json() as { sub: string }).sub, user.id)

  const asBearer = await call(`Bearer ${tokens.access_token}`)
  t.equal(asBearer.statusCode, 401, 'a bound token as a bearer token')
  t.match(asBearer.headers['www-authenticate'], /^DPoP .*error="invalid_token".*algs="ES256/)
  const noProof = await call(`DPoP ${tokens.access_token}`)
  t.equal(noProof.statusCode, 401)
  t.match(noProof.headers['www-authenticate'], /^DPoP .*error="invalid_dpop_proof"/)
  const otherKey = await call(`DPoP ${tokens.access_token}`, await proofFor(tokens.access_token, await DpopKey.generate()))
  t.equal(otherKey.statusCode, 401, 'a proof of another key')
  t.match(otherKey.headers['www-authenticate'], /error="invalid_token"/)
  const wrongAth = await call(`DPoP ${tokens.access_token}`, await proofFor('another-token'))
  t.equal(wrongAth.statusCode, 401, 'a proof for another token (ath)')
  t.match(wrongAth.headers['www-authenticate'], /error="invalid_dpop_proof"/)
  const wrongMethod = await call(`DPoP ${tokens.access_token}`, await proofFor(tokens.access_token, key, 'POST'))
  t.equal(wrongMethod.statusCode, 401, 'a proof for POST sent with GET')
})

t.test('DPOP_NONCE=on: proofs must carry a recent server nonce (RFC 9449 §8)', async (t) => {
  const ctx = await app(t, { DPOP_NONCE: 'on' })
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  const key = await DpopKey.generate()
  const grant = { grant_type: 'client_credentials', scope: 'api:read' }
  const first = await token(ctx, service, grant, await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now()))
  t.equal(first.statusCode, 400)
  t.match(first.json(), { error: 'use_dpop_nonce' })
  const nonce = first.headers['dpop-nonce'] as string
  t.type(nonce, 'string', 'the nonce to use comes in DPoP-Nonce')
  const second = await token(ctx, service, grant, await key.proof({ url: tokenUrl(ctx), nonce }, ctx.clock.now()))
  t.equal(second.statusCode, 200, second.body)
  t.type(second.headers['dpop-nonce'], 'string', 'successful responses carry a fresh nonce too')
  ctx.clock.advance(600)
  const stale = await token(ctx, service, grant, await key.proof({ url: tokenUrl(ctx), nonce }, ctx.clock.now()))
  t.match(stale.json(), { error: 'use_dpop_nonce' }, 'an old nonce is not enough')
  const metadata = (await ctx.app.inject({ url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>
  t.same(metadata['dpop_signing_alg_values_supported'], ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'])
})

t.test('RS256 and PS256 proofs are accepted (RFC 9449 §4.2: any asymmetric algorithm we advertise)', async (t) => {
  const ctx = await app(t)
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  for (const alg of ['RS256', 'PS256']) {
    const key = await DpopKey.generate(alg)
    const response = await token(
      ctx,
      service,
      { grant_type: 'client_credentials', scope: 'api:read' },
      await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now()),
    )
    t.equal(response.statusCode, 200, `${alg}: ${response.body}`)
    t.equal((response.json() as Tokens).token_type, 'DPoP', alg)
    t.same(claims((response.json() as Tokens).access_token)['cnf'], { jkt: key.thumbprint }, `${alg}: bound to the RSA key`)
  }
})

t.test('symmetric, unsigned and private-key proofs are refused (RFC 9449 §4.3 steps 5–7)', async (t) => {
  const ctx = await app(t)
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  const key = await DpopKey.generate()
  const now = ctx.clock.now()
  const url = tokenUrl(ctx)
  const payload = { jti: randomUUID(), htm: 'POST', htu: url, iat: now }
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  // HS256 with a secret the "proof" cannot show: nothing ties it to a public key.
  const hs256 = await new SignJWT(payload)
    .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: key.publicJwk })
    .sign(new TextEncoder().encode('a shared secret of thirty-two bytes!'))
  // alg none: no signature at all.
  const none = `${b64({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${b64({ ...payload, jti: randomUUID() })}.`
  // Validly signed, but the jwk header carries the private key (§4.3 step 7: it must not).
  const privateJwk = await exportJWK(key.privateKey)
  t.ok(privateJwk.d, 'the exported key has its private member')
  const withPrivateKey = await key.proof({ url, header: { jwk: privateJwk } }, now)
  for (const [what, proof, reason] of [
    ['HS256', hs256, /alg/],
    ['alg none', none, /alg/],
    ['a jwk with private members', withPrivateKey, /must be a public key/],
  ] as const) {
    const response = await token(ctx, service, { grant_type: 'client_credentials', scope: 'api:read' }, proof)
    t.equal(response.statusCode, 400, what)
    t.match(response.json(), { error: 'invalid_dpop_proof', error_description: reason }, what)
  }
})

t.test('htu is compared normalised, end to end: scheme and host case, query and fragment ignored (§4.3 step 9)', async (t) => {
  const ctx = await app(t)
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'], scopes: ['api:read'] })
  const key = await DpopKey.generate()
  const grant = { grant_type: 'client_credentials', scope: 'api:read' }
  const issuer = new URL(ctx.issuer)
  const shouted = `${issuer.protocol.toUpperCase()}//${issuer.host.toUpperCase()}/token?a=1#fragment`
  const accepted = await token(ctx, service, grant, await key.proof({ url: shouted }, ctx.clock.now()))
  t.equal(accepted.statusCode, 200, `${shouted}: ${accepted.body}`)
  t.equal((accepted.json() as Tokens).token_type, 'DPoP')
  const otherPath = await token(ctx, service, grant, await key.proof({ url: `${ctx.issuer}/TOKEN` }, ctx.clock.now()))
  t.equal(otherPath.statusCode, 400, 'the path stays case-sensitive')
  t.match(otherPath.json(), { error: 'invalid_dpop_proof', error_description: /htu/ })
})

t.test('DPOP_NONCE=on at /userinfo: a 401 use_dpop_nonce challenge, then a fresh nonce with the claims (§8, §9)', async (t) => {
  const ctx = await app(t, { DPOP_NONCE: 'on' })
  const user = await ctx.addUser()
  const spa = await ctx.addClient({ name: 'SPA', isPublic: true })
  const key = await DpopKey.generate()
  const { code, verifier } = await obtainCode(ctx, spa, user)
  const fields = { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: spa.client.redirectUris[0]! }
  const asked = await token(ctx, spa, fields, await key.proof({ url: tokenUrl(ctx) }, ctx.clock.now()))
  t.match(asked.json(), { error: 'use_dpop_nonce' }, 'the token endpoint first asks for a nonce')
  const tokens = (
    await token(ctx, spa, fields, await key.proof({ url: tokenUrl(ctx), nonce: asked.headers['dpop-nonce'] as string }, ctx.clock.now()))
  ).json() as Tokens
  t.equal(tokens.token_type, 'DPoP')

  const userinfoUrl = `${ctx.issuer}/userinfo`
  const call = async (nonce?: string) =>
    ctx.app.inject({
      method: 'GET',
      url: '/userinfo',
      headers: {
        authorization: `DPoP ${tokens.access_token}`,
        dpop: await key.proof(
          { url: userinfoUrl, method: 'GET', accessToken: tokens.access_token, ...(nonce ? { nonce } : {}) },
          ctx.clock.now(),
        ),
      },
    })
  const stale = await call()
  t.equal(stale.statusCode, 401, 'a proof without the server nonce')
  t.match(stale.headers['www-authenticate'], /^DPoP realm="tessera", error="use_dpop_nonce", .*algs="/)
  t.equal(stale.json().error, 'use_dpop_nonce')
  const nonce = stale.headers['dpop-nonce']
  t.type(nonce, 'string', 'with the nonce to use in DPoP-Nonce')
  const ok = await call(nonce as string)
  t.equal(ok.statusCode, 200, ok.body)
  t.equal((ok.json() as { sub: string }).sub, user.id)
  t.type(ok.headers['dpop-nonce'], 'string', 'a successful DPoP response carries a fresh nonce too (§8.2)')
})

t.test('userinfo without any token: both challenges, no error code (RFC 6750 §3.1, RFC 9449 §7.1)', async (t) => {
  const ctx = await app(t)
  for (const [what, headers] of [
    ['no Authorization header', {}],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
  ] as const) {
    const response = await ctx.app.inject({ method: 'GET', url: '/userinfo', headers })
    t.equal(response.statusCode, 401, what)
    t.equal(
      response.headers['www-authenticate'],
      'Bearer realm="tessera", DPoP realm="tessera", algs="ES256 ES384 EdDSA RS256 PS256"',
      `${what}: the Bearer and DPoP challenges, without error="…"`,
    )
  }
})
