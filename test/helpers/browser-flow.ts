/**
 * Drives the authorization flow over app.inject the way a browser would: follows redirects,
 * keeps cookies, reads the login form's hidden fields, posts the form.
 */
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'

export class CookieJar {
  readonly cookies = new Map<string, string>()

  store(response: LightMyRequestResponse): void {
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

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

/** Extracts a hidden input's value from the login page. */
export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`no hidden field ${name} in page`)
  return match[1]!
}

export interface AuthorizeResult {
  readonly response: LightMyRequestResponse
  /** The final redirect to the relying party, parsed. */
  readonly location: URL | null
}

export function authorizeUrl(params: Record<string, string>): string {
  return `/authorize?${new URLSearchParams(params).toString()}`
}

/** GET /authorize → (login page → POST /login) → redirect back to the relying party. */
export async function authorize({ app, issuer }: { app: FastifyInstance; issuer: string }, jar: CookieJar, params: Record<string, string>, credentials?: { email: string; password: string }): Promise<AuthorizeResult> {
  let response = await app.inject({ method: 'GET', url: authorizeUrl(params), headers: { cookie: jar.header() } })
  jar.store(response)
  if (response.statusCode === 303 && response.headers.location?.startsWith('/login')) {
    if (!credentials) return { response, location: null }
    const page = await app.inject({ method: 'GET', url: response.headers.location, headers: { cookie: jar.header() } })
    jar.store(page)
    response = await app.inject({
      method: 'POST',
      url: '/login',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded', origin: new URL(issuer).origin },
      payload: new URLSearchParams({
        _csrf: hiddenField(page.body, '_csrf'),
        interaction: hiddenField(page.body, 'interaction'),
        email: credentials.email,
        password: credentials.password,
      }).toString(),
    })
    jar.store(response)
  }
  const location = response.statusCode === 303 && response.headers.location && !response.headers.location.startsWith('/') ? new URL(response.headers.location) : null
  return { response, location }
}

