/**
 * openid-client v6 as the device (a CLI or TV app) against Tessera listening on loopback:
 * discovery names the device authorization endpoint; initiateDeviceAuthorization, then
 * pollDeviceAuthorizationGrant waits the RFC 8628 interval, gets authorization_pending, and the
 * tokens once the user allowed (validated by openid-client: signature, iss, aud); access_denied,
 * expired_token, invalid_grant and unauthorized_client reach the device as the RFC names them.
 * The server's clock follows the wall clock here, as the device really waits between polls.
 */
import t from 'tap'
import * as client from 'openid-client'
import { Browser } from '../helpers/client.js'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { hashSecret } from '../../src/secrets.js'
import { addDeviceClient, answer, signedInBrowser, WallClock } from './support.js'
import type { Teardown } from '../helpers/processes.js'

/** The error a promise rejects with (undefined if it resolves), for t.match on its fields. */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

async function listeningApp(t: Teardown): Promise<TestApp> {
  const ctx = await createTestApp({ listen: true, clock: new WallClock() })
  t.teardown(() => ctx.close())
  return ctx
}

const configFor = (ctx: TestApp, clientId: string) =>
  client.discovery(new URL(ctx.issuer), clientId, undefined, client.None(), { execute: [client.allowInsecureRequests], timeout: 10 })

/** Resolves once the device has polled at least once (the row records it): no fixed sleeps. */
async function firstPoll(ctx: TestApp, deviceCode: string, signal: AbortSignal): Promise<void> {
  for (;;) {
    signal.throwIfAborted()
    const row = await ctx.deps.repos.deviceCodes.findByDeviceCode(hashSecret(deviceCode))
    if (row?.lastPolledAt != null) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('openid-client: device authorization, polling with authorization_pending, then tokens and userinfo', async (t) => {
  const ctx = await listeningApp(t)
  const rp = await addDeviceClient(ctx, { name: 'Terminal' })
  const config = await configFor(ctx, rp.client.id)
  t.equal(config.serverMetadata().device_authorization_endpoint, `${ctx.issuer}/device/authorization`, 'from discovery')

  const device = await client.initiateDeviceAuthorization(config, { scope: 'openid profile offline_access' })
  t.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  t.equal(device.verification_uri, `${ctx.issuer}/device`)
  t.equal(device.interval, 5)
  t.equal(device.expires_in, 600)

  // The device polls with the real interval (5 s before each poll); the user answers meanwhile.
  const polling = client.pollDeviceAuthorizationGrant(config, device, undefined, { signal: AbortSignal.timeout(120_000) })
  const { user, browser } = await signedInBrowser(ctx)
  await firstPoll(ctx, device.device_code, AbortSignal.timeout(60_000))
  t.pass('the first poll was answered authorization_pending (openid-client keeps polling)')
  await answer(browser, device.user_code, 'approve')
  const tokens = await polling
  t.equal(tokens.token_type.toLowerCase(), 'bearer')
  t.equal(tokens.scope, 'openid profile offline_access')
  t.ok(tokens.refresh_token)
  const claims = tokens.claims()!
  t.match(claims, { iss: ctx.issuer, aud: rp.client.id, sub: user.id, amr: ['pwd'] }, 'an ID token openid-client validated')
  const info = await client.fetchUserInfo(config, tokens.access_token, user.id)
  t.equal(info.sub, user.id)
  t.equal(info['name'], (await ctx.deps.repos.users.findById(user.id))?.name)

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!)
  t.equal(refreshed.claims()?.sub, user.id, 'refresh works for the device')
})

t.test('openid-client: access_denied, expired_token, invalid_grant, unauthorized_client', async (t) => {
  const ctx = await listeningApp(t)
  const rp = await addDeviceClient(ctx)
  const other = await addDeviceClient(ctx, { name: 'Other device' })
  const webApp = await ctx.addClient({ isPublic: true })
  const config = await configFor(ctx, rp.client.id)
  const otherConfig = await configFor(ctx, other.client.id)
  const { browser } = await signedInBrowser(ctx)
  // These polls are each answered with a final error at once: the device need not wait 5 s first.
  const pollNow = (configuration: client.Configuration, device: client.DeviceAuthorizationResponse) =>
    failure(client.pollDeviceAuthorizationGrant(configuration, { ...device, interval: 0 }))

  const denied = await client.initiateDeviceAuthorization(config, { scope: 'openid' })
  await answer(browser, denied.user_code, 'deny')
  t.match(await pollNow(config, denied), { name: 'ResponseBodyError', error: 'access_denied', status: 400 })

  const stolen = await client.initiateDeviceAuthorization(config, { scope: 'openid' })
  await answer(browser, stolen.user_code, 'approve')
  t.match(await pollNow(otherConfig, stolen), { name: 'ResponseBodyError', error: 'invalid_grant' }, 'another client’s device code')

  const expired = await client.initiateDeviceAuthorization(config, { scope: 'openid' })
  ctx.clock.advance(600)
  t.match(await pollNow(config, expired), { name: 'ResponseBodyError', error: 'expired_token' })
  const page = await new Browser(ctx, { jar: browser.jar }).get(`/device?user_code=${expired.user_code}`)
  t.match(page.body, /That code has expired/, 'and the page says so')

  const webConfig = await configFor(ctx, webApp.client.id)
  t.match(await failure(client.initiateDeviceAuthorization(webConfig, { scope: 'openid' })), {
    name: 'ResponseBodyError',
    error: 'unauthorized_client',
  })
  t.match(await failure(client.initiateDeviceAuthorization(config, { scope: 'profile' })), {
    name: 'ResponseBodyError',
    error: 'invalid_scope',
  })
})
