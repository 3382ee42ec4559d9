/**
 * oauth4webapi v3 as the device (a CLI or TV app) against Tessera listening on loopback, with a
 * DPoP key as a public device client should have: discovery names the device authorization
 * endpoint; deviceAuthorizationRequest; a polling loop as an application writes it around
 * deviceCodeGrantRequest / processDeviceCodeResponse, keeping on through authorization_pending and
 * adding 5 s to its interval on slow_down (RFC 8628 §3.5); the user approves on the /device page;
 * the tokens are DPoP-bound, the ID token validated by oauth4webapi, and the refresh token needs the
 * key. access_denied, expired_token and unauthorized_client reach the device as the RFC names them.
 * The device "waits" by moving the server's fake clock: no sleeping.
 */
import t, { type Test } from 'tap'
import { calculateJwkThumbprint, decodeJwt, exportJWK } from 'jose'
import * as oauth from 'oauth4webapi'
import { createTestApp, type TestApp } from '../helpers/test-app.js'
import { addDeviceClient, answer, signedInBrowser } from './support.js'

const insecure = { [oauth.allowInsecureRequests]: true } as const

async function listeningApp(t: Test): Promise<TestApp> {
  const ctx = await createTestApp({ listen: true })
  t.teardown(() => ctx.close())
  return ctx
}

async function discover(ctx: TestApp): Promise<oauth.AuthorizationServer> {
  const issuer = new URL(ctx.issuer)
  return oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, insecure))
}

const startDevice = async (as: oauth.AuthorizationServer, client: oauth.Client, scope: string) =>
  oauth.processDeviceAuthorizationResponse(
    as,
    client,
    await oauth.deviceAuthorizationRequest(as, client, oauth.None(), { scope }, insecure),
  )

/**
 * The device's polling loop (RFC 8628 §3.4–3.5): poll, and on authorization_pending wait the
 * interval and poll again; on slow_down add 5 s to the interval first; anything else ends it.
 * `wait(seconds)` is the device's timer; `seen` records each answer that kept it polling.
 */
async function pollForTokens(
  as: oauth.AuthorizationServer,
  client: oauth.Client,
  device: oauth.DeviceAuthorizationResponse,
  options: { DPoP?: oauth.DPoPHandle; wait: (seconds: number) => Promise<void>; seen: string[] },
): Promise<oauth.TokenEndpointResponse> {
  let interval = device.interval ?? 5
  for (;;) {
    try {
      const response = await oauth.deviceCodeGrantRequest(as, client, oauth.None(), device.device_code, {
        ...insecure,
        ...(options.DPoP ? { DPoP: options.DPoP } : {}),
      })
      return await oauth.processDeviceCodeResponse(as, client, response)
    } catch (error) {
      if (!(error instanceof oauth.ResponseBodyError)) throw error
      if (error.error === 'slow_down') interval += 5
      else if (error.error !== 'authorization_pending') throw error
      options.seen.push(`${error.error} → wait ${interval} s`)
    }
    await options.wait(interval)
  }
}

/** The error a promise rejects with (undefined if it resolves), for t.match on its fields. */
const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  )

t.test('oauth4webapi: device authorization, polling through authorization_pending and slow_down, DPoP-bound tokens', async (t) => {
  const ctx = await listeningApp(t)
  const rp = await addDeviceClient(ctx, { name: 'Terminal' })
  const as = await discover(ctx)
  t.equal(as.device_authorization_endpoint, `${ctx.issuer}/device/authorization`, 'from discovery')
  const client: oauth.Client = { client_id: rp.client.id }
  const keyPair = await oauth.generateKeyPair('ES256')
  const DPoP = oauth.DPoP(client, keyPair)
  const thumbprint = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey))

  const device = await startDevice(as, client, 'openid profile offline_access')
  t.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/)
  t.equal(device.verification_uri, `${ctx.issuer}/device`)
  t.equal(device.interval, 5)

  const { user, browser } = await signedInBrowser(ctx)
  const seen: string[] = []
  let waits = 0
  const tokens = await pollForTokens(as, client, device, {
    DPoP,
    seen,
    async wait(seconds) {
      waits += 1
      // The first timer fires after 1 s instead of 5, as a device's sometimes does: slow_down.
      ctx.clock.advance(waits === 1 ? 1 : seconds)
      // The user gets to the page and allows the device while it keeps polling at the new pace.
      if (waits === 2) {
        const decided = await answer(browser, device.user_code, 'approve')
        t.equal(decided.statusCode, 200, 'the user allowed the device on the /device page')
      }
    },
  })
  t.same(
    seen,
    ['authorization_pending → wait 5 s', 'slow_down → wait 10 s'],
    'pending at first; too soon, then slow_down, and the device waits 10 s from then on',
  )
  t.equal(tokens.token_type, 'dpop', 'DPoP-bound tokens for the public device client')
  t.equal(tokens.scope, 'openid profile offline_access')
  t.same(decodeJwt(tokens.access_token)['cnf'], { jkt: thumbprint }, 'bound to the device key')
  t.match(
    oauth.getValidatedIdTokenClaims(tokens),
    { iss: ctx.issuer, aud: rp.client.id, sub: user.id },
    'an ID token oauth4webapi validated',
  )

  const info = await oauth.processUserInfoResponse(
    as,
    client,
    user.id,
    await oauth.userInfoRequest(as, client, tokens.access_token, { DPoP, ...insecure }),
  )
  t.equal(info.sub, user.id, 'userinfo with a proof')

  const refreshed = await oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token!, { DPoP, ...insecure }),
  )
  t.equal(refreshed.token_type, 'dpop', 'refresh with the same key')
  const withoutKey = await failure(
    (async () =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token!, insecure),
      ))(),
  )
  t.match(withoutKey, { error: 'invalid_dpop_proof' }, 'the device’s refresh token is bound to its key (RFC 9449 §5)')
})

t.test('oauth4webapi: access_denied, expired_token, unauthorized_client', async (t) => {
  const ctx = await listeningApp(t)
  const rp = await addDeviceClient(ctx)
  const webApp = await ctx.addClient({ isPublic: true })
  const as = await discover(ctx)
  const client: oauth.Client = { client_id: rp.client.id }
  const { browser } = await signedInBrowser(ctx)
  const noWait = { seen: [] as string[], wait: () => Promise.reject(new Error('the answer should have been final')) }

  const denied = await startDevice(as, client, 'openid')
  await answer(browser, denied.user_code, 'deny')
  t.match(await failure(pollForTokens(as, client, denied, noWait)), { error: 'access_denied', status: 400 }, 'the user pressed Deny')

  const expired = await startDevice(as, client, 'openid')
  ctx.clock.advance(expired.expires_in)
  t.match(await failure(pollForTokens(as, client, expired, noWait)), { error: 'expired_token', status: 400 }, 'after expires_in')

  t.match(
    await failure(startDevice(as, { client_id: webApp.client.id }, 'openid')),
    { name: 'ResponseBodyError', error: 'unauthorized_client' },
    'a client without the device grant cannot start',
  )
})
