/**
 * A browser for the second-factor tests (not a test file): its own cookies, at one address,
 * following Tessera's pages the way a person does; and the relying-party side of a code flow.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { LightMyRequestResponse } from 'fastify'
import { decodeJwt } from 'jose'
import { generate } from 'otplib'
import type { TestApp } from '../helpers/test-app.js'
import type { SoftAuthenticator, Misbehaviour } from '../helpers/soft-authenticator.js'
import type { Client } from '../../src/model/client.js'

const FORM = { 'content-type': 'application/x-www-form-urlencoded' } as const

export class MfaBrowser {
  readonly cookies = new Map<string, string>()
  constructor(readonly ctx: TestApp) {}

  private store(response: LightMyRequestResponse) {
    for (const cookie of response.cookies as { name: string; value: string; maxAge?: number }[]) {
      if (cookie.maxAge === 0 || cookie.value === '') this.cookies.delete(cookie.name)
      else this.cookies.set(cookie.name, cookie.value)
    }
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const response = await this.ctx.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader, accept: 'text/html' } })
    this.store(response)
    return response
  }

  /** POST a form of the page at `page` (its anti-forgery token), same-origin. */
  async post(url: string, fields: Record<string, string>, page = '/account'): Promise<LightMyRequestResponse> {
    const form = await this.get(page)
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1]
    if (!csrf) throw new Error(`no anti-forgery token on ${page}: ${form.statusCode} ${form.body.slice(0, 200)}`)
    const response = await this.ctx.app.inject({
      method: 'POST',
      url,
      headers: { ...FORM, cookie: this.cookieHeader, origin: new URL(this.ctx.issuer).origin, accept: 'text/html' },
      payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString(),
    })
    this.store(response)
    return response
  }

  /** JSON options for a WebAuthn ceremony (what the page's script fetches). */
  async options(url: string, fields: Record<string, string>, page: string): Promise<Record<string, unknown>> {
    const response = await this.post(url, fields, page)
    if (response.statusCode !== 200) throw new Error(`${url}: ${response.statusCode} ${response.body}`)
    return response.json() as Record<string, unknown>
  }

  async login(email: string, password: string, interaction = ''): Promise<LightMyRequestResponse> {
    return this.post('/login', { interaction, email, password }, interaction ? `/login?interaction=${interaction}` : '/login')
  }

  /** Follows same-origin redirects until a page or a redirect to the relying party. */
  async follow(response: LightMyRequestResponse): Promise<LightMyRequestResponse> {
    let current = response
    for (let i = 0; i < 10 && current.statusCode === 303 && current.headers.location?.startsWith('/'); i++)
      current = await this.get(current.headers.location)
    return current
  }
}

export const location = (response: LightMyRequestResponse): string => String(response.headers.location ?? '')

/** The code an authenticator app shows for this secret at the app's (fake) clock. */
export const totpCode = (ctx: TestApp, secret: string, offsetSeconds = 0) =>
  generate({ secret: secret.replace(/\s/g, ''), epoch: ctx.clock.now() + offsetSeconds })

/** WebAuthn options as the page's script gets them (the fields the soft authenticator reads). */
export type PasskeyOptions = {
  challenge: string
  rp: { id: string }
  user: { id: string }
  rpId?: string
  allowCredentials?: { id: string }[]
}

/** Registers a passkey for the signed-in browser; returns the response to the registration POST. */
export async function addPasskey(browser: MfaBrowser, authenticator: SoftAuthenticator, name: string, misbehave: Misbehaviour = {}) {
  const options = (await browser.options('/account/passkeys/options', {}, '/account')) as unknown as PasskeyOptions
  return browser.post('/account/passkeys', { name, credential: JSON.stringify(authenticator.register(options, misbehave)) })
}

/** Signs in with a passkey alone (what the login page's script does). */
export async function passkeySignIn(browser: MfaBrowser, authenticator: SoftAuthenticator, misbehave: Misbehaviour = {}, interaction = '') {
  const page = interaction ? `/login?interaction=${interaction}` : '/login'
  const options = (await browser.options('/login/passkey/options', { purpose: 'login' }, page)) as unknown as PasskeyOptions
  return browser.post('/login/passkey', { interaction, credential: JSON.stringify(authenticator.authenticate(options, misbehave)) }, page)
}

/** Answers the second-factor page (or a step-up) with a passkey. */
export async function passkeySecondFactor(browser: MfaBrowser, authenticator: SoftAuthenticator) {
  const page = '/login/second-factor'
  const options = (await browser.options('/login/passkey/options', { purpose: 'second-factor' }, page)) as unknown as PasskeyOptions
  return browser.post(page, { credential: JSON.stringify(authenticator.authenticate(options)) }, page)
}

/** Sets up an authenticator app for a signed-in browser (no assertions); returns the key and the recovery codes. */
export async function enableApp(browser: MfaBrowser): Promise<{ secret: string; codes: string[] }> {
  await browser.post('/account/totp/setup', {})
  const secret = /<code class="secret" id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec((await browser.get('/account/totp')).body)?.[1]
  if (!secret) throw new Error('no key on the setup page')
  const confirmed = await browser.post('/account/totp', { code: await totpCode(browser.ctx, secret) }, '/account/totp')
  if (confirmed.statusCode !== 200) throw new Error(`TOTP setup: ${confirmed.statusCode}`)
  const codes = [...confirmed.body.matchAll(/<li><code>([a-z2-9-]{19})<\/code><\/li>/g)].map((match) => match[1]!)
  return { secret, codes }
}

/** The relying party's side: start an authorization, later redeem its code and read the ID token. */
export function relyingParty(ctx: TestApp, rp: { client: Client; secret: string | null }) {
  const verifier = randomBytes(32).toString('base64url')
  const challenge = createHash('sha256').update(verifier).digest('base64url')
  return {
    authorizeUrl(extra: Record<string, string> = {}) {
      const params = {
        response_type: 'code',
        client_id: rp.client.id,
        redirect_uri: rp.client.redirectUris[0]!,
        scope: 'openid email',
        state: 'st',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      }
      return `/authorize?${new URLSearchParams(params).toString()}`
    },
    /** The token endpoint's answer for a code (or a refresh token), raw. */
    async tokens(params: Record<string, string>): Promise<{ id_token: string; access_token: string; refresh_token?: string }> {
      const basic = Buffer.from(`${rp.client.id}:${rp.secret}`).toString('base64')
      const response = await ctx.app.inject({
        method: 'POST',
        url: '/token',
        headers: { ...FORM, authorization: `Basic ${basic}` },
        payload: new URLSearchParams(params).toString(),
      })
      if (response.statusCode !== 200) throw new Error(`token: ${response.statusCode} ${response.body}`)
      return response.json() as { id_token: string; access_token: string; refresh_token?: string }
    },
    async idToken(redirect: string): Promise<Record<string, unknown>> {
      const code = new URL(redirect).searchParams.get('code')
      if (!code) throw new Error(`no code in ${redirect}`)
      const tokens = await this.tokens({
        grant_type: 'authorization_code',
        code,
        redirect_uri: rp.client.redirectUris[0]!,
        code_verifier: verifier,
      })
      return { ...decodeJwt(tokens.id_token), access: decodeJwt(tokens.access_token), refreshToken: tokens.refresh_token }
    },
  }
}
