/**
 * The real-HTTP test client, for a Tessera listening on a loopback port (a test app with `listen`,
 * or the real server process): a fetch-based cookie jar, an HttpBrowser that keeps cookies for one
 * origin and posts forms like a browser, the login form driven over HTTP, and the OAuth endpoints
 * called as a relying party does. Every request is bounded and nothing follows redirects by itself.
 * Functions that take `at` send to that base URL, which may differ from the issuer: instances
 * behind a load balancer share one ISSUER, and a browser's requests reach whichever instance.
 */
import { randomBytes } from 'node:crypto'
import { basic, FORM, hiddenField, pkcePair } from './client.js'

export { basic, claims, hiddenField, pkcePair } from './client.js'

const REQUEST_TIMEOUT_MS = 20_000

/** One origin's cookies, as a browser keeps them: enough for Tessera's session and anti-forgery cookies. */
export class FetchCookieJar {
  readonly cookies = new Map<string, string>()

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attributes.some((attribute) => {
        const [key = '', raw = ''] = attribute.split('=')
        const lower = key.trim().toLowerCase()
        return (lower === 'max-age' && Number(raw.trim()) <= 0) || (lower === 'expires' && Date.parse(raw.trim()) < Date.now())
      })
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}

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

/** One bounded request, redirects not followed; the cookie jar, when given, is read and updated. */
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

// --- The OAuth API, as a confidential client ---------------------------------------------------

export interface ClientCredentials {
  readonly id: string
  readonly secret: string
}

/** A form POST to /token, /introspect or /revoke, authenticated with HTTP Basic (null: no Authorization). */
export function clientPost(
  at: string,
  endpoint: string,
  client: ClientCredentials | null,
  params: Record<string, string>,
  timeoutMs?: number,
): Promise<Answer> {
  return send(new URL(endpoint, at), {
    method: 'POST',
    headers: { ...FORM, accept: 'application/json', ...(client === null ? {} : { authorization: basic(client.id, client.secret) }) },
    body: new URLSearchParams(params).toString(),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  })
}

export const clientCredentialsGrant = (at: string, client: ClientCredentials, scope = 'api:read', timeoutMs?: number): Promise<Answer> =>
  clientPost(at, '/token', client, { grant_type: 'client_credentials', scope }, timeoutMs)

export const refreshGrant = (at: string, client: ClientCredentials, refreshToken: string): Promise<Answer> =>
  clientPost(at, '/token', client, { grant_type: 'refresh_token', refresh_token: refreshToken })

export const introspect = (at: string, client: ClientCredentials, token: string): Promise<Answer> =>
  clientPost(at, '/introspect', client, { token })

export function redeemCode(at: string, client: ClientCredentials, code: string, verifier: string, redirectUri: string): Promise<Answer> {
  return clientPost(at, '/token', client, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri })
}

// --- The authorization code flow: the browser and the relying party ------------------------------

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
  const { verifier, challenge } = pkcePair()
  const state = randomBytes(12).toString('base64url')
  const nonce = randomBytes(12).toString('base64url')
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    scope: request.scope ?? 'openid email',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...(request.prompt !== undefined ? { prompt: request.prompt } : {}),
  })
  return { query, verifier, state, nonce }
}

/** GET /authorize at `at`; returns the Location it redirects to (resolved against `at`). */
export async function authorizeAt(at: string, pending: PendingAuthorization, jar: FetchCookieJar): Promise<URL> {
  const answer = await send(new URL(`/authorize?${pending.query}`, at), { jar, headers: { accept: 'text/html' } })
  const location = answer.headers.get('location')
  if (answer.status !== 303 || location === null) {
    throw new Error(`GET /authorize at ${at} answered ${answer.status}: ${answer.text.slice(0, 300)}`)
  }
  return new URL(location, at)
}

/** GET the login page at `at`: its anti-forgery token and interaction id. */
export async function loginForm(at: string, jar: FetchCookieJar, path = '/login'): Promise<{ csrf: string; interaction: string }> {
  const page = await send(new URL(path, at), { jar, headers: { accept: 'text/html' } })
  if (page.status !== 200) throw new Error(`GET ${path} at ${at} answered ${page.status}: ${page.text.slice(0, 300)}`)
  return { csrf: hiddenField(page.text, '_csrf'), interaction: hiddenField(page.text, 'interaction') }
}

/** POST /login at `at` as a browser on the issuer's page would (Origin: the issuer's origin). */
export function postLogin(
  at: string,
  issuer: string,
  jar: FetchCookieJar,
  fields: { email: string; password: string; csrf: string; interaction?: string },
  timeoutMs?: number,
): Promise<Answer> {
  const { email, password, csrf } = fields
  return send(new URL('/login', at), {
    method: 'POST',
    jar,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    headers: { origin: new URL(issuer).origin, ...FORM, accept: 'text/html' },
    body: new URLSearchParams({ email, password, _csrf: csrf, interaction: fields.interaction ?? '' }).toString(),
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
export async function signIn(
  at: string,
  issuer: string,
  request: AuthorizationRequest,
  credentials: { email: string; password: string },
  jar: FetchCookieJar,
): Promise<SignedIn> {
  const pending = authorizationRequest(request)
  const login = await authorizeAt(at, pending, jar)
  if (login.pathname !== '/login') throw new Error(`expected the login page, got ${login.href}`)
  const form = await loginForm(at, jar, `${login.pathname}${login.search}`)
  const posted = await postLogin(at, issuer, jar, { ...credentials, ...form })
  const location = posted.headers.get('location')
  if (posted.status !== 303 || location === null) {
    throw new Error(`POST /login at ${at} answered ${posted.status}: ${posted.text.slice(0, 300)}`)
  }
  const callback = new URL(location, at)
  return { code: codeFrom(callback, pending, issuer), callback, pending }
}

/** `prompt=none` at `at` with the jar's session: the callback URL (a code, or an error such as login_required). */
export async function silentAuthorize(
  at: string,
  request: AuthorizationRequest,
  jar: FetchCookieJar,
): Promise<{ callback: URL; pending: PendingAuthorization }> {
  const pending = authorizationRequest({ ...request, prompt: 'none' })
  return { callback: await authorizeAt(at, pending, jar), pending }
}

/** RP-initiated logout with an ID token hint for the signed-in user: ends the session at once. */
export function logoutAt(at: string, jar: FetchCookieJar, idTokenHint: string): Promise<Answer> {
  return send(new URL(`/logout?${new URLSearchParams({ id_token_hint: idTokenHint })}`, at), { jar, headers: { accept: 'text/html' } })
}

export interface LoginOutcome {
  /** Where Tessera finally sent the browser: the relying party's redirect_uri with code/state/iss. */
  readonly callbackUrl: URL
  /** Whether the login form was shown (false when an existing session gave single sign-on). */
  readonly sawLoginForm: boolean
}

/**
 * Follows an authorization URL (built by any relying party) through the login page. `credentials`
 * may be omitted when the jar already holds a session (single sign-on).
 */
export async function signInOverHttp(
  authorizationUrl: URL,
  jar: FetchCookieJar,
  credentials?: { email: string; password: string },
): Promise<LoginOutcome> {
  const issuer = authorizationUrl.origin
  const first = await send(authorizationUrl, { jar, headers: { accept: 'text/html' } })
  if (first.status !== 303) throw new Error(`GET /authorize answered ${first.status}, expected 303`)
  const location = new URL(first.headers.get('location')!, authorizationUrl)
  if (location.origin !== issuer || location.pathname !== '/login') return { callbackUrl: location, sawLoginForm: false }
  if (!credentials) throw new Error('Tessera asked for a login but no credentials were given')
  const form = await loginForm(issuer, jar, `${location.pathname}${location.search}`)
  const posted = await postLogin(issuer, issuer, jar, { ...credentials, ...form })
  if (posted.status !== 303) throw new Error(`POST /login answered ${posted.status}, expected 303: ${posted.text.slice(0, 500)}`)
  return { callbackUrl: new URL(posted.headers.get('location')!, issuer), sawLoginForm: true }
}

// --- A browser -----------------------------------------------------------------------------------

export interface Page {
  readonly status: number
  readonly location: string | null
  readonly body: string
}

/**
 * A browser for one origin over real HTTP: keeps cookies, sends Origin on form posts, never
 * follows redirects by itself. Every cookie value it receives and every `_csrf` it reads from a
 * page is remembered in `seenCookies` / `seenCsrfTokens` (the log-scan test treats them as secrets).
 */
export class HttpBrowser {
  readonly #jar = new FetchCookieJar()
  readonly seenCookies: { name: string; value: string }[] = []
  readonly seenCsrfTokens: string[] = []

  constructor(readonly origin: string) {}

  get cookies(): Map<string, string> {
    return this.#jar.cookies
  }

  #page(answer: Answer): Page {
    for (const [name, value] of this.#jar.cookies) {
      if (!this.seenCookies.some((seen) => seen.name === name && seen.value === value)) this.seenCookies.push({ name, value })
    }
    for (const match of answer.text.matchAll(/name="_csrf" value="([^"]*)"/g)) {
      if (!this.seenCsrfTokens.includes(match[1]!)) this.seenCsrfTokens.push(match[1]!)
    }
    return { status: answer.status, location: answer.headers.get('location'), body: answer.text }
  }

  /** GET a path (or absolute URL on this origin); returns status, Location and body text. */
  async get(pathOrUrl: string): Promise<Page> {
    return this.#page(await send(new URL(pathOrUrl, this.origin), { jar: this.#jar, headers: { accept: 'text/html' } }))
  }

  /** POST a form from this origin's pages (Origin header set, as a browser does). */
  async post(pathOrUrl: string, fields: Record<string, string>): Promise<Page> {
    const headers = { origin: this.origin, ...FORM, accept: 'text/html' }
    const body = new URLSearchParams(fields).toString()
    return this.#page(await send(new URL(pathOrUrl, this.origin), { method: 'POST', jar: this.#jar, headers, body }))
  }

  /** GET the form page, then POST its form with the page's `_csrf` and the given fields. */
  async submit(pagePath: string, postPath: string, fields: Record<string, string>): Promise<Page> {
    const page = await this.get(pagePath)
    if (page.status !== 200) throw new Error(`GET ${pagePath} answered ${page.status}: ${page.body.slice(0, 300)}`)
    return this.post(postPath, { _csrf: hiddenField(page.body, '_csrf'), ...fields })
  }
}
