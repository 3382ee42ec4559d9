/**
 * The code flow and the token-endpoint calls over real HTTP against any instance of a cluster
 * (not a test file). Every function takes `at`, the base URL of the instance the request goes to,
 * which may differ from the issuer: instances behind a load balancer share one ISSUER, and a
 * browser's requests reach whichever instance. Forms are posted with `Origin: <issuer origin>`,
 * as a browser on the issuer's pages does. Every request is bounded; nothing follows redirects.
 */
import { createHash, randomBytes } from 'node:crypto'
import { FetchCookieJar, hiddenInput } from './http-login.js'

export { FetchCookieJar, hiddenInput }

const REQUEST_TIMEOUT_MS = 20_000

export interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  /** How long the request took, in milliseconds. */
  readonly ms: number
}

/** The body parsed as JSON (throws with the body when it is not JSON). */
export function json(answer: Answer): Record<string, unknown> {
  try {
    return JSON.parse(answer.text) as Record<string, unknown>
  } catch {
    throw new Error(`expected JSON, got ${answer.status} ${answer.headers.get('content-type')}: ${answer.text.slice(0, 300)}`)
  }
}

/** One bounded request; the cookie jar, when given, is read and updated. */
export async function send(url: string | URL, init: RequestInit & { jar?: FetchCookieJar; timeoutMs?: number } = {}): Promise<Answer> {
  const { jar, timeoutMs = REQUEST_TIMEOUT_MS, ...rest } = init
  const headers = new Headers(rest.headers)
  if (jar) headers.set('cookie', jar.header())
  const started = Date.now()
  const response = await fetch(url, { ...rest, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
  jar?.store(response)
  const text = await response.text()
  return { status: response.status, headers: response.headers, text, ms: Date.now() - started }
}

export interface ClientCredentials {
  readonly id: string
  readonly secret: string
}

/** RFC 6749 §2.3.1: client_id and secret are form-url-encoded before base64. */
export function basic(client: ClientCredentials): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(client.id)}:${encode(client.secret)}`).toString('base64')}`
}

/** A form POST to /token, /introspect or /revoke authenticated with HTTP Basic. */
export function clientPost(at: string, endpoint: string, client: ClientCredentials, params: Record<string, string>, timeoutMs?: number): Promise<Answer> {
  return send(new URL(endpoint, at), {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(params).toString(),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  })
}

export const clientCredentialsGrant = (at: string, client: ClientCredentials, scope = 'api:read', timeoutMs?: number) =>
  clientPost(at, '/token', client, { grant_type: 'client_credentials', scope }, timeoutMs)

export const refreshGrant = (at: string, client: ClientCredentials, refreshToken: string) =>
  clientPost(at, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken })

export const introspect = (at: string, client: ClientCredentials, token: string) => clientPost(at, '/introspect', client, { token })

export function redeemCode(at: string, client: ClientCredentials, code: string, verifier: string, redirectUri: string): Promise<Answer> {
  return clientPost(at, '/token', client, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri })
}

/** A JWT's protected header, undecoded signature unchecked (the tests read `kid`). */
export function jwtHeader(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[0] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

export function jwtClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
}

export interface AuthorizationRequest {
  readonly clientId: string
  readonly redirectUri: string
  readonly scope?: string
  readonly prompt?: string
}

/** The values the relying party keeps between the authorization request and the code exchange. */
export interface PendingAuthorization {
  readonly query: URLSearchParams
  readonly verifier: string
  readonly state: string
  readonly nonce: string
}

/** A fresh authorization request with PKCE S256, state and nonce. */
export function authorizationRequest(request: AuthorizationRequest): PendingAuthorization {
  const verifier = randomBytes(32).toString('base64url')
  const state = randomBytes(12).toString('base64url')
  const nonce = randomBytes(12).toString('base64url')
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope ?? 'openid email',
    state,
    nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
  })
  return { query, verifier, state, nonce }
}

/** GET /authorize at `at`; returns the Location it redirects to (resolved against `at`). */
export async function authorizeAt(at: string, pending: PendingAuthorization, jar: FetchCookieJar): Promise<URL> {
  const answer = await send(new URL(`/authorize?${pending.query}`, at), { jar, headers: { accept: 'text/html' } })
  const location = answer.headers.get('location')
  if (answer.status !== 303 || location === null) throw new Error(`GET /authorize at ${at} answered ${answer.status}: ${answer.text.slice(0, 300)}`)
  return new URL(location, at)
}

/** GET the login page at `at`: its anti-forgery token and interaction id. */
export async function loginForm(at: string, jar: FetchCookieJar, path = '/login'): Promise<{ csrf: string; interaction: string }> {
  const page = await send(new URL(path, at), { jar, headers: { accept: 'text/html' } })
  if (page.status !== 200) throw new Error(`GET ${path} at ${at} answered ${page.status}: ${page.text.slice(0, 300)}`)
  return { csrf: hiddenInput(page.text, '_csrf'), interaction: hiddenInput(page.text, 'interaction') }
}

/** POST /login at `at` as a browser on the issuer's page would (Origin: the issuer's origin). */
export function postLogin(at: string, issuer: string, jar: FetchCookieJar, fields: { email: string; password: string; csrf: string; interaction?: string }, timeoutMs?: number): Promise<Answer> {
  return send(new URL('/login', at), {
    method: 'POST',
    jar,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    headers: { origin: new URL(issuer).origin, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ email: fields.email, password: fields.password, _csrf: fields.csrf, interaction: fields.interaction ?? '' }).toString(),
  })
}

export interface SignedIn {
  readonly code: string
  readonly callback: URL
  readonly pending: PendingAuthorization
}

/** The relying party's callback must carry our state and issuer; returns the code. */
export function codeFrom(callback: URL, pending: PendingAuthorization, issuer: string): string {
  const code = callback.searchParams.get('code')
  if (callback.searchParams.get('state') !== pending.state) throw new Error(`callback state mismatch: ${callback.href}`)
  if (callback.searchParams.get('iss') !== issuer) throw new Error(`callback iss is not ${issuer}: ${callback.href}`)
  if (code === null) throw new Error(`no code in the callback: ${callback.href}`)
  return code
}

/**
 * Authorize → login page → POST the form, all at `at`; returns the code from the callback.
 * The jar keeps the session cookie for later single sign-on.
 */
export async function signIn(at: string, issuer: string, request: AuthorizationRequest, credentials: { email: string; password: string }, jar: FetchCookieJar): Promise<SignedIn> {
  const pending = authorizationRequest(request)
  const login = await authorizeAt(at, pending, jar)
  if (login.pathname !== '/login') throw new Error(`expected the login page, got ${login.href}`)
  const form = await loginForm(at, jar, `${login.pathname}${login.search}`)
  const posted = await postLogin(at, issuer, jar, { ...credentials, ...form })
  const location = posted.headers.get('location')
  if (posted.status !== 303 || location === null) throw new Error(`POST /login at ${at} answered ${posted.status}: ${posted.text.slice(0, 300)}`)
  const callback = new URL(location, at)
  return { code: codeFrom(callback, pending, issuer), callback, pending }
}

/** `prompt=none` at `at` with the jar's session: the callback URL (a code, or an error such as login_required). */
export async function silentAuthorize(at: string, request: AuthorizationRequest, jar: FetchCookieJar): Promise<{ callback: URL; pending: PendingAuthorization }> {
  const pending = authorizationRequest({ ...request, prompt: 'none' })
  return { callback: await authorizeAt(at, pending, jar), pending }
}

/** RP-initiated logout with an ID token hint for the signed-in user: ends the session at once. */
export function logoutAt(at: string, jar: FetchCookieJar, idTokenHint: string): Promise<Answer> {
  return send(new URL(`/logout?${new URLSearchParams({ id_token_hint: idTokenHint })}`, at), { jar, headers: { accept: 'text/html' } })
}
