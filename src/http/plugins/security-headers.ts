import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply } from 'fastify'
import helmet from 'helmet'

/**
 * docs/security.md §H headers on every page: a strict CSP (no inline script at all), no framing,
 * no referrer, no sniffing; HSTS only when the issuer is https.
 */
export function contentSecurityPolicy(formTargets: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    // Browsers apply form-action to the redirects that follow a form post, so a page whose form
    // ends in a redirect to the relying party names that target here.
    `form-action 'self'${formTargets.map((target) => ` ${target}`).join('')}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
}

/** The CSP source for a redirect target: its origin, or its scheme for private-use URI schemes. */
export function formTargetSource(uri: string): string | null {
  try {
    const url = new URL(uri)
    if (url.protocol === 'https:' || url.protocol === 'http:') return url.origin
    return /^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? url.protocol : null
  } catch {
    return null
  }
}

/** For pages whose form post redirects to `uris` (login and consent → redirect_uri, logout → post_logout_redirect_uri). */
export function allowFormRedirects(reply: FastifyReply, uris: readonly (string | null | undefined)[]): void {
  const sources = uris.flatMap((uri) => (uri ? [formTargetSource(uri)] : [])).filter((source): source is string => source !== null)
  reply.header('content-security-policy', contentSecurityPolicy([...new Set(sources)]))
}

/**
 * The headers helmet sets, computed once by running its middleware against a recorder: the values
 * stay helmet's (none depends on the request), while each request only copies a frozen object
 * instead of running a dozen header middlewares.
 */
export function securityHeaders(options: { https: boolean }): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {}
  const recorder = {
    setHeader: (name: string, value: unknown) => void (headers[name.toLowerCase()] = String(value)),
    removeHeader: (name: string) => void delete headers[name.toLowerCase()],
  }
  let done = false
  helmet({
    // Set per request by the hook below so that pages can widen form-action for their redirect target.
    contentSecurityPolicy: false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.https ? { maxAge: 31536000, includeSubDomains: true } : false,
    crossOriginEmbedderPolicy: false,
    crossOriginResourcePolicy: false,
  })({} as IncomingMessage, recorder as unknown as ServerResponse, () => void (done = true))
  if (!done) throw new Error('helmet did not finish synchronously')
  return Object.freeze({ ...headers, 'content-security-policy': contentSecurityPolicy() })
}

/**
 * For JSON answers (the OAuth API, discovery, JWKS, JSON errors): what OWASP's REST guidance asks
 * of an API — no sniffing, no framing, no referrer, nothing loadable (`default-src 'none'`) and
 * HSTS under https. The document-only headers of helmet (DNS prefetch, COOP, …) do not apply.
 */
export function apiSecurityHeaders(options: { https: boolean }): Readonly<Record<string, string>> {
  return Object.freeze({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    ...(options.https ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  })
}

/** Sets `headers` (securityHeaders or apiSecurityHeaders, computed once) on every response of the scope. */
export async function registerSecurityHeaders(app: FastifyInstance, headers: Readonly<Record<string, string>>): Promise<void> {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers)
    done()
  })
}
