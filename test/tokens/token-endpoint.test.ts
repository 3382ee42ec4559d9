/**
 * docs/security.md §C, the token endpoint itself: RFC 6749 §5.2 JSON errors; client authentication
 * (401 invalid_client with WWW-Authenticate; Basic credentials form-url-decoded); grant types;
 * form bodies only; success responses typed Bearer with expires_in and Cache-Control: no-store.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { hashSecret } from '../../src/secrets.js'
import type { Assert } from '../helpers/assert.js'
import { basic, FORM, obtainCode, redeem } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const rp = await ctx.addClient({ name: 'Web', redirectUris: ['https://rp.example/cb'] })
const spa = await ctx.addClient({ name: 'SPA', redirectUris: ['https://spa.example/cb'], isPublic: true })
const codeOnly = await ctx.addClient({ name: 'Code only', redirectUris: ['https://co.example/cb'], grantTypes: ['authorization_code'] })
const user = await ctx.addUser()

const post = (payload: string, headers: Record<string, string> = {}) =>
  ctx.app.inject({ method: 'POST', url: '/token', headers: { ...FORM, ...headers }, payload })
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()

function assertError(t: Assert, response: LightMyRequestResponse, status: number, error: string, what = error) {
  t.equal(response.statusCode, status, `${what}: status ${status} (${response.body})`)
  t.match(response.headers['content-type'], /^application\/json/, `${what}: JSON`)
  const body = response.json() as Record<string, unknown>
  t.equal(body['error'], error, `${what}: error`)
  t.type(body['error_description'] ?? '', 'string', `${what}: error_description is a string when present`)
  t.equal(response.headers['cache-control'], 'no-store', `${what}: no-store`)
  if (error === 'invalid_client') t.match(response.headers['www-authenticate'], /^Basic /i, `${what}: WWW-Authenticate`)
}

t.test('a successful redemption: Bearer, expires_in, Cache-Control no-store, JSON', async (t) => {
  const { code, verifier } = await obtainCode(ctx, rp, user)
  const response = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(response.statusCode, 200, response.body)
  t.match(response.headers['content-type'], /^application\/json/)
  t.equal(response.headers['cache-control'], 'no-store')
  const body = response.json()
  t.equal(body.token_type, 'Bearer')
  t.type(body.expires_in, 'number')
  t.ok(body.expires_in > 0 && body.expires_in <= 3600, 'expires_in within an hour')
  t.type(body.access_token, 'string')
  t.type(body.id_token, 'string')
  t.equal(body.scope, 'openid')
})

t.test('client_secret_post works too', async (t) => {
  const { code, verifier } = await obtainCode(ctx, rp, user)
  t.equal((await redeem(ctx, rp, code, { code_verifier: verifier }, 'post')).statusCode, 200)
})

t.test('wrong or missing client credentials → 401 invalid_client with WWW-Authenticate', async (t) => {
  const { code, verifier } = await obtainCode(ctx, rp, user)
  const body = { grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/cb', code_verifier: verifier }
  assertError(t, await post(form(body), { authorization: basic(rp.client.id, 'wrong') }), 401, 'invalid_client', 'wrong secret (Basic)')
  assertError(
    t,
    await post(form({ ...body, client_id: rp.client.id, client_secret: 'wrong' })),
    401,
    'invalid_client',
    'wrong secret (post)',
  )
  assertError(t, await post(form({ ...body, client_id: rp.client.id, client_secret: '' })), 401, 'invalid_client', 'empty secret (post)')
  assertError(t, await post(form(body)), 401, 'invalid_client', 'no credentials at all')
  assertError(t, await post(form({ ...body, client_id: rp.client.id })), 401, 'invalid_client', 'confidential client without secret')
  assertError(t, await post(form(body), { authorization: basic('no-such-client', 'x') }), 401, 'invalid_client', 'unknown client (Basic)')
  assertError(t, await post(form({ ...body, client_id: 'no-such-client' })), 401, 'invalid_client', 'unknown client (none)')
  assertError(
    t,
    await post(form(body), { authorization: `Basic ${Buffer.from(rp.client.id).toString('base64')}` }),
    401,
    'invalid_client',
    'Basic without colon',
  )
  assertError(t, await post(form(body), { authorization: `Bearer ${rp.secret!}` }), 401, 'invalid_client', 'other scheme')
  assertError(
    t,
    await post(form(body), { authorization: basic(rp.client.id, rp.secret!.toUpperCase()) }),
    401,
    'invalid_client',
    'secret in other case',
  )
  assertError(
    t,
    await post(form({ grant_type: 'authorization_code', code: 'x', redirect_uri: 'https://spa.example/cb' }), {
      authorization: basic(spa.client.id, 'anything'),
    }),
    401,
    'invalid_client',
    'public client sending a secret',
  )

  const ok = await post(form(body), { authorization: basic(rp.client.id, rp.secret!) })
  t.equal(ok.statusCode, 200, 'failed attempts did not consume the code')
})

t.test('Basic credentials are form-url-decoded: secrets with %, :, + work', async (t) => {
  const secret = 'p%ss:w+rd %41/ü='
  const client = {
    ...rp.client,
    id: 'odd:client+id%',
    name: 'Odd secret',
    secretHash: hashSecret(secret),
    redirectUris: ['https://odd.example/cb'],
  }
  await ctx.deps.repos.clients.insert(client)
  const odd = { client, secret }
  const { code, verifier } = await obtainCode(ctx, odd, user)
  const response = await redeem(ctx, odd, code, { code_verifier: verifier })
  t.equal(response.statusCode, 200, response.body)

  const second = await obtainCode(ctx, odd, user)
  const raw = `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`
  const notEncoded = await post(
    form({ grant_type: 'authorization_code', code: second.code, redirect_uri: 'https://odd.example/cb', code_verifier: second.verifier }),
    { authorization: raw },
  )
  t.equal(notEncoded.statusCode, 401, 'the same secret not form-url-encoded does not authenticate')

  const viaPost = await redeem(ctx, odd, second.code, { code_verifier: second.verifier }, 'post')
  t.equal(viaPost.statusCode, 200, 'client_secret_post with the same secret')
})

t.test('password, implicit and unknown grants do not exist → unsupported_grant_type', async (t) => {
  const auth = { authorization: basic(rp.client.id, rp.secret!) }
  for (const grantType of [
    'password',
    'implicit',
    'token',
    'urn:ietf:params:oauth:grant-type:saml2-bearer',
    'urn:ietf:params:oauth:grant-type:jwt-bearer',
    'AUTHORIZATION_CODE',
  ]) {
    assertError(
      t,
      await post(form({ grant_type: grantType, username: 'u', password: 'p' }), auth),
      400,
      'unsupported_grant_type',
      grantType,
    )
  }
  assertError(t, await post(form({ code: 'x' }), auth), 400, 'invalid_request', 'missing grant_type')
})

t.test('a grant the client is not registered for → unauthorized_client', async (t) => {
  assertError(
    t,
    await post(form({ grant_type: 'client_credentials', scope: 'openid' }), { authorization: basic(rp.client.id, rp.secret!) }),
    400,
    'unauthorized_client',
    'client_credentials on a default client',
  )
  assertError(
    t,
    await post(form({ grant_type: 'refresh_token', refresh_token: 'x' }), { authorization: basic(codeOnly.client.id, codeOnly.secret!) }),
    400,
    'unauthorized_client',
    'refresh_token on a code-only client',
  )
  assertError(
    t,
    await post(form({ grant_type: 'client_credentials', client_id: spa.client.id })),
    400,
    'unauthorized_client',
    'client_credentials on a public client',
  )
})

t.test('only form bodies: JSON → invalid_request', async (t) => {
  const { code, verifier } = await obtainCode(ctx, rp, user)
  const json = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/json', authorization: basic(rp.client.id, rp.secret!) },
    payload: JSON.stringify({ grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/cb', code_verifier: verifier }),
  })
  assertError(t, json, 400, 'invalid_request', 'JSON body')
  const none = await ctx.app.inject({ method: 'POST', url: '/token', headers: { authorization: basic(rp.client.id, rp.secret!) } })
  assertError(t, none, 400, 'invalid_request', 'no body')
  const ok = await redeem(ctx, rp, code, { code_verifier: verifier })
  t.equal(ok.statusCode, 200, 'the refused JSON request did not consume the code')
})

t.test('repeated parameters and mixed authentication methods → invalid_request', async (t) => {
  const { code, verifier } = await obtainCode(ctx, rp, user)
  const body = form({ grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/cb', code_verifier: verifier })
  assertError(
    t,
    await post(`${body}&code=${encodeURIComponent(code)}`, { authorization: basic(rp.client.id, rp.secret!) }),
    400,
    'invalid_request',
    'code twice',
  )
  assertError(
    t,
    await post(`${body}&grant_type=authorization_code`, { authorization: basic(rp.client.id, rp.secret!) }),
    400,
    'invalid_request',
    'grant_type twice',
  )
  assertError(
    t,
    await post(`${body}&client_secret=${encodeURIComponent(rp.secret!)}`, { authorization: basic(rp.client.id, rp.secret!) }),
    400,
    'invalid_request',
    'Basic and client_secret_post at once',
  )
})
