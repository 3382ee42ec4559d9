/**
 * docs/security.md §A: once client and redirect_uri are good, every error is a 303 to the redirect_uri
 * carrying `error`, the byte-identical `state` and `iss` (RFC 9207); response_type=code only;
 * duplicated parameters refused; unknown ones ignored; GET and POST alike; no request objects.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { authorizeUrl, FORM, pkcePair, RP } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const web = await ctx.addClient({ redirectUris: [RP] })
const { challenge } = pkcePair()
const STATE = 'a b+c/é%'

const good = (extra: Record<string, string> = {}) => ({
  response_type: 'code',
  client_id: web.client.id,
  redirect_uri: RP,
  scope: 'openid',
  state: STATE,
  code_challenge: challenge,
  code_challenge_method: 'S256',
  ...extra,
})

/** Asserts an error redirect to the registered URI and returns its parameters. */
function assertErrorRedirect(t: Assert, response: LightMyRequestResponse, error: string, state: string | null = STATE): URLSearchParams {
  t.equal(response.statusCode, 303, `${error}: 303`)
  const raw = response.headers.location
  t.type(raw, 'string', `${error}: a Location header`)
  const location = new URL(raw as string)
  t.equal(`${location.origin}${location.pathname}`, RP, `${error}: sent to the registered redirect_uri`)
  t.equal(location.searchParams.get('error'), error, `${error}: error code`)
  t.equal(location.searchParams.get('state'), state, `${error}: state byte-identical`)
  t.equal(location.searchParams.get('iss'), ctx.issuer, `${error}: iss is the issuer`)
  t.equal(location.searchParams.get('code'), null, `${error}: no code`)
  // RFC 6749 §4.1.2.1: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
  t.match(location.searchParams.get('error_description') ?? '', /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, `${error}: error_description charset`)
  t.notMatch(response.headers['content-type'] ?? '', /text\/html/, `${error}: no HTML`)
  return location.searchParams
}

const get = (params: Record<string, string>) => ctx.app.inject({ method: 'GET', url: authorizeUrl(params) })
const post = (params: Record<string, string>) =>
  ctx.app.inject({ method: 'POST', url: '/authorize', headers: FORM, payload: new URLSearchParams(params).toString() })

t.test('state comes back byte for byte, with iss, on an error redirect', async (t) => {
  const response = await get(good({ response_type: 'token' }))
  assertErrorRedirect(t, response, 'unsupported_response_type')
  t.equal(response.headers['cache-control'], 'no-store')
  for (const state of ['%2F', '+', ' leading and trailing ', 'ünï©ødé 🦊', '"><script>', 'a=b&c=d']) {
    const other = await get(good({ response_type: 'token', state }))
    assertErrorRedirect(t, other, 'unsupported_response_type', state)
  }
})

t.test('without state, the error redirect carries no state', async (t) => {
  const { state: _omit, ...params } = good({ response_type: 'token' })
  assertErrorRedirect(t, await get(params), 'unsupported_response_type', null)
})

t.test('response_type other than code is refused', async (t) => {
  for (const responseType of ['token', 'id_token', 'code id_token', 'code token', 'none', 'CODE']) {
    assertErrorRedirect(t, await get(good({ response_type: responseType })), 'unsupported_response_type')
  }
  const { response_type: _omit, ...missing } = good()
  assertErrorRedirect(t, await get(missing), 'invalid_request')
})

t.test('duplicated parameters are refused with invalid_request', async (t) => {
  const repeated: Record<string, string> = {
    scope: 'openid',
    response_type: 'code',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    nonce: 'n1',
    prompt: 'login',
    max_age: '60',
  }
  for (const [name, value] of Object.entries(repeated)) {
    // The same value twice: still a repeated parameter (RFC 6749 §3.1).
    const url = `${authorizeUrl(good({ [name]: value }))}&${name}=${encodeURIComponent(value)}`
    assertErrorRedirect(t, await ctx.app.inject({ method: 'GET', url }), 'invalid_request')
  }
  const body = `${new URLSearchParams(good()).toString()}&scope=openid`
  const posted = await ctx.app.inject({ method: 'POST', url: '/authorize', headers: FORM, payload: body })
  assertErrorRedirect(t, posted, 'invalid_request')
})

t.test('error_description stays within the RFC 6749 charset when it names a request parameter', async (t) => {
  for (const name of ['é', 'a"b', 'back\\slash', 'line\nbreak']) {
    const url = `${authorizeUrl(good())}&${encodeURIComponent(name)}=1&${encodeURIComponent(name)}=2`
    assertErrorRedirect(t, await ctx.app.inject({ method: 'GET', url }), 'invalid_request')
  }
})

t.test('unknown parameters are ignored', async (t) => {
  const silent = await get(good({ prompt: 'none', foo: 'bar', ui_locales: 'xx', claims_locales: 'yy', acr_values: 'zz' }))
  assertErrorRedirect(t, silent, 'login_required')
  const interactive = await get(good({ foo: 'bar', ui_locales: 'xx' }))
  t.equal(interactive.statusCode, 303)
  t.match(interactive.headers.location, /^\/login\?interaction=/, 'goes on to the login page')
})

t.test('POST /authorize behaves like GET', async (t) => {
  const interactive = await post(good())
  t.equal(interactive.statusCode, 303)
  t.match(interactive.headers.location, /^\/login\?interaction=/)
  assertErrorRedirect(t, await post(good({ response_type: 'token' })), 'unsupported_response_type')
  assertErrorRedirect(t, await post(good({ prompt: 'none' })), 'login_required')
  assertErrorRedirect(t, await post(good({ request_uri: 'https://evil.example/req' })), 'request_uri_not_supported')
})

t.test('request objects are not supported, and never fetched', async (t) => {
  const requestObject = 'eyJhbGciOiJub25lIn0.eyJyZWRpcmVjdF91cmkiOiJodHRwczovL2V2aWwuZXhhbXBsZS9jYiJ9.'
  assertErrorRedirect(t, await get(good({ request: requestObject })), 'request_not_supported')
  assertErrorRedirect(t, await get(good({ request_uri: 'https://evil.example/request.jwt' })), 'request_uri_not_supported')
  // A pushed-request URN nobody pushed is a dead link: a page, never a redirect (RFC 9126 §4).
  const unknownPushed = await get(good({ request_uri: 'urn:ietf:params:oauth:request_uri:abc' }))
  t.equal(unknownPushed.statusCode, 400)
  t.match(unknownPushed.body, /expired or was already used/)
  t.notOk(unknownPushed.headers.location, 'not redirected')
})

t.test('prompt=none without a session: login_required by redirect, never HTML', async (t) => {
  const response = await get(good({ prompt: 'none' }))
  assertErrorRedirect(t, response, 'login_required')
  t.notMatch(response.body, /<html|<form/i)
  t.equal(response.headers['set-cookie'], undefined, 'no cookie handed out')
})

t.test('other validation errors are redirected too', async (t) => {
  assertErrorRedirect(t, await get(good({ scope: 'profile email' })), 'invalid_scope')
  assertErrorRedirect(t, await get(good({ prompt: 'none login' })), 'invalid_request')
  assertErrorRedirect(t, await get(good({ prompt: 'bogus' })), 'invalid_request')
  assertErrorRedirect(t, await get(good({ max_age: '-1' })), 'invalid_request')
  assertErrorRedirect(t, await get(good({ response_mode: 'fragment' })), 'invalid_request')
})

t.test('a client without the authorization_code grant gets unauthorized_client', async (t) => {
  const machine = await ctx.addClient({ name: 'Machine', redirectUris: ['https://m.example/cb'], grantTypes: ['client_credentials'] })
  const response = await get({ ...good(), client_id: machine.client.id, redirect_uri: 'https://m.example/cb' })
  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string)
  t.equal(location.searchParams.get('error'), 'unauthorized_client')
  t.equal(location.searchParams.get('state'), STATE)
  t.equal(location.searchParams.get('iss'), ctx.issuer)
})

t.test('oversized requests are protocol errors redirected to the client, not pages', async (t) => {
  const repeated = `${authorizeUrl(good())}${'&scope=openid'.repeat(17)}`
  assertErrorRedirect(t, await ctx.app.inject({ method: 'GET', url: repeated }), 'invalid_request')
  assertErrorRedirect(t, await get(good({ nonce: 'n'.repeat(9000) })), 'invalid_request')
  const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`extra${i}`, 'x']))
  assertErrorRedirect(t, await post({ ...good(), ...many }), 'invalid_request')
})
