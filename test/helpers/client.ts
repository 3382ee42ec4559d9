/**
 * The in-process test client: drives a test app through app.inject the way browsers and relying
 * parties do. A CookieJar keeps one browser's cookies, a Browser adds its client address and
 * User-Agent; pages are fetched and their forms posted with the page's anti-forgery token and a
 * same-origin Origin header; the OAuth endpoints are called with the client authentication a
 * registered client uses. The pure pieces (Basic, PKCE, hidden fields, JWT claims) serve the
 * real-HTTP client too (http-client.ts).
 */
import { createHash, randomBytes } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { decodeJwt } from 'jose'
import type { Client } from '../../src/model/client.js'
import type { TestApp, TestUser } from './test-app.js'

/** The redirect URI ctx.addClient() registers unless told otherwise. */
export const RP = 'https://rp.example/callback'
export const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const

/** What the client needs of a test app: its Fastify instance, and its issuer for the Origin header. */
type App = Pick<TestApp, 'app' | 'issuer'>
type Response = LightMyRequestResponse

export interface RegisteredClient {
  readonly client: Client
  readonly secret: string | null
}

/** A token endpoint response. */
export interface Tokens {
  readonly access_token: string
  readonly token_type: string
  readonly expires_in: number
  readonly scope: string
  readonly id_token?: string
  readonly refresh_token?: string
}

// --- Encodings ---------------------------------------------------------------------------------

/** RFC 6749 §2.3.1: client_id and secret are form-url-encoded before base64. */
export function basic(clientId: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+')
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`
}

/** A PKCE S256 pair (RFC 7636): a 256-bit verifier and its challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#34;': '"' }

/** A hidden input's value from a page, as a browser sends it back (HTML entities decoded). */
export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`the page has no hidden field ${name}:\n${html.slice(0, 2000)}`)
  return match[1]!.replace(/&(amp|lt|gt|quot|#39|#34);/g, (entity) => ENTITIES[entity]!)
}

/** A JWT's claims, not verified (the tests read what the server put in). */
export const claims = (jwt: string): Record<string, unknown> => decodeJwt(jwt) as Record<string, unknown>

// --- Browsers ----------------------------------------------------------------------------------

/** One browser's cookies, kept from app.inject responses (expired or emptied cookies are dropped). */
export class CookieJar {
  readonly cookies = new Map<string, string>()

  store(response: Response): void {
    for (const cookie of response.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      const expired = cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() < Date.now())
      if (expired || cookie.value === '') this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
  }

  header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }
}

export interface BrowserOptions {
  /** The cookies to start from (kept up to date); a new jar by default. */
  readonly jar?: CookieJar
  /** The client address (app.inject's remoteAddress); 127.0.0.1 by default. */
  readonly ip?: string
  readonly userAgent?: string
}

/**
 * A browser on the issuer's pages: its cookie jar, its client address and User-Agent on every
 * request; navigations accept HTML; forms are posted with the issuer's Origin, like a person does.
 */
export class Browser {
  readonly jar: CookieJar
  /** The address requests come from; it may change, like a laptop's on another network. */
  ip: string | undefined
  readonly userAgent: string | undefined

  constructor(
    private readonly ctx: App,
    options: BrowserOptions = {},
  ) {
    this.jar = options.jar ?? new CookieJar()
    this.ip = options.ip
    this.userAgent = options.userAgent
  }

  async #send(method: 'GET' | 'POST', url: string, headers: Record<string, string>, payload?: string): Promise<Response> {
    const response = await this.ctx.app.inject({
      method,
      url,
      ...(this.ip === undefined ? {} : { remoteAddress: this.ip }),
      headers: { ...headers, cookie: this.jar.header(), ...(this.userAgent === undefined ? {} : { 'user-agent': this.userAgent }) },
      ...(payload === undefined ? {} : { payload }),
    })
    this.jar.store(response)
    return response
  }

  /** GET a page, as a navigation. */
  get(url: string): Promise<Response> {
    return this.#send('GET', url, { accept: 'text/html' })
  }

  /** POST a form as the issuer's pages do (Origin: the issuer's, unless told otherwise). */
  post(url: string, fields: Record<string, string>, origin = new URL(this.ctx.issuer).origin): Promise<Response> {
    return this.#send('POST', url, { ...FORM, origin, accept: 'text/html' }, new URLSearchParams(fields).toString())
  }

  /** GET the form page, then POST its form with the page's anti-forgery token and the given fields. */
  async submit(pageUrl: string, postUrl: string, fields: Record<string, string>): Promise<Response> {
    const page = await this.get(pageUrl)
    if (page.statusCode !== 200) throw new Error(`${pageUrl} answered ${page.statusCode}`)
    return this.post(postUrl, { _csrf: hiddenField(page.body, '_csrf'), ...fields })
  }

  /** Signs in on the standalone login page: 303 when signed in (the jar then holds the session). */
  login(email: string, password: string): Promise<Response> {
    return this.submit('/login', '/login', { interaction: '', email, password })
  }

  /** Ends the session but keeps the device cookie, like signing out on a shared computer. */
  forgetSession(): void {
    for (const name of [...this.jar.cookies.keys()]) if (name !== 'tessera_device') this.jar.cookies.delete(name)
  }
}

/** GET a page with the jar's cookies, storing what it sets. */
export const getPage = (ctx: App, jar: CookieJar, url: string): Promise<Response> => new Browser(ctx, { jar }).get(url)

/** POST a form the way a same-origin browser does (Origin header, cookies). */
export const postForm = (ctx: App, jar: CookieJar, url: string, fields: Record<string, string>, origin?: string): Promise<Response> =>
  new Browser(ctx, { jar }).post(url, fields, origin)

/** GET the form page, then POST it with its anti-forgery token and the given fields. */
export const submitForm = (ctx: App, jar: CookieJar, pageUrl: string, postUrl: string, fields: Record<string, string>): Promise<Response> =>
  new Browser(ctx, { jar }).submit(pageUrl, postUrl, fields)

/** Sign in on the standalone login page; the jar then holds the session cookie. */
export const signInAtLoginPage = (ctx: App, jar: CookieJar, email: string, password: string): Promise<Response> =>
  new Browser(ctx, { jar }).login(email, password)

/** The status a sign-in with these credentials gets in a fresh browser (303: signed in). */
export const loginStatus = async (ctx: App, email: string, password: string): Promise<number> =>
  (await signInAtLoginPage(ctx, new CookieJar(), email, password)).statusCode

/** Fills in the signup form (reached from a login page when `interaction` is given). */
export function signUp(
  ctx: App,
  jar: CookieJar,
  fields: { name: string; email: string; password: string; interaction?: string },
): Promise<Response> {
  const { name, email, password, interaction = '' } = fields
  const query = interaction ? `?interaction=${interaction}` : ''
  return submitForm(ctx, jar, `/signup${query}`, '/signup', { interaction, name, email, password })
}

export const forgotPassword = (ctx: App, jar: CookieJar, email: string): Promise<Response> =>
  submitForm(ctx, jar, '/forgot-password', '/forgot-password', { email })

// --- Authorization requests --------------------------------------------------------------------

export function authorizeUrl(params: Record<string, string>): string {
  return `/authorize?${new URLSearchParams(params).toString()}`
}

export interface AuthorizeResult {
  readonly response: Response
  /** The final redirect to the relying party, parsed. */
  readonly location: URL | null
}

/** GET /authorize → (login page → POST /login) → the redirect back to the relying party. */
export async function authorize(
  ctx: App,
  jar: CookieJar,
  params: Record<string, string>,
  credentials?: { email: string; password: string },
): Promise<AuthorizeResult> {
  const browser = new Browser(ctx, { jar })
  let response = await browser.get(authorizeUrl(params))
  if (response.statusCode === 303 && response.headers.location?.startsWith('/login')) {
    if (!credentials) return { response, location: null }
    const page = await browser.get(response.headers.location)
    const form = { _csrf: hiddenField(page.body, '_csrf'), interaction: hiddenField(page.body, 'interaction') }
    response = await browser.post('/login', { ...form, email: credentials.email, password: credentials.password })
  }
  const target = response.headers.location
  const location = response.statusCode === 303 && target && !target.startsWith('/') ? new URL(target) : null
  return { response, location }
}

export interface CodeResult {
  readonly code: string
  readonly verifier: string
  readonly location: URL
  readonly jar: CookieJar
}

/**
 * Runs /authorize (logging in when the jar has no session) up to the code at the client's first
 * redirect URI; with PKCE S256 unless `pkce: false`.
 */
export async function obtainCode(
  ctx: App,
  rp: RegisteredClient,
  user: TestUser | undefined,
  options: { jar?: CookieJar; params?: Record<string, string>; pkce?: boolean } = {},
): Promise<CodeResult> {
  const jar = options.jar ?? new CookieJar()
  const { verifier, challenge } = pkcePair()
  const pkce: Record<string, string> = options.pkce === false ? {} : { code_challenge: challenge, code_challenge_method: 'S256' }
  const redirectUri = rp.client.redirectUris[0]!
  const params = { response_type: 'code', client_id: rp.client.id, redirect_uri: redirectUri, scope: 'openid', ...pkce, ...options.params }
  const { location, response } = await authorize(ctx, jar, params, user)
  const code = location?.searchParams.get('code')
  if (!location || !code) {
    throw new Error(`no code: ${response.statusCode} ${String(response.headers.location)} ${response.body.slice(0, 300)}`)
  }
  return { code, verifier, location, jar }
}

/** prompt=none for the browser in `jar`: the redirect the relying party would receive. */
export async function silentAuthorize(ctx: App, rp: RegisteredClient, jar: CookieJar, params: Record<string, string> = {}): Promise<URL> {
  const { challenge } = pkcePair()
  const { location, response } = await authorize(ctx, jar, {
    response_type: 'code',
    client_id: rp.client.id,
    redirect_uri: rp.client.redirectUris[0]!,
    scope: 'openid',
    state: 'silent-state',
    prompt: 'none',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  })
  if (!location) throw new Error(`prompt=none did not redirect to the client: ${response.statusCode} ${String(response.headers.location)}`)
  return location
}

// --- Token endpoint and the OAuth API ----------------------------------------------------------

/**
 * A form POST to /token, /revoke or /introspect. `as` authenticates like the client would:
 * Basic for a confidential client, client_id in the body for a public one, nothing for null.
 */
export function post(ctx: App, url: string, as: RegisteredClient | null, params: Record<string, string>): Promise<Response> {
  const headers: Record<string, string> = { ...FORM }
  const body: Record<string, string> = { ...params }
  if (as !== null && as.secret !== null) headers['authorization'] = basic(as.client.id, as.secret)
  else if (as !== null) body['client_id'] = as.client.id
  return ctx.app.inject({ method: 'POST', url, headers, payload: new URLSearchParams(body).toString() })
}

/**
 * POST /token for an authorization code issued for the client's first redirect URI. `fields` adds
 * to the body (code_verifier…) or, when undefined, removes (redirect_uri…). The client
 * authenticates with Basic (a public client: client_id), with client_secret_post, or names itself.
 */
export function redeem(
  ctx: App,
  rp: RegisteredClient,
  code: string,
  fields: Record<string, string | undefined> = {},
  auth: 'basic' | 'post' | 'none' = 'basic',
): Promise<Response> {
  const body: Record<string, string> = { grant_type: 'authorization_code', code, redirect_uri: rp.client.redirectUris[0]! }
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) delete body[name]
    else body[name] = value
  }
  if (auth === 'basic') return post(ctx, '/token', rp, body)
  if (auth === 'post' && rp.secret !== null) Object.assign(body, { client_id: rp.client.id, client_secret: rp.secret })
  else body['client_id'] = rp.client.id
  return post(ctx, '/token', null, body)
}

export const refresh = (ctx: App, as: RegisteredClient, refreshToken: string, extra: Record<string, string> = {}): Promise<Response> =>
  post(ctx, '/token', as, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra })

export const revoke = (ctx: App, as: RegisteredClient | null, token: string, extra: Record<string, string> = {}): Promise<Response> =>
  post(ctx, '/revoke', as, { token, ...extra })

/** RFC 7662 response body. */
export async function introspect(
  ctx: App,
  as: RegisteredClient,
  token: string,
  extra: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const response = await post(ctx, '/introspect', as, { token, ...extra })
  if (response.statusCode !== 200) throw new Error(`introspection answered ${response.statusCode}: ${response.body}`)
  return response.json() as Record<string, unknown>
}

export function userinfo(ctx: App, accessToken: string, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
  return ctx.app.inject({ method, url: '/userinfo', headers: { authorization: `Bearer ${accessToken}` } })
}

/** Login, code, token: a successful authorization code flow (scope `openid offline_access` unless told). */
export async function signIn(
  ctx: App,
  rp: RegisteredClient,
  user: TestUser,
  options: { scope?: string; jar?: CookieJar; params?: Record<string, string> } = {},
): Promise<{ tokens: Tokens; jar: CookieJar; code: string; verifier: string }> {
  const params = { scope: options.scope ?? 'openid offline_access', ...options.params }
  const { code, verifier, jar } = await obtainCode(ctx, rp, user, { jar: options.jar, params })
  const response = await redeem(ctx, rp, code, { code_verifier: verifier })
  if (response.statusCode !== 200) throw new Error(`code redemption answered ${response.statusCode}: ${response.body}`)
  return { tokens: response.json() as Tokens, jar, code, verifier }
}
