/**
 * Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25): a
 * client_id that is a URL is the client its document describes. Documents are served by a real
 * HTTP server on loopback (allowed because the issuer is on localhost): sign-in through consent,
 * the document naming itself, redirects and oversize refused and audited, the HTTP cache lifetime
 * honoured, private_key_jwt with a jwks_uri and single-use assertions, and the switch to turn it off.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { authorize, claims, CookieJar, FORM, getPage, hiddenField, pkcePair, postForm, type Tokens } from '../helpers/client.js'

interface Served {
  readonly status?: number
  readonly headers?: Record<string, string>
  readonly body: unknown
}

/** A web server the test controls: path → what it serves; it counts requests per path. */
async function documentServer(t: Test) {
  const routes = new Map<string, Served>()
  const hits = new Map<string, number>()
  const server = http.createServer((request, response) => {
    const path = request.url ?? '/'
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const served = routes.get(path)
    if (!served) return void response.writeHead(404).end()
    const body = typeof served.body === 'string' ? served.body : JSON.stringify(served.body)
    response.writeHead(served.status ?? 200, { 'content-type': 'application/json', ...served.headers }).end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { base, routes, hits: (path: string) => hits.get(path) ?? 0, url: (path: string) => `${base}${path}` }
}

async function app(t: Test, env: Record<string, string> = {}): Promise<TestApp> {
  const ctx = await createTestApp({ env })
  t.teardown(() => ctx.close())
  return ctx
}

const REDIRECT = 'https://agent.example/callback'

function authorizeParams(clientId: string, challenge: string): Record<string, string> {
  return {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    scope: 'openid',
    state: 'st',
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }
}

/** Login, consent, code: the code at the redirect URI, and the consent page seen on the way. */
async function codeFor(ctx: TestApp, clientId: string, user: { email: string; password: string }) {
  const jar = new CookieJar()
  const { verifier, challenge } = pkcePair()
  const { response } = await authorize(ctx, jar, authorizeParams(clientId, challenge), user)
  if (!response.headers.location?.startsWith('/consent?'))
    throw new Error(`expected consent: ${response.statusCode} ${response.body.slice(0, 300)}`)
  const page = await getPage(ctx, jar, response.headers.location)
  const approved = await postForm(ctx, jar, '/consent', {
    _csrf: hiddenField(page.body, '_csrf'),
    interaction: hiddenField(page.body, 'interaction'),
    decision: 'approve',
  })
  return { code: new URL(approved.headers.location!).searchParams.get('code')!, verifier, consent: page.body }
}

function token(ctx: TestApp, fields: Record<string, string>) {
  return ctx.app.inject({ method: 'POST', url: '/token', headers: FORM, payload: new URLSearchParams(fields).toString() })
}

async function authorizePage(ctx: TestApp, clientId: string) {
  const { challenge } = pkcePair()
  return ctx.app.inject({
    url: `/authorize?${new URLSearchParams(authorizeParams(clientId, challenge))}`,
    headers: { accept: 'text/html' },
  })
}

t.test('a public client described by its document signs a user in', async (t) => {
  const ctx = await app(t)
  const docs = await documentServer(t)
  const clientId = docs.url('/oauth/agent.json')
  docs.routes.set('/oauth/agent.json', {
    body: { client_id: clientId, client_name: 'Desk Agent', redirect_uris: [REDIRECT], logo_uri: 'https://agent.example/logo.png' },
  })
  const metadata = (await ctx.app.inject({ url: '/.well-known/oauth-authorization-server' })).json() as Record<string, unknown>
  t.equal(metadata['client_id_metadata_document_supported'], true)

  const user = await ctx.addUser()
  const { code, verifier, consent } = await codeFor(ctx, clientId, user)
  t.match(consent, /Desk Agent/)
  t.match(
    consent,
    new RegExp(`described by <strong>127\\.0\\.0\\.1:${new URL(docs.base).port}</strong>`),
    'the consent page names the site that describes it',
  )
  const response = await token(ctx, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT,
    client_id: clientId,
  })
  t.equal(response.statusCode, 200, response.body)
  const tokens = response.json() as Tokens
  t.equal(claims(tokens.id_token!)['aud'], clientId, 'the URL is the client_id')
  t.equal(docs.hits('/oauth/agent.json'), 1, 'fetched once for the whole flow')
  const listed = await ctx.deps.repos.clients.list()
  t.same(
    listed.map((client) => [client.id, client.registration]),
    [[clientId, 'metadata_document']],
    'kept as a client row (the shared cache)',
  )
})

t.test('documents that cannot be used are refused with the reason, and audited', async (t) => {
  const ctx = await app(t)
  const docs = await documentServer(t)
  docs.routes.set('/someone-else.json', { body: { client_id: docs.url('/other.json'), redirect_uris: [REDIRECT] } })
  docs.routes.set('/moved.json', { status: 302, headers: { location: docs.url('/someone-else.json') }, body: '' })
  docs.routes.set('/huge.json', { body: { client_id: docs.url('/huge.json'), redirect_uris: [REDIRECT], client_name: 'x'.repeat(6000) } })
  docs.routes.set('/secret.json', {
    body: { client_id: docs.url('/secret.json'), redirect_uris: [REDIRECT], token_endpoint_auth_method: 'client_secret_basic' },
  })
  const cases: [string, string, RegExp][] = [
    ['a document naming another client_id', '/someone-else.json', /client_id is not exactly the URL/],
    ['a redirect', '/moved.json', /redirect/],
    ['an oversized document', '/huge.json', /larger than/],
    ['a shared secret', '/secret.json', /token_endpoint_auth_method/],
    ['no document', '/missing.json', /HTTP 404/],
    ['dot segments', '/a/../someone-else.json', /dot segments/],
  ]
  for (const [what, path, reason] of cases) {
    const page = await authorizePage(ctx, `${docs.base}${path}`)
    t.equal(page.statusCode, 400, what)
    t.match(page.headers['content-type'], /text\/html/, what)
    t.match(page.body.replace(/&#39;|&rsquo;/g, '’'), reason, what)
  }
  const root = await authorizePage(ctx, `${docs.base}/`)
  t.equal(root.statusCode, 400, 'a client_id URL needs a path')
  const events = await ctx.deps.repos.auditEvents.list({ type: 'client_metadata_refused', limit: 20 })
  t.ok(events.length >= cases.length, 'each refusal is audited')
  t.equal(await ctx.deps.repos.clients.list().then((clients) => clients.length), 0, 'nothing stored')
})

t.test('the HTTP cache lifetime decides when a document is fetched again', async (t) => {
  const ctx = await app(t)
  const docs = await documentServer(t)
  const clientId = docs.url('/cached.json')
  docs.routes.set('/cached.json', {
    headers: { 'cache-control': 'max-age=60' },
    body: { client_id: clientId, client_name: 'First name', redirect_uris: [REDIRECT] },
  })
  t.equal((await ctx.deps.clients.find(clientId))?.name, 'First name')
  docs.routes.set('/cached.json', {
    headers: { 'cache-control': 'max-age=60' },
    body: { client_id: clientId, client_name: 'Second name', redirect_uris: [REDIRECT] },
  })
  ctx.clock.advance(59)
  t.equal((await ctx.deps.clients.find(clientId))?.name, 'First name', 'within max-age: the stored copy')
  t.equal(docs.hits('/cached.json'), 1)
  ctx.clock.advance(2)
  t.equal((await ctx.deps.clients.find(clientId))?.name, 'Second name', 'after max-age: fetched again')
  t.equal(docs.hits('/cached.json'), 2)
  const [first, second] = await Promise.all([ctx.deps.clients.find(clientId), ctx.deps.clients.find(clientId)])
  t.equal(first?.name, second?.name)
  t.equal(docs.hits('/cached.json'), 2, 'concurrent lookups of a fresh copy fetch nothing')
})

t.test('private_key_jwt with a jwks_uri: assertions verified and used once (RFC 7523)', async (t) => {
  const ctx = await app(t)
  const docs = await documentServer(t)
  const clientId = docs.url('/confidential.json')
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const other = await generateKeyPair('ES256')
  docs.routes.set('/jwks.json', { body: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] } })
  docs.routes.set('/confidential.json', {
    body: {
      client_id: clientId,
      client_name: 'Signed Agent',
      redirect_uris: [REDIRECT],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: docs.url('/jwks.json'),
    },
  })
  const assertion = (key: CryptoKey, lifetime = 60) =>
    new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(`${ctx.issuer}/token`)
      .setIssuedAt(ctx.clock.now())
      .setExpirationTime(ctx.clock.now() + lifetime)
      .sign(key)
  const user = await ctx.addUser()
  const { code, verifier } = await codeFor(ctx, clientId, user)
  const type = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
  const good = await assertion(privateKey)
  const redeemWith = (clientAssertion: string) =>
    token(ctx, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: REDIRECT,
      client_assertion_type: type,
      client_assertion: clientAssertion,
    })

  const forged = await redeemWith(await assertion(other.privateKey))
  t.equal(forged.statusCode, 401, 'signed with another key')
  t.match(forged.json(), { error: 'invalid_client' })
  const noAssertion = await token(ctx, {
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT,
    client_id: clientId,
  })
  t.equal(noAssertion.statusCode, 401, 'a private_key_jwt client must authenticate')
  const redeemed = await redeemWith(good)
  t.equal(redeemed.statusCode, 200, redeemed.body)
  const replayed = await token(ctx, { grant_type: 'client_credentials', client_assertion_type: type, client_assertion: good })
  t.equal(replayed.statusCode, 401, 'the same assertion twice')
  t.match(replayed.json(), { error: 'invalid_client' })
  const longLived = await assertion(privateKey, 3600)
  t.equal(
    (await token(ctx, { grant_type: 'client_credentials', client_assertion_type: type, client_assertion: longLived })).statusCode,
    401,
    'an assertion living an hour',
  )
})

t.test('CLIENT_METADATA_DOCUMENTS=off: URL client_ids are unknown clients', async (t) => {
  const ctx = await app(t, { CLIENT_METADATA_DOCUMENTS: 'off' })
  const docs = await documentServer(t)
  const clientId = docs.url('/agent.json')
  docs.routes.set('/agent.json', { body: { client_id: clientId, redirect_uris: [REDIRECT] } })
  const page = await authorizePage(ctx, clientId)
  t.equal(page.statusCode, 400)
  t.equal(docs.hits('/agent.json'), 0, 'nothing fetched')
  const metadata = (await ctx.app.inject({ url: '/.well-known/openid-configuration' })).json() as Record<string, unknown>
  t.notOk(metadata['client_id_metadata_document_supported'], 'not advertised')
})
