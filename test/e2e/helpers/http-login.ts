/**
 * Signs in through Tessera's real login page over real HTTP (fetch with redirect: 'manual'),
 * keeping cookies the way a browser would: GET /authorize → 303 /login → GET the form → POST it
 * with the anti-forgery token and an Origin header → 303 back to the relying party.
 */

const REQUEST_TIMEOUT_MS = 10_000

/** A minimal cookie jar for one origin: enough for Tessera's session and anti-forgery cookies. */
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

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#34;': '"' }

/** A hidden input's value from an HTML page (attribute order as Tessera renders it). */
export function hiddenInput(html: string, name: string): string {
  const match = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)"`).exec(html)
  if (!match) throw new Error(`the page has no hidden input ${name}:\n${html.slice(0, 2000)}`)
  return match[1]!.replace(/&(amp|lt|gt|quot|#39|#34);/g, (entity) => ENTITIES[entity]!)
}

export async function get(url: string | URL, jar: FetchCookieJar): Promise<Response> {
  const response = await fetch(url, { redirect: 'manual', headers: { cookie: jar.header(), accept: 'text/html' }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  jar.store(response)
  return response
}

export interface LoginOutcome {
  /** Where Tessera finally sent the browser: the relying party's redirect_uri with code/state/iss. */
  readonly callbackUrl: URL
  /** Whether the login form was shown (false when an existing session gave single sign-on). */
  readonly sawLoginForm: boolean
}

/**
 * Follows an authorization URL through the login page. `credentials` may be omitted when the jar
 * already holds a session (single sign-on).
 */
export async function signInOverHttp(authorizationUrl: URL, jar: FetchCookieJar, credentials?: { email: string; password: string }): Promise<LoginOutcome> {
  const issuerOrigin = authorizationUrl.origin
  const first = await get(authorizationUrl, jar)
  await first.body?.cancel()
  if (first.status !== 303) throw new Error(`GET /authorize answered ${first.status}, expected 303`)
  const location = new URL(first.headers.get('location')!, authorizationUrl)
  if (location.origin !== issuerOrigin || location.pathname !== '/login') return { callbackUrl: location, sawLoginForm: false }
  if (!credentials) throw new Error('Tessera asked for a login but no credentials were given')

  const page = await get(location, jar)
  const html = await page.text()
  if (page.status !== 200) throw new Error(`GET /login answered ${page.status}: ${html.slice(0, 500)}`)
  const form = new URLSearchParams({
    email: credentials.email,
    password: credentials.password,
    _csrf: hiddenInput(html, '_csrf'),
    interaction: hiddenInput(html, 'interaction'),
  })
  const posted = await fetch(new URL('/login', issuerOrigin), {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: jar.header(), origin: issuerOrigin, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: form.toString(),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  })
  jar.store(posted)
  const body = await posted.text()
  if (posted.status !== 303) throw new Error(`POST /login answered ${posted.status}, expected 303: ${body.slice(0, 500)}`)
  return { callbackUrl: new URL(posted.headers.get('location')!, issuerOrigin), sawLoginForm: true }
}
