/**
 * Pushed authorization requests (RFC 9126): /par authenticates the client and validates the
 * request up front; /authorize takes the request_uri once, within 60 s, for the client that pushed
 * it, ignoring everything else in the URL; --require-par and REQUIRE_PAR; a DPoP proof with the
 * push binds the code (RFC 9449 §10.1); a request pushed at one instance is used at another; a
 * client without the authorization code grant gets unauthorized_client at /par.
 */
import t, { type Test } from 'tap'
import { authorize, basic, CookieJar, FORM, pkcePair, redeem, type RegisteredClient, type Tokens } from '../helpers/client.js'
import { DpopKey } from '../helpers/dpop.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'

async function app(t: Test, env: Record<string, string> = {}): Promise<TestApp> {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  return ctx
}

function push(ctx: TestApp, rp: RegisteredClient | null, fields: Record<string, string>, headers: Record<string, string> = {}) {
  const auth: Record<string, string> = rp?.secret ? { authorization: basic(rp.client.id, rp.secret) } : {}
  const body = rp && !rp.secret ? { client_id: rp.client.id, ...fields } : fields
  return ctx.app.inject({
    method: 'POST',
    url: '/par',
    headers: { ...FORM, ...auth, ...headers },
    payload: new URLSearchParams(body).toString(),
  })
}

function request(rp: RegisteredClient, challenge: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    response_type: 'code',
    redirect_uri: rp.client.redirectUris[0]!,
    scope: 'openid',
    state: 'pushed-state',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  }
}

t.test('push, then authorize by reference: the code, once', async (t) => {
  const ctx = await app(t)
  const rp = await ctx.addClient({ name: 'Web' })
  const user = await ctx.addUser()
  const { verifier, challenge } = pkcePair()
  const pushed = await push(ctx, rp, request(rp, challenge, { scope: 'openid email' }))
  t.equal(pushed.statusCode, 201, pushed.body)
  t.equal(pushed.headers['cache-control'], 'no-store')
  const { request_uri: requestUri, expires_in: expiresIn } = pushed.json() as { request_uri: string; expires_in: number }
  t.match(requestUri, /^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{40,}$/)
  t.equal(expiresIn, 60)

  const jar = new CookieJar()
  // Only request_uri and client_id count: the browser's other parameters are ignored (RFC 9126 §4).
  const { location } = await authorize(
    ctx,
    jar,
    { client_id: rp.client.id, request_uri: requestUri, scope: 'openid profile', state: 'tampered' },
    user,
  )
  t.equal(location?.searchParams.get('state'), 'pushed-state', 'the pushed state, not the URL’s')
  const tokens = (await redeem(ctx, rp, location!.searchParams.get('code')!, { code_verifier: verifier })).json() as Tokens
  t.equal(tokens.scope, 'openid email', 'the pushed scope')

  const again = await ctx.app.inject({ url: `/authorize?${new URLSearchParams({ client_id: rp.client.id, request_uri: requestUri })}` })
  t.equal(again.statusCode, 400, 'a request_uri works once')
  t.match(again.body, /expired or was already used/)
})

t.test('a request_uri expires after 60 s and belongs to its client', async (t) => {
  const ctx = await app(t)
  const rp = await ctx.addClient({ name: 'Web' })
  const other = await ctx.addClient({ name: 'Other' })
  const { challenge } = pkcePair()
  const uriOf = async () => ((await push(ctx, rp, request(rp, challenge))).json() as { request_uri: string }).request_uri
  const expired = await uriOf()
  ctx.clock.advance(61)
  const late = await ctx.app.inject({ url: `/authorize?${new URLSearchParams({ client_id: rp.client.id, request_uri: expired })}` })
  t.equal(late.statusCode, 400, 'expired')
  const foreign = await ctx.app.inject({
    url: `/authorize?${new URLSearchParams({ client_id: other.client.id, request_uri: await uriOf() })}`,
  })
  t.equal(foreign.statusCode, 400, 'another client_id')
  const noClient = await ctx.app.inject({ url: `/authorize?${new URLSearchParams({ request_uri: await uriOf() })}` })
  t.equal(noClient.statusCode, 400, 'no client_id')
})

t.test('/par refuses what /authorize would, as JSON to the client', async (t) => {
  const ctx = await app(t)
  const rp = await ctx.addClient({ name: 'Web' })
  const { challenge } = pkcePair()
  const cases: [string, RegisteredClient | null, Record<string, string>, number, string][] = [
    ['no client authentication', null, { client_id: rp.client.id, ...request(rp, challenge) }, 401, 'invalid_client'],
    ['a wrong secret', { ...rp, secret: 'wrong' }, request(rp, challenge), 401, 'invalid_client'],
    ['an unregistered redirect_uri', rp, request(rp, challenge, { redirect_uri: 'https://evil.example/cb' }), 400, 'invalid_request'],
    ['no PKCE', rp, request(rp, challenge, { code_challenge: '' }), 400, 'invalid_request'],
    ['an implicit response type', rp, request(rp, challenge, { response_type: 'token' }), 400, 'unsupported_response_type'],
    ['a request_uri inside', rp, request(rp, challenge, { request_uri: 'urn:ietf:params:oauth:request_uri:x' }), 400, 'invalid_request'],
    ['a request object', rp, request(rp, challenge, { request: 'eyJhbGciOiJub25lIn0.e30.' }), 400, 'request_not_supported'],
    ['another client_id', rp, request(rp, challenge, { client_id: 'someone-else' }), 400, 'invalid_request'],
  ]
  for (const [what, as, fields, status, error] of cases) {
    const response = await push(ctx, as, fields)
    t.equal(response.statusCode, status, what)
    t.match(response.json(), { error }, what)
  }
  const json = await ctx.app.inject({ method: 'POST', url: '/par', headers: { 'content-type': 'application/json' }, payload: '{}' })
  t.equal(json.statusCode, 400, 'a JSON body')
})

t.test('/par: a client not allowed the authorization code grant gets unauthorized_client (RFC 6749 §4.1.2.1)', async (t) => {
  const ctx = await app(t)
  // It authenticates fine and its redirect_uri is registered: only the grant is missing.
  const service = await ctx.addClient({ name: 'Service', grantTypes: ['client_credentials'] })
  const { challenge } = pkcePair()
  const response = await push(ctx, service, request(service, challenge))
  t.equal(response.statusCode, 400, response.body)
  t.match(response.json(), { error: 'unauthorized_client', error_description: /authorization code grant/ })
})

t.test('--require-par and REQUIRE_PAR refuse plain authorization requests', async (t) => {
  const ctx = await app(t)
  const strict = await ctx.addClient({ name: 'Strict' })
  await ctx.deps.repos.clients.setPolicies(strict.client.id, { requirePar: true })
  const relaxed = await ctx.addClient({ name: 'Relaxed' })
  const { challenge } = pkcePair()
  const plain = await authorize(ctx, new CookieJar(), { client_id: strict.client.id, ...request(strict, challenge) })
  t.equal(plain.location?.searchParams.get('error'), 'invalid_request', 'redirected back with the reason')
  t.match(plain.location?.searchParams.get('error_description'), /\/par/)
  const relaxedPlain = await authorize(ctx, new CookieJar(), { client_id: relaxed.client.id, ...request(relaxed, challenge) })
  t.match(relaxedPlain.response.headers.location, /^\/login/, 'other clients are not affected')

  const everyone = await app(t, { REQUIRE_PAR: 'on' })
  const rp = await everyone.addClient({ name: 'Any' })
  const refused = await authorize(everyone, new CookieJar(), { client_id: rp.client.id, ...request(rp, challenge) })
  t.equal(refused.location?.searchParams.get('error'), 'invalid_request')
  const metadata = (await everyone.app.inject({ url: '/.well-known/oauth-authorization-server' })).json() as Record<string, unknown>
  t.equal(metadata['require_pushed_authorization_requests'], true)
  t.equal(metadata['pushed_authorization_request_endpoint'], `${everyone.issuer}/par`)
  // RFC 9126 §5: PAR request_uris work whatever this says; it is about request objects by URL, which we do not fetch.
  t.equal(metadata['request_uri_parameter_supported'], false)
  const pushed = (await push(everyone, rp, request(rp, challenge))).json() as { request_uri: string }
  const byReference = await authorize(everyone, new CookieJar(), { client_id: rp.client.id, request_uri: pushed.request_uri })
  t.match(byReference.response.headers.location, /^\/login/, 'a pushed request goes on to the login')
})

t.test('a DPoP proof with the push binds the code; a push at one instance is used at another', async (t) => {
  const ctx = await app(t)
  const second = await createTestApp({ clock: ctx.clock, env: { DATABASE_URL: ctx.databaseUrl, KEYS_DIR: ctx.deps.config.keysDir } })
  t.teardown(() => second.close())
  const spa = await ctx.addClient({ name: 'SPA', isPublic: true })
  const user = await ctx.addUser()
  const key = await DpopKey.generate()
  const { verifier, challenge } = pkcePair()
  const pushed = await push(ctx, spa, request(spa, challenge), { dpop: await key.proof({ url: `${ctx.issuer}/par` }, ctx.clock.now()) })
  t.equal(pushed.statusCode, 201, pushed.body)
  const { request_uri: requestUri } = pushed.json() as { request_uri: string }
  const { location } = await authorize(second, new CookieJar(), { client_id: spa.client.id, request_uri: requestUri }, user)
  const code = location!.searchParams.get('code')!
  t.ok(code, 'the second instance found the pushed request')
  const withoutProof = await redeem(second, spa, code, { code_verifier: verifier }, 'none')
  t.match(withoutProof.json(), { error: 'invalid_dpop_proof' }, 'the code needs the pushed key')
  const mismatch = await push(ctx, spa, request(spa, challenge, { dpop_jkt: (await DpopKey.generate()).thumbprint }), {
    dpop: await key.proof({ url: `${ctx.issuer}/par` }, ctx.clock.now()),
  })
  t.equal(mismatch.statusCode, 400)
  t.match(mismatch.json(), { error: 'invalid_dpop_proof' }, 'dpop_jkt and the proof must agree')
})
