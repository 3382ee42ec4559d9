/**
 * docs/security.md §A: redirect_uri matches a registered URI byte for byte (loopback: port only), and
 * until client and redirect_uri are known good every error is an HTML page, never a redirect.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { authorizeUrl, FORM, pkcePair, RP } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const web = await ctx.addClient({ redirectUris: [RP] })
const native = await ctx.addClient({ name: 'Native', isPublic: true, redirectUris: ['http://127.0.0.1/cb'] })
const { challenge } = pkcePair()

const baseParams = (clientId: string, redirectUri: string) => ({
  response_type: 'code',
  client_id: clientId,
  redirect_uri: redirectUri,
  scope: 'openid',
  state: 'xyz',
  code_challenge: challenge,
  code_challenge_method: 'S256',
})

function assertErrorPage(t: Assert, response: LightMyRequestResponse, what: string) {
  t.equal(response.statusCode, 400, `${what}: status 400`)
  t.match(response.headers['content-type'], /^text\/html/, `${what}: an HTML page`)
  t.equal(response.headers.location, undefined, `${what}: no Location header`)
  t.notMatch(response.body, /rp\.example|evil/, `${what}: the page does not link to the refused URI`)
}

const refusedVariants: Record<string, string> = {
  'trailing slash': `${RP}/`,
  'other case in host': 'https://RP.example/callback',
  'other case in path': 'https://rp.example/Callback',
  'other case in scheme': 'HTTPS://rp.example/callback',
  'extra query': `${RP}?x=1`,
  'empty query': `${RP}?`,
  fragment: `${RP}#frag`,
  'empty fragment': `${RP}#`,
  'other port': 'https://rp.example:8443/callback',
  'explicit default port': 'https://rp.example:443/callback',
  'user@host': 'https://user@rp.example/callback',
  'registered host as userinfo': 'https://rp.example@evil.example/callback',
  'dot-dot segment': 'https://rp.example/callback/../callback',
  'dot-dot from elsewhere': 'https://rp.example/other/../callback',
  'dot-dot-semicolon': 'https://rp.example/callback/..;/callback',
  'dot-dot-semicolon prefix': 'https://rp.example/..;/callback',
  'percent-encoded path character': 'https://rp.example/%63allback',
  'percent-encoded slash': 'https://rp.example%2Fcallback',
  'double-encoded whole URI': encodeURIComponent(RP),
  'http instead of https': 'http://rp.example/callback',
  'suffix host': 'https://rp.example.evil.example/callback',
  'leading space': ` ${RP}`,
  'trailing space': `${RP} `,
  'path prefix only': 'https://rp.example/callbackx',
}

t.test('redirect_uri variants that are not byte-identical get an HTML error page, never a redirect', async (t) => {
  for (const [what, uri] of Object.entries(refusedVariants)) {
    const response = await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams(web.client.id, uri)) })
    assertErrorPage(t, response, what)
  }
})

t.test('the same refusals apply to POST /authorize', async (t) => {
  for (const uri of [`${RP}/`, 'https://rp.example/callback/..;/callback', 'https://rp.example/%63allback']) {
    const response = await ctx.app.inject({
      method: 'POST',
      url: '/authorize',
      headers: FORM,
      payload: new URLSearchParams(baseParams(web.client.id, uri)).toString(),
    })
    assertErrorPage(t, response, `POST ${uri}`)
  }
})

t.test('the exact registered URI is accepted', async (t) => {
  const response = await ctx.app.inject({ method: 'GET', url: authorizeUrl({ ...baseParams(web.client.id, RP), prompt: 'none' }) })
  t.equal(response.statusCode, 303)
  const location = new URL(response.headers.location as string)
  t.equal(`${location.origin}${location.pathname}`, RP)
  t.equal(location.searchParams.get('error'), 'login_required')
})

t.test('loopback redirect URIs may differ in port only (RFC 8252 §7.3)', async (t) => {
  const otherPort = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl({ ...baseParams(native.client.id, 'http://127.0.0.1:53211/cb'), prompt: 'none' }),
  })
  t.equal(otherPort.statusCode, 303, 'another port works')
  const location = new URL(otherPort.headers.location as string)
  t.equal(location.host, '127.0.0.1:53211', 'the answer goes to the port the app asked for')
  t.equal(location.pathname, '/cb')
  t.equal(location.searchParams.get('error'), 'login_required')

  const noPort = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl({ ...baseParams(native.client.id, 'http://127.0.0.1/cb'), prompt: 'none' }),
  })
  t.equal(noPort.statusCode, 303, 'the registered URI itself works')

  const refused: Record<string, string> = {
    'other path': 'http://127.0.0.1:53211/other',
    'longer path': 'http://127.0.0.1:53211/cb/more',
    'extra query': 'http://127.0.0.1:53211/cb?x=1',
    'dot-dot': 'http://127.0.0.1:53211/x/../cb',
    'percent-encoded path': 'http://127.0.0.1:53211/%63b',
    'localhost is a different host': 'http://localhost:53211/cb',
    'IPv6 loopback was not registered': 'http://[::1]:53211/cb',
    'loopback-looking domain': 'http://127.0.0.1.evil.test:53211/cb',
    'https instead of http': 'https://127.0.0.1:53211/cb',
    'user@host': 'http://user@127.0.0.1:53211/cb',
  }
  for (const [what, uri] of Object.entries(refused)) {
    const response = await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams(native.client.id, uri)) })
    assertErrorPage(t, response, what)
  }
})

t.test('port variation is for native apps only: a confidential client with a loopback URI matches exactly (RFC 8252 §7.3)', async (t) => {
  const web = await ctx.addClient({ name: 'Local web app', redirectUris: ['http://127.0.0.1:9999/cb'] })
  const exact = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl({ ...baseParams(web.client.id, 'http://127.0.0.1:9999/cb'), prompt: 'none' }),
  })
  t.equal(exact.statusCode, 303, 'the registered URI itself')
  t.equal(new URL(exact.headers.location!).host, '127.0.0.1:9999')
  for (const uri of ['http://127.0.0.1:9998/cb', 'http://127.0.0.1:09999/cb', 'http://127.0.0.1/cb']) {
    assertErrorPage(
      t,
      await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams(web.client.id, uri)) }),
      `confidential client: ${uri}`,
    )
  }
  assertErrorPage(
    t,
    await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams(native.client.id, 'http://127.0.0.1:053211/cb')) }),
    'native app: zero-padded port digits',
  )
})

t.test('a loopback URI with an impossible port is refused with a 400 page, not a server error', async (t) => {
  // Accepted today: the request is parked for login (303 /login) and the 500 comes only after the
  // user typed a password; with prompt=none building the error redirect throws (500).
  for (const uri of ['http://127.0.0.1:99999/cb', 'http://127.0.0.1:65536/cb']) {
    const response = await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams(native.client.id, uri)) })
    assertErrorPage(t, response, uri)
    const silent = await ctx.app.inject({ method: 'GET', url: authorizeUrl({ ...baseParams(native.client.id, uri), prompt: 'none' }) })
    assertErrorPage(t, silent, `${uri} with prompt=none`)
  }
})

t.test('unknown, missing or duplicated client_id and missing redirect_uri: page, no Location', async (t) => {
  const unknown = await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams('no-such-client', RP)) })
  assertErrorPage(t, unknown, 'unknown client_id')

  const { client_id: _omitClient, ...noClient } = baseParams(web.client.id, RP)
  assertErrorPage(t, await ctx.app.inject({ method: 'GET', url: authorizeUrl(noClient) }), 'missing client_id')
  assertErrorPage(t, await ctx.app.inject({ method: 'GET', url: authorizeUrl({ ...noClient, client_id: '' }) }), 'empty client_id')

  const { redirect_uri: _omitUri, ...noRedirect } = baseParams(web.client.id, RP)
  assertErrorPage(t, await ctx.app.inject({ method: 'GET', url: authorizeUrl(noRedirect) }), 'missing redirect_uri')

  const duplicatedClient = `${authorizeUrl(baseParams(web.client.id, RP))}&client_id=${encodeURIComponent(web.client.id)}`
  assertErrorPage(t, await ctx.app.inject({ method: 'GET', url: duplicatedClient }), 'duplicated client_id')

  const duplicatedRedirect = `${authorizeUrl(baseParams(web.client.id, RP))}&redirect_uri=${encodeURIComponent('https://evil.example/cb')}`
  assertErrorPage(t, await ctx.app.inject({ method: 'GET', url: duplicatedRedirect }), 'duplicated redirect_uri')

  const otherClientsUri = await ctx.app.inject({ method: 'GET', url: authorizeUrl(baseParams(native.client.id, RP)) })
  assertErrorPage(t, otherClientsUri, "another client's redirect_uri")
})

t.test('error pages are not redirects even when the rest of the request is also bad', async (t) => {
  const response = await ctx.app.inject({
    method: 'GET',
    url: authorizeUrl({
      client_id: 'nope',
      redirect_uri: 'https://evil.example/cb',
      response_type: 'token',
      request_uri: 'https://evil.example/r',
    }),
  })
  assertErrorPage(t, response, 'unknown client with other errors')
})
