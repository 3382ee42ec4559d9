/**
 * The token endpoint for devices (RFC 8628 §3.4, §3.5): authorization_pending, slow_down,
 * access_denied, expired_token, invalid_grant for another client's or a used device code, tokens
 * once, exactly once under concurrent polls; the grant behaves like an authorization code's
 * (refresh with offline_access, revocation, logout).
 */
import t, { type Test } from 'tap'
import { claims, refresh, revoke, userinfo, type Tokens } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { addDeviceClient, answer, errorOf, poll, signedInBrowser, startDevice } from './support.js'

async function app(t: Test): Promise<TestApp> {
  const ctx = await createTestApp()
  t.teardown(() => ctx.close())
  return ctx
}

t.test('pending, then approved: tokens like the code flow, ID token for openid', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const { user, browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp, 'openid profile offline_access')

  const first = await poll(ctx, rp, device.device_code)
  t.equal(first.statusCode, 400)
  t.same(first.json(), { error: 'authorization_pending', error_description: 'the user has not yet answered' })
  t.equal(first.headers['cache-control'], 'no-store')

  const loginTime = ctx.clock.now()
  ctx.clock.advance(7)
  const decided = await answer(browser, device.user_code, 'approve')
  t.equal(decided.statusCode, 200)
  t.match(decided.body, /Device connected/)
  ctx.clock.advance(5)
  const tokens = await poll(ctx, rp, device.device_code)
  t.equal(tokens.statusCode, 200, tokens.body)
  t.equal(tokens.headers['cache-control'], 'no-store')
  const body = tokens.json() as Tokens
  t.equal(body.token_type, 'Bearer')
  t.equal(body.scope, 'openid profile offline_access')
  t.ok(body.refresh_token, 'offline_access and the refresh_token grant: a refresh token')
  const id = claims(body.id_token!)
  t.match(id, { iss: ctx.issuer, aud: rp.client.id, azp: rp.client.id, sub: user.id, auth_time: loginTime, amr: ['pwd'] })
  t.notOk('nonce' in id, 'no nonce in the device flow')
  t.match(claims(body.access_token), { sub: user.id, client_id: rp.client.id, scope: 'openid profile offline_access' })
  t.equal((await userinfo(ctx, body.access_token)).statusCode, 200, 'the access token works at userinfo')

  const refreshed = await refresh(ctx, rp, body.refresh_token!)
  t.equal(refreshed.statusCode, 200, 'the refresh token works')
  t.equal(claims((refreshed.json() as Tokens).id_token!)['auth_time'], loginTime, 'a refreshed ID token keeps auth_time')
})

t.test('a used device code: invalid_grant, and what it issued is revoked', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp, 'openid offline_access')
  await answer(browser, device.user_code, 'approve')
  const tokens = (await poll(ctx, rp, device.device_code)).json() as Tokens
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 200)

  ctx.clock.advance(5)
  const again = await poll(ctx, rp, device.device_code)
  t.equal(again.statusCode, 400)
  t.equal(errorOf(again), 'invalid_grant')
  t.equal((await userinfo(ctx, tokens.access_token)).statusCode, 401, 'the access token is revoked')
  t.equal(errorOf(await refresh(ctx, rp, tokens.refresh_token!)), 'invalid_grant', 'the refresh token is dead')
  const events = await ctx.deps.repos.auditEvents.list({ limit: 20 })
  t.ok(
    events.some((event) => event.type === 'code_reuse'),
    'the replay is a security event',
  )
})

t.test('slow_down: polling sooner than the interval adds 5 s, for this and every later poll', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const device = await startDevice(ctx, rp)
  t.equal(device.interval, 5)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'authorization_pending')
  ctx.clock.advance(1)
  const fast = await poll(ctx, rp, device.device_code)
  t.equal(fast.statusCode, 400)
  t.equal(errorOf(fast), 'slow_down')
  ctx.clock.advance(5)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'slow_down', '5 s is no longer enough: the interval is 10 s')
  ctx.clock.advance(14)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'slow_down', '14 s after a 15 s interval: now 20 s')
  ctx.clock.advance(20)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'authorization_pending', 'waiting the interval is fine again')
  ctx.clock.advance(20)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'authorization_pending')
})

t.test('access_denied after the user pressed Deny; the code stays denied', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  const page = await answer(browser, device.user_code, 'deny')
  t.equal(page.statusCode, 200)
  t.match(page.body, /Request denied/)
  const denied = await poll(ctx, rp, device.device_code)
  t.equal(denied.statusCode, 400, 'RFC 6749 §5.2: 400')
  t.equal(errorOf(denied), 'access_denied')
  ctx.clock.advance(5)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'access_denied')
  ctx.clock.advance(600)
  t.equal(errorOf(await poll(ctx, rp, device.device_code)), 'expired_token', 'once expired it says so')
})

t.test('expired_token after DEVICE_CODE_TTL, approved or not', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  t.equal(device.expires_in, 600, 'DEVICE_CODE_TTL default 10m')
  const late = await startDevice(ctx, rp)
  await answer(browser, late.user_code, 'approve')
  ctx.clock.advance(600)
  const expired = await poll(ctx, rp, device.device_code)
  t.equal(expired.statusCode, 400)
  t.equal(errorOf(expired), 'expired_token')
  t.equal(errorOf(await poll(ctx, rp, late.device_code)), 'expired_token', 'an approval the device did not pick up in time')
})

t.test('DEVICE_CODE_TTL is configurable', async (t) => {
  const ctx = await createTestApp({ env: { DEVICE_CODE_TTL: '15m' } })
  t.teardown(() => ctx.close())
  const rp = await addDeviceClient(ctx)
  t.equal((await startDevice(ctx, rp)).expires_in, 900)
})

t.test('invalid_grant: another client’s device code, an unknown one; invalid_request without one', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const other = await addDeviceClient(ctx, { name: 'Other TV' })
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  await answer(browser, device.user_code, 'approve')

  const stolen = await poll(ctx, other, device.device_code)
  t.equal(stolen.statusCode, 400)
  t.equal(errorOf(stolen), 'invalid_grant')
  t.equal(errorOf(await poll(ctx, rp, 'not-a-device-code')), 'invalid_grant')
  t.equal(errorOf(await poll(ctx, rp, device.user_code)), 'invalid_grant', 'the user code is not a device code')
  const missing = await poll(ctx, rp, '')
  t.equal(errorOf(missing), 'invalid_request')
  t.equal((await poll(ctx, rp, device.device_code)).statusCode, 200, 'the rightful client still gets its tokens')
})

t.test('client authentication and registration at the token endpoint', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const device = await startDevice(ctx, rp)
  const webApp = await ctx.addClient({ isPublic: true })
  const notRegistered = await poll(ctx, webApp, device.device_code)
  t.equal(errorOf(notRegistered), 'unauthorized_client', 'a client not registered for the device grant')
  const anonymous = await poll(ctx, null, device.device_code)
  t.equal(anonymous.statusCode, 401)
  t.equal(errorOf(anonymous), 'invalid_client')

  const confidential = await addDeviceClient(ctx, { isPublic: false, name: 'Set-top box' })
  const ownDevice = await startDevice(ctx, confidential)
  t.equal(errorOf(await poll(ctx, confidential, ownDevice.device_code)), 'authorization_pending', 'Basic authentication')
  const wrongSecret = await poll(ctx, { client: confidential.client, secret: 'wrong' }, ownDevice.device_code)
  t.equal(wrongSecret.statusCode, 401)
  t.equal(errorOf(wrongSecret), 'invalid_client')
})

t.test('concurrent polls of an approved code: exactly one gets tokens', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)
  const device = await startDevice(ctx, rp)
  await answer(browser, device.user_code, 'approve')
  const responses = await Promise.all(Array.from({ length: 20 }, () => poll(ctx, rp, device.device_code)))
  const statuses = responses.map((response) => response.statusCode)
  t.equal(statuses.filter((status) => status === 200).length, 1, 'one 200')
  t.same(
    [...new Set(responses.filter((response) => response.statusCode !== 200).map(errorOf))],
    ['invalid_grant'],
    'the others: invalid_grant',
  )
})

t.test('concurrent polls of a pending code: one authorization_pending, the rest slow_down', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const device = await startDevice(ctx, rp)
  const responses = await Promise.all(Array.from({ length: 10 }, () => poll(ctx, rp, device.device_code)))
  const errors = responses.map(errorOf)
  t.equal(errors.filter((error) => error === 'authorization_pending').length, 1)
  t.equal(errors.filter((error) => error === 'slow_down').length, 9)
})

t.test('the grant: revocation, logout of the approving session, offline access', async (t) => {
  const ctx = await app(t)
  const rp = await addDeviceClient(ctx)
  const { browser } = await signedInBrowser(ctx)

  const online = await startDevice(ctx, rp, 'openid')
  const offline = await startDevice(ctx, rp, 'openid offline_access')
  const revoked = await startDevice(ctx, rp, 'openid offline_access')
  const unredeemed = await startDevice(ctx, rp, 'openid')
  for (const device of [online, offline, revoked, unredeemed]) await answer(browser, device.user_code, 'approve')
  const onlineTokens = (await poll(ctx, rp, online.device_code)).json() as Tokens
  const offlineTokens = (await poll(ctx, rp, offline.device_code)).json() as Tokens
  const revokedTokens = (await poll(ctx, rp, revoked.device_code)).json() as Tokens
  t.notOk(onlineTokens.refresh_token, 'no offline_access: no refresh token')

  t.equal((await revoke(ctx, rp, revokedTokens.refresh_token!)).statusCode, 200)
  t.equal(errorOf(await refresh(ctx, rp, revokedTokens.refresh_token!)), 'invalid_grant', 'revocation (RFC 7009) works')
  t.equal((await userinfo(ctx, revokedTokens.access_token)).statusCode, 401)

  const logout = await browser.submit('/account', '/logout/confirm', { decision: 'logout' })
  t.equal(logout.statusCode, 200, 'signed out')
  t.equal((await userinfo(ctx, onlineTokens.access_token)).statusCode, 401, 'logout ends the session’s grants')
  t.equal(errorOf(await refresh(ctx, rp, offlineTokens.refresh_token!)), 'invalid_grant', 'offline_access dies with the session too')
  ctx.clock.advance(5)
  const afterLogout = await poll(ctx, rp, unredeemed.device_code)
  t.equal(errorOf(afterLogout), 'invalid_grant', 'an approval not picked up before logout is void')
})
