/**
 * docs/security.md §B: PKCE with S256 only; required for public clients; no downgrade (verifier without
 * challenge, challenge without verifier); a good verifier never replaces a client secret.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { authorizeUrl, obtainCode, pkcePair, redeem } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const confidential = await ctx.addClient({ name: 'Confidential', redirectUris: ['https://c.example/cb'] })
const relaxed = await ctx.addClient({ name: 'Relaxed', redirectUris: ['https://r.example/cb'], pkce: 'optional' })
const spa = await ctx.addClient({ name: 'SPA', redirectUris: ['https://spa.example/cb'], isPublic: true })
const user = await ctx.addUser()

function authorizeRequest(clientId: string, redirectUri: string, extra: Record<string, string | undefined>) {
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: redirectUri,
    scope: 'openid',
    state: 'pk',
  }
  for (const [name, value] of Object.entries(extra)) if (value !== undefined) params[name] = value
  return ctx.app.inject({ method: 'GET', url: authorizeUrl(params) })
}

function assertInvalidRequestRedirect(t: Assert, response: LightMyRequestResponse, redirectUri: string, what: string) {
  t.equal(response.statusCode, 303, `${what}: 303`)
  const location = new URL(response.headers.location as string, ctx.issuer)
  t.equal(`${location.origin}${location.pathname}`, redirectUri, `${what}: back to the client`)
  t.equal(location.searchParams.get('error'), 'invalid_request', `${what}: invalid_request`)
  t.equal(location.searchParams.get('state'), 'pk', `${what}: state`)
  t.equal(location.searchParams.get('iss'), ctx.issuer, `${what}: iss`)
}

function assertTokenError(t: Assert, response: LightMyRequestResponse, status: number, error: string) {
  t.equal(response.statusCode, status, response.body)
  t.equal(response.json().error, error)
  t.match(response.headers['content-type'], /^application\/json/)
}

t.test('malformed PKCE parameters at /authorize → invalid_request redirect', async (t) => {
  const { challenge, verifier } = pkcePair()
  const cases: Record<string, Record<string, string | undefined>> = {
    'method plain': { code_challenge: verifier, code_challenge_method: 'plain' },
    'method plain with an S256-shaped challenge': { code_challenge: challenge, code_challenge_method: 'plain' },
    'challenge without method': { code_challenge: challenge },
    'method without challenge': { code_challenge_method: 'S256' },
    'lower-case method': { code_challenge: challenge, code_challenge_method: 's256' },
    'unknown method': { code_challenge: challenge, code_challenge_method: 'S512' },
    'challenge too short': { code_challenge: challenge.slice(0, 42), code_challenge_method: 'S256' },
    'challenge too long': { code_challenge: `${challenge}A`, code_challenge_method: 'S256' },
    'challenge with padding': { code_challenge: `${challenge.slice(0, 42)}=`, code_challenge_method: 'S256' },
    'challenge in base64, not base64url': { code_challenge: `${challenge.slice(0, 41)}+/`, code_challenge_method: 'S256' },
  }
  for (const [what, extra] of Object.entries(cases)) {
    assertInvalidRequestRedirect(
      t,
      await authorizeRequest(confidential.client.id, 'https://c.example/cb', extra),
      'https://c.example/cb',
      what,
    )
  }
})

t.test('a public client without a challenge → invalid_request (even if PKCE looks optional)', async (t) => {
  assertInvalidRequestRedirect(
    t,
    await authorizeRequest(spa.client.id, 'https://spa.example/cb', {}),
    'https://spa.example/cb',
    'public, no challenge',
  )
  assertInvalidRequestRedirect(
    t,
    await authorizeRequest(confidential.client.id, 'https://c.example/cb', {}),
    'https://c.example/cb',
    'confidential by default, no challenge',
  )
})

t.test('a public client with S256 completes the flow without a secret', async (t) => {
  const { code, verifier } = await obtainCode(ctx, spa, user)
  const response = await redeem(ctx, spa, code, { code_verifier: verifier }, 'none')
  t.equal(response.statusCode, 200, response.body)
})

t.test('challenge at /authorize but no verifier at /token → invalid_grant', async (t) => {
  const { code } = await obtainCode(ctx, confidential, user)
  assertTokenError(t, await redeem(ctx, confidential, code), 400, 'invalid_grant')
  const publicCode = await obtainCode(ctx, spa, user)
  assertTokenError(t, await redeem(ctx, spa, publicCode.code, {}, 'none'), 400, 'invalid_grant')
})

t.test('a wrong or malformed verifier → invalid_grant', async (t) => {
  const other = pkcePair()
  const { code } = await obtainCode(ctx, confidential, user)
  assertTokenError(t, await redeem(ctx, confidential, code, { code_verifier: other.verifier }), 400, 'invalid_grant')
  const second = await obtainCode(ctx, confidential, user)
  assertTokenError(t, await redeem(ctx, confidential, second.code, { code_verifier: 'short' }), 400, 'invalid_grant')
  // The challenge is itself 43 base64url characters: echoing it back proves nothing.
  const pair = pkcePair()
  const third = await obtainCode(ctx, confidential, user, { params: { code_challenge: pair.challenge, code_challenge_method: 'S256' } })
  assertTokenError(t, await redeem(ctx, confidential, third.code, { code_verifier: pair.challenge }), 400, 'invalid_grant')
})

t.test('downgrade: no challenge at /authorize, a verifier at /token → invalid_grant', async (t) => {
  const { code } = await obtainCode(ctx, relaxed, user, { pkce: false })
  const { verifier } = pkcePair()
  assertTokenError(t, await redeem(ctx, relaxed, code, { code_verifier: verifier }), 400, 'invalid_grant')

  const { code: plainCode } = await obtainCode(ctx, relaxed, user, { pkce: false })
  const ok = await redeem(ctx, relaxed, plainCode)
  t.equal(ok.statusCode, 200, 'without a verifier the relaxed client redeems its code')
})

t.test('a good verifier never replaces the client secret', async (t) => {
  const { code, verifier } = await obtainCode(ctx, confidential, user)
  const wrongSecret = await redeem(ctx, { ...confidential, secret: `${confidential.secret!}x` }, code, { code_verifier: verifier })
  assertTokenError(t, wrongSecret, 401, 'invalid_client')
  t.ok(wrongSecret.headers['www-authenticate'], 'WWW-Authenticate on 401')

  const noSecret = await redeem(ctx, { ...confidential, secret: null }, code, { code_verifier: verifier })
  assertTokenError(t, noSecret, 401, 'invalid_client')

  const ok = await redeem(ctx, confidential, code, { code_verifier: verifier })
  t.equal(ok.statusCode, 200, 'the code was not burnt by failed client authentication')
})
