/**
 * Shared steps for the HTTP route tests in this folder (not a test file: tap runs *.test.ts only).
 * Builds on test/helpers: one real app per file, a browser-like cookie jar, PKCE pairs.
 */
import type { LightMyRequestResponse } from 'fastify'
import type t from 'tap'
import { authorize, CookieJar, pkcePair } from '../helpers/browser-flow.js'
import { createTestApp, type TestApp, type TestAppOptions, type TestUser } from '../helpers/test-app.js'
import type { Client } from '../../src/model/client.js'

export const RP = 'https://rp.example/callback'
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const

/** Login and token throttles are per IP and in real time; app.inject always comes from 127.0.0.1. */
export function createRouteTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  return createTestApp({ ...options, env: { LOGIN_RATE_LIMIT: '100000', ...options.env } })
}

/** RFC 6749 §2.3.1: both halves are form-url-encoded before base64. */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

export interface RegisteredClient {
  readonly client: Client
  readonly secret: string | null
}

export interface CodeResult {
  readonly code: string
  readonly verifier: string
  readonly location: URL
  readonly jar: CookieJar
}

/** GET /authorize (logging in when needed) and return the code delivered to the relying party. */
export async function obtainCode(
  ctx: TestApp,
  rp: RegisteredClient,
  user: TestUser | undefined,
  options: { jar?: CookieJar; params?: Record<string, string>; pkce?: boolean } = {},
): Promise<CodeResult> {
  const jar = options.jar ?? new CookieJar()
  const { verifier, challenge } = pkcePair()
  const pkce: Record<string, string> = options.pkce === false ? {} : { code_challenge: challenge, code_challenge_method: 'S256' }
  const params: Record<string, string> = { response_type: 'code', client_id: rp.client.id, redirect_uri: rp.client.redirectUris[0]!, scope: 'openid', ...pkce, ...options.params }
  const { location, response } = await authorize(ctx, jar, params, user)
  const code = location?.searchParams.get('code')
  if (!location || !code) throw new Error(`no code: ${response.statusCode} ${String(response.headers.location)} ${response.body.slice(0, 300)}`)
  return { code, verifier, location, jar }
}

/** POST /token for an authorization code; credentials via Basic unless told otherwise. */
export function redeem(
  ctx: TestApp,
  rp: RegisteredClient,
  code: string,
  extra: Record<string, string | undefined> = {},
  auth: 'basic' | 'post' | 'none' = 'basic',
): Promise<LightMyRequestResponse> {
  const body: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: rp.client.redirectUris[0]! }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete body[name]
    else body[name] = value
  }
  const headers: Record<string, string> = { ...FORM }
  if (auth === 'basic' && rp.secret !== null) headers['authorization'] = basic(rp.client.id, rp.secret)
  else if (auth === 'post' && rp.secret !== null) Object.assign(body, { client_id: rp.client.id, client_secret: rp.secret })
  else body['client_id'] = rp.client.id
  return ctx.app.inject({ method: 'POST', url: '/token', headers, payload: new URLSearchParams(body).toString() })
}

export interface TokenResponse {
  readonly access_token: string
  readonly id_token: string
  readonly token_type: string
  readonly expires_in: number
  readonly scope: string
}

/** The whole code flow: authorize (with login), redeem, return the token response. */
export async function obtainTokens(ctx: TestApp, rp: RegisteredClient, user: TestUser, params: Record<string, string> = {}, jar?: CookieJar): Promise<TokenResponse> {
  const result = await obtainCode(ctx, rp, user, { params, ...(jar ? { jar } : {}) })
  const response = await redeem(ctx, rp, result.code, { code_verifier: result.verifier })
  if (response.statusCode !== 200) throw new Error(`token request failed: ${response.statusCode} ${response.body}`)
  return response.json() as TokenResponse
}

export function userinfo(ctx: TestApp, token: string, method: 'GET' | 'POST' = 'GET'): Promise<LightMyRequestResponse> {
  return ctx.app.inject({ method, url: '/userinfo', headers: { authorization: `Bearer ${token}` } })
}

/** The Location of a redirect, parsed (null when there is none). */
export function locationOf(response: LightMyRequestResponse): URL | null {
  const location = response.headers.location
  return typeof location === 'string' ? new URL(location, 'http://localhost:3000') : null
}

/** Signs of a leaked stack trace or internal path in a response body. */
export const STACK_TRACE = /\bat [\w.<>]+ \(|node:internal|node_modules|\/src\/[\w/-]+\.[jt]s|Error: .*\n\s+at /

/** The assertions helper functions need from a (sub)test. */
export type Assert = Pick<typeof t, 'equal' | 'not' | 'ok' | 'notOk' | 'match' | 'notMatch' | 'same' | 'has' | 'type'>
