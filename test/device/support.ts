/** Shared pieces of the device-flow tests: a device client, its requests, and a browser answering. */
import type { LightMyRequestResponse } from 'fastify'
import { Browser, hiddenField, post, type RegisteredClient } from '../helpers/client.js'
import { FakeClock } from '../helpers/clock.js'
import type { TestApp } from '../helpers/test-app.js'
import { DEVICE_CODE_GRANT, type GrantType } from '../../src/model/client.js'

export { DEVICE_CODE_GRANT }

/** RFC 8628 §3.2. */
export interface DeviceAuthorizationResponse {
  readonly device_code: string
  readonly user_code: string
  readonly verification_uri: string
  readonly verification_uri_complete: string
  readonly expires_in: number
  readonly interval: number
}

/** A public client for devices (a CLI, a TV), as `idp clients add --public --grant-type …device_code` makes. */
export function addDeviceClient(
  ctx: TestApp,
  options: { name?: string; firstParty?: boolean; isPublic?: boolean; grantTypes?: GrantType[]; scopes?: string[] } = {},
): Promise<RegisteredClient> {
  return ctx.addClient({
    name: options.name ?? 'Living-room TV',
    isPublic: options.isPublic ?? true,
    redirectUris: [],
    grantTypes: options.grantTypes ?? [DEVICE_CODE_GRANT, 'refresh_token'],
    ...(options.scopes ? { scopes: options.scopes } : {}),
    ...(options.firstParty === false ? { firstParty: false } : {}),
  })
}

export const requestDevice = (ctx: TestApp, rp: RegisteredClient | null, params: Record<string, string> = { scope: 'openid' }) =>
  post(ctx, '/device/authorization', rp, params)

/** POST /device/authorization that must succeed. */
export async function startDevice(ctx: TestApp, rp: RegisteredClient, scope = 'openid'): Promise<DeviceAuthorizationResponse> {
  const response = await requestDevice(ctx, rp, { scope })
  if (response.statusCode !== 200) throw new Error(`device authorization: ${response.statusCode} ${response.body}`)
  return response.json() as DeviceAuthorizationResponse
}

/** One poll of the token endpoint (RFC 8628 §3.4). */
export const poll = (ctx: TestApp, rp: RegisteredClient | null, deviceCode: string, extra: Record<string, string> = {}) =>
  post(ctx, '/token', rp, { grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, ...extra })

/** The `error` of a JSON error response. */
export const errorOf = (response: LightMyRequestResponse): unknown => (response.json() as { error?: unknown }).error

/** A signed-in browser opens verification_uri_complete and answers with the button. */
export async function answer(browser: Browser, userCode: string, decision: 'approve' | 'deny'): Promise<LightMyRequestResponse> {
  const page = await browser.get(`/device?${new URLSearchParams({ user_code: userCode })}`)
  if (page.statusCode !== 200) throw new Error(`/device answered ${page.statusCode}: ${page.body.slice(0, 500)}`)
  return browser.post('/device/decision', {
    _csrf: hiddenField(page.body, '_csrf'),
    user_code: hiddenField(page.body, 'user_code'),
    decision,
  })
}

/** A browser signed in as a new user. */
export async function signedInBrowser(ctx: TestApp, options: { ip?: string } = {}) {
  const user = await ctx.addUser()
  const browser = new Browser(ctx, options.ip === undefined ? {} : { ip: options.ip })
  const login = await browser.login(user.email, user.password)
  if (login.statusCode !== 303) throw new Error(`login answered ${login.statusCode}`)
  return { user, browser }
}

/**
 * A clock that follows the wall clock (and can still be moved on): for tests where a real client
 * waits the real polling interval between requests.
 */
export class WallClock extends FakeClock {
  #offset = 0
  override now(): number {
    return Math.floor(Date.now() / 1000) + this.#offset
  }
  override advance(seconds: number): void {
    this.#offset += seconds
  }
}
