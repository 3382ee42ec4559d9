/**
 * docs/security.md §F/§G: the JWKS publishes public RSA signing keys only (no private members), with a
 * public max-age; discovery's issuer and endpoint URLs come from configuration, never from Host or
 * X-Forwarded-* headers, and it advertises only what is supported.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { authorizeUrl } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const HOSTILE_HEADERS = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'http',
  'x-forwarded-port': '8080',
  'x-forwarded-prefix': '/evil',
  forwarded: 'host=evil.example;proto=http',
  'x-original-url': 'https://evil.example/',
}

function assertConfiguredUrls(t: Assert, response: LightMyRequestResponse, issuer: string, what: string) {
  t.equal(response.statusCode, 200, `${what}: 200`)
  const doc = response.json() as Record<string, unknown>
  t.equal(doc['issuer'], issuer, `${what}: issuer is the configured one`)
  for (const name of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri']) {
    t.type(doc[name], 'string', `${what}: ${name} present`)
    t.ok(String(doc[name]).startsWith(`${issuer}/`), `${what}: ${name} under the issuer (${String(doc[name])})`)
  }
  for (const [name, value] of Object.entries(doc)) {
    if (typeof value === 'string' && /^https?:/.test(value)) t.ok(value.startsWith(issuer), `${what}: ${name} under the issuer`)
  }
  t.notMatch(response.body, /evil|8080/, `${what}: nothing from the request headers`)
}

t.test('JWKS: public RSA signing keys only', async (t) => {
  const response = await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^application\/(jwk-set\+)?json/)
  const { keys } = response.json() as { keys: Record<string, unknown>[] }
  t.ok(keys.length >= 1, 'at least one key')
  const kids = keys.map((key) => key['kid'])
  t.equal(new Set(kids).size, kids.length, 'unique kids')
  for (const key of keys) {
    const kid = String(key['kid'])
    t.type(key['kid'], 'string', `${kid}: kid`)
    t.equal(key['kty'], 'RSA', `${kid}: RSA`)
    t.equal(key['use'], 'sig', `${kid}: use sig`)
    t.equal(key['alg'], 'RS256', `${kid}: alg RS256`)
    t.ok(Buffer.from(String(key['n']), 'base64url').length >= 256, `${kid}: at least 2048 bits`)
    for (const member of PRIVATE_MEMBERS) t.notOk(member in key, `${kid}: no private member ${member}`)
  }
  for (const member of PRIVATE_MEMBERS) t.notMatch(response.body, new RegExp(`"${member}"\\s*:`), `no "${member}" anywhere in the document`)
  t.notMatch(response.body, /PRIVATE KEY/)
})

t.test('JWKS: Cache-Control public with a bounded max-age', async (t) => {
  const response = await ctx.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  const cacheControl = String(response.headers['cache-control'])
  t.match(cacheControl, /\bpublic\b/)
  const maxAge = /max-age=(\d+)/.exec(cacheControl)
  t.ok(maxAge, 'a max-age')
  t.equal(Number(maxAge![1]), ctx.deps.config.jwksMaxAge, 'the configured max-age')
  t.ok(Number(maxAge![1]) <= 24 * 3600, 'at most a day')
  t.notMatch(cacheControl, /immutable/)
})

t.test('the JWKS named by discovery is the one served', async (t) => {
  const doc = (await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json() as Record<string, string>
  const path = new URL(doc['jwks_uri']!).pathname
  t.equal((await ctx.app.inject({ method: 'GET', url: path })).statusCode, 200)
})

t.test('discovery: URLs from configuration, whatever the request headers say', async (t) => {
  assertConfiguredUrls(t, await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' }), ctx.issuer, 'plain')
  assertConfiguredUrls(t, await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration', headers: HOSTILE_HEADERS }), ctx.issuer, 'hostile headers')
})

t.test('discovery: even behind a trusted proxy, forwarded headers do not move the issuer', async (t) => {
  const proxied = await createTestApp({ env: { ISSUER: 'https://id.example', TRUST_PROXY: '127.0.0.1' } })
  t.teardown(() => proxied.close())
  const response = await proxied.app.inject({ method: 'GET', url: '/.well-known/openid-configuration', headers: HOSTILE_HEADERS })
  assertConfiguredUrls(t, response, 'https://id.example', 'trusted proxy')
  const client = await proxied.addClient({ redirectUris: ['https://rp.example/cb'] })
  const redirect = await proxied.app.inject({
    method: 'GET', headers: HOSTILE_HEADERS,
    url: authorizeUrl({ response_type: 'code', client_id: client.client.id, redirect_uri: 'https://rp.example/cb', scope: 'openid', prompt: 'none', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }),
  })
  t.equal(new URL(redirect.headers.location as string).searchParams.get('iss'), 'https://id.example', 'iss in authorization responses too')
})

t.test('discovery advertises only what is supported', async (t) => {
  const response = await ctx.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })
  const doc = response.json() as Record<string, unknown>
  t.same(doc['response_types_supported'], ['code'])
  t.same(doc['code_challenge_methods_supported'], ['S256'])
  t.same(doc['id_token_signing_alg_values_supported'], ['RS256'])
  t.equal(doc['request_parameter_supported'], false)
  t.equal(doc['request_uri_parameter_supported'], false)
  t.equal(doc['authorization_response_iss_parameter_supported'], true)
  const grants = doc['grant_types_supported'] as string[]
  t.ok(grants.includes('authorization_code'))
  t.notOk(grants.includes('password'), 'no password grant')
  t.notOk(grants.includes('implicit'), 'no implicit grant')
  t.ok((doc['scopes_supported'] as string[]).includes('openid'))
  t.ok((doc['subject_types_supported'] as string[]).includes('public'))
  t.match(response.headers['content-type'], /^application\/json/)
})
