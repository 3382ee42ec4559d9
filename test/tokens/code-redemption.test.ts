/**
 * docs/security.md §C, authorization codes: single use (atomically: 20 parallel redemptions → one
 * 200); a replay revokes what the first redemption issued; bound to client and redirect_uri;
 * expire after 60 s.
 */
import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { Assert } from '../helpers/assert.js'
import { basic, FORM, obtainCode, redeem, userinfo } from '../helpers/client.js'
import { createTestApp } from '../helpers/test-app.js'

const ctx = await createTestApp()
t.teardown(() => ctx.close())
const clientA = await ctx.addClient({ name: 'A', redirectUris: ['https://a.example/cb', 'https://a.example/other'] })
const clientB = await ctx.addClient({ name: 'B', redirectUris: ['https://a.example/cb'] })
const user = await ctx.addUser()

function assertInvalidGrant(t: Assert, response: LightMyRequestResponse, what: string) {
  t.equal(response.statusCode, 400, `${what}: 400 (${response.body})`)
  t.equal(response.json().error, 'invalid_grant', `${what}: invalid_grant`)
  t.equal(response.headers['cache-control'], 'no-store', `${what}: no-store`)
  t.notOk('access_token' in response.json(), `${what}: no token`)
}

t.test('codes are long random values', async (t) => {
  const { code } = await obtainCode(ctx, clientA, user)
  t.ok(Buffer.from(code, 'base64url').length >= 16, 'at least 128 bits')
  const again = await obtainCode(ctx, clientA, user)
  t.not(again.code, code)
})

t.test('a code is single use; a replay is refused and revokes the first access token', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user)
  const first = await redeem(ctx, clientA, code, { code_verifier: verifier })
  t.equal(first.statusCode, 200, first.body)
  const accessToken = first.json().access_token as string
  t.equal((await userinfo(ctx, accessToken)).statusCode, 200, 'the access token works before the replay')

  assertInvalidGrant(t, await redeem(ctx, clientA, code, { code_verifier: verifier }), 'replay')

  const after = await userinfo(ctx, accessToken)
  t.equal(after.statusCode, 401, 'the first access token is revoked by the replay')
  t.match(after.headers['www-authenticate'], /error="invalid_token"/)
})

t.test('a replay also kills the refresh token and shows the access token inactive at introspection', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user, { params: { scope: 'openid offline_access' } })
  const first = await redeem(ctx, clientA, code, { code_verifier: verifier })
  t.equal(first.statusCode, 200, first.body)
  const { access_token: accessToken, refresh_token: refreshToken } = first.json() as { access_token: string; refresh_token?: string }
  t.type(refreshToken, 'string', 'a refresh token for offline_access')
  const auth = { ...FORM, authorization: basic(clientA.client.id, clientA.secret!) }
  const introspect = async (token: string) =>
    (await ctx.app.inject({ method: 'POST', url: '/introspect', headers: auth, payload: new URLSearchParams({ token }).toString() })).json()
  t.equal((await introspect(accessToken)).active, true, 'active before the replay')

  assertInvalidGrant(t, await redeem(ctx, clientA, code, { code_verifier: verifier }), 'replay')
  t.equal((await introspect(accessToken)).active, false, 'access token inactive after the replay')
  t.equal((await introspect(refreshToken!)).active, false, 'refresh token inactive after the replay')
  const refresh = await ctx.app.inject({
    method: 'POST',
    url: '/token',
    headers: auth,
    payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken! }).toString(),
  })
  assertInvalidGrant(t, refresh, 'refresh after replay')
})

t.test('20 parallel redemptions of one code: exactly one 200', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user)
  const responses = await Promise.all(Array.from({ length: 20 }, () => redeem(ctx, clientA, code, { code_verifier: verifier })))
  const statuses = responses.map((response) => response.statusCode)
  t.equal(statuses.filter((status) => status === 200).length, 1, `one winner (${statuses.join(',')})`)
  t.equal(statuses.filter((status) => status === 400).length, 19, 'everyone else refused')
  for (const response of responses.filter((r) => r.statusCode !== 200)) t.equal(response.json().error, 'invalid_grant')
  const winner = responses.find((response) => response.statusCode === 200)!
  t.equal((await userinfo(ctx, winner.json().access_token)).statusCode, 401, "the losers' replays revoked the winner's token")
})

t.test('a code issued to client A cannot be redeemed by client B', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user)
  assertInvalidGrant(t, await redeem(ctx, clientB, code, { code_verifier: verifier }), 'other client')
  const publicB = await ctx.addClient({ name: 'B public', redirectUris: ['https://a.example/cb'], isPublic: true })
  assertInvalidGrant(t, await redeem(ctx, publicB, code, { code_verifier: verifier }, 'none'), 'other public client')
  // Also when the code has already been used: no replay handling is triggered by another client.
  const first = await redeem(ctx, clientA, code, { code_verifier: verifier })
  t.equal(first.statusCode, 200, 'the rightful client still redeems it')
  assertInvalidGrant(t, await redeem(ctx, clientB, code, { code_verifier: verifier }), 'other client after use')
  t.equal((await userinfo(ctx, first.json().access_token)).statusCode, 200, "another client's attempt does not revoke A's tokens")
})

t.test('redirect_uri at /token must match the one authorized', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user)
  assertInvalidGrant(
    t,
    await redeem(ctx, clientA, code, { code_verifier: verifier, redirect_uri: 'https://a.example/other' }),
    'other registered uri',
  )
  assertInvalidGrant(
    t,
    await redeem(ctx, clientA, code, { code_verifier: verifier, redirect_uri: 'https://a.example/cb/' }),
    'trailing slash',
  )
  assertInvalidGrant(t, await redeem(ctx, clientA, code, { code_verifier: verifier, redirect_uri: undefined }), 'missing redirect_uri')
  t.equal((await redeem(ctx, clientA, code, { code_verifier: verifier })).statusCode, 200, 'the matching redirect_uri works')
})

t.test('an expired code (older than 60 s) → invalid_grant', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user)
  ctx.clock.advance(61)
  assertInvalidGrant(t, await redeem(ctx, clientA, code, { code_verifier: verifier }), 'expired')
})

t.test('unknown, empty and tampered codes → invalid_grant / invalid_request', async (t) => {
  const { code, verifier } = await obtainCode(ctx, clientA, user)
  assertInvalidGrant(t, await redeem(ctx, clientA, `${code}x`, { code_verifier: verifier }), 'tampered')
  assertInvalidGrant(t, await redeem(ctx, clientA, 'not-a-code', { code_verifier: verifier }), 'unknown')
  const empty = await redeem(ctx, clientA, '', { code_verifier: verifier })
  t.equal(empty.statusCode, 400)
  t.equal(empty.json().error, 'invalid_request', 'missing code')
})
