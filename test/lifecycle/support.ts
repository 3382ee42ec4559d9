/**
 * Shared steps for the token-lifecycle tests (not a test file: tap runs *.test.ts only). Every
 * request goes through app.inject and every assertion reads the wire format; expiry moves the
 * FakeClock, never the wall clock.
 */
import type { LightMyRequestResponse } from 'fastify'
import { decodeJwt } from 'jose'
import { authorize, CookieJar, pkcePair } from '../helpers/browser-flow.js'
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from '../helpers/test-app.js'
import type { Client } from '../../src/model/client.js'

export const RP = 'https://rp.example/callback'
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const

export interface RegisteredClient {
  readonly client: Client
  readonly secret: string | null
}

export interface Tokens {
  readonly access_token: string
  readonly token_type: string
  readonly expires_in: number
  readonly scope: string
  readonly id_token?: string
  readonly refresh_token?: string
}

/**
 * One real app per test. The login and token throttles count real time per IP (app.inject is
 * always 127.0.0.1), so they are raised: these tests are about lifecycles, not throttling.
 */
export async function lifecycleApp(t: { teardown(fn: () => unknown): void }, options: TestAppOptions = {}): Promise<TestApp> {
  const ctx = await createTestApp({ ...options, env: { LOGIN_RATE_LIMIT: '100000', ...options.env } })
  t.teardown(() => ctx.close())
  return ctx
}

/** RFC 6749 §2.3.1: client_id and secret are form-url-encoded before base64. */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

/**
 * A form POST to /token, /revoke or /introspect. `as` authenticates like the client would:
 * Basic for a confidential client, client_id in the body for a public one, nothing for null.
 */
export function post(ctx: TestApp, url: string, as: RegisteredClient | null, params: Record<string, string>): Promise<LightMyRequestResponse> {
  const headers: Record<string, string> = { ...FORM }
  const body: Record<string, string> = { ...params }
  if (as !== null && as.secret !== null) headers['authorization'] = basic(as.client.id, as.secret)
  else if (as !== null) body['client_id'] = as.client.id
  return ctx.app.inject({ method: 'POST', url, headers, payload: new URLSearchParams(body).toString() })
}

export const refresh = (ctx: TestApp, as: RegisteredClient, refreshToken: string, extra: Record<string, string> = {}) =>
  post(ctx, '/token', as, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra })

export const revoke = (ctx: TestApp, as: RegisteredClient | null, token: string, extra: Record<string, string> = {}) => post(ctx, '/revoke', as, { token, ...extra })

/** RFC 7662 response body. */
export async function introspect(ctx: TestApp, as: RegisteredClient, token: string, extra: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const response = await post(ctx, '/introspect', as, { token, ...extra })
  if (response.statusCode !== 200) throw new Error(`introspection answered ${response.statusCode}: ${response.body}`)
  return response.json() as Record<string, unknown>
}

export const userinfo = (ctx: TestApp, accessToken: string) =>
  ctx.app.inject({ method: 'GET', url: '/userinfo', headers: { authorization: `Bearer ${accessToken}` } })

export interface CodeResult {
  readonly code: string
  readonly verifier: string
  readonly location: URL
  readonly jar: CookieJar
}

/** Runs /authorize (logging in when the jar has no session) up to the code at the redirect_uri. */
export async function obtainCode(ctx: TestApp, rp: RegisteredClient, user: TestUser | undefined, options: { jar?: CookieJar; params?: Record<string, string> } = {}): Promise<CodeResult> {
  const jar = options.jar ?? new CookieJar()
  const { verifier, challenge } = pkcePair()
  const params = { response_type: 'code', client_id: rp.client.id, redirect_uri: RP, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...options.params }
  const { location, response } = await authorize(ctx, jar, params, user)
  const code = location?.searchParams.get('code')
  if (!location || !code) throw new Error(`no code: ${response.statusCode} ${String(response.headers.location)} ${response.body.slice(0, 300)}`)
  return { code, verifier, location, jar }
}

export const redeem = (ctx: TestApp, rp: RegisteredClient, code: string, verifier: string) =>
  post(ctx, '/token', rp, { grant_type: 'authorization_code', code, redirect_uri: RP, code_verifier: verifier })

/** Login, code, token: the token response of a successful authorization code flow. */
export async function signIn(
  ctx: TestApp,
  rp: RegisteredClient,
  user: TestUser,
  options: { scope?: string; jar?: CookieJar; params?: Record<string, string> } = {},
): Promise<{ tokens: Tokens; jar: CookieJar; code: string; verifier: string }> {
  const { code, verifier, jar } = await obtainCode(ctx, rp, user, { jar: options.jar, params: { scope: options.scope ?? 'openid offline_access', ...options.params } })
  const response = await redeem(ctx, rp, code, verifier)
  if (response.statusCode !== 200) throw new Error(`code redemption answered ${response.statusCode}: ${response.body}`)
  return { tokens: response.json() as Tokens, jar, code, verifier }
}

export const claims = (jwt: string): Record<string, unknown> => decodeJwt(jwt) as Record<string, unknown>

/** GET a page with the jar's cookies, storing what it sets. */
export async function getPage(ctx: TestApp, jar: CookieJar, url: string): Promise<LightMyRequestResponse> {
  const response = await ctx.app.inject({ method: 'GET', url, headers: { cookie: jar.header(), accept: 'text/html' } })
  jar.store(response)
  return response
}

/** POST an HTML form the way a same-origin browser does (Origin header, cookies). */
export async function postForm(ctx: TestApp, jar: CookieJar, url: string, fields: Record<string, string>, origin = new URL(ctx.issuer).origin): Promise<LightMyRequestResponse> {
  const response = await ctx.app.inject({ method: 'POST', url, headers: { ...FORM, cookie: jar.header(), origin, accept: 'text/html' }, payload: new URLSearchParams(fields).toString() })
  jar.store(response)
  return response
}

/** prompt=none for the browser in `jar`: the redirect the relying party would receive. */
export async function silentAuthorize(ctx: TestApp, rp: RegisteredClient, jar: CookieJar, params: Record<string, string> = {}): Promise<URL> {
  const { challenge } = pkcePair()
  const { location, response } = await authorize(ctx, jar, { response_type: 'code', client_id: rp.client.id, redirect_uri: RP, scope: 'openid', state: 'silent-state', prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256', ...params })
  if (!location) throw new Error(`prompt=none did not redirect to the client: ${response.statusCode} ${String(response.headers.location)}`)
  return location
}
